"""AIML's models and the options each accepts, and how a TranscriptionConfig maps to them.

The tables come from each model's OpenAPI JSON (``specs/aiml/spec/``); the mapping is documented
in :mod:`speechkit.providers.aiml`. Pure data and checks: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from speechkit._core.options.batch import BATCH_OPTIONS
from speechkit.errors import InvalidInputError

if TYPE_CHECKING:
    from speechkit.config import TranscriptionConfig

Family = Literal["deepgram", "nova3", "aai", "gpt4o", "mai"]

_NOVA2 = [
    "automotive",
    "conversationalai",
    "drivethru",
    "finance",
    "general",
    "medical",
    "meeting",
    "phonecall",
    "video",
    "voicemail",
]
_WHISPER = ("tiny", "base", "small", "medium", "large")

#: Model ids from the AIML model database and the per-model specs (protocols.md 3.2), by family.
KNOWN_MODELS: Mapping[str, Family] = {
    **{f"#g1_whisper-{size}": "deepgram" for size in _WHISPER},
    **{f"whisper-{size}": "deepgram" for size in _WHISPER},
    **{f"#g1_nova-2-{domain}": "deepgram" for domain in _NOVA2},
    "nova-2-general": "deepgram",
    "nova-3": "nova3",
    "nova-3-general": "nova3",
    "nova-3-medical": "nova3",
    "aai/universal": "aai",
    "aai/slam-1": "aai",
    "slam-1": "aai",
    "openai/gpt-4o-transcribe": "gpt4o",
    "openai/gpt-4o-mini-transcribe": "gpt4o",
    "microsoft/mai-transcribe-1.5": "mai",
}


def _family_of(model: str) -> Family:
    """The family of a model id, guessed from its name when it is not a known one."""
    known = KNOWN_MODELS.get(model)
    if known is not None:
        return known
    lowered = model.lower()
    if lowered.startswith("aai/"):
        return "aai"
    if lowered.startswith("openai/"):
        return "gpt4o"
    if lowered.startswith("microsoft/"):
        return "mai"
    if "nova-3" in lowered:
        return "nova3"
    return "deepgram"


# --- option specs (from each model's OpenAPI JSON in specs/aiml/spec/) --------------------------

Kind = Literal["bool", "str", "num", "int", "strs", "objs"]


@dataclass(frozen=True, slots=True)
class _Option:
    kinds: tuple[Kind, ...]
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


_BOOL = _Option(("bool",))
_STR = _Option(("str",))
_STRS = _Option(("strs",))
_STR_OR_STRS = _Option(("str", "strs"))
_MODE = _Option(("str",), choices=("strict", "extended"))
_UNIT = _Option(("num",), minimum=0, maximum=1)

_DEEPGRAM_BOOLS = [
    "detect_entities",
    "detect_topics",
    "diarize",
    "dictation",
    "filler_words",
    "intents",
    "measurements",
    "multi_channel",
    "numerals",
    "paragraphs",
    "profanity_filter",
    "punctuate",
    "sentiment",
    "smart_format",
    "topics",
    "utterances",
    "detect_language",
]
_DEEPGRAM: dict[str, _Option] = {
    **dict.fromkeys(_DEEPGRAM_BOOLS, _BOOL),
    **dict.fromkeys(
        ["diarize_version", "extra", "keywords", "language", "search", "summarize"], _STR
    ),
    "custom_intent": _STR_OR_STRS,
    "custom_topic": _STR_OR_STRS,
    "custom_intent_mode": _MODE,
    "custom_topic_mode": _MODE,
    "tag": _STRS,
    "utt_split": _Option(("num",), minimum=0),
}
_NOVA3_BOOLS = [
    "punctuate",
    "smart_format",
    "diarize",
    "multichannel",
    "paragraphs",
    "utterances",
    "detect_entities",
    "intents",
    "sentiment",
    "topics",
    "filler_words",
    "profanity_filter",
    "dictation",
    "measurements",
    "numerals",
    "mip_opt_out",
]
_NOVA3: dict[str, _Option] = {
    **dict.fromkeys(_NOVA3_BOOLS, _BOOL),
    **dict.fromkeys(["language", "version"], _STR),
    **dict.fromkeys(
        ["custom_intent", "custom_topic", "keyterm", "redact", "replace", "search", "tag", "extra"],
        _STR_OR_STRS,
    ),
    "detect_language": _Option(("bool", "strs")),
    "summarize": _Option(("str", "bool")),
    "custom_intent_mode": _MODE,
    "custom_topic_mode": _MODE,
    "utt_split": _Option(("num",), minimum=0),
    "encoding": _Option(
        ("str",), choices=("linear16", "flac", "mulaw", "amr-nb", "amr-wb", "opus", "speex", "g729")
    ),
}
_AAI_BOOLS = [
    "language_detection",
    "punctuate",
    "format_text",
    "disfluencies",
    "multichannel",
    "speaker_labels",
    "content_safety",
    "iab_categories",
    "auto_highlights",
    "filter_profanity",
    "redact_pii",
    "redact_pii_audio",
    "sentiment_analysis",
    "entity_detection",
    "summarization",
    "auto_chapters",
]
_AAI: dict[str, _Option] = {
    **dict.fromkeys(_AAI_BOOLS, _BOOL),
    "language_code": _STR,
    "language_confidence_threshold": _UNIT,
    "speech_threshold": _UNIT,
    "speakers_expected": _Option(("int",), minimum=1),
    "audio_start_from": _Option(("int",), minimum=0),
    "audio_end_at": _Option(("int",), minimum=0),
    "custom_spelling": _Option(("objs",)),
    "word_boost": _STRS,
    "redact_pii_policies": _STRS,
    "boost_param": _Option(("str",), choices=("low", "default", "high")),
    "redact_pii_audio_quality": _Option(("str",), choices=("mp3", "wav")),
    "redact_pii_sub": _Option(("str",), choices=("entity_name", "hash")),
    "summary_model": _Option(("str",), choices=("informative", "conversational", "catchy")),
    "summary_type": _Option(
        ("str",), choices=("bullets", "bullets_verbose", "gist", "headline", "paragraph")
    ),
}
_GPT4O: dict[str, _Option] = {"language": _STR, "prompt": _STR, "temperature": _UNIT}
_MAI: dict[str, _Option] = {
    "max_tokens": _Option(("int",), minimum=1),
    "max_completion_tokens": _Option(("int",), minimum=1),
    "temperature": _Option(("num",), minimum=0, maximum=2),
    "top_p": _UNIT,
}
_SPECS: Mapping[Family, Mapping[str, _Option]] = {
    "deepgram": _DEEPGRAM,
    "nova3": _NOVA3,
    "aai": _AAI,
    "gpt4o": _GPT4O,
    "mai": _MAI,
}
#: Fields speechkit fills itself; users may not set them through options.
_RESERVED = frozenset({"model", "url", "audio", "file"})


def _is_kind(value: Any, kind: Kind) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "num":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "strs":
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    return isinstance(value, list | tuple) and all(isinstance(v, dict) for v in value)


_KIND_NAMES = {
    "bool": "a boolean",
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "strs": "a list of strings",
    "objs": "a list of objects",
}


def _check_option(model: str, name: str, value: Any, spec: _Option) -> None:
    if not any(_is_kind(value, kind) for kind in spec.kinds):
        expected = " or ".join(_KIND_NAMES[kind] for kind in spec.kinds)
        raise InvalidInputError(
            f"AIML option {name!r} for model {model!r} must be {expected}, got {value!r}."
        )
    if spec.choices and isinstance(value, str) and value not in spec.choices:
        raise InvalidInputError(
            f"AIML option {name!r} for model {model!r} must be one of "
            f"{', '.join(spec.choices)}; got {value!r}."
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            raise InvalidInputError(
                f"AIML option {name!r} for model {model!r} must be >= {spec.minimum:g}, "
                f"got {value!r}."
            )
        if spec.maximum is not None and value > spec.maximum:
            raise InvalidInputError(
                f"AIML option {name!r} for model {model!r} must be <= {spec.maximum:g}, "
                f"got {value!r}."
            )


# --- TranscriptionConfig -> AIML options ---------------------------------------------------------

_LANGUAGE_REGIONS = {"uk": "GB"}


def _bcp47(code: str) -> str:
    """AssemblyAI's ``en_us`` style as BCP-47 (``en-US``); ``en_uk`` is ``en-GB``."""
    parts = code.replace("_", "-").split("-")
    if len(parts) == 2 and len(parts[1]) == 2:
        region = parts[1].lower()
        return f"{parts[0].lower()}-{_LANGUAGE_REGIONS.get(region, region.upper())}"
    return code.replace("_", "-")


def _map_deepgram(field: str, value: Any, family: Family) -> dict[str, Any] | None:
    """Wire options for one config field on a Deepgram-style model; ``None`` if unmapped."""
    simple = {
        "language_detection": "detect_language",
        "punctuate": "punctuate",
        "format_text": "smart_format",
        "disfluencies": "filler_words",
        "filter_profanity": "profanity_filter",
        "multichannel": "multichannel" if family == "nova3" else "multi_channel",
    }
    if field in simple:
        return {simple[field]: value}
    if field == "language_code":
        return {"language": _bcp47(str(value))}
    if field == "speaker_labels":
        # AssemblyAI's speaker_labels also yields utterances; ask Deepgram for them too.
        return {"diarize": True, "utterances": True} if value else {"diarize": False}
    if field == "summarization":
        return {"summarize": "v2"} if value else {}
    if field == "keyterms_prompt" and family == "nova3":
        return {"keyterm": list(value)}
    return None


def _map_text_model(field: str, value: Any, family: Family) -> dict[str, Any] | None:
    """Wire options for one config field on a text-only model; ``None`` if unmapped."""
    if field in ("punctuate", "format_text") and value is True:
        return {}  # these models always return punctuated, formatted text
    if field == "temperature":
        return {"temperature": value}
    if family == "gpt4o" and field == "prompt":
        return {"prompt": value}
    if family == "gpt4o" and field == "language_code":
        return {"language": str(value).replace("-", "_").split("_")[0].lower()}
    return None


def _config_fields(config: TranscriptionConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """The known options that are set (wire names and JSON values), and the extra ones."""
    config.validate_options()
    known = set(BATCH_OPTIONS)
    dumped = config.model_dump(mode="json", by_alias=True, exclude_none=True, include=known)
    return dumped, dict(config.extra_params)
