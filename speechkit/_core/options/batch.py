"""The batch transcript options (the JSON body of ``POST /v2/transcript``): one row per option.

Every option here is a top-level JSON body field, sent as its JSON value; ``None`` is "not sent"
(the server's default applies). Derived from this table:

* :class:`speechkit.TranscriptionConfig`: which names it accepts (an unknown one raises with
  "did you mean"), each value's range and allowed values, deprecation warnings, the combination
  rules (:func:`inconsistencies`) and the request body;
* the ``speechkit transcribe`` flags (the rows with ``cli``) and their help;
* the options table in ``docs/batch.md`` (:func:`markdown_table`; a test keeps it current);
* the local server's validation of ``POST /v2/transcript`` (:func:`check_params`), which never
  imports the client's models.

``tests/core/test_option_tables.py`` holds the table against AssemblyAI's HEAD spec: every
``spec`` row is in ``TranscriptOptionalParams`` with the same type, bounds, enum values and
deprecation, and every spec option has a row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from speechkit._core.options import Kind, Option, deprecations, type_problem, value_problems
from speechkit._core.options import values as v

__all__ = [
    "BATCH_OPTIONS",
    "DEFAULT_SPEECH_MODELS",
    "check_params",
    "inconsistencies",
    "markdown_table",
    "warnings_for",
]

DEFAULT_SPEECH_MODELS = v.DEFAULT_SPEECH_MODELS

_LLM_GATEWAY = "AssemblyAI replaced it with LLM Gateway."
_NO_FUNCTION = "the service says it has no function."
#: The option each group needs on, and the helper that sets both.
_SPEAKERS: dict[str, Any] = {"needs": "speaker_labels", "helper": "set_speaker_detection()"}
_PII: dict[str, Any] = {"needs": "redact_pii", "helper": "set_redact_pii()"}
_SUMMARY: dict[str, Any] = {"needs": "summarization", "helper": "set_summarize()"}


def _row(name: str, kind: Kind, summary: str, **details: Any) -> Option:
    return Option(name, kind, summary, **details)


_ROWS = (
    # Model, language and prompting.
    _row("speech_models", "enums",
         "models in priority order, required by the API; without one speechkit sends "
         "universal-3-5-pro, universal-2", values=v.SPEECH_MODELS,
         retired=v.RETIRED_SPEECH_MODELS, cli="--speech-model", metavar="NAME"),
    _row("speech_model", "enum", "one model (older servers)", values=v.SPEECH_MODELS,
         retired=v.RETIRED_SPEECH_MODELS, deprecated="use speech_models=[...] instead."),
    _row("domain", "string", "a domain-tuned variant, e.g. medical-v1", source="sdk",
         cli="--domain", metavar="NAME"),
    _row("language_code", "enum", "language of the audio, e.g. en_us, de",
         values=v.LANGUAGE_CODES, value_names=v.LANGUAGE_NAMES, server_default="en_us",
         cli="--language", metavar="CODE"),
    _row("language_codes", "enums", "languages for code switching (one must be en)",
         values=v.LANGUAGE_CODES, value_names=v.LANGUAGE_NAMES),
    _row("language_detection", "bool", "detect the language", server_default=False,
         cli="--detect-language"),
    _row("language_detection_options", "object",
         "expected_languages, fallback_language, code_switching, ...", needs="language_detection"),
    _row("language_confidence_threshold", "number",
         "fail the job below this language confidence", minimum=0, maximum=1),
    _row("prompt", "string", "context for the model (Universal-3 Pro)", cli="--prompt",
         metavar="TEXT"),
    _row("keyterms_prompt", "strings", "words or phrases to favour", cli="--keyterm",
         metavar="TERM"),
    _row("keyterms_prompt_options", "object", "keyterms_match_strength: high or standard",
         source="sdk", needs="keyterms_prompt"),
    _row("temperature", "number", "randomness of the model (Universal-3 Pro)", minimum=0,
         maximum=1),
    _row("word_boost", "strings", "custom vocabulary for older models", source="legacy",
         deprecated="use keyterms_prompt instead."),
    _row("boost_param", "enum", "how strongly to favour word_boost", values=v.BOOST_PARAMS,
         source="legacy", deprecated="use keyterms_prompt instead."),
    _row("custom_spelling", "objects", 'replacements: [{"from": [...], "to": ...}]'),
    _row("remove_audio_tags", "enum", "all: drop audio event tags (Universal-3 Pro)",
         values=v.REMOVE_AUDIO_TAGS),
    # Formatting, channels, slicing.
    _row("punctuate", "bool", "add punctuation", server_default=True, cli="--punctuate"),
    _row("format_text", "bool", "format text: casing, numbers", server_default=True,
         cli="--format-text"),
    _row("disfluencies", "bool", 'keep fillers such as "umm"', server_default=False,
         cli="--disfluencies"),
    _row("filter_profanity", "bool", "mask profanity", server_default=False,
         cli="--filter-profanity"),
    _row("multichannel", "bool", "transcribe channels apart", server_default=False,
         cli="--multichannel"),
    _row("dual_channel", "bool", "two channels (older servers)", source="legacy",
         deprecated="use multichannel=True instead."),
    _row("audio_start_from", "int", "start, in ms from the beginning", minimum=0),
    _row("audio_end_at", "int", "end, in ms from the beginning", minimum=1),
    _row("speech_threshold", "number", "reject audio with less speech than this fraction",
         minimum=0, maximum=1),
    # Speakers.
    _row("speaker_labels", "bool", "label speakers", server_default=False,
         cli="--speaker-labels"),
    _row("speakers_expected", "int", "exact number of speakers (needs speaker_labels)",
         minimum=1, cli="--speakers-expected", metavar="N", **_SPEAKERS),
    _row("speaker_options", "object", "min_speakers_expected, max_speakers_expected", **_SPEAKERS),
    # Webhook.
    _row("webhook_url", "string", "URL called when the job ends", cli="--webhook-url",
         metavar="URL"),
    _row("webhook_auth_header_name", "string", "header sent with the webhook"),
    _row("webhook_auth_header_value", "string", "its value (secret)", secret=True),
    # PII redaction.
    _row("redact_pii", "bool", "redact personal information", server_default=False),
    _row("redact_pii_policies", "enums", "kinds of PII to redact", values=v.PII_POLICIES,
         cli="--redact-pii", metavar="POLICY[,POLICY...]", **_PII),
    _row("redact_pii_sub", "enum", "replacement for redacted PII",
         values=v.SUBSTITUTION_POLICIES, server_default="hash", **_PII),
    _row("redact_pii_return_unredacted", "bool", "also return the unredacted text",
         source="sdk", **_PII),
    _row("redact_pii_audio", "bool", "also make a redacted copy of the audio",
         server_default=False, **_PII),
    _row("redact_pii_audio_quality", "enum", "file type of the redacted audio",
         values=v.REDACT_PII_AUDIO_QUALITIES, server_default="mp3", needs="redact_pii_audio"),
    _row("redact_pii_audio_options", "object",
         "return_redacted_no_speech_audio, override_audio_redaction_method",
         needs="redact_pii_audio"),
    # Audio intelligence.
    _row("auto_highlights", "bool", "key phrases", server_default=False),
    _row("content_safety", "bool", "content moderation", server_default=False),
    _row("content_safety_confidence", "int", "moderation threshold in percent", minimum=25,
         maximum=100, server_default=50, needs="content_safety", helper="set_content_safety()"),
    _row("iab_categories", "bool", "topic detection", server_default=False),
    _row("sentiment_analysis", "bool", "sentiment per sentence", server_default=False),
    _row("entity_detection", "bool", "named entities", server_default=False),
    _row("auto_chapters", "bool", "chapters with summaries", deprecated=_LLM_GATEWAY),
    _row("summarization", "bool", "a summary", deprecated=_LLM_GATEWAY),
    _row("summary_model", "enum", "summary model", values=v.SUMMARY_MODELS,
         deprecated=_LLM_GATEWAY, **_SUMMARY),
    _row("summary_type", "enum", "summary shape", values=v.SUMMARY_TYPES,
         deprecated=_LLM_GATEWAY, **_SUMMARY),
    _row("custom_topics", "bool", "no function", deprecated=_NO_FUNCTION),
    _row("topics", "strings", "no function", deprecated=_NO_FUNCTION),
    _row("speech_understanding", "object",
         'one task: {"request": {"translation" | "speaker_identification" | ...}}'),
)  # fmt: skip

#: Every batch option by wire name, in the order of the docs table.
BATCH_OPTIONS: Mapping[str, Option] = {row.name: row for row in _ROWS}


# --- rules that tie options together -------------------------------------------------------


def _get(container: Any, key: str) -> Any:
    if container is None:
        return None
    if isinstance(container, Mapping):
        return container.get(key)
    return getattr(container, key, None)


def _active(value: Any) -> bool:
    """Whether a value turns its option on: set, and not ``False`` or empty."""
    return value is not None and value is not False and value != []


def _needs_message(option: Option) -> str:
    needed = BATCH_OPTIONS[option.needs]
    wanted = f"`{needed.name}=True`" if needed.kind == "bool" else f"`{needed.name}`"
    helper = f" (or use {option.helper})" if option.helper else ""
    return f"`{option.name}` needs {wanted}{helper}"


def inconsistencies(params: Mapping[str, Any]) -> Iterator[str]:
    """The combination rules, each from the spec's description of the options involved: the
    rows' ``needs`` column first, then the rules about values.

    ``params`` maps option names to values (``None`` or missing: unset); nested options may be
    dicts or objects with attributes. Not a rule: ``language_code`` with
    ``language_detection=True`` (the spec's own example sends both).
    """
    p = params.get
    for name, value in params.items():
        option = BATCH_OPTIONS.get(name)
        if option is not None and option.needs and _active(value) and not _active(p(option.needs)):
            yield _needs_message(option)
    speaker_options = p("speaker_options")
    if speaker_options is not None:
        low = _get(speaker_options, "min_speakers_expected")
        high = _get(speaker_options, "max_speakers_expected")
        if (low is not None and low < 1) or (high is not None and high < 1):
            yield "`speaker_options` speaker counts must be at least 1"
        elif low is not None and high is not None and low > high:
            yield "`speaker_options.min_speakers_expected` exceeds `max_speakers_expected`"
    if p("redact_pii") and not p("redact_pii_policies"):
        yield "`redact_pii=True` needs at least one policy in `redact_pii_policies`"
    start, end = p("audio_start_from"), p("audio_end_at")
    if start is not None and end is not None and end <= start:
        yield f"`audio_end_at` ({end} ms) must be after `audio_start_from` ({start} ms)"
    has_name = p("webhook_auth_header_name") is not None
    if has_name != (p("webhook_auth_header_value") is not None):
        yield "set `webhook_auth_header_name` and `webhook_auth_header_value` together"
    elif has_name and not p("webhook_url"):
        yield "a webhook auth header needs `webhook_url`"
    detection = p("language_detection_options")
    if detection is not None:
        threshold = _get(detection, "code_switching_confidence_threshold")
        if threshold is not None and not 0 <= threshold <= 1:
            yield "`language_detection_options.code_switching_confidence_threshold` is 0..1"
    strength = _get(p("keyterms_prompt_options"), "keyterms_match_strength")
    if strength is not None and strength not in v.KEYTERMS_MATCH_STRENGTHS:
        yield "`keyterms_prompt_options.keyterms_match_strength` is high or standard"


# --- the local server's check --------------------------------------------------------------


def check_params(
    body: Mapping[str, Any], *, open_values: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[str]]:
    """Check a JSON body's options the way the service does.

    Args:
        body: The request body.
        open_values: Options whose unknown string values are accepted (the spec types
            ``language_code`` and the speech models as enum-or-string).

    Returns:
        The known, non-null options, and the problems found (types, ranges, values,
        combinations): empty when the body is valid. Unknown options are dropped, as the
        service does.
    """
    params = {k: value for k, value in body.items() if k in BATCH_OPTIONS and value is not None}
    problems: list[str] = []
    for name, value in params.items():
        option = BATCH_OPTIONS[name]
        problem = type_problem(option, value)
        if problem is not None:
            problems.append(problem)
        elif name not in open_values:
            problems.extend(value_problems(option, value))
    if not problems:
        problems.extend(inconsistencies(params))
    return params, problems


def warnings_for(name: str, value: Any) -> list[str]:
    """Deprecation warnings for setting ``name`` to ``value`` (empty for unknown names)."""
    option = BATCH_OPTIONS.get(name)
    return deprecations(option, value) if option is not None else []


# --- docs ----------------------------------------------------------------------------------


def markdown_table() -> str:
    """The options table of ``docs/batch.md``, generated from the rows."""
    lines = [
        "| option | type | values | CLI flag | what it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in _ROWS:
        what = row.summary
        if row.server_default not in (None, False):
            what += f" (server default: {_default(row.server_default)})"
        if row.needs and row.needs not in row.summary:
            what += f"; needs `{row.needs}`"
        if row.deprecated:
            what += f". **Deprecated**: {row.deprecated}"
        elif row.source != "spec":
            what += " (not in the HEAD spec; " + (
                "older servers)" if row.source == "legacy" else "the `assemblyai` package)"
            )
        flag = f"`{row.cli}`" if row.cli else ""
        values = row.describe_range() if not row.retired else ", ".join(row.values)
        if row.retired:
            values += f" (retired: {', '.join(row.retired)})"
        lines.append(f"| `{row.name}` | {row.kind} | {values} | {flag} | {what} |")
    return "\n".join(lines) + "\n"


def _default(value: Any) -> str:
    if value is True:
        return "on"
    return str(value)
