"""The inside of a realtime session: its state, what it reports, and the transitions the
driver-facing methods of :class:`~speechkit._core.realtime.session.RealtimeSession` share (a
connection's session beginning or ending, the session finishing or failing, timers, queuing
audio). Split from :mod:`.session` so each file reads in one sitting; no I/O here either."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from speechkit._core.realtime_audio import Chunker
from speechkit._core.realtime_protocol import RealtimeOptions, adapter_for
from speechkit._core.realtime_transcripts import Delivery, TranscriptMapper
from speechkit._core.realtime_types import (
    Connect,
    ConnectionInfo,
    ConnectionSettings,
    FetchToken,
    RealtimeAudioLostError,
    SessionState,
)
from speechkit.errors import RealtimeConnectionError, RealtimeError
from speechkit.models.realtime import (
    ErrorEvent,
    RealtimeEvent,
    RealtimeUsage,
    Reconnected,
    SessionClosed,
    SessionOpened,
    V2SessionBegins,
    V2SessionTerminated,
    V3Begin,
    V3Termination,
    parse_expiry,
)

from .closing import Closing, close_budget
from .reconnect import ReconnectPolicy, redact_secrets
from .timeline import Timeline

__all__ = ["SessionCore"]

logger = logging.getLogger("speechkit.realtime")

LIVE_STATES = (SessionState.AWAITING_BEGIN, SessionState.OPEN, SessionState.TERMINATING)

#: Closes the websocket library makes when the *server* broke the protocol.
CLIENT_CLOSES = {
    1002: "a frame that breaks the websocket protocol",
    1007: "a text frame that is not valid UTF-8",
    1009: "a frame larger than the client accepts",
}


class SessionCore:
    """State, queries and shared transitions of :class:`~.session.RealtimeSession`."""

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
        chunker = Chunker(self.format, options.chunk_ms, options.protocol)
        self.timeline = Timeline(self.format, chunker, settings.replay_buffer_ms)
        self.policy = ReconnectPolicy(settings, rng)
        self.closing = Closing()
        self.transcripts = TranscriptMapper()
        self.state = SessionState.IDLE
        self.error: RealtimeError | None = None
        self.session_id: str | None = None
        self.expires_at: str | None = None
        self.last_server_error = ""
        self.durations: tuple[float | None, float | None] = (None, None)
        self.server_audio_s: float | None = None
        self._out: list[bytes | str] = []
        self._events: list[RealtimeEvent] = []
        self._disconnect: str | None = None
        self._socket_open = False
        self._started = False
        self._opened_once = False
        self._connections = 0
        self._retry_at = 0.0
        self._attempt_deadline = 0.0
        self._fetched_token: str | None = None
        self._drop: tuple[int | None, str] = (None, "")
        self._previous_session_id: str | None = None
        self._last_send_at = 0.0
        self._unsent_since: float | None = None
        self._reconfiguring = False
        self._reconfigure_deadline: float | None = None
        self._pending_force = False

    # ---- queries ---------------------------------------------------------------------------------

    @property
    def chunker(self) -> Chunker:
        return self.timeline.chunker

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
        return self.timeline.usage(
            server_audio_s=self.server_audio_s, connections=self._connections
        )

    @property
    def connection_info(self) -> ConnectionInfo:
        return ConnectionInfo(
            protocol=self.options.protocol,
            state=self.state.value,
            url=self.policy.current_url,
            session_id=self.session_id,
            expires_at=self.expires_at,
            connections=self._connections,
            reconnects=max(self._connections - 1, 0),
            attempts=tuple(self.policy.attempts),
            usage=self.usage,
        )

    @property
    def lost_audio(self) -> RealtimeAudioLostError | None:
        """All audio of this session that was not transcribed, as one error (``None``: none).
        The shells raise it from ``close()``: losing audio is an error the caller sees."""
        return self.timeline.lost_audio

    def outstanding_seconds(self) -> float:
        """Seconds of audio the server has not yet confirmed with a final (sent or not)."""
        return self.timeline.outstanding_seconds()

    def close_budget(self, timeout: float | None = None) -> float:
        """The longest :meth:`request_close` would wait, in seconds (see :mod:`.closing`)."""
        return close_budget(
            timeout,
            terminate_timeout=self.settings.terminate_timeout,
            outstanding_s=self.outstanding_seconds(),
        )

    @property
    def has_output(self) -> bool:
        """Whether :meth:`data_to_send` has frames waiting."""
        return bool(self._out)

    def data_to_send(self) -> list[bytes | str]:
        """Take the frames to send, in order: ``bytes`` as binary frames, ``str`` as text frames.
        Send them on the current websocket; if it is gone, drop them (the audio is replayed)."""
        out, self._out = self._out, []
        return out

    def events_received(self) -> list[RealtimeEvent]:
        """Take the events to deliver to the application, in order."""
        events, self._events = self._events, []
        return events

    # ---- internals: connections ------------------------------------------------------------------

    def _begin_attempt(self, now: float) -> Connect | FetchToken:
        self.policy.begin_attempt()
        self._attempt_deadline = now + self.settings.connect_timeout
        if self.settings.token_provider:
            # Tokens are single-use (each starts one session): a fresh one per attempt.
            self.state = SessionState.FETCHING_TOKEN
            self._fetched_token = None
            return FetchToken(self.settings.connect_timeout)
        return self._connect_step(now)

    def _connect_step(self, now: float) -> Connect:
        self.state = SessionState.CONNECTING
        step = Connect(
            base_url=self.policy.endpoint(),
            path=self.adapter.path,
            params=tuple(self.adapter.query_params(self.options)),
            api_key=self.settings.api_key,
            token=self._fetched_token or self.settings.token,
            timeout=self.settings.connect_timeout,
            headers_extra=tuple(self.adapter.extra_headers().items()),
        )
        self._fetched_token = None
        self.policy.record(step.display_url, now)
        logger.debug("Connecting to %s", step.display_url)
        return step

    def _attempt_failed(
        self, now: float, message: str, *, code: int | None, retryable: bool,
        hint: str = "", cause: BaseException | None = None,
    ) -> None:  # fmt: skip
        outcome = self.policy.attempt_failed(retryable=retryable)
        where = self.policy.current_url or "the realtime endpoint"
        tail = f" {hint}" if hint else ""
        due = self.closing.due(connected=False)
        if self.closing.requested and due is not None and now >= due:
            self._finish(now, code=code, reason="closed by the client while reconnecting")
            return
        if outcome.delay is None:
            if retryable:
                text = (
                    f"Could not open a realtime session after {self.policy.attempts_made} "
                    f"attempt(s); last attempt ({where}): {message}.{tail}"
                )
            else:
                text = f"Could not open a session at {where}: {message}.{tail}"
            cls = RealtimeError if self._opened_once else RealtimeConnectionError
            error = cls(text, code=code, retryable=retryable)
            error.__cause__ = cause
            self._fail(now, error)
            return
        logger.info("Realtime connection attempt failed (%s); retrying.", message)
        self.state = SessionState.WAITING_TO_RECONNECT
        self._retry_at = now + outcome.delay

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

    def on_begin(self, begin: V2SessionBegins | V3Begin, now: float) -> None:
        """The server's session began on the current connection (called by :mod:`.messages`)."""
        if self.state is not SessionState.AWAITING_BEGIN:
            logger.debug("Ignoring a repeated session begin message.")
            return
        attempt = self.policy.session_began(now)
        self._connections += 1
        self.last_server_error = ""
        self.session_id = begin.id if isinstance(begin, V3Begin) else begin.session_id
        expires = parse_expiry(begin.expires_at)
        self.expires_at = expires.isoformat() if expires else None
        first = not self._opened_once
        self._opened_once = True
        # The new connection starts at the oldest audio not covered by a final transcript.
        start, lost = self.timeline.start_connection()
        offset_ms = self.timeline.ms(start)
        self.transcripts.new_connection(offset_ms, self.session_id, replay=not first)
        self.state = SessionState.OPEN
        self._last_send_at = now
        if first:
            self._events.append(
                SessionOpened(
                    session_id=self.session_id, expires_at=expires, protocol=self.options.protocol
                )
            )
        else:
            if lost:
                why = "the replay buffer overflowed"
                self._report(self.timeline.loss(start - lost, lost, why))
            code, reason = self._drop
            self._events.append(
                Reconnected(
                    attempt=max(attempt, 1), session_id=self.session_id,
                    previous_session_id=self._previous_session_id, code=code, reason=reason,
                    replayed_ms=self.timeline.ms(self.timeline.end - start), offset_ms=offset_ms,
                    lost_ms=self.timeline.ms(lost),
                )
            )  # fmt: skip
        for message in self.adapter.session_setup_messages(self.options):
            self._queue(message, now)
        self._pump(now)
        if self._pending_force:
            self._pending_force = False
            self._pump(now, flush=True)
            self._queue(self.adapter.force_endpoint_message(), now)
        if self.closing.requested:
            self._start_terminate(now)

    def on_terminated(self, message: V2SessionTerminated | V3Termination, now: float) -> None:
        """The server ended the session after processing everything it received."""
        self._deliver(self.transcripts.release_held())
        if isinstance(message, V3Termination):
            self.durations = (message.audio_duration_seconds, message.session_duration_seconds)
            if message.audio_duration_seconds is not None:
                self.add_server_audio(message.audio_duration_seconds)
        self._all_sent_processed()
        if self._reconfiguring and not self.closing.requested:
            self._schedule_reconnect(now, delay=0.0, code=1000, reason="options changed")
            return
        reason = (
            "closed by the client" if self.closing.requested else "the server ended the session"
        )
        self._finish(now, code=1000, reason=reason)

    def _all_sent_processed(self) -> None:
        self.transcripts.all_processed(self.timeline.ms(self.timeline.confirm_all_sent()))

    def _finish(self, now: float, *, code: int | None, reason: str) -> None:
        """End the session normally (closed by the client or the server)."""
        self._deliver(self.transcripts.release_held())
        unconfirmed = self.timeline.unconfirmed
        if self.closing.requested and unconfirmed > 0 and self._opened_once:
            why = "the session ended before the server confirmed it"
            self._report(self.timeline.loss(self.timeline.confirmed, unconfirmed, why))
        self.state = SessionState.CLOSED
        if self._socket_open:
            self._disconnect = reason or "closed"
        if self._opened_once:
            audio_s, session_s = self.durations
            self._events.append(
                SessionClosed(
                    code=code, reason=reason, audio_duration_seconds=audio_s,
                    session_duration_seconds=session_s, usage=self.usage,
                )
            )  # fmt: skip

    def _fail(self, now: float, error: RealtimeError) -> None:
        """End the session with a fatal error."""
        self._deliver(self.transcripts.release_held())
        self.error = error
        self.state = SessionState.FAILED
        if self._socket_open:
            self._disconnect = "session failed"
        if not self._opened_once:
            return  # connect() raises it; no session was announced.
        self._events.append(ErrorEvent(error=error, fatal=True))
        unconfirmed = self.timeline.unconfirmed
        if unconfirmed > 0:
            why = "the session failed before it was transcribed"
            self._report(self.timeline.loss(self.timeline.confirmed, unconfirmed, why))
        self._events.append(
            SessionClosed(code=error.code, reason=str(error), error=error, usage=self.usage)
        )

    def _report(self, error: RealtimeError) -> None:
        self._events.append(ErrorEvent(error=error, fatal=False))

    def _check_accepting(self, what: str | None = None) -> None:
        if what is not None and not self._started and self.state is SessionState.IDLE:
            raise RealtimeError(
                f"{what} was called before connect(): call connect() first (or use the "
                "transcriber in a `with` block, which connects and closes it), so no audio is "
                "buffered for a session that never opens."
            )
        if self.state is SessionState.FAILED:
            raise RealtimeError(
                f"The realtime session failed: {self.error}",
                code=self.error.code if self.error else None,
            ) from self.error
        if self.state is SessionState.CLOSED or self.closing.requested:
            raise RealtimeError("The realtime session is closed; create a new transcriber.")

    def _redact(self, text: str) -> str:
        return redact_secrets(text, (self.settings.api_key, self.settings.token))

    # ---- internals: timers -----------------------------------------------------------------------

    def _wake_cap(self, now: float) -> float:
        cap = self.settings.wake_interval
        due = self.closing.due(connected=self.state in LIVE_STATES)
        return cap if due is None else min(cap, max(due - now, 0.0))

    def _next_deadline(self) -> float | None:
        candidates: list[float] = []
        if self.state is SessionState.AWAITING_BEGIN:
            candidates.append(self._attempt_deadline)
        if self.state is SessionState.OPEN:
            if self._unsent_since is not None:
                candidates.append(self._unsent_since + self.options.chunk_ms / 1000)
            if self.settings.keepalive_interval is not None:
                candidates.append(self._last_send_at + self.settings.keepalive_interval)
        due = self.closing.due(connected=self.state in LIVE_STATES)
        if due is not None:
            candidates.append(due)
        if self._reconfigure_deadline is not None:
            candidates.append(self._reconfigure_deadline)
        return min(candidates) if candidates else None

    def _run_timers(self, now: float) -> None:
        if self.is_finished:
            return
        state = self.state
        due = self.closing.due(connected=state in LIVE_STATES)
        if due is not None and now >= due:
            why = self.closing.why(due)
            logger.warning("close() gave up waiting for the server: %s.", why)
            reason = f"timed out waiting for the server to end the session: {why}"
            self._finish(now, code=None, reason=reason)
            return
        if state is SessionState.AWAITING_BEGIN and now >= self._attempt_deadline:
            message = f"the session did not begin within {self.settings.connect_timeout:g} s"
            self.policy.update_last("failed", message)
            self._disconnect = "no session begin"
            self._attempt_failed(now, message, code=None, retryable=True)
            return
        reconfigure = self._reconfigure_deadline
        if state is SessionState.TERMINATING and reconfigure is not None and now >= reconfigure:
            # The server did not confirm; reconnect anyway and replay what is unconfirmed.
            self._schedule_reconnect(now, delay=0.0, code=None, reason="options changed")
            return
        if state is SessionState.OPEN:
            if self._unsent_since is not None and now >= self._unsent_since + (
                self.options.chunk_ms / 1000
            ):
                self._pump(now, flush=True)
            interval = self.settings.keepalive_interval
            if interval is not None and now >= self._last_send_at + interval:
                keepalive = self.adapter.keepalive_message()
                if keepalive is not None:
                    self._queue(keepalive, now)
                else:
                    self.timeline.pad(self.chunker.min_bytes)  # v2: silence, billed as audio
                    self._pump(now, flush=True)

    # ---- internals: audio and transcripts --------------------------------------------------------

    def _queue(self, message: bytes | str, now: float) -> None:
        self._out.append(message)
        self._last_send_at = now

    def _start_terminate(self, now: float) -> None:
        self._pump(now, flush=True)
        self._queue(self.adapter.terminate_message(), now)
        self.state = SessionState.TERMINATING

    def _pump(self, now: float, *, flush: bool = False) -> None:
        """Queue the unsent audio in chunks the protocol accepts."""
        if self.state is not SessionState.OPEN:
            return
        for chunk in self.timeline.take_chunks(flush=flush):
            self._queue(chunk, now)
        if self.timeline.unsent > 0:
            if self._unsent_since is None:
                self._unsent_since = now
        else:
            self._unsent_since = None

    def deliver(self, delivery: Delivery) -> None:
        """Queue transcript events; the timeline trims the replay buffer to what finals cover."""
        self._deliver(delivery)

    def _deliver(self, delivery: Delivery) -> None:
        self._events += delivery.events
        if delivery.covered_ms is not None:
            self.timeline.confirm_ms(delivery.covered_ms)

    def emit(self, event: RealtimeEvent) -> None:
        """Queue an event for the application (called by :mod:`.messages`)."""
        self._events.append(event)

    def add_server_audio(self, seconds: float) -> None:
        self.server_audio_s = (self.server_audio_s or 0.0) + seconds
