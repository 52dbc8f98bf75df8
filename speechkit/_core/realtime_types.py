"""The values a realtime session and its shells exchange: settings, steps, connection info, and
the audio-loss error (sans-I/O; see :mod:`speechkit._core.realtime`). Times are seconds."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

from speechkit.errors import RealtimeAudioLostError
from speechkit.models.realtime import RealtimeUsage

from .realtime_protocol import redact_url, websocket_url
from .retry import backoff_delay

__all__ = [
    "Connect",
    "ConnectionInfo",
    "ConnectionSettings",
    "Disconnect",
    "EndpointAttempt",
    "FetchToken",
    "Finished",
    "RealtimeAudioLostError",
    "Receive",
    "SessionState",
    "Sleep",
    "Step",
    "backoff_delay",
]


class SessionState(enum.Enum):
    """Where a session is in its life."""

    IDLE = "idle"
    FETCHING_TOKEN = "fetching_token"
    CONNECTING = "connecting"
    AWAITING_BEGIN = "awaiting_begin"
    OPEN = "open"
    TERMINATING = "terminating"
    WAITING_TO_RECONNECT = "waiting_to_reconnect"
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """How a session connects and recovers. All times are seconds.

    Attributes:
        endpoints: Base URLs (http(s) or ws(s)) tried in order; a failed attempt moves to the next.
        api_key: Sent in the ``Authorization`` header (never in the URL). Ignored when a token is
            used.
        token: A temporary token, sent as the ``token`` query parameter.
        connect_timeout: Per attempt: opening handshake plus waiting for the session to begin.
        max_retries: Retries after a failed first connection attempt, and reconnect attempts
            after a drop; the count starts again once a session begins. 0 turns reconnecting off.
        backoff_initial: Delay before the first retry; it doubles per failed attempt...
        backoff_max: ...up to this cap.
        backoff_jitter: Fraction (0 to 1) of the delay randomly removed, so clients do not retry
            in lockstep.
        keepalive_interval: Send a keepalive after this long without sending anything (``None``:
            never). v3 sends ``{"type": "KeepAlive"}``; v2 has no such message, so 100 ms of
            silence is sent (billed as audio).
        terminate_timeout: How long ``close()`` waits without a message from the server (and an
            option change that needs a new connection waits in all) for the server to confirm
            the end of the session.
        replay_buffer_ms: Milliseconds of unfinalized audio kept for replay after a disconnect.
        wake_interval: The longest a shell waits before giving the session a turn, so calls from
            other threads (close, option changes) are acted on promptly.
        token_provider: The shell has a callable that makes a temporary token: every connection
            attempt starts with a :class:`FetchToken` step.
    """

    endpoints: tuple[str, ...]
    api_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    max_retries: int = 5
    backoff_initial: float = 0.25
    backoff_max: float = 5.0
    backoff_jitter: float = 0.25
    keepalive_interval: float | None = 10.0
    terminate_timeout: float = 5.0
    replay_buffer_ms: int = 60_000
    wake_interval: float = 0.25
    token_provider: bool = False


# ---- steps the shell performs ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a websocket to :attr:`url` with :attr:`headers`, giving up after ``timeout`` seconds.

    Report the outcome with :meth:`RealtimeSession.connected` or
    :meth:`RealtimeSession.connect_failed`. A shell with a token *provider* calls
    :meth:`with_token` first.
    """

    base_url: str
    path: str
    params: tuple[tuple[str, str], ...]
    api_key: str | None = field(repr=False)
    token: str | None = field(repr=False)
    timeout: float
    headers_extra: tuple[tuple[str, str], ...] = ()

    def with_token(self, token: str | None) -> Connect:
        return Connect(
            self.base_url, self.path, self.params, self.api_key, token, self.timeout,
            self.headers_extra,
        )  # fmt: skip

    @property
    def url(self) -> str:
        params = list(self.params)
        if self.token:
            params.append(("token", self.token))
        return websocket_url(self.base_url, self.path, params)

    @property
    def display_url(self) -> str:
        """The URL with the token redacted, for logs."""
        return redact_url(self.url)

    @property
    def headers(self) -> dict[str, str]:
        # The key goes in a header, never in the URL; with a token no key is sent at all.
        headers = dict(self.headers_extra)
        if self.api_key and not self.token:
            headers["Authorization"] = self.api_key
        return headers


@dataclass(frozen=True, slots=True)
class FetchToken:
    """Run the application's token provider (a fresh token per attempt: each starts one
    session), then report :meth:`RealtimeSession.token_fetched` with the token or
    :meth:`RealtimeSession.token_failed` with the exception, and ask for the next step.
    ``timeout`` is the seconds the provider may take, where the shell can bound it."""

    timeout: float


@dataclass(frozen=True, slots=True)
class Receive:
    """Wait up to ``timeout`` seconds for a message, then call the matching report method
    (:meth:`~RealtimeSession.receive`, or :meth:`~RealtimeSession.connection_closed`; on a timeout
    just ask for the next step)."""

    timeout: float


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close the current websocket (briefly; the peer may be dead), then report
    :meth:`~RealtimeSession.disconnected`."""

    reason: str


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` (interruptibly), then ask for the next step."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Finished:
    """The session is over; the driver loop ends."""


Step = FetchToken | Connect | Receive | Disconnect | Sleep | Finished


@dataclass(frozen=True, slots=True)
class EndpointAttempt:
    """One connection attempt. ``at`` is the shell's monotonic clock, in seconds."""

    url: str
    at: float
    outcome: Literal["pending", "connected", "failed"]
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A summary of the session's connections (safe to log: no key, tokens redacted).

    Attributes:
        protocol: ``"v2"`` or ``"v3"``.
        state: The session state (:class:`SessionState` value).
        url: The URL of the current or last connection.
        session_id: The current server session id.
        expires_at: When the server will end the current session (ISO 8601), if it said.
        connections: Connections that reached an open session.
        reconnects: Successful reconnects.
        attempts: The most recent connection attempts, oldest first (endpoints tried, failover).
        usage: Audio accounting.
    """

    protocol: str
    state: str
    url: str | None
    session_id: str | None
    expires_at: str | None
    connections: int
    reconnects: int
    attempts: tuple[EndpointAttempt, ...]
    usage: RealtimeUsage
