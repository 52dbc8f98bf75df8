"""The realtime session state machine: a thin layer over :class:`~.timeline.Timeline` (the audio),
:class:`~.reconnect.ReconnectPolicy` (attempts, endpoints, backoff) and :class:`~.closing.Closing`.

Each method says what the driver (the shell) must do next, as in ``websockets``' ``protocol.py``.
The driver loop::

    while True:
        step = session.next_step(now)        # FetchToken/Connect/Receive/Disconnect/Sleep/Finished
        send(session.data_to_send())         # audio chunks (bytes) and control messages (str)
        dispatch(session.events_received())  # events for the application's callbacks
        ...perform the step, then report its outcome: token_fetched()/token_failed(),
           connected()/connect_failed(), receive()/connection_closed(), disconnected()
"""

from __future__ import annotations

import logging
from typing import Any

from speechkit._core.realtime_audio import Chunker, check_audio_chunk
from speechkit._core.realtime_codes import CloseCodeInfo, classify_close
from speechkit._core.realtime_protocol import UpdatePlan
from speechkit._core.realtime_types import (
    Disconnect,
    Finished,
    Receive,
    SessionState,
    Sleep,
    Step,
)
from speechkit._core.retry import client_close_retryable, connect_failure_retryable
from speechkit.errors import RealtimeError
from speechkit.models.realtime import (
    ErrorEvent,
)

from . import messages
from .reconnect import handshake_status, token_error_retryable
from .state import CLIENT_CLOSES, LIVE_STATES, SessionCore

__all__ = ["RealtimeSession"]

logger = logging.getLogger("speechkit.realtime")


class RealtimeSession(SessionCore):
    """The state machine of one realtime session (possibly many connections). Not thread-safe:
    a shell serializes calls (the sync shell with a lock, the async shell on its event loop).

    The methods below are what a driver calls; each says what to do next. State, queries
    (``usage``, ``connection_info``, ``lost_audio``, ``data_to_send()``, ``events_received()``)
    and the shared transitions are in :class:`~.state.SessionCore`."""

    # ---- the driver loop -------------------------------------------------------------------------

    def next_step(self, now: float) -> Step:
        """Run due timers, then say what the driver does next (see each step's docstring).
        Before performing it, send :meth:`data_to_send` and dispatch :meth:`events_received`."""
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
        if state in LIVE_STATES:
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

    def token_fetched(self, now: float, token: object) -> None:
        """After :class:`FetchToken`: the provider returned ``token``. Call :meth:`next_step`
        next; it returns the :class:`Connect` that uses it."""
        if self.state is not SessionState.FETCHING_TOKEN:
            return  # close() was called meanwhile
        if not isinstance(token, str) or not token.strip():
            got = f"{type(token).__name__} {token!r:.40}"
            self.token_failed(
                now, RealtimeError(f"The token provider returned {got}, not a token string.")
            )
            return
        self._fetched_token = token.strip()

    def token_failed(self, now: float, error: BaseException) -> None:
        """After :class:`FetchToken`: the provider raised ``error``. Transport trouble, 429 and
        5xx are retried with backoff like a failed connection; anything else ends the session
        with a :class:`RealtimeConnectionError` caused by ``error``. Call :meth:`next_step`."""
        if self.state is not SessionState.FETCHING_TOKEN:
            return
        message = self._redact(f"the token provider raised {type(error).__name__}: {error}")
        self.policy.record("token provider", now, "failed", message)
        status = getattr(error, "status_code", None)
        self._attempt_failed(
            now, message, code=status if isinstance(status, int) else None,
            retryable=token_error_retryable(error), cause=error,
        )  # fmt: skip

    def connected(self, now: float) -> None:
        """After :class:`Connect`: the handshake succeeded. Call :meth:`next_step`; it says
        :class:`Receive` until the server's begin message arrives (or the attempt times out)."""
        self._socket_open = True
        self._last_send_at = self.closing.last_progress = now
        if self.is_finished:  # close() was called while connecting
            self._disconnect = "closed by the client"
            return
        self.state = SessionState.AWAITING_BEGIN
        self.policy.update_last("pending", "handshake done, waiting for the session to begin")

    def connect_failed(
        self, now: float, *, detail: str, status: int | None = None, timed_out: bool = False
    ) -> None:
        """After :class:`Connect`: the websocket could not be opened (refused, timed out, or an
        HTTP status). Call :meth:`next_step`: it sleeps (backoff) or finishes."""
        self._socket_open = False
        if self.is_finished:
            return
        if status is not None:
            retryable, meaning = handshake_status(status)
            message = f"HTTP {status}: {meaning}"
        else:
            retryable = connect_failure_retryable()
            message = "timed out" if timed_out else self._redact(detail)
        self.policy.update_last("failed", message)
        self._attempt_failed(now, message, code=status, retryable=retryable)

    def disconnected(self, now: float) -> None:
        """After :class:`Disconnect`: the driver closed the websocket. Call :meth:`next_step`."""
        self._disconnect = None
        self._socket_open = False
        self._out.clear()  # frames for that connection are moot; its audio is in the timeline

    def receive(self, message: str | bytes, now: float) -> None:
        """After :class:`Receive`: one server frame arrived. Then send :meth:`data_to_send`,
        dispatch :meth:`events_received` and call :meth:`next_step`. A frame that cannot be
        read is an ``ErrorEvent`` (a :class:`RealtimeError`); the session goes on."""
        self.closing.last_progress = now  # the server is alive and working
        if isinstance(message, bytes | bytearray | memoryview):
            logger.debug("Ignoring a binary frame from the realtime server.")
            return
        messages.receive(self, message, now)

    def connection_closed(
        self, now: float, code: int | None, reason: str = "", *, by_client: bool = False
    ) -> None:
        """After :class:`Receive`: the websocket closed (``code`` ``None`` without a close frame).

        ``by_client``: the websocket library closed it because the *server* broke the protocol
        (1002, 1007 invalid UTF-8, 1009 oversize); ``code`` is the code it sent. That is an
        ``ErrorEvent`` with the code, and a drop. Call :meth:`next_step` next."""
        info: CloseCodeInfo | None = None
        if by_client and code is not None and self.state in LIVE_STATES:
            meaning = CLIENT_CLOSES.get(code, "a frame the client could not accept")
            detail = f" ({reason})" if reason else ""
            error = RealtimeError(
                f"The realtime server sent {meaning}; the client closed the connection with "
                f"code {code}{detail}.",
                code=code,
                retryable=client_close_retryable(),
            )
            self._events.append(ErrorEvent(error=error, fatal=False))
            info = CloseCodeInfo(code, f"the server sent {meaning}", error.retryable)
        self._socket_open = False
        self._disconnect = None
        self._out.clear()
        self._deliver(self.transcripts.release_held())
        state = self.state
        if state not in LIVE_STATES:
            return  # already decided (finished, or reconnecting)
        info = info or classify_close(self.options.protocol, code)
        said = f"; the server said: {self.last_server_error}" if self.last_server_error else ""
        why = f"code {info.code} ({info.meaning})" + (f": {reason}" if reason else "") + said
        if state is SessionState.TERMINATING and code == 1000:
            if self._reconfiguring and not self.closing.requested:
                self._all_sent_processed()
                self._schedule_reconnect(now, delay=0.0, code=code, reason="options changed")
            else:
                self._finish(now, code=code, reason=reason or "closed")
            return
        if state is SessionState.AWAITING_BEGIN:
            message = f"closed before the session began: {why}"
            self.policy.update_last("failed", message)
            self._attempt_failed(
                now, message, code=info.code, retryable=info.retryable, hint=info.hint
            )
            return
        # An open session lost its connection. 1000 without a Termination: the server ended the
        # connection but not the session and said nothing was wrong, so carry on.
        if not (code == 1000 or info.retryable):
            hint = f" {info.hint}" if info.hint else ""
            message = f"The realtime session was closed: {why}.{hint}"
            self._fail(now, RealtimeError(message, code=info.code))
            return
        outcome = self.policy.dropped(now)
        if outcome.delay is None:
            retries = self.settings.max_retries
            message = f"The realtime connection dropped ({why}) and max_retries=0 allows no retry."
            if retries:
                message = (
                    f"The realtime connection dropped ({why}); {outcome.failures} attempts in a "
                    "row failed or ended before delivering anything, so speechkit gave up "
                    f"(max_retries={retries})."
                )
            self._fail(now, RealtimeError(message, code=info.code, retryable=True))
            return
        logger.warning("Realtime connection lost (%s); reconnecting.", why)
        self._schedule_reconnect(now, delay=outcome.delay, code=code, reason=reason or info.meaning)

    # ---- application requests --------------------------------------------------------------------

    def start(self) -> None:
        """The application called ``connect()``: from now on audio is accepted (buffered until
        the session opens). Call :meth:`next_step` next."""
        self._started = True

    def send_audio(self, data: object, now: float) -> None:
        """Accept audio: check it, add it to the timeline, queue what is due. Then send
        :meth:`data_to_send`.

        Raises:
            InvalidInputError: The data is not raw audio in the session's format.
            RealtimeError: ``connect()`` was not called, or the session failed or is closing.
        """
        self._check_accepting("stream()")
        raw = check_audio_chunk(data, self.format)
        if raw:
            self.timeline.append(raw)
            self._pump(now)

    def force_endpoint(self, now: float) -> None:
        """End the current utterance/turn now (queued after any pending audio). Then send
        :meth:`data_to_send`."""
        self._check_accepting("force_endpoint()")
        if self.state is SessionState.OPEN:
            self._pump(now, flush=True)
            self._queue(self.adapter.force_endpoint_message(), now)
        else:
            self._pending_force = True

    def update_options(self, now: float, **changes: Any) -> UpdatePlan:
        """Change options. What the protocol can change on an open stream is queued right away;
        for the rest the session ends the current connection gracefully and opens a new one with
        the latest options. Then send :meth:`data_to_send` and wake the driver.

        Raises:
            InvalidInputError: An unknown or invalid option, or ``protocol``/``sample_rate``/
                ``encoding`` (they cannot change during a session).
        """
        self._check_accepting()
        new = self.options.replace(**changes)
        plan = self.adapter.plan_update(self.options, new)
        self.options = new
        if new.chunk_ms != self.chunker.chunk_ms:
            self.timeline.chunker = Chunker(self.format, new.chunk_ms, new.protocol)
        if self.state is not SessionState.OPEN:
            return plan  # the next connection uses the new options
        for message in plan.messages:
            self._queue(message, now)
        if plan.reconnect:
            self._reconfiguring = True
            self._reconfigure_deadline = now + self.settings.terminate_timeout
            self._start_terminate(now)
        return plan

    def request_close(self, now: float, timeout: float | None = None) -> float:
        """Finish the session: queue what is left and the terminate message, then wait for the
        last transcripts: while the server makes progress, within :meth:`close_budget` (see
        :mod:`.closing`). Audio not confirmed by then is an ``ErrorEvent`` with a
        :class:`RealtimeAudioLostError` (also :attr:`lost_audio`). Send :meth:`data_to_send`,
        then keep calling :meth:`next_step` until it returns :class:`Finished`.

        Returns:
            The budget in seconds (how long the driver may have to keep driving).
        """
        budget = self.close_budget(timeout)
        if self.is_finished or self.closing.requested:
            return budget
        stall = self.settings.terminate_timeout if timeout is None else None
        self.closing.begin(now, budget, stall)
        self._reconfiguring = False
        if not self._opened_once:
            self._finish(now, code=None, reason="closed by the client")  # nothing announced yet
        elif self.state is SessionState.OPEN:
            self._start_terminate(now)
        elif self.state is SessionState.WAITING_TO_RECONNECT and not self.timeline.unconfirmed:
            # Nothing is waiting for a transcript, so there is no need to reconnect.
            self._finish(now, code=None, reason="closed by the client")
        return budget

    def abort(self, now: float, error: RealtimeError) -> None:
        """End the session at once with ``error`` (the shell hit a bug of its own)."""
        if not self.is_finished:
            self._fail(now, error)
