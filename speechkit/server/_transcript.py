"""The AssemblyAI ``Transcript`` object: request validation and presentation.

Shared by REST v2 (:mod:`.assemblyai_rest`), the AIML ``aai/*`` models (:mod:`.aiml`) and the
LeMUR stand-in (:mod:`.lemur`). :func:`validate_transcript_params` checks a ``TranscriptParams``
body the way the service does (``audio_url`` required, option types and enums checked, unknown
options dropped); :func:`transcript_json` renders a job as the spec's ``Transcript`` with every
required field present and the request options echoed; :func:`present_words` formats the
engine's words (see :mod:`._text`) once per job.

Departures from the real service are listed in :mod:`.assemblyai_rest`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from speechkit._core import text as core_text
from speechkit._core.options.batch import BATCH_OPTIONS, check_params
from speechkit.server import _intelligence, _pii, _text
from speechkit.server.jobs import Job, JobStatus

__all__ = [
    "DELETED_URL",
    "KNOWN_FIELDS",
    "ParamError",
    "mean_confidence",
    "present_words",
    "segment_json",
    "transcript_json",
    "validate_transcript_params",
]

DELETED_URL = "http://deleted_by_user"


class ParamError(ValueError):
    """A request parameter is invalid; the message goes into ``{"error": ...}``."""


# -- request validation ----------------------------------------------------------------------


#: The spec types these as enum-or-string (language codes, models): the service accepts values
#: newer than the table, so the stand-in does too.
_OPEN_VALUES = frozenset({"language_code", "language_codes", "speech_model", "speech_models"})
KNOWN_FIELDS = frozenset(["audio_url", *BATCH_OPTIONS])


def validate_transcript_params(body: Any, *, allow_file_urls: bool = True) -> dict[str, Any]:
    """Check a ``TranscriptParams`` body; returns the known, non-null options.

    The options are checked against ``speechkit._core.options.batch`` (types, ranges, enum
    values, the rules that tie options together): the same spec-derived table the client
    checks, without importing the client's models.
    """
    if not isinstance(body, dict):
        raise ParamError("The request body must be a JSON object.")
    audio_url = body.get("audio_url")
    if audio_url is None or audio_url == "":
        raise ParamError("audio_url is required: the URL of the audio or video file to transcribe.")
    if not isinstance(audio_url, str):
        raise ParamError("audio_url must be a string.")
    schemes = ("http://", "https://", "file://") if allow_file_urls else ("http://", "https://")
    if not audio_url.startswith(schemes):
        raise ParamError(f"audio_url must be an http(s) URL, got {audio_url!r}.")
    params, problems = check_params(body, open_values=_OPEN_VALUES)
    if problems:
        raise ParamError(problems[0])
    spelling = params.get("custom_spelling")
    if spelling is not None and not all(
        isinstance(r.get("from"), list)
        and all(isinstance(f, str) for f in r["from"])
        and isinstance(r.get("to"), str)
        for r in spelling
    ):
        raise ParamError('custom_spelling must be an array of {"from": [string], "to": string}.')
    return params


# -- presentation ----------------------------------------------------------------------------


def _speaker_count(params: dict[str, Any]) -> int:
    """Speakers to label: ``speakers_expected``, else ``speaker_options.min_speakers_expected``,
    else one (capped at 26: letters ``A`` to ``Z``)."""
    options = params.get("speaker_options") or {}
    count = params.get("speakers_expected") or options.get("min_speakers_expected") or 1
    return min(max(int(count), 1), 26) if isinstance(count, int) else 1


def present_words(job: Job) -> tuple[list[_text.Word], list[tuple[int, int]]]:
    """The job's words as the REST API shows them, and the sentence spans (memoized).

    With ``redact_pii`` the PII rules of :mod:`._pii` substitute the words they find, and the
    redacted time ranges (ms) are kept in ``job.cache["pii_ranges"]`` for the redacted audio.

    With ``speaker_labels`` the paragraphs take turns among the expected speakers (``A``, ``B``,
    ...; one speaker, ``A``, unless ``speakers_expected`` says more): a stand-in for diarization.
    """
    cached = job.cache.get("aai_words")
    if cached is not None:
        return cast(tuple[list[_text.Word], list[tuple[int, int]]], cached)
    p = job.params
    raw = [
        _text.Word(w.text, w.start, w.end, round(w.confidence, 5), None)
        for w in (job.result.words if job.result else ())
    ]
    words, spans = _text.format_words(
        raw,
        punctuate=p.get("punctuate", True),
        format_text=p.get("format_text", True),
        disfluencies=p.get("disfluencies", False),
    )
    words = _text.apply_custom_spelling(words, p.get("custom_spelling"))
    words, spans, redacted = _pii.apply(p, words, spans)
    job.cache["pii_ranges"] = redacted
    if p.get("speaker_labels") and words:
        speakers = _speaker_count(p)
        for n, (begin, end) in enumerate(core_text.paragraph_spans(words, spans)):
            label = chr(ord("A") + n % speakers)
            words[begin:end] = [replace(w, speaker=label) for w in words[begin:end]]
    job.cache["aai_words"] = (words, spans)
    return words, spans


def mean_confidence(words: list[_text.Word]) -> float | None:
    if not words:
        return None
    return round(sum(w.confidence for w in words) / len(words), 5)


def segment_json(words: list[_text.Word], span: tuple[int, int]) -> dict[str, Any]:
    part = words[span[0] : span[1]]
    return {
        "text": _text.words_text(part),
        "start": part[0].start,
        "end": part[-1].end,
        "confidence": mean_confidence(part) or 0.0,
        "words": [w.to_json() for w in part],
    }


#: ``Transcript`` fields that no version of the spec allows to be ``null``: absent instead, as in
#: the spec's own examples.
_NEVER_NULL = (
    "audio_channels",
    "error",
    "prompt",
    "keyterms_prompt",
    "redact_pii_sub",
    "language_code",
    "language_detection_options",
    "redact_pii_audio_options",
    "speech_model_used",
    "speech_understanding",
    "translated_texts",
)


def transcript_json(job: Job) -> dict[str, Any]:
    """The spec's ``Transcript`` object for ``job`` (request options echoed)."""
    p = job.params
    done = job.status is JobStatus.COMPLETED
    words, spans = present_words(job) if done else ([], [])
    detect = bool(p.get("language_detection"))
    language = p.get("language_code") or (
        job.result.language_code if done and job.result else (None if detect else "en_us")
    )
    speech_models = p.get("speech_models")
    data: dict[str, Any] = {
        "id": job.id,
        "status": job.status.value,
        "audio_url": job.audio_url,
        "speech_model": p.get("speech_model"),
        "speech_models": speech_models,
        "speech_model_used": (speech_models[0] if speech_models else None) if done else None,
        "language_model": "assemblyai_default",
        "acoustic_model": "assemblyai_default",
        "language_code": language,
        "language_codes": p.get("language_codes"),
        "language_detection": detect,
        "language_detection_options": p.get("language_detection_options"),
        "language_confidence_threshold": p.get("language_confidence_threshold"),
        "language_confidence": 1.0 if detect and done else None,
        "text": _text.words_text(words) if done else None,
        "words": [w.to_json() for w in words] if done else None,
        "utterances": None,
        "confidence": mean_confidence(words) if done else None,
        "audio_duration": round(job.audio_duration) if done and job.audio_duration else None,
        "punctuate": p.get("punctuate", True),
        "format_text": p.get("format_text", True),
        "disfluencies": p.get("disfluencies", False),
        "multichannel": p.get("multichannel", False),
        "audio_channels": 1 if done and p.get("multichannel") else None,
        "audio_start_from": p.get("audio_start_from"),
        "audio_end_at": p.get("audio_end_at"),
        "webhook_url": p.get("webhook_url"),
        "webhook_status_code": job.webhook_status_code,
        "webhook_auth": "webhook_auth_header_name" in p,
        "webhook_auth_header_name": p.get("webhook_auth_header_name"),
        "auto_highlights": p.get("auto_highlights", False),
        "auto_highlights_result": None,
        "redact_pii": p.get("redact_pii", False),
        "redact_pii_audio": p.get("redact_pii_audio"),
        "redact_pii_audio_quality": p.get("redact_pii_audio_quality"),
        "redact_pii_audio_options": p.get("redact_pii_audio_options"),
        "redact_pii_policies": p.get("redact_pii_policies"),
        "redact_pii_sub": p.get("redact_pii_sub"),
        "speaker_labels": p.get("speaker_labels", False),
        "speakers_expected": p.get("speakers_expected"),
        "content_safety": p.get("content_safety", False),
        "content_safety_labels": None,
        "iab_categories": p.get("iab_categories", False),
        "iab_categories_result": None,
        "custom_spelling": p.get("custom_spelling"),
        "keyterms_prompt": p.get("keyterms_prompt"),
        "prompt": p.get("prompt"),
        "temperature": p.get("temperature"),
        "filter_profanity": p.get("filter_profanity", False),
        "remove_audio_tags": p.get("remove_audio_tags"),
        "speech_threshold": p.get("speech_threshold"),
        "auto_chapters": p.get("auto_chapters", False),
        "chapters": None,
        "summarization": p.get("summarization", False),
        "summary": None,
        "summary_type": p.get("summary_type"),
        "summary_model": p.get("summary_model"),
        "sentiment_analysis": p.get("sentiment_analysis", False),
        "sentiment_analysis_results": None,
        "entity_detection": p.get("entity_detection", False),
        "entities": None,
        "custom_topics": p.get("custom_topics", False),
        "topics": p.get("topics", []),
        "speech_understanding": p.get("speech_understanding"),
        "translated_texts": None,
        "throttled": None,
        "error": job.error,
    }
    if done:
        if p.get("speaker_labels"):
            data["utterances"] = [
                {**segment_json(words, span), "speaker": words[span[0]].speaker}
                for span in core_text.paragraph_spans(words, spans)
            ]
        intelligence = job.cache.get("aai_intelligence")
        if intelligence is None:
            intelligence = _intelligence.intelligence_json(p, words, spans)
            job.cache["aai_intelligence"] = intelligence
        data.update(intelligence)
    # word_boost and boost_param left the spec in 2025; echoed only to clients that send them.
    for legacy in ("word_boost", "boost_param"):
        if legacy in p:
            data[legacy] = p[legacy]
    if job.deleted:
        data.update(
            audio_url=DELETED_URL,
            text="Deleted by user.",
            words=None,
            utterances=None,
            confidence=None,
            webhook_url=DELETED_URL if p.get("webhook_url") else None,
            language_code=None,
        )
    for name in _NEVER_NULL:
        if data.get(name, 0) is None:
            del data[name]  # the spec allows the field to be absent, never null
    return data
