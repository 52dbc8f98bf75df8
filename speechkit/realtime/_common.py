"""What the sync and asyncio transcribers share: the constructor (so both take exactly the same
options), option and endpoint resolution, and the table of which callback receives which event.
Every decision about the session itself lives in :mod:`speechkit._core.realtime`.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Unpack
from websockets.exceptions import (
    ConnectionClosed,
    InvalidStatus,
    PayloadTooBig,
    ProtocolError,
    WebSocketException,
)
from websockets.protocol import State

from speechkit._core.options import unknown_option_message
from speechkit._core.realtime import (
    Connect,
    ConnectionInfo,
    ConnectionSettings,
    RealtimeSession,
    redact_secrets,
)
from speechkit._core.realtime_options import OPTION_NAMES
from speechkit._core.realtime_protocol import (
    RealtimeOptionArgs,
    RealtimeOptions,
    websocket_url,
)
from speechkit._core.retry import RetryPolicy
from speechkit._settings import (
    ASSEMBLYAI_BASE_URL,
    ASSEMBLYAI_EU_BASE_URL,
    BASE_URL_ENV,
    resolve_api_key,
    settings,
)
from speechkit._version import __version__
from speechkit.errors import (
    ConfigurationError,
    InvalidInputError,
    RealtimeCallbackError,
    RealtimeError,
)
from speechkit.models.realtime import (
    ErrorEvent,
    FinalTranscript,
    PartialTranscript,
    RealtimeEvent,
    RealtimeUsage,
    Reconnected,
    ServerMessage,
    SessionClosed,
    SessionInformation,
    SessionOpened,
    SpeechStarted,
    Turn,
)

__all__ = ["RealtimeCallbackError", "TranscriberBase"]

logger = logging.getLogger("speechkit.realtime")

#: The v3 streaming hosts (protocols.md 2.2); v2 used the REST host.
STREAMING_BASE_URL = "https://streaming.assemblyai.com"
STREAMING_EU_BASE_URL = "https://streaming.eu.assemblyai.com"

#: Seconds the websocket closing handshake may take before the socket is dropped.
CLOSE_TIMEOUT = 1.0
#: The largest server message accepted (bytes); a bigger one is a RealtimeError with code 1009.
MAX_MESSAGE_BYTES = 1 << 20


#: Sent on every handshake and token request. The version is speechkit's own: the installed
#: distributions table has no "speechkit" of ours (the distribution is speechkit-stt), and may
#: have an unrelated project of that name.
USER_AGENT = f"speechkit-python/{__version__}"


class RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """Hands websockets a logger that blanks the key and token out of every message: its debug
    log prints the handshake request line (with the ``token`` query) and every header."""

    def __init__(self, logger: logging.Logger, secrets: Sequence[str | None]) -> None:
        super().__init__(logger, {})
        self._secrets = [s for s in secrets if s]

    def _clean(self, value: object) -> object:
        if isinstance(value, str | bytes) or value.__class__.__str__ is not object.__str__:
            text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            if any(secret in text for secret in self._secrets):
                return redact_secrets(text, self._secrets)
        return value

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            cleaned = tuple(self._clean(a) for a in args)
            self.logger.log(level, self._clean(msg), *cleaned, **kwargs)


def websockets_logger(step: Connect) -> RedactingLogger:
    return RedactingLogger(logging.getLogger("websockets.client"), [step.api_key, step.token])


# ---- what both shells do around websockets, written once ---------------------------------------


class CloseHandshakeWatch:
    """Bounds a closing handshake the server started.

    After the server's close frame, websockets answers it and then waits for the server to close
    TCP, with no deadline on the reading side (its ``close_timeout`` only applies to a close or a
    send of ours). A server whose reading is paused behind audio it never read (it closed with
    frames still queued) never sees that answer, so it keeps the connection open until its own
    close timeout, and the session would learn of the close only then. The reader asks
    :meth:`stalled` after each receive that timed out and drops the socket once the handshake
    has taken longer than :data:`CLOSE_TIMEOUT`; the close code the server sent is kept.
    """

    def __init__(self) -> None:
        self._connection: object = None
        self._since = 0.0

    def stalled(self, connection: object, state: State, now: float) -> bool:
        """Whether ``connection`` (in ``state``) has been closing for too long."""
        if state is not State.CLOSING:
            self._connection = None
            return False
        if connection is not self._connection:
            self._connection, self._since = connection, now
            return False
        return now - self._since >= CLOSE_TIMEOUT


def connect_arguments(step: Connect) -> dict[str, Any]:
    """Keyword arguments for ``websockets`` ``connect()`` (sync and asyncio take the same)."""
    return {
        "additional_headers": step.headers,
        "user_agent_header": USER_AGENT,
        "open_timeout": step.timeout,
        "close_timeout": CLOSE_TIMEOUT,
        "compression": None,
        "max_size": MAX_MESSAGE_BYTES,
        "logger": websockets_logger(step),
    }


def report_connect_failure(session: RealtimeSession, err: BaseException, now: float) -> None:
    """Tell the session why the websocket could not be opened (both shells)."""
    if isinstance(err, InvalidStatus):
        session.connect_failed(now, detail=str(err), status=err.response.status_code)
    elif isinstance(err, TimeoutError):
        session.connect_failed(now, detail="timed out", timed_out=True)
    else:
        session.connect_failed(now, detail=f"{type(err).__name__}: {err}")


#: Exceptions of an opening handshake that :func:`report_connect_failure` handles.
CONNECT_ERRORS = (OSError, EOFError, TimeoutError, WebSocketException)


def report_close(session: RealtimeSession, closed: ConnectionClosed, now: float) -> None:
    """Tell the session how the websocket closed: the server's close frame, or the code the
    client sent because the server broke the protocol (invalid UTF-8, an oversize frame).

    A text frame is decoded only when it is read, so the server may have completed a normal
    close by then; websockets then chains the decoding error as the cause, which wins."""
    cause = closed.__cause__
    protocol_error = _PROTOCOL_ERRORS.get(type(cause)) if cause is not None else None
    sent, rcvd = closed.sent, closed.rcvd
    if protocol_error is not None:
        session.connection_closed(now, protocol_error, str(cause)[:120], by_client=True)
    elif sent is not None and sent.code in (1002, 1007, 1009):
        # The client only sends these when the server broke the protocol.
        session.connection_closed(now, sent.code, sent.reason, by_client=True)
    elif rcvd is not None:
        session.connection_closed(now, rcvd.code, rcvd.reason)
    else:
        session.connection_closed(now, None, "")


_PROTOCOL_ERRORS: dict[type[BaseException], int] = {
    UnicodeDecodeError: 1007,
    PayloadTooBig: 1009,
    ProtocolError: 1002,
}


def not_a_sync_token() -> RealtimeError:
    return RealtimeError(
        "RealtimeTranscriber needs a token callable that returns a string; use "
        "AsyncRealtimeTranscriber for an async token provider."
    )


# Which callbacks receive which event, in call order. on_error receives the error itself.
_ROUTES: dict[type[RealtimeEvent], tuple[str, ...]] = {
    SessionOpened: ("on_open",),
    PartialTranscript: ("on_partial", "on_data"),
    FinalTranscript: ("on_final", "on_data"),
    Turn: ("on_turn",),
    SpeechStarted: ("on_speech_started",),
    SessionInformation: ("on_extra_session_information",),
    Reconnected: ("on_reconnect",),
    ErrorEvent: ("on_error",),
    SessionClosed: ("on_close",),
    ServerMessage: ("on_message",),
}

Callback = Callable[[Any], object]
TokenSource = str | Callable[[], str | Awaitable[str]]


def resolve_realtime_base_url(protocol: str, explicit: str | None) -> str:
    """Explicit argument, then ``ASSEMBLYAI_BASE_URL``, then ``speechkit.settings.base_url`` (the
    AssemblyAI REST hosts map to their streaming hosts for v3)."""
    for candidate in (explicit, os.environ.get(BASE_URL_ENV)):
        if candidate and candidate.strip():
            return candidate.strip()
    base = settings.base_url.rstrip("/")
    if protocol == "v3":
        if base == ASSEMBLYAI_BASE_URL:
            return STREAMING_BASE_URL
        if base == ASSEMBLYAI_EU_BASE_URL:
            return STREAMING_EU_BASE_URL
    return base


#: ``max_retries``, ``backoff_initial`` and ``backoff_max`` when not passed.
_RECONNECT_DEFAULTS = (5, 0.25, 5.0)


def _from_policy(
    retry: RetryPolicy, given: tuple[int, float, float]
) -> tuple[int, float, float, float]:
    """The reconnect settings of ``retry=`` (its ``max_retry_after`` does not apply)."""
    if not isinstance(retry, RetryPolicy):
        raise InvalidInputError(
            f"retry must be a speechkit.RetryPolicy, got {type(retry).__name__}."
        )
    if given != _RECONNECT_DEFAULTS:
        raise InvalidInputError(
            "Pass retry=RetryPolicy(...) or max_retries/backoff_initial/backoff_max, not both."
        )
    return retry.max_retries, retry.initial_delay, retry.max_delay, retry.jitter


class TranscriberBase:
    """Options, callbacks and read-only state shared by both transcribers."""

    def __init__(
        self,
        *,
        on_data: Callback | None = None,
        on_error: Callback | None = None,
        on_open: Callback | None = None,
        on_close: Callback | None = None,
        on_extra_session_information: Callback | None = None,
        on_partial: Callback | None = None,
        on_final: Callback | None = None,
        on_turn: Callback | None = None,
        on_speech_started: Callback | None = None,
        on_reconnect: Callback | None = None,
        on_message: Callback | None = None,
        sample_rate: int = 16_000,
        encoding: Literal["pcm_s16le", "pcm_mulaw"] = "pcm_s16le",
        protocol: Literal["v2", "v3"] = "v3",
        chunk_ms: int = 100,
        extra_params: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        token: TokenSource | None = None,
        base_url: str | None = None,
        endpoints: Sequence[str] | None = None,
        connect_timeout: float = 10.0,
        max_retries: int = 5,
        backoff_initial: float = 0.25,
        backoff_max: float = 5.0,
        retry: RetryPolicy | None = None,
        keepalive_interval: float | None = 10.0,
        terminate_timeout: float = 5.0,
        replay_buffer_ms: int = 60_000,
        **options: Unpack[RealtimeOptionArgs],
    ) -> None:
        self._callbacks: dict[str, Callback | None] = {
            "on_data": on_data,
            "on_error": on_error,
            "on_open": on_open,
            "on_close": on_close,
            "on_extra_session_information": on_extra_session_information,
            "on_partial": on_partial,
            "on_final": on_final,
            "on_turn": on_turn,
            "on_speech_started": on_speech_started,
            "on_reconnect": on_reconnect,
            "on_message": on_message,
        }
        for name, callback in self._callbacks.items():
            if callback is not None and not callable(callback):
                raise InvalidInputError(f"{name} must be callable, got {callback!r}.")
        # Every other keyword is a table option (speechkit._core.options.realtime_v2/_v3):
        # names, types and values are checked there; an unknown name gets "did you mean",
        # among the options and this constructor's own arguments.
        for name in options:
            if name not in OPTION_NAMES:
                known = OPTION_NAMES | set(inspect.signature(TranscriberBase).parameters)
                message = unknown_option_message(
                    name, known - {"options"}, where=type(self).__name__
                )
                raise InvalidInputError(message)
        realtime_options = RealtimeOptions(
            protocol=protocol,
            sample_rate=sample_rate,
            encoding=encoding,
            chunk_ms=chunk_ms,
            extra_params=extra_params,
            **options,
        )
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("backoff_initial", backoff_initial),
            ("backoff_max", backoff_max),
            ("terminate_timeout", terminate_timeout),
        ):
            if not value >= 0:
                raise InvalidInputError(f"{name} must be a non-negative number of seconds.")
        if keepalive_interval is not None and not keepalive_interval > 0:
            raise InvalidInputError("keepalive_interval must be positive seconds, or None.")
        if max_retries < 0:
            raise InvalidInputError("max_retries must be 0 or more.")
        jitter: dict[str, float] = {}
        if retry is not None:
            max_retries, backoff_initial, backoff_max, jitter["backoff_jitter"] = _from_policy(
                retry, (max_retries, backoff_initial, backoff_max)
            )
        if isinstance(token, str) and not token.strip():
            raise InvalidInputError("token is empty.")
        # With a token no key is needed (and none is sent); otherwise a key must be found now.
        key = None if token is not None else resolve_api_key(api_key, default=settings.api_key)
        urls = list(endpoints or ())
        if base_url or not urls:
            urls.insert(0, resolve_realtime_base_url(protocol, base_url))
        if not all(isinstance(u, str) and u for u in urls):
            raise ConfigurationError("endpoints must be non-empty URL strings.")
        self._token_source: Callable[[], str | Awaitable[str]] | None = (
            None if token is None or isinstance(token, str) else token
        )
        self._session = RealtimeSession(
            realtime_options,
            ConnectionSettings(
                endpoints=tuple(urls),
                api_key=key,
                token=token if isinstance(token, str) else None,
                connect_timeout=connect_timeout,
                max_retries=max_retries,
                backoff_initial=backoff_initial,
                backoff_max=backoff_max,
                **jitter,
                keepalive_interval=keepalive_interval,
                terminate_timeout=terminate_timeout,
                replay_buffer_ms=replay_buffer_ms,
                token_provider=self._token_source is not None,
            ),
        )
        # Validate the URLs now rather than on the reader thread.
        for url in urls:
            websocket_url(url, self._session.adapter.path)
        self._setup()

    def _setup(self) -> None:
        """Create the shell's own state (locks, events); called at the end of ``__init__``."""

    def __repr__(self) -> str:
        info = self._session.connection_info
        return (
            f"<{type(self).__name__} protocol={info.protocol} state={info.state} "
            f"session_id={info.session_id!r} url={info.url!r}>"
        )

    # ---- read-only state -------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Whether a session is open on a live connection now (``False`` while reconnecting)."""
        return self._session.is_open

    @property
    def session_id(self) -> str | None:
        """The server's id for the current connection's session (it changes on reconnect)."""
        return self._session.session_id

    @property
    def connection_info(self) -> ConnectionInfo:
        """A loggable summary: state, URL (token redacted), endpoints tried, reconnects, usage."""
        return self._session.connection_info

    @property
    def usage(self) -> RealtimeUsage:
        """Audio accounting (seconds sent, replayed, padded; server-reported durations)."""
        return self._session.usage

    @property
    def options(self) -> RealtimeOptions:
        """The current options (after any :meth:`update_options`)."""
        return self._session.options

    # ---- callbacks -------------------------------------------------------------------------------

    def _handlers(self, event: RealtimeEvent) -> list[tuple[str, Callback, object]]:
        """The callbacks for ``event`` with the argument each one receives."""
        names = _ROUTES.get(type(event), ())
        argument: object = event.error if isinstance(event, ErrorEvent) else event
        handlers = []
        for name in names:
            callback = self._callbacks.get(name)
            if callback is not None:
                handlers.append((name, callback, argument))
        if not handlers and isinstance(event, ErrorEvent):
            # Never silent: with no on_error, errors go to the log.
            level = logging.ERROR if event.fatal else logging.WARNING
            logger.log(level, "Realtime session error: %s", event.error)
        return handlers

    def _callback_failed(self, name: str, exc: Exception) -> tuple[Callback, RealtimeError] | None:
        """Wrap a callback's exception; return (on_error, error) to report it, or log it."""
        error = RealtimeCallbackError(name, exc)
        error.__cause__ = exc
        on_error = self._callbacks.get("on_error")
        if on_error is None or name == "on_error":
            logger.error("%s", error, exc_info=exc)
            return None
        return on_error, error
