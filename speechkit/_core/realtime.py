"""The sans-I/O realtime session: every decision of a streaming session, and no I/O.

A shell (``speechkit.realtime._sync`` with threads, ``._async`` with tasks) drives one
:class:`RealtimeSession` in a loop, in the style of ``websockets``' own ``Protocol``::

    while True:
        step = session.next_step(now)          # Connect / Receive / Disconnect / Sleep / Finished
        send(session.data_to_send())           # audio chunks (bytes) and control messages (str)
        dispatch(session.events_received())    # events for the application's callbacks
        ...perform step, then report the outcome: connected(), connect_failed(), receive(),
           connection_closed(), disconnected()

Nothing here imports sockets, threads, asyncio or a clock: ``now`` is a float of seconds from any
monotonic clock, passed in by the shell, and the jitter source is injected.

**Timeline.** Audio the application streams is appended to one *session timeline* (bytes, and
milliseconds derived from them). Each connection starts sending at some timeline position, its
*offset*; the server's times (milliseconds from the start of the audio on that connection) are moved
onto the timeline by adding the offset, so times keep increasing across reconnects.

**Replay.** Audio after the end of the last final transcript stays in a bounded
:class:`~speechkit._core.realtime_audio.ReplayBuffer`. When a connection drops, the next one starts
at the buffer's start, so every word not yet delivered as final is recognized again; the offset is
the position where the replay starts. If the buffer overflowed, the oldest audio was dropped: the
gap is reported as an :class:`RealtimeAudioLostError` through ``on_error`` when the replay starts.

**Exactly-once finals** and the mapping of each connection's times onto the timeline live in
:mod:`speechkit._core.realtime_transcripts`; the session trims the replay buffer to what finals
cover. Shared values (settings, steps, connection info) are in :mod:`.realtime_types`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, Literal

from speechkit.errors import RealtimeConnectionError, RealtimeError
from speechkit.models.realtime import (
    ErrorEvent,
    RealtimeEvent,
    RealtimeUsage,
    Reconnected,
    SessionClosed,
    SessionInformation,
    SessionOpened,
    V2Error,
    V2FinalTranscript,
    V2PartialTranscript,
    V2SessionBegins,
    V2SessionInformation,
    V2SessionTerminated,
    V3Begin,
    V3Error,
    V3SpeechStarted,
    V3Termination,
    V3Turn,
    V3Warning,
    parse_expiry,
)

from .realtime_audio import Chunker, ReplayBuffer, check_audio_chunk
from .realtime_codes import CloseCodeInfo, classify_close
from .realtime_protocol import RealtimeOptions, UpdatePlan, adapter_for, redact_secrets
from .realtime_transcripts import Delivery, TranscriptMapper
from .realtime_types import (
    Connect,
    ConnectionInfo,
    ConnectionSettings,
    Disconnect,
    EndpointAttempt,
    FetchToken,
    Finished,
    RealtimeAudioLostError,
    Receive,
    SessionState,
    Sleep,
    Step,
    backoff_delay,
)

__all__ = [
    "Connect",
    "ConnectionInfo",
    "ConnectionSettings",
    "Disconnect",
    "EndpointAttempt",
    "FetchToken",
    "Finished",
    "RealtimeAudioLostError",
    "RealtimeSession",
    "Receive",
    "SessionState",
    "Sleep",
    "Step",
    "backoff_delay",
]

logger = logging.getLogger("speechkit.realtime")

_MAX_ATTEMPT_RECORDS = 50

#: By default close() may wait this many times the outstanding audio's duration (on top of
#: ``terminate_timeout``): a server transcribes at about real time, and a file sent unpaced
#: leaves it that much work. Progress (any message) is what keeps close() waiting; this bounds it.
CLOSE_PROCESSING_FACTOR = 3.0

#: A connection that stayed open this long counts as having worked even if the server sent
#: nothing (long silence), so its drop does not use up ``max_retries``.
STABLE_CONNECTION_SECONDS = 30.0

#: Closes the websocket library makes when the *server* broke the protocol.
_CLIENT_CLOSES = {
    1002: "a frame that breaks the websocket protocol",
    1007: "a text frame that is not valid UTF-8",
    1009: "a frame larger than the client accepts",
}


def _handshake_status(status: int) -> tuple[bool, str]:
    """(retryable, meaning) for an HTTP status that refused the websocket upgrade."""
    if status in (401, 403):
        return False, "the server rejected the credentials (check the API key or token)"
    if status in (408, 425, 429) or status >= 500:
        return True, "the server is busy or failing"
    return False, "the server refused the connection request"


class RealtimeSession:
    """The state machine of one realtime session (possibly many connections). Not thread-safe:
    a shell serializes calls (the sync shell with a lock, the async shell on its event loop)."""

    def __init__(
        self,
        options: RealtimeOptions,
        settings: ConnectionSettings,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not settings.endpoints:
            raise RealtimeConnectionError("No realtime endpoint is configured.")
        self.options = options
        self.settings = settings
        self.adapter = adapter_for(options.protocol)
        self.format = options.audio_format
        self.chunker = Chunker(self.format, options.chunk_ms, options.protocol)
        self._rng = rng
        self.state = SessionState.IDLE
        self.error: RealtimeError | None = None
        self.session_id: str | None = None
        self.expires_at: str | None = None
        self._out: list[bytes | str] = []
        self._events: list[RealtimeEvent] = []
        self._disconnect: str | None = None
        self._socket_open = False
        # Timeline (bytes).
        limit = max(self.format.ms_to_bytes(settings.replay_buffer_ms), 2 * self.chunker.max_bytes)
        self._buffer = ReplayBuffer(limit)
        self._sent = 0  # sent on the current connection up to here
        self._sent_high = 0  # the furthest position ever sent
        self._conn_offset = 0  # where the current connection's audio starts
        self._final_pos = 0  # finals cover the audio before this position
        self._lost_reported_until = 0
        self._overflow_warned = False
        self._transcripts = TranscriptMapper()
        # Connection attempts.
        self._failures = 0
        self._attempts_made = 0  # since the last session began
        self._delivered = False  # the current connection received a message after its begin
        self._opened_at = 0.0
        self._endpoint_index = 0
        self._retry_at = 0.0
        self._fetched_token: str | None = None
        self._attempt_deadline = 0.0
        self._attempts: list[EndpointAttempt] = []
        self._current_url: str | None = None
        self._opened_once = False
        self._drop: tuple[int | None, str] = (None, "")
        self._previous_session_id: str | None = None
        self._last_server_error = ""
        self._last_durations: tuple[float | None, float | None] = (None, None)
        # Timers and requests.
        self._last_send_at = 0.0
        self._unsent_since: float | None = None
        self._close_requested = False
        self._close_deadline: float | None = None  # the hard limit of close()
        self._close_stall: float | None = None  # give up after this long without progress
        self._last_progress = 0.0
        self._started = False
        self._losses: list[RealtimeAudioLostError] = []
        self._reconfiguring = False
        self._reconfigure_deadline: float | None = None
        self._pending_force = False
        # Usage.
        self._connections = 0
        self._replayed_bytes = 0
        self._padded_bytes = 0
        self._server_audio_s: float | None = None

    # ---- queries ---------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether a session is open on a live connection (audio flows)."""
        return self.state in (SessionState.OPEN, SessionState.TERMINATING)

    @property
    def is_finished(self) -> bool:
        return self.state in (SessionState.CLOSED, SessionState.FAILED)

    @property
    def opened(self) -> bool:
        """Whether any connection of this session reached an open session."""
        return self._opened_once

    @property
    def usage(self) -> RealtimeUsage:
        bps = self.format.bytes_per_second
        return RealtimeUsage(
            audio_seconds_sent=self._sent_high / bps,
            audio_seconds_replayed=self._replayed_bytes / bps,
            audio_seconds_padded=self._padded_bytes / bps,
            server_audio_seconds=self._server_audio_s,
            connections=self._connections,
        )

    @property
    def connection_info(self) -> ConnectionInfo:
        return ConnectionInfo(
            protocol=self.options.protocol,
            state=self.state.value,
            url=self._current_url,
            session_id=self.session_id,
            expires_at=self.expires_at,
            connections=self._connections,
            reconnects=max(self._connections - 1, 0),
            attempts=tuple(self._attempts),
            usage=self.usage,
        )

    @property
    def lost_audio(self) -> RealtimeAudioLostError | None:
        """All audio of this session that was not transcribed, as one error (``None``: none).

        The shells raise it from ``close()``: losing audio is an error the caller sees, not
        only a log line."""
        if len(self._losses) <= 1:
            return self._losses[0] if self._losses else None
        total = sum(loss.lost_ms for loss in self._losses)
        first = min(loss.start_ms for loss in self._losses)
        details = "; ".join(str(loss) for loss in self._losses)
        return RealtimeAudioLostError(
            f"{total} ms of audio in {len(self._losses)} stretches were not transcribed: {details}",
            lost_ms=total,
            start_ms=first,
        )

    @property
    def has_output(self) -> bool:
        """Whether :meth:`data_to_send` has frames waiting."""
        return bool(self._out)

    def data_to_send(self) -> list[bytes | str]:
        """Take the frames to send, in order: ``bytes`` as binary frames, ``str`` as text frames."""
        out, self._out = self._out, []
        return out

    def events_received(self) -> list[RealtimeEvent]:
        """Take the events to deliver to the application, in order."""
        events, self._events = self._events, []
        return events

    # ---- the driver loop -------------------------------------------------------------------------

    def next_step(self, now: float) -> Step:
        """Run due timers, then say what the shell should do next."""
        self._run_timers(now)
        if self._disconnect is not None:
            return Disconnect(self._disconnect)
        state = self.state
        if state is SessionState.IDLE:
            return self._begin_attempt(now)
        if state is SessionState.WAITING_TO_RECONNECT:
            if now >= self._retry_at:
                return self._begin_attempt(now)
            return Sleep(min(self._retry_at - now, self._wake_cap(now)))
        if state in (SessionState.AWAITING_BEGIN, SessionState.OPEN, SessionState.TERMINATING):
            deadline = self._next_deadline()
            timeout = self.settings.wake_interval if deadline is None else deadline - now
            return Receive(max(0.0, min(timeout, self._wake_cap(now))))
        if state is SessionState.FETCHING_TOKEN:
            if self._fetched_token is None:
                raise RuntimeError("report token_fetched() or token_failed() before the next step")
            return self._connect_step(now)
        if state is SessionState.CONNECTING:
            raise RuntimeError("report connected() or connect_failed() before the next step")
        return Finished()

    def connected(self, now: float) -> None:
        """The websocket handshake succeeded; the session begins when the server says so."""
        self._socket_open = True
        self._last_send_at = now
        self._last_progress = now
        if self.is_finished:  # close() was called while connecting
            self._disconnect = "closed by the client"
            return
        self.state = SessionState.AWAITING_BEGIN
        self._record_attempt("pending", "handshake done, waiting for the session to begin")

    def connect_failed(
        self, now: float, *, detail: str, status: int | None = None, timed_out: bool = False
    ) -> None:
        """The websocket could not be opened (refused, timed out, or an HTTP status)."""
        self._socket_open = False
        if self.is_finished:
            return
        if status is not None:
            retryable, meaning = _handshake_status(status)
            message = f"HTTP {status}: {meaning}"
        else:
            retryable = True
            message = "timed out" if timed_out else detail
        message = redact_secrets(message, (self.settings.api_key, self.settings.token))
        self._record_attempt("failed", message)
        self._attempt_failed(now, message, code=None, retryable=retryable, status=status)

    def disconnected(self, now: float) -> None:
        """The shell closed the websocket after a :class:`Disconnect` step."""
        self._disconnect = None
        self._socket_open = False
        self._out.clear()  # frames for that connection are moot; its audio is in the buffer

    def connection_closed(
        self, now: float, code: int | None, reason: str = "", *, by_client: bool = False
    ) -> None:
        """The websocket closed (``code`` ``None`` when it broke without a close frame).

        ``by_client``: the websocket library closed it because the *server* broke the protocol
        (1002, 1007 invalid UTF-8, 1009 a frame over ``max_size``); ``code`` is the code it sent.
        That is reported as a :class:`RealtimeError` with the code and treated as a drop.
        Call :meth:`next_step` next."""
        if (
            by_client
            and code is not None
            and self.state
            in (
                SessionState.AWAITING_BEGIN,
                SessionState.OPEN,
                SessionState.TERMINATING,
            )
        ):
            meaning = _CLIENT_CLOSES.get(code, "a frame the client could not accept")
            error = RealtimeError(
                f"The realtime server sent {meaning}; the client closed the connection with "
                f"code {code}" + (f" ({reason})" if reason else "") + ".",
                code=code,
                retryable=True,
            )
            self._events.append(ErrorEvent(error=error, fatal=False))
            # A broken message, like a broken connection: reconnecting may help.
            info: CloseCodeInfo | None = CloseCodeInfo(code, f"the server sent {meaning}", True)
        else:
            info = None
        self._socket_open = False
        self._disconnect = None
        self._out.clear()  # frames for that connection are moot; its audio is in the buffer
        self._deliver(self._transcripts.release_held())
        state = self.state
        if state not in (
            SessionState.AWAITING_BEGIN,
            SessionState.OPEN,
            SessionState.TERMINATING,
        ):
            return  # already decided (finished, or reconnecting)
        info = info or classify_close(self.options.protocol, code)
        said = f"; the server said: {self._last_server_error}" if self._last_server_error else ""
        why = f"code {info.code} ({info.meaning})" + (f": {reason}" if reason else "") + said
        if state is SessionState.TERMINATING and code == 1000:
            if self._reconfiguring and not self._close_requested:
                self._all_sent_processed()
                self._schedule_reconnect(now, delay=0.0, code=code, reason="options changed")
            else:
                self._finish(now, code=code, reason=reason or "closed")
            return
        if state is SessionState.AWAITING_BEGIN:
            self._record_attempt("failed", f"closed before the session began: {why}")
            self._attempt_failed(
                now, f"closed before the session began: {why}", code=info.code,
                retryable=info.retryable, hint=info.hint,
            )  # fmt: skip
            return
        # An open session lost its connection.
        # 1000 without a Termination: the server ended the connection but not the session and
        # said nothing was wrong, so carry on on a new connection.
        retryable = True if code == 1000 else info.retryable
        if not retryable:
            hint = f" {info.hint}" if info.hint else ""
            self._fail(
                now, RealtimeError(f"The realtime session was closed: {why}.{hint}", code=info.code)
            )
            return
        if self._delivered or now - self._opened_at >= STABLE_CONNECTION_SECONDS:
            self._failures = 0  # the connection did work: this drop starts a new count
        self._failures += 1
        if self._failures > self.settings.max_retries:
            if self.settings.max_retries == 0:
                message = (
                    f"The realtime connection dropped ({why}) and max_retries=0 allows no retry."
                )
            else:
                message = (
                    f"The realtime connection dropped ({why}); {self._failures} attempts in a "
                    "row failed or ended before delivering anything, so speechkit gave up "
                    f"(max_retries={self.settings.max_retries})."
                )
            self._fail(now, RealtimeError(message, code=info.code, retryable=True))
            return
        logger.warning("Realtime connection lost (%s); reconnecting.", why)
        self._schedule_reconnect(
            now, delay=self._backoff(), code=code, reason=reason or info.meaning
        )

    def receive(self, message: str | bytes, now: float) -> None:
        """Handle one server frame. Unknown and malformed messages are logged and ignored."""
        self._last_progress = now  # the server is alive and working (close() waits on this)
        if isinstance(message, bytes | bytearray | memoryview):
            logger.debug("Ignoring a binary frame from the realtime server.")
            return
        try:
            parsed = self.adapter.parse(message)
        except (ValueError, RecursionError, OverflowError, TypeError) as err:
            # A hostile or broken server (deep nesting, huge numbers, a known type with a wrong
            # shape) must not kill the reader: report it and read on.
            self._bad_message(err, message)
            return
        if parsed is None:
            logger.debug("Ignoring an unknown realtime message: %.200s", message)
            return
        if not isinstance(parsed, V2SessionBegins | V3Begin) and self.state in (
            SessionState.OPEN,
            SessionState.TERMINATING,
        ):
            self._delivered = True  # this connection is doing work: its drop starts a new count
        try:
            self._handle(parsed, now)
        except (ValueError, RecursionError, OverflowError, TypeError) as err:
            self._bad_message(err, message)

    def _bad_message(self, err: BaseException, message: str) -> None:
        detail = " ".join(str(err).split())[:200] or type(err).__name__
        error = RealtimeError(
            f"The realtime server sent a message speechkit cannot read ({type(err).__name__}: "
            f"{detail}); it was skipped and the session goes on. The message began: "
            f"{message[:80]!r}"
        )
        error.__cause__ = err
        self._events.append(ErrorEvent(error=error, fatal=False))  # logged if no on_error

    def _handle(self, parsed: Any, now: float) -> None:
        if isinstance(parsed, V2SessionBegins | V3Begin):
            self._on_begin(parsed, now)
            return
        if self.state is SessionState.AWAITING_BEGIN:
            logger.debug("Ignoring %s before the session began.", type(parsed).__name__)
            return
        if isinstance(parsed, V2PartialTranscript | V2FinalTranscript):
            self._deliver(self._transcripts.v2_transcript(parsed, self.options))
        elif isinstance(parsed, V3Turn):
            self._deliver(self._transcripts.turn(parsed, self.options))
        elif isinstance(parsed, V3SpeechStarted):
            self._events.append(self._transcripts.speech_started(parsed))
        elif isinstance(parsed, V2SessionInformation):
            self._events.append(
                SessionInformation(audio_duration_seconds=parsed.audio_duration_seconds)
            )
            self._add_server_audio(parsed.audio_duration_seconds)
        elif isinstance(parsed, V2SessionTerminated | V3Termination):
            self._on_terminated(parsed, now)
        elif isinstance(parsed, V2Error | V3Error):
            code = parsed.error_code if isinstance(parsed, V3Error) else None
            self._last_server_error = parsed.error
            self._events.append(
                ErrorEvent(
                    error=RealtimeError(
                        f"The realtime server reported an error: {parsed.error}",
                        code=code if isinstance(code, int) else None,
                    )
                )
            )
        elif isinstance(parsed, V3Warning):
            logger.warning("Realtime server warning %s: %s", parsed.warning_code, parsed.warning)

    # ---- application requests --------------------------------------------------------------------

    def start(self) -> None:
        """The application called ``connect()``: from now on audio is accepted (it is buffered
        until the session opens). Call :meth:`next_step` next."""
        self._started = True

    def send_audio(self, data: object, now: float) -> None:
        """Accept audio from the application: check it, add it to the timeline, send what is due.

        Raises:
            InvalidInputError: The data is not raw audio in the session's format.
            RealtimeError: ``connect()`` was not called, or the session failed or is closing.
        """
        self._check_started("stream()")
        self._check_accepting()
        raw = check_audio_chunk(data, self.format)
        if raw:
            self._append(raw)
            self._pump(now)

    def force_endpoint(self, now: float) -> None:
        """End the current utterance/turn now (sent after any pending audio)."""
        self._check_started("force_endpoint()")
        self._check_accepting()
        if self.state is SessionState.OPEN:
            self._pump(now, flush=True)
            self._queue(self.adapter.force_endpoint_message(), now)
        else:
            self._pending_force = True

    def update_options(self, now: float, **changes: Any) -> UpdatePlan:
        """Change options. What the protocol can change on an open stream is sent right away; for
        the rest the session ends the current connection gracefully (the server finishes the audio
        it has) and opens a new one with the latest options.

        Raises:
            InvalidInputError: An unknown or invalid option, or ``protocol``/``sample_rate``/
                ``encoding`` (they cannot change during a session).
        """
        self._check_accepting()
        new = self.options.replace(**changes)
        plan = self.adapter.plan_update(self.options, new)
        self.options = new
        if new.chunk_ms != self.chunker.chunk_ms:
            self.chunker = Chunker(self.format, new.chunk_ms, new.protocol)
        if self.state is not SessionState.OPEN:
            # Not connected: the next connection uses the new options (query and setup messages).
            return plan
        for message in plan.messages:
            self._queue(message, now)
        if plan.reconnect:
            self._reconfiguring = True
            self._reconfigure_deadline = now + self.settings.terminate_timeout
            self._start_terminate(now)
        return plan

    def outstanding_seconds(self) -> float:
        """Seconds of audio the server has not yet confirmed with a final (sent or not)."""
        return self.format.bytes_to_ms(max(self._buffer.end - self._final_pos, 0)) / 1000

    def close_budget(self, timeout: float | None = None) -> float:
        """The longest :meth:`request_close` would wait, in seconds: ``timeout`` when given,
        otherwise ``terminate_timeout`` plus :data:`CLOSE_PROCESSING_FACTOR` times the audio that
        is still outstanding (a file streamed faster than real time leaves the server minutes of
        work, which a fixed wait would cut off)."""
        if timeout is not None:
            return max(timeout, 0.0)
        extra = CLOSE_PROCESSING_FACTOR * self.outstanding_seconds()
        return self.settings.terminate_timeout + extra

    def request_close(self, now: float, timeout: float | None = None) -> float:
        """Finish the session: send what is left, ask the server to terminate, and wait for the
        last transcripts.

        With ``timeout=None`` the session waits as long as the server keeps making progress
        (any message counts) and gives up after ``terminate_timeout`` seconds without one, or
        after :meth:`close_budget` seconds in all. An explicit ``timeout`` is a plain deadline.
        Audio not confirmed by then is reported as :class:`RealtimeAudioLostError` (an
        ``ErrorEvent``, and :attr:`lost_audio`). Keep calling :meth:`next_step` until it
        returns :class:`Finished`.

        Returns:
            The budget in seconds (how long the driver may have to keep driving).
        """
        budget = self.close_budget(timeout)
        if self.is_finished or self._close_requested:
            return budget
        self._close_requested = True
        self._close_deadline = now + budget
        self._close_stall = self.settings.terminate_timeout if timeout is None else None
        self._last_progress = now
        self._reconfiguring = False
        if not self._opened_once:
            # Nothing was announced or sent yet: just stop connecting.
            self._finish(now, code=None, reason="closed by the client")
        elif self.state is SessionState.OPEN:
            self._start_terminate(now)
        elif (
            self.state is SessionState.WAITING_TO_RECONNECT and self._buffer.end <= self._final_pos
        ):
            # Nothing is waiting for a transcript, so there is no need to reconnect.
            self._finish(now, code=None, reason="closed by the client")
        return budget

    def abort(self, now: float, error: RealtimeError) -> None:
        """End the session at once with ``error`` (the shell hit a bug of its own)."""
        if not self.is_finished:
            self._fail(now, error)

    # ---- internals: connections ------------------------------------------------------------------

    def _begin_attempt(self, now: float) -> Connect | FetchToken:
        self._attempts_made += 1
        self._attempt_deadline = now + self.settings.connect_timeout
        if self.settings.token_provider:
            # Tokens are single-use (each starts one session): a fresh one per attempt.
            self.state = SessionState.FETCHING_TOKEN
            self._fetched_token = None
            return FetchToken(self.settings.connect_timeout)
        return self._connect_step(now)

    def _connect_step(self, now: float) -> Connect:
        endpoints = self.settings.endpoints
        base = endpoints[self._endpoint_index % len(endpoints)]
        self.state = SessionState.CONNECTING
        step = Connect(
            base_url=base,
            path=self.adapter.path,
            params=tuple(self.adapter.query_params(self.options)),
            api_key=self.settings.api_key,
            token=self._fetched_token or self.settings.token,
            timeout=self.settings.connect_timeout,
            headers_extra=tuple(self.adapter.extra_headers().items()),
        )
        self._fetched_token = None
        self._current_url = step.display_url
        self._attempts.append(EndpointAttempt(self._current_url, now, "pending"))
        del self._attempts[:-_MAX_ATTEMPT_RECORDS]
        logger.debug("Connecting to %s", self._current_url)
        return step

    def token_fetched(self, now: float, token: object) -> None:
        """The shell ran the token provider after a :class:`FetchToken` step and got ``token``.
        Call :meth:`next_step` next: it returns the :class:`Connect` that uses it."""
        if self.state is not SessionState.FETCHING_TOKEN:
            return  # close() was called meanwhile
        if not isinstance(token, str) or not token.strip():
            self.token_failed(
                now,
                RealtimeError(
                    f"The token provider returned {type(token).__name__} {token!r:.40}, not a "
                    "token string."
                ),
            )
            return
        self._fetched_token = token.strip()

    def token_failed(self, now: float, error: BaseException) -> None:
        """The token provider raised ``error``. Transport trouble, 429 and 5xx
        (``error.retryable``) are retried with backoff like a failed connection; anything else
        ends the session with a :class:`RealtimeConnectionError` caused by ``error``.
        Call :meth:`next_step` next."""
        if self.state is not SessionState.FETCHING_TOKEN:
            return
        retryable = isinstance(error, OSError) or bool(getattr(error, "retryable", False))
        message = f"the token provider raised {type(error).__name__}: {error}"
        message = redact_secrets(message, (self.settings.api_key, self.settings.token))
        self._attempts.append(EndpointAttempt("token provider", now, "failed", message))
        del self._attempts[:-_MAX_ATTEMPT_RECORDS]
        status = getattr(error, "status_code", None)
        self._attempt_failed(
            now, message, code=None, retryable=retryable,
            status=status if isinstance(status, int) else None, cause=error,
        )  # fmt: skip

    def _record_attempt(
        self, outcome: Literal["pending", "connected", "failed"], detail: str
    ) -> None:
        if self._attempts:
            last = self._attempts[-1]
            self._attempts[-1] = EndpointAttempt(last.url, last.at, outcome, detail)

    def _attempt_failed(
        self,
        now: float,
        message: str,
        *,
        code: int | None,
        retryable: bool,
        status: int | None = None,
        hint: str = "",
        cause: BaseException | None = None,
    ) -> None:
        # Fail over: the next attempt uses the next endpoint.
        self._endpoint_index += 1
        self._failures += 1
        where = self._current_url or "the realtime endpoint"
        tail = f" {hint}" if hint else ""
        due = self._close_due()
        if self._close_requested and due is not None and now >= due:
            self._finish(now, code=code, reason="closed by the client while reconnecting")
            return
        if not retryable:
            error = self._error(
                f"Could not open a session at {where}: {message}.{tail}",
                code=code if code is not None else status,
            )
            error.__cause__ = cause
            self._fail(now, error)
            return
        if self._failures > self.settings.max_retries:
            error = self._error(
                f"Could not open a realtime session after {self._attempts_made} attempt(s); "
                f"last attempt ({where}): {message}.{tail}",
                code=code if code is not None else status,
                retryable=True,
            )
            error.__cause__ = cause
            self._fail(now, error)
            return
        logger.info("Realtime connection attempt failed (%s); retrying.", message)
        self.state = SessionState.WAITING_TO_RECONNECT
        self._retry_at = now + self._backoff()

    def _error(self, message: str, *, code: int | None, retryable: bool = False) -> RealtimeError:
        cls = RealtimeError if self._opened_once else RealtimeConnectionError
        return cls(message, code=code, retryable=retryable)

    def _backoff(self) -> float:
        s = self.settings
        return backoff_delay(
            self._failures, initial=s.backoff_initial, maximum=s.backoff_max,
            jitter=s.backoff_jitter, rng=self._rng,
        )  # fmt: skip

    def _schedule_reconnect(
        self, now: float, *, delay: float, code: int | None, reason: str
    ) -> None:
        self._drop = (code, reason)
        self._previous_session_id = self.session_id
        if self._socket_open:
            self._disconnect = reason or "reconnecting"
        self.state = SessionState.WAITING_TO_RECONNECT
        self._retry_at = now + delay
        self._reconfiguring = False
        self._reconfigure_deadline = None

    def _on_begin(self, begin: V2SessionBegins | V3Begin, now: float) -> None:
        if self.state is not SessionState.AWAITING_BEGIN:
            logger.debug("Ignoring a repeated session begin message.")
            return
        attempt = self._attempts_made
        # _failures is not reset here: a server that opens sessions and drops them at once must
        # still run out of retries. It restarts once a connection delivers (see receive()).
        self._attempts_made = 0
        self._delivered = False
        self._opened_at = now
        self._connections += 1
        self._last_server_error = ""
        self._record_attempt("connected", "")
        self.session_id = begin.id if isinstance(begin, V3Begin) else begin.session_id
        expires = parse_expiry(begin.expires_at)
        self.expires_at = expires.isoformat() if expires else None
        first = not self._opened_once
        self._opened_once = True
        # The new connection starts at the oldest audio not covered by a final transcript.
        start = self._buffer.start
        lost = start - max(self._final_pos, self._lost_reported_until)
        self._conn_offset = self._sent = start
        offset_ms = round(self.format.bytes_to_ms(start))
        self._transcripts.new_connection(offset_ms, self.session_id, replay=not first)
        self.state = SessionState.OPEN
        self._last_send_at = now
        if first:
            self._events.append(
                SessionOpened(
                    session_id=self.session_id, expires_at=expires, protocol=self.options.protocol
                )
            )
        else:
            lost_ms = 0
            if lost > 0:
                lost_ms = round(self.format.bytes_to_ms(lost))
                self._report_loss(start - lost, lost_ms, "the replay buffer overflowed")
                self._lost_reported_until = start
            code, reason = self._drop
            self._events.append(
                Reconnected(
                    attempt=max(attempt, 1),
                    session_id=self.session_id,
                    previous_session_id=self._previous_session_id,
                    code=code,
                    reason=reason,
                    replayed_ms=round(self.format.bytes_to_ms(self._buffer.end - start)),
                    offset_ms=offset_ms,
                    lost_ms=lost_ms,
                )
            )
        for message in self.adapter.session_setup_messages(self.options):
            self._queue(message, now)
        self._pump(now)
        if self._pending_force:
            self._pending_force = False
            self._pump(now, flush=True)
            self._queue(self.adapter.force_endpoint_message(), now)
        if self._close_requested:
            self._start_terminate(now)

    def _on_terminated(self, message: V2SessionTerminated | V3Termination, now: float) -> None:
        self._deliver(self._transcripts.release_held())
        if isinstance(message, V3Termination):
            self._last_durations = (
                message.audio_duration_seconds,
                message.session_duration_seconds,
            )
            if message.audio_duration_seconds is not None:
                self._add_server_audio(message.audio_duration_seconds)
        # The server has processed (and sent the transcripts of) everything it received.
        self._all_sent_processed()
        if self._reconfiguring and not self._close_requested:
            self._schedule_reconnect(now, delay=0.0, code=1000, reason="options changed")
            return
        reason = "closed by the client" if self._close_requested else "the server ended the session"
        self._finish(now, code=1000, reason=reason)

    def _all_sent_processed(self) -> None:
        self._final_pos = max(self._final_pos, self._sent)
        self._transcripts.all_processed(round(self.format.bytes_to_ms(self._final_pos)))
        self._buffer.trim_to(self._final_pos)

    def _finish(self, now: float, *, code: int | None, reason: str) -> None:
        """End the session normally (closed by the client or the server)."""
        self._deliver(self._transcripts.release_held())
        unconfirmed = self._buffer.end - self._final_pos
        if self._close_requested and unconfirmed > 0 and self._opened_once:
            ms = round(self.format.bytes_to_ms(unconfirmed))
            self._report_loss(
                self._final_pos, ms, "the session ended before the server confirmed it"
            )
        self.state = SessionState.CLOSED
        if self._socket_open:
            self._disconnect = reason or "closed"
        if self._opened_once:
            audio_s, session_s = self._last_durations
            self._events.append(
                SessionClosed(
                    code=code, reason=reason, audio_duration_seconds=audio_s,
                    session_duration_seconds=session_s, usage=self.usage,
                )
            )  # fmt: skip

    def _fail(self, now: float, error: RealtimeError) -> None:
        """End the session with a fatal error."""
        self._deliver(self._transcripts.release_held())
        self.error = error
        self.state = SessionState.FAILED
        if self._socket_open:
            self._disconnect = "session failed"
        if not self._opened_once:
            return  # connect() raises it; no session was announced.
        self._events.append(ErrorEvent(error=error, fatal=True))
        unconfirmed = self._buffer.end - self._final_pos
        if unconfirmed > 0:
            ms = round(self.format.bytes_to_ms(unconfirmed))
            self._report_loss(self._final_pos, ms, "the session failed before it was transcribed")
        self._events.append(
            SessionClosed(code=error.code, reason=str(error), error=error, usage=self.usage)
        )

    def _report_loss(self, position: int, lost_ms: int, why: str) -> None:
        start_ms = round(self.format.bytes_to_ms(position))
        error = RealtimeAudioLostError(
            f"{lost_ms} ms of audio starting at {start_ms} ms were not transcribed: {why}.",
            lost_ms=lost_ms,
            start_ms=start_ms,
        )
        self._losses.append(error)
        self._events.append(ErrorEvent(error=error, fatal=False))

    def _check_started(self, what: str) -> None:
        if not self._started and self.state is SessionState.IDLE:
            raise RealtimeError(
                f"{what} was called before connect(): call connect() first (or use the "
                "transcriber in a `with` block, which connects and closes it), so no audio is "
                "buffered for a session that never opens."
            )

    def _check_accepting(self) -> None:
        if self.state is SessionState.FAILED:
            raise RealtimeError(
                f"The realtime session failed: {self.error}",
                code=self.error.code if self.error else None,
            ) from self.error
        if self.state is SessionState.CLOSED or self._close_requested:
            raise RealtimeError("The realtime session is closed; create a new transcriber.")

    # ---- internals: timers -----------------------------------------------------------------------

    def _wake_cap(self, now: float) -> float:
        cap = self.settings.wake_interval
        due = self._close_due()
        if due is not None:
            cap = min(cap, max(due - now, 0.0))
        return cap

    def _close_due(self) -> float | None:
        """When closing gives up: the hard limit, or earlier once the server stalls. The stall
        clock runs only while connected (a reconnect's backoff is not the server stalling)."""
        due = self._close_deadline
        if due is None or self._close_stall is None:
            return due
        if self.state in (SessionState.AWAITING_BEGIN, SessionState.OPEN, SessionState.TERMINATING):
            return min(due, self._last_progress + self._close_stall)
        return due

    def _next_deadline(self) -> float | None:
        candidates: list[float] = []
        if self.state is SessionState.AWAITING_BEGIN:
            candidates.append(self._attempt_deadline)
        if self.state is SessionState.OPEN:
            if self._unsent_since is not None:
                candidates.append(self._unsent_since + self.options.chunk_ms / 1000)
            if self.settings.keepalive_interval is not None:
                candidates.append(self._last_send_at + self.settings.keepalive_interval)
        due = self._close_due()
        if due is not None:
            candidates.append(due)
        if self._reconfigure_deadline is not None:
            candidates.append(self._reconfigure_deadline)
        return min(candidates) if candidates else None

    def _run_timers(self, now: float) -> None:
        if self.is_finished:
            return
        due = self._close_due()
        if due is not None and now >= due:
            stalled = self._close_deadline is not None and due < self._close_deadline
            why = (
                f"the server sent nothing for {self._close_stall:g} s"
                if stalled
                else "the close timeout ran out"
            )
            logger.warning("close() gave up waiting for the server: %s.", why)
            self._finish(
                now, code=None, reason=f"timed out waiting for the server to end the session: {why}"
            )
            return
        state = self.state
        if state is SessionState.AWAITING_BEGIN and now >= self._attempt_deadline:
            timeout = self.settings.connect_timeout
            message = f"the session did not begin within {timeout:g} s"
            self._record_attempt("failed", message)
            self._disconnect = "no session begin"
            self._attempt_failed(now, message, code=None, retryable=True)
            return
        if (
            state is SessionState.TERMINATING
            and self._reconfigure_deadline is not None
            and now >= self._reconfigure_deadline
        ):
            # The server did not confirm; reconnect anyway and replay what is unconfirmed.
            self._schedule_reconnect(now, delay=0.0, code=None, reason="options changed")
            return
        if state is SessionState.OPEN:
            if (
                self._unsent_since is not None
                and now >= self._unsent_since + self.options.chunk_ms / 1000
            ):
                self._pump(now, flush=True)
            interval = self.settings.keepalive_interval
            if interval is not None and now >= self._last_send_at + interval:
                keepalive = self.adapter.keepalive_message()
                if keepalive is not None:
                    self._queue(keepalive, now)
                else:
                    silence = self.format.silence(self.chunker.min_bytes)
                    self._padded_bytes += len(silence)
                    self._append(silence)
                    self._pump(now, flush=True)

    # ---- internals: audio ------------------------------------------------------------------------

    def _queue(self, message: bytes | str, now: float) -> None:
        self._out.append(message)
        self._last_send_at = now

    def _append(self, data: bytes) -> None:
        dropped = self._buffer.append(data)
        if not dropped:
            self._overflow_warned = False
            return
        if self._sent < self._buffer.start:
            self._sent = self._buffer.start
        if not self._overflow_warned:
            self._overflow_warned = True
            logger.warning(
                "The realtime replay buffer is full (%d ms): the oldest audio is no longer kept "
                "for replay after a disconnect.",
                self.settings.replay_buffer_ms,
            )

    def _start_terminate(self, now: float) -> None:
        self._pump(now, flush=True)
        self._queue(self.adapter.terminate_message(), now)
        self.state = SessionState.TERMINATING

    def _pump(self, now: float, *, flush: bool = False) -> None:
        """Send the unsent audio in chunks the protocol accepts."""
        if self.state is not SessionState.OPEN:
            return
        sizes, pad = self.chunker.plan(self._buffer.end - self._sent, flush=flush)
        if pad:
            self._padded_bytes += pad
            self._append(self.format.silence(pad))
        for size in sizes:
            start, end = self._sent, self._sent + size
            self._queue(self._buffer.read(start, end), now)
            self._replayed_bytes += max(0, min(end, self._sent_high) - start)
            self._sent = end
            self._sent_high = max(self._sent_high, end)
        if self._sent < self._buffer.end:
            if self._unsent_since is None:
                self._unsent_since = now
        else:
            self._unsent_since = None

    # ---- internals: transcripts ------------------------------------------------------------------

    def _deliver(self, delivery: Delivery) -> None:
        """Queue the events; trim the replay buffer to what finals now cover."""
        self._events += delivery.events
        if delivery.covered_ms is not None:
            position = min(
                self._conn_offset + self.format.ms_to_bytes(delivery.covered_ms), self._sent
            )
            if position > self._final_pos:
                self._final_pos = position
                self._buffer.trim_to(position)

    def _add_server_audio(self, seconds: float) -> None:
        self._server_audio_s = (self._server_audio_s or 0.0) + seconds
