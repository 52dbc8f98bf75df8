"""The Universal Streaming v3 connection options (``/v3/ws``): one row each.

Sources: ``usm-streaming.yml`` and ``usm-streaming-u3-pro.yml`` (``source="spec"``) and the
official ``assemblyai`` 1.8.2 package's ``StreamingParameters`` (``source="sdk"``). ``live`` is
what its ``StreamingSessionParameters`` (the ``UpdateConfiguration`` message) may carry: those
change on an open stream for every model; any other change reconnects. Lists and objects go in
the query as JSON, as the SDK sends them. ``tests/core/test_realtime_option_tables.py`` holds the
table against both sources. Derived from it as for v2 (:mod:`.realtime_v2`).
"""

from __future__ import annotations

from functools import partial

from speechkit._core.options import Option, values
from speechkit._core.options.realtime import connection_option

__all__ = ["PII_POLICIES", "SPEECH_MODELS", "V3_OPTIONS", "V3_ROWS"]

#: ``SpeechModel`` of the 1.8.2 package (the spec's enums are a subset); the first is what
#: the SDK names instead of the retired ``u3-pro``.
SPEECH_MODELS = (
    "u3-rt-pro", "universal-streaming-english", "universal-streaming-multilingual",
    "u3-rt-pro-beta-1", "whisper-rt", "universal-3-5-pro", "universal-3-6", "universal-3-6-pro",
)  # fmt: skip
#: ``StreamingPiiPolicy`` of the 1.8.2 package: the batch spec's policies and three more.
PII_POLICIES = (*values.PII_POLICIES, "gender", "organization_medical_facility", "sexuality")
_FOCUS = ("near-field", "far-field")


_row = partial(connection_option, "v3")


# fmt: off
V3_ROWS = (
    _row("sample_rate", "int", "Hz of the audio (the transcriber's sample_rate)", core=True),
    _row("encoding", "enum", "audio encoding (the transcriber's encoding)",
         values=("pcm_s16le", "pcm_mulaw", "opus", "ogg_opus", "aac"), core=True),
    _row("token", "string", "a temporary token instead of a key", core=True, secret=True),
    _row("speech_model", "enum", "the streaming model (default: the server's)",
         values=SPEECH_MODELS, retired=("u3-pro",), cli="--speech-model", metavar="NAME"),
    _row("format_turns", "bool", "also deliver each finished turn punctuated and cased",
         live=True, cli="--format-turns"),
    _row("end_of_turn_confidence_threshold", "number", "confidence needed to end a turn",
         minimum=0, maximum=1, live=True),
    _row("min_turn_silence", "int", "ms of silence before a confident turn may end", live=True,
         minimum=0, maximum=60_000, cli="--min-turn-silence", metavar="MS"),
    _row("min_end_of_turn_silence_when_confident", "int", "the former min_turn_silence",
         minimum=0, maximum=60_000, live=True, source="sdk",
         deprecated="use min_turn_silence instead."),
    _row("max_turn_silence", "int", "ms of silence that end a turn regardless", live=True,
         minimum=0, maximum=60_000, cli="--max-turn-silence", metavar="MS"),
    _row("vad_threshold", "number", "voice activity threshold", minimum=0, maximum=1, live=True),
    _row("inactivity_timeout", "int", "seconds without audio before the server ends the session",
         minimum=5, maximum=3600),
    _row("keyterms_prompt", "strings", "words or phrases to favour",
         live=True, cli="--keyterm", metavar="TERM"),
    _row("language_detection", "bool", "return the language of each turn"),
    _row("speaker_labels", "bool", "label speakers", cli="--speaker-labels"),
    _row("max_speakers", "int", "the most speakers to label", minimum=1, maximum=10),
    _row("prompt", "string", "instructions for Universal-3 Pro", live=True, cli="--prompt",
         metavar="TEXT"),
    _row("language", "enum", "the language (older streaming models)", values=("en", "multi"),
         deprecated="use language_codes instead."),
    _row("language_codes", "strings", "languages of the audio, e.g. en, es", live=True,
         source="sdk", cli="--language", metavar="CODE"),
    _row("language_code", "string", "one language", source="sdk",
         deprecated="use language_codes=[code] instead."),
    _row("domain", "enum", "a domain-tuned model", values=("medical-v1",), source="sdk",
         cli="--domain", metavar="NAME"),
    _row("filter_profanity", "bool", "mask profanity", live=True, source="sdk",
         cli="--filter-profanity"),
    _row("agent_context", "string", "what the voice agent last said", live=True, source="sdk"),
    _row("interruption_delay", "int", "ms before an interruption counts", minimum=0, live=True,
         source="sdk"),
    _row("turn_left_pad_ms", "int", "ms of audio kept before a turn", minimum=0, live=True,
         source="sdk"),
    _row("session_heartbeat", "bool", "the server sends Heartbeat messages", live=True,
         source="sdk"),
    _row("acknowledge_silence", "bool", "the server sends Silence messages", live=True,
         source="sdk"),
    _row("webhook_url", "string", "URL told when the session ends", source="sdk"),
    _row("webhook_auth_header_name", "string", "header sent to the webhook", source="sdk"),
    _row("webhook_auth_header_value", "string", "its value", source="sdk", secret=True),
    _row("llm_gateway", "object", "model, messages, max_tokens: LLM Gateway on each turn",
         source="sdk"),
    _row("speaker_labels_revision_interval_ms", "int", "ms between SpeakerRevision messages",
         minimum=0, source="sdk"),
    _row("voice_focus", "enum", "noise suppression model", values=_FOCUS, source="sdk"),
    _row("voice_focus_threshold", "number", "noise suppression threshold", minimum=0, maximum=1,
         source="sdk"),
    _row("noise_suppression_model", "enum", "the former voice_focus", values=_FOCUS,
         source="sdk", deprecated="use voice_focus instead."),
    _row("noise_suppression_threshold", "number", "the former voice_focus_threshold",
         minimum=0, maximum=1, source="sdk", deprecated="use voice_focus_threshold instead."),
    _row("continuous_partials", "bool", "partials keep coming during long turns", source="sdk"),
    _row("customer_support_audio_capture", "bool",
         "the service records the session's audio (only when AssemblyAI support asks)",
         source="sdk"),
    _row("include_partial_turns", "bool", "unfinished turns in the final results", source="sdk"),
    _row("redact_pii", "bool", "redact personal information", source="sdk"),
    _row("redact_pii_policies", "enums", "what to redact", values=PII_POLICIES, source="sdk"),
    _row("redact_pii_sub", "enum", "what replaces redacted text",
         values=("hash", "entity_name"), source="sdk"),
    _row("mode", "enum", "accuracy or latency", values=("max_accuracy", "min_latency", "balanced"),
         source="sdk"),
    _row("disable_partial_transcripts", "bool",
         "no partial transcripts (v3 has no such parameter: speechkit drops them)", wire="local",
         source="local",
         cli="--no-partials"),
)
# fmt: on

V3_OPTIONS: dict[str, Option] = {row.name: row for row in V3_ROWS}
