"""The options of a realtime session, checked against the v2/v3 option tables.

:class:`RealtimeOptions` holds the connection's own settings (protocol, audio format, chunk size,
``extra_params``) as attributes, and every table option (``speechkit._core.options.realtime_v2``
and ``realtime_v3``) by name: ``options.format_turns`` is the value or ``None`` (server default).
Names, types, ranges, allowed values, deprecations and the v2-only/v3-only sets all come from the
tables; :class:`RealtimeOptionArgs` gives the keywords their Python types (a test keeps it and
the tables equal), so adding an option is one table row plus one line here.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from typing_extensions import Unpack

from speechkit._core.options import Option, deprecations, unknown_option_message
from speechkit._core.options.realtime import normalize, problems
from speechkit._core.options.realtime_v2 import V2_OPTIONS
from speechkit._core.options.realtime_v3 import V3_OPTIONS
from speechkit._core.redact import MASK, SENSITIVE_QUERY_PARAMS
from speechkit.errors import InvalidInputError

from .realtime_audio import CHUNK_LIMITS_MS, AudioFormat

__all__ = ["OPTION_NAMES", "TABLES", "RealtimeOptionArgs", "RealtimeOptions"]

ProtocolName = Literal["v2", "v3"]
Encoding = Literal["pcm_s16le", "pcm_mulaw"]

#: Each protocol's table.
TABLES: dict[str, dict[str, Option]] = {"v2": V2_OPTIONS, "v3": V3_OPTIONS}
#: Every plain option of either protocol (the rows a transcriber keyword sets).
OPTION_NAMES = frozenset(n for t in TABLES.values() for n, row in t.items() if not row.core)
#: The transcriber's own settings; the rest of the keywords are table options.
_OWN = ("protocol", "sample_rate", "encoding", "chunk_ms", "extra_params")


class RealtimeOptionArgs(TypedDict, total=False):
    """The Python types of the table options (v2 and v3), for keywords and ``update_options``.

    One line per non-core row of the tables, same name; ``tests/core`` fails when they differ.
    ``None`` is "not set" (the server's default).
    """

    # v2 (realtime_v2.py)
    word_boost: Sequence[str] | None
    disable_partial_transcripts: bool | None
    enable_extra_session_information: bool | None
    end_utterance_silence_threshold: int | None
    # v3 (realtime_v3.py)
    speech_model: str | None
    format_turns: bool | None
    end_of_turn_confidence_threshold: float | None
    min_turn_silence: int | None
    min_end_of_turn_silence_when_confident: int | None
    max_turn_silence: int | None
    vad_threshold: float | None
    inactivity_timeout: int | None
    keyterms_prompt: Sequence[str] | None
    language_detection: bool | None
    speaker_labels: bool | None
    max_speakers: int | None
    prompt: str | None
    language: str | None
    language_codes: Sequence[str] | None
    language_code: str | None
    domain: str | None
    filter_profanity: bool | None
    agent_context: str | None
    interruption_delay: int | None
    turn_left_pad_ms: int | None
    session_heartbeat: bool | None
    acknowledge_silence: bool | None
    webhook_url: str | None
    webhook_auth_header_name: str | None
    webhook_auth_header_value: str | None
    llm_gateway: Mapping[str, Any] | None
    speaker_labels_revision_interval_ms: int | None
    voice_focus: str | None
    voice_focus_threshold: float | None
    noise_suppression_model: str | None
    noise_suppression_threshold: float | None
    continuous_partials: bool | None
    customer_support_audio_capture: bool | None
    include_partial_turns: bool | None
    redact_pii: bool | None
    redact_pii_policies: Sequence[str] | None
    redact_pii_sub: str | None
    mode: str | None


def _frozen(value: Any) -> Any:
    """Lists become tuples, so options stay immutable (and compare by value)."""
    if isinstance(value, list):
        return tuple(value)
    return value


def _check_name(name: str, where: str) -> None:
    if name not in OPTION_NAMES:
        raise InvalidInputError(
            unknown_option_message(name, sorted(OPTION_NAMES | set(_OWN)), where=where)
        )


class RealtimeOptions:
    """Everything that shapes a realtime session on the wire. Unset options are ``None``
    ("server default").

    Times: ``chunk_ms``, ``end_utterance_silence_threshold``, ``min_turn_silence`` and
    ``max_turn_silence`` are milliseconds; ``inactivity_timeout`` is seconds.

    Raises:
        InvalidInputError: An unknown option name ("did you mean"), an option of the other
            protocol, or a value the table does not allow (the message names it).
    """

    __slots__ = ("_values", "chunk_ms", "encoding", "extra_params", "protocol", "sample_rate")

    protocol: ProtocolName
    sample_rate: int
    encoding: Encoding
    chunk_ms: int
    extra_params: Mapping[str, Any]
    _values: Mapping[str, Any]

    def __init__(
        self,
        *,
        protocol: ProtocolName = "v3",
        sample_rate: int = 16_000,
        encoding: Encoding = "pcm_s16le",
        chunk_ms: int = 100,
        extra_params: Mapping[str, Any] | None = None,
        **options: Unpack[RealtimeOptionArgs],
    ) -> None:
        self._init(protocol, sample_rate, encoding, chunk_ms, extra_params, dict(options))
        for name, value in self._values.items():
            for message in deprecations(self.table.get(name, _ANY), value):
                warnings.warn(message, DeprecationWarning, stacklevel=3)

    def _init(
        self,
        protocol: ProtocolName,
        sample_rate: int,
        encoding: Encoding,
        chunk_ms: int,
        extra_params: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        for name in options:
            _check_name(name, "RealtimeTranscriber")
        values = {name: _frozen(normalize_any(name, v)) for name, v in options.items()}
        set_ = object.__setattr__
        set_(self, "protocol", protocol)
        set_(self, "sample_rate", sample_rate)
        set_(self, "encoding", encoding)
        set_(self, "chunk_ms", chunk_ms)
        set_(self, "extra_params", dict(extra_params or {}))
        set_(self, "_values", {k: v for k, v in values.items() if v is not None})
        self.validate()

    def __getattr__(self, name: str) -> Any:
        if name in OPTION_NAMES:
            return self._values.get(name)
        raise AttributeError(f"RealtimeOptions has no option {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RealtimeOptions is immutable: use replace()")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RealtimeOptions):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        return _restore, (self.as_dict(),)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.as_dict().items() if not _secret(k) and v is not None}
        if self.extra_params:  # the way to send an option speechkit does not know: a secret too
            shown["extra_params"] = {
                k: MASK if _secret_extra(k) else v for k, v in self.extra_params.items()
            }
        return "RealtimeOptions(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def as_dict(self) -> dict[str, Any]:
        """The connection's own settings, then every option that is set."""
        own = {name: getattr(self, name) for name in _OWN}
        return {**own, **self._values}

    @property
    def options(self) -> dict[str, Any]:
        """The table options that are set (name to value; lists as tuples)."""
        return dict(self._values)

    @property
    def table(self) -> dict[str, Option]:
        """This protocol's option table."""
        return TABLES[self.protocol]

    @property
    def audio_format(self) -> AudioFormat:
        return AudioFormat(self.sample_rate, self.encoding)

    def replace(self, **changes: Any) -> RealtimeOptions:
        """A copy with ``changes`` applied (validated; ``None`` unsets an option)."""
        own = {name: changes.pop(name, getattr(self, name)) for name in _OWN}
        for name in changes:
            _check_name(name, "update_options")
        new = _restore({**own, **self._values, **changes})
        for name, value in changes.items():
            if value is not None and value != self._values.get(name):
                for message in deprecations(TABLES[new.protocol].get(name, _ANY), value):
                    warnings.warn(message, DeprecationWarning, stacklevel=3)
        return new

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` naming the first bad option."""
        if self.protocol not in ("v2", "v3"):
            raise InvalidInputError(f'protocol must be "v2" or "v3", got {self.protocol!r}.')
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, int):
            raise InvalidInputError(f"sample_rate must be an int (Hz), got {self.sample_rate!r}.")
        if not 8_000 <= self.sample_rate <= 48_000:
            raise InvalidInputError(
                f"sample_rate={self.sample_rate} Hz is not supported: use 8000 to 48000 Hz "
                "(16000 is typical). stream_file() resamples WAV files to it."
            )
        if self.encoding in ("opus", "ogg_opus", "aac"):
            raise InvalidInputError(
                f'encoding="{self.encoding}" is not supported by speechkit yet: the session cuts, '
                "replays and times PCM audio. Send pcm_s16le or pcm_mulaw (stream_file() decodes "
                "Ogg/Opus and other files to PCM)."
            )
        if self.encoding not in ("pcm_s16le", "pcm_mulaw"):
            raise InvalidInputError(
                f'encoding must be "pcm_s16le" or "pcm_mulaw", got {self.encoding!r}.'
            )
        low, high = CHUNK_LIMITS_MS[self.protocol]
        if isinstance(self.chunk_ms, bool) or not isinstance(self.chunk_ms, int):
            raise InvalidInputError(
                f"chunk_ms must be an int (milliseconds), got {self.chunk_ms!r}."
            )
        if not low <= self.chunk_ms <= high:
            raise InvalidInputError(
                f"chunk_ms={self.chunk_ms} is outside the {self.protocol} limits: audio chunks "
                f"must be {low}-{high} ms long."
            )
        table = self.table
        for name, value in sorted(self._values.items()):
            row = table.get(name)
            if row is None:
                if value is False:
                    continue  # "off" is what the other protocol does without it
                other = "v3" if self.protocol == "v2" else "v2"
                hint = " (on v3 use keyterms_prompt)" if name == "word_boost" else ""
                raise InvalidInputError(
                    f'{name} is a {other} option, but protocol="{self.protocol}"{hint}.'
                )
            found = problems(row, value)
            if found:
                raise InvalidInputError(found[0])
        boost = self._values.get("word_boost")
        if boost is not None and len(json.dumps(list(boost))) > 2500:
            raise InvalidInputError("word_boost is limited to 2500 characters of JSON.")
        # extra_params may carry a parameter speechkit names (code written before it had a
        # name keeps working), but not one also set by name, nor the connection's own.
        named = {n for n, v in self._values.items() if v is not False}
        clash = set(self.extra_params) & ({"token", "sample_rate", "encoding"} | named)
        if clash:
            raise InvalidInputError(
                f"extra_params may not set {', '.join(sorted(clash))}; use the named option."
            )


_ANY = Option("", "string", "")


def _restore(values: dict[str, Any]) -> RealtimeOptions:
    """Options from :meth:`RealtimeOptions.as_dict` (checked; no deprecation warnings)."""
    options = {k: v for k, v in values.items() if k not in _OWN}
    new = object.__new__(RealtimeOptions)
    new._init(
        values["protocol"],
        values["sample_rate"],
        values["encoding"],
        values["chunk_ms"],
        values["extra_params"],
        options,
    )
    return new


def normalize_any(name: str, value: Any) -> Any:
    """A keyword's value in its JSON shape, by the row of either table that has ``name``."""
    row = V3_OPTIONS.get(name) or V2_OPTIONS.get(name)
    return normalize(row, value) if row is not None else value


def _secret(name: str) -> bool:
    return any(t[name].secret for t in TABLES.values() if name in t)


_SECRET_WORDS = ("auth", "token", "key", "secret", "password", "signature", "credential")


def _secret_extra(name: str) -> bool:
    """Whether an ``extra_params`` value may be a credential (not shown in ``repr``)."""
    lowered = name.lower()
    return (
        _secret(name)
        or lowered in SENSITIVE_QUERY_PARAMS
        or any(word in lowered for word in _SECRET_WORDS)
    )
