"""Pure adapters for AssemblyAI realtime v2 and Universal Streaming v3 (protocols.md, section 2).

An adapter maps :class:`RealtimeOptions` to the connection URL and headers, builds control messages,
parses server text frames into wire models, and says which option changes can be sent on an open
stream. It does no I/O and keeps no session state.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from speechkit.errors import ConfigurationError, InvalidInputError
from speechkit.models.realtime import (
    V2Error,
    V2FinalTranscript,
    V2Message,
    V2PartialTranscript,
    V2SessionBegins,
    V2SessionInformation,
    V2SessionTerminated,
    V3Begin,
    V3Error,
    V3Heartbeat,
    V3LLMGatewayResponse,
    V3Message,
    V3Silence,
    V3SpeakerRevision,
    V3SpeechStarted,
    V3Termination,
    V3Turn,
    V3Warning,
)

from .realtime_audio import CHUNK_LIMITS_MS, AudioFormat
from .realtime_v3_options import SECRET_PARAMS, V3_LIVE, V3_NAMES, V3_PARAMS, check_v3_value

__all__ = [
    "ProtocolAdapter",
    "RealtimeOptions",
    "UpdatePlan",
    "V2Adapter",
    "V3Adapter",
    "adapter_for",
    "redact_url",
    "websocket_url",
]

logger = logging.getLogger("speechkit.realtime")

ProtocolName = Literal["v2", "v3"]
WireMessage = V2Message | V3Message

#: Header value the v3 SDK sends (S2 ``_base.py``); the API version its messages follow.
V3_API_VERSION = "2025-05-12"

_V2_ONLY = frozenset(
    {"word_boost", "enable_extra_session_information", "end_utterance_silence_threshold"}
)
_V3_ONLY = V3_NAMES
# Changing these would change what the buffered audio means; they need a new transcriber.
_FIXED = frozenset({"protocol", "sample_rate", "encoding"})
# Handled by speechkit itself, so changing them never touches the connection.
_LOCAL = frozenset({"chunk_ms"})


@dataclass(frozen=True)
class RealtimeOptions:
    """Everything that shapes a realtime session on the wire. ``None`` means "server default".

    Times: ``chunk_ms``, ``end_utterance_silence_threshold``, ``min_turn_silence`` and
    ``max_turn_silence`` are milliseconds; ``inactivity_timeout`` is seconds.
    """

    protocol: ProtocolName = "v3"
    sample_rate: int = 16_000
    encoding: Literal["pcm_s16le", "pcm_mulaw"] = "pcm_s16le"
    chunk_ms: int = 100
    disable_partial_transcripts: bool = False
    # v2
    word_boost: tuple[str, ...] | None = None
    enable_extra_session_information: bool = False
    end_utterance_silence_threshold: int | None = None
    # v3
    speech_model: str | None = None
    format_turns: bool | None = None
    end_of_turn_confidence_threshold: float | None = None
    min_turn_silence: int | None = None
    max_turn_silence: int | None = None
    vad_threshold: float | None = None
    inactivity_timeout: int | None = None
    keyterms_prompt: tuple[str, ...] | None = None
    language_detection: bool | None = None
    speaker_labels: bool | None = None
    max_speakers: int | None = None
    prompt: str | None = None
    # v3, SDK 1.8.2 (see realtime_v3_options for ranges and what changes live)
    language_codes: tuple[str, ...] | None = None
    language_code: str | None = None
    domain: str | None = None
    filter_profanity: bool | None = None
    agent_context: str | None = None
    interruption_delay: int | None = None
    turn_left_pad_ms: int | None = None
    session_heartbeat: bool | None = None
    acknowledge_silence: bool | None = None
    webhook_url: str | None = None
    webhook_auth_header_name: str | None = None
    webhook_auth_header_value: str | None = field(default=None, repr=False)
    speaker_labels_revision_interval_ms: int | None = None
    voice_focus: str | None = None
    voice_focus_threshold: float | None = None
    continuous_partials: bool | None = None
    include_partial_turns: bool | None = None
    redact_pii: bool | None = None
    redact_pii_policies: tuple[str, ...] | None = None
    redact_pii_sub: str | None = None
    mode: str | None = None
    llm_gateway: Mapping[str, Any] | None = None
    extra_params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Accept lists from users; keep the frozen dataclass hashable-ish and immutable.
        lists = ("word_boost", *(p.name for p in V3_PARAMS if p.kind == "strings"))
        for name in lists:
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                if isinstance(value, str) or not isinstance(value, Sequence):
                    raise InvalidInputError(f"{name} must be a list of strings, got {value!r}.")
                object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "extra_params", dict(self.extra_params or {}))
        self.validate()

    @property
    def audio_format(self) -> AudioFormat:
        return AudioFormat(self.sample_rate, self.encoding)

    def replace(self, **changes: Any) -> RealtimeOptions:
        """A copy with ``changes`` applied (validated)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InvalidInputError(f"Unknown realtime option(s): {', '.join(sorted(unknown))}.")
        return dataclasses.replace(self, **changes)

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
        wrong = _V3_ONLY if self.protocol == "v2" else _V2_ONLY
        for name in sorted(wrong):
            if getattr(self, name) not in (None, False):
                other = "v3" if self.protocol == "v2" else "v2"
                hint = " (on v3 use keyterms_prompt)" if name == "word_boost" else ""
                raise InvalidInputError(
                    f'{name} is a {other} option, but protocol="{self.protocol}"{hint}.'
                )
        _check_range(
            "end_utterance_silence_threshold", self.end_utterance_silence_threshold, 0, 20_000
        )
        for param in V3_PARAMS:
            check_v3_value(param, getattr(self, param.name))
        if self.word_boost is not None and not all(isinstance(w, str) for w in self.word_boost):
            raise InvalidInputError("word_boost must be a list of strings.")
        if self.word_boost is not None and len(json.dumps(list(self.word_boost))) > 2500:
            raise InvalidInputError("word_boost is limited to 2500 characters of JSON.")
        # extra_params may carry a parameter speechkit names (code written before it had a
        # name keeps working), but not one also set by name, nor the connection's own.
        named = {n for n in _V2_ONLY | _V3_ONLY if getattr(self, n) not in (None, False)}
        clash = set(self.extra_params) & ({"token", "sample_rate", "encoding"} | named)
        if clash:
            raise InvalidInputError(
                f"extra_params may not set {', '.join(sorted(clash))}; use the named option."
            )


def _check_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(f"{name} must be a number, got {value!r}.")
    if not low <= value <= high:
        raise InvalidInputError(f"{name}={value} is outside {low}-{high}.")


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    """How to apply option changes to an open stream.

    Attributes:
        messages: Control messages to send now (JSON text).
        reconnect: Whether some change needs a new connection (query parameters are fixed per
            connection).
    """

    messages: tuple[str, ...] = ()
    reconnect: bool = False


def _dumps(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return str(value)


class ProtocolAdapter:
    """The pieces of a realtime protocol that differ between v2 and v3."""

    name: ProtocolName
    path: str
    #: Options that can change on an open stream with a control message.
    live_updatable: frozenset[str] = frozenset()
    #: Options speechkit applies itself; changing them never touches the connection.
    local_options: frozenset[str] = _LOCAL

    def query_params(self, options: RealtimeOptions) -> list[tuple[str, str]]:
        raise NotImplementedError

    def parse(self, text: str) -> WireMessage | None:
        """Parse a server text frame; ``None`` for message types this adapter does not know.

        Raises:
            ValueError: The frame is not JSON, or a known message type has an invalid shape.
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        try:
            return self._parse_dict(data)
        except ValidationError as err:
            raise ValueError(str(err)) from err

    def _parse_dict(self, data: dict[str, Any]) -> WireMessage | None:
        raise NotImplementedError

    def terminate_message(self) -> str:
        raise NotImplementedError

    def force_endpoint_message(self) -> str:
        raise NotImplementedError

    def keepalive_message(self) -> str | None:
        """A JSON keepalive, or ``None`` when the protocol has none (then silence is sent)."""
        return None

    def session_setup_messages(self, options: RealtimeOptions) -> list[str]:
        """Messages to send after each session begins (options that are not query parameters)."""
        return []

    def extra_headers(self) -> dict[str, str]:
        """Headers besides authentication (the session adds the key)."""
        return {}

    def plan_update(self, old: RealtimeOptions, new: RealtimeOptions) -> UpdatePlan:
        """Compare two option sets; say what to send and whether to reconnect."""
        changed = {
            f.name for f in dataclasses.fields(old) if getattr(old, f.name) != getattr(new, f.name)
        }
        fixed = changed & _FIXED
        if fixed:
            raise InvalidInputError(
                f"{', '.join(sorted(fixed))} cannot change during a session: the audio already "
                "buffered for replay is in the old format. Close this transcriber and open a new "
                "one."
            )
        live = changed & self.live_updatable_for(new)
        remote = changed - live - self.local_options
        messages = tuple(self.update_messages(new, live)) if live else ()
        return UpdatePlan(messages=messages, reconnect=bool(remote))

    def live_updatable_for(self, options: RealtimeOptions) -> frozenset[str]:
        return self.live_updatable

    def update_messages(self, options: RealtimeOptions, names: set[str]) -> list[str]:
        raise NotImplementedError


class V2Adapter(ProtocolAdapter):
    """Realtime v2: ``/v2/realtime/ws`` (asyncapi.json); dispatches on ``message_type``."""

    name: ProtocolName = "v2"
    path = "/v2/realtime/ws"
    # "end_utterance_silence_threshold ... allowed at any time" (protocols.md 2.1).
    live_updatable = frozenset({"end_utterance_silence_threshold"})

    _TYPES: dict[str, type[V2Message]] = {
        "SessionBegins": V2SessionBegins,
        "PartialTranscript": V2PartialTranscript,
        "FinalTranscript": V2FinalTranscript,
        "SessionInformation": V2SessionInformation,
        "SessionTerminated": V2SessionTerminated,
    }

    def query_params(self, options: RealtimeOptions) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = [
            ("sample_rate", str(options.sample_rate)),
            ("encoding", options.encoding),
        ]
        if options.word_boost:
            params.append(("word_boost", _query_value(options.word_boost)))
        if options.disable_partial_transcripts:
            params.append(("disable_partial_transcripts", "true"))
        if options.enable_extra_session_information:
            params.append(("enable_extra_session_information", "true"))
        params.extend((k, _query_value(v)) for k, v in options.extra_params.items())
        return params

    def _parse_dict(self, data: dict[str, Any]) -> WireMessage | None:
        kind = data.get("message_type")
        model = self._TYPES.get(kind) if isinstance(kind, str) else None
        if model is not None:
            return model.from_json_data(data)
        if kind is None and "error" in data:
            return V2Error.from_json_data(data)
        return None

    def terminate_message(self) -> str:
        return _dumps({"terminate_session": True})

    def force_endpoint_message(self) -> str:
        return _dumps({"force_end_utterance": True})

    def session_setup_messages(self, options: RealtimeOptions) -> list[str]:
        if options.end_utterance_silence_threshold is None:
            return []
        return self.update_messages(options, {"end_utterance_silence_threshold"})

    def update_messages(self, options: RealtimeOptions, names: set[str]) -> list[str]:
        if "end_utterance_silence_threshold" in names and (
            options.end_utterance_silence_threshold is not None
        ):
            threshold = options.end_utterance_silence_threshold
            return [_dumps({"end_utterance_silence_threshold": threshold})]
        return []


class V3Adapter(ProtocolAdapter):
    """Universal Streaming v3: ``/v3/ws`` (usm-streaming*.yml); dispatches on ``type``."""

    name: ProtocolName = "v3"
    path = "/v3/ws"
    # UpdateConfiguration carries RealTimeSessionParameters (SDK 1.8.2): the protocol says
    # what changes live, for every speech model.
    live_updatable = V3_LIVE
    # v3 has no server-side switch for partials; speechkit filters them.
    local_options = _LOCAL | {"disable_partial_transcripts"}

    _TYPES: dict[str, type[V3Message]] = {
        "Begin": V3Begin,
        "Turn": V3Turn,
        "Termination": V3Termination,
        "SpeechStarted": V3SpeechStarted,
        "Error": V3Error,
        "Warning": V3Warning,
        "Heartbeat": V3Heartbeat,
        "Silence": V3Silence,
        "LLMGatewayResponse": V3LLMGatewayResponse,
        "SpeakerRevision": V3SpeakerRevision,
    }

    _QUERY_FIELDS = tuple(p.name for p in V3_PARAMS)

    def query_params(self, options: RealtimeOptions) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = [
            ("sample_rate", str(options.sample_rate)),
            ("encoding", options.encoding),
        ]
        for name in self._QUERY_FIELDS:
            value = getattr(options, name)
            if value is not None:
                params.append((name, _query_value(value)))
        params.extend((k, _query_value(v)) for k, v in options.extra_params.items())
        return params

    def extra_headers(self) -> dict[str, str]:
        return {"AssemblyAI-Version": V3_API_VERSION}

    def _parse_dict(self, data: dict[str, Any]) -> WireMessage | None:
        kind = data.get("type")
        model = self._TYPES.get(kind) if isinstance(kind, str) else None
        if model is not None:
            return model.from_json_data(data)
        if kind is None and "error" in data:
            return V3Error.from_json_data(data)
        return None

    def terminate_message(self) -> str:
        return _dumps({"type": "Terminate"})

    def force_endpoint_message(self) -> str:
        return _dumps({"type": "ForceEndpoint"})

    def keepalive_message(self) -> str | None:
        return _dumps({"type": "KeepAlive"})

    def update_messages(self, options: RealtimeOptions, names: set[str]) -> list[str]:
        message: dict[str, Any] = {"type": "UpdateConfiguration"}
        for name in sorted(names):
            value = getattr(options, name)
            if isinstance(value, tuple) or name == "keyterms_prompt":
                # "keyterms_prompt: [] clears the list" (U3 spec).
                value = list(value or ())
            message[name] = value
        return [_dumps(message)]


def adapter_for(protocol: str) -> ProtocolAdapter:
    if protocol == "v2":
        return V2Adapter()
    if protocol == "v3":
        return V3Adapter()
    raise InvalidInputError(f'protocol must be "v2" or "v3", got {protocol!r}.')


_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def websocket_url(base_url: str, path: str, params: Sequence[tuple[str, str]] = ()) -> str:
    """Build the websocket URL for ``path`` under ``base_url``.

    ``http``/``https`` become ``ws``/``wss``; host, port and any path prefix are kept (a base URL
    that already ends with ``path`` is used as is); ``params`` are added to any query the base URL
    has.

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) or ws(s) URL with a host.
    """
    parts = urllib.parse.urlsplit(base_url.strip())
    scheme = _WS_SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ConfigurationError(
            f"Realtime base URL must be http(s):// or ws(s):// with a host, got {base_url!r}."
        )
    prefix = parts.path.rstrip("/")
    full_path = prefix if prefix.endswith(path) else prefix + path
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params)
    return urllib.parse.urlunsplit(
        (scheme, parts.netloc, full_path, urllib.parse.urlencode(query), "")
    )


_SECRET_PARAMS = frozenset({"token", "api_key", "key"}) | SECRET_PARAMS


def redact_url(url: str) -> str:
    """``url`` with secret query values and any password replaced by ``***`` (for logs)."""
    parts = urllib.parse.urlsplit(url)
    query = [
        (k, "***" if k.lower() in _SECRET_PARAMS else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, urllib.parse.urlencode(query, safe="*"), "")
    )
