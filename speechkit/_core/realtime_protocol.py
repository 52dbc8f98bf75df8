"""Pure adapters for AssemblyAI realtime v2 and Universal Streaming v3 (protocols.md, section 2).

An adapter maps :class:`RealtimeOptions` to the connection URL and headers, builds control messages,
parses server text frames into wire models, and says which option changes can be sent on an open
stream. It does no I/O and keeps no session state.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

from .options import Option
from .options.realtime import encode, query_pairs
from .options.realtime_v2 import V2_OPTIONS, V2_ROWS
from .options.realtime_v3 import V3_OPTIONS, V3_ROWS
from .realtime_options import RealtimeOptionArgs, RealtimeOptions

__all__ = [
    "ProtocolAdapter",
    "RealtimeOptionArgs",
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

#: Options only one protocol has: derived from the two tables (core rows aside).
_V2_ONLY = frozenset(n for n, r in V2_OPTIONS.items() if not r.core) - V3_OPTIONS.keys()
_V3_ONLY = frozenset(n for n, r in V3_OPTIONS.items() if not r.core) - V2_OPTIONS.keys()
# Changing these would change what the buffered audio means; they need a new transcriber.
_FIXED = frozenset({"protocol", "sample_rate", "encoding"})


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
    # NaN and infinities are not JSON: the option checks refuse them, and this is the backstop.
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


_PLAIN = Option("", "string", "")


def _extra_value(value: Any) -> str:
    """An ``extra_params`` value: as a table row would send it (lists and dicts as JSON)."""
    if isinstance(value, tuple):
        value = list(value)
    return encode(_PLAIN, value)


class ProtocolAdapter:
    """The pieces of a realtime protocol that differ between v2 and v3."""

    name: ProtocolName
    path: str
    #: The protocol's option table (``speechkit._core.options.realtime_v2``/``_v3``).
    rows: tuple[Option, ...] = ()
    #: Options that can change on an open stream with a control message (the rows' ``live``).
    live_updatable: frozenset[str] = frozenset()
    #: Options speechkit applies itself; changing them never touches the connection.
    local_options: frozenset[str] = frozenset({"chunk_ms"})

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.live_updatable = frozenset(r.name for r in cls.rows if r.live)
        cls.local_options = frozenset({"chunk_ms"}) | {
            r.name for r in cls.rows if r.wire == "local"
        }

    def query_params(self, options: RealtimeOptions) -> list[tuple[str, str]]:
        """The URL's query: the audio format, then each set option the table sends on the URL
        (in table order), then ``extra_params``."""
        params: list[tuple[str, str]] = [
            ("sample_rate", str(options.sample_rate)),
            ("encoding", options.encoding),
        ]
        params.extend(query_pairs((r for r in self.rows if not r.core), options.options))
        params.extend((k, _extra_value(v)) for k, v in options.extra_params.items())
        return params

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
        before, after = old.as_dict(), new.as_dict()
        changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
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
    # Live: "end_utterance_silence_threshold ... allowed at any time" (protocols.md 2.1).
    rows = V2_ROWS

    _TYPES: dict[str, type[V2Message]] = {
        "SessionBegins": V2SessionBegins,
        "PartialTranscript": V2PartialTranscript,
        "FinalTranscript": V2FinalTranscript,
        "SessionInformation": V2SessionInformation,
        "SessionTerminated": V2SessionTerminated,
    }

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
    # Live: what UpdateConfiguration carries (the SDK's StreamingSessionParameters), for every
    # speech model. Local: v3 has no switch for partials; speechkit filters them.
    rows = V3_ROWS

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


_SECRET_PARAMS = frozenset({"token", "api_key", "key"}) | {
    r.name for r in (*V2_ROWS, *V3_ROWS) if r.secret
}


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
