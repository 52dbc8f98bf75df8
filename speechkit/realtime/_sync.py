"""The blocking realtime transcriber: ``websockets.sync`` and one reader thread per session."""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from speechkit import audio
from speechkit._core.realtime import Connect, Disconnect, FetchToken, Finished, Receive, Sleep
from speechkit._core.realtime_audio import is_buffer
from speechkit.errors import (
    InvalidInputError,
    RealtimeAudioLostError,
    RealtimeConnectionError,
    RealtimeError,
)

from ._common import (
    CLOSE_TIMEOUT,
    CONNECT_ERRORS,
    CloseHandshakeWatch,
    TranscriberBase,
    connect_arguments,
    not_a_sync_token,
    report_close,
    report_connect_failure,
)

__all__ = ["RealtimeTranscriber"]

logger = logging.getLogger("speechkit.realtime")

_thread_ids = itertools.count(1)


class RealtimeTranscriber(TranscriberBase):
    """Stream audio to AssemblyAI realtime (v3 Universal Streaming, or v2) and get callbacks.

    ::

        transcriber = RealtimeTranscriber(sample_rate=16_000, on_data=print, on_error=print)
        transcriber.connect()
        transcriber.stream_file("call.wav", realtime=True)
        transcriber.close()

    **Threads.** Every callback runs on the session's one reader thread (a daemon thread named
    ``speechkit-realtime-N``), in the order the events happened; a slow callback delays the ones
    after it, not the audio you send. Callbacks may call :meth:`stream`, :meth:`update_options` and
    :meth:`close` (from a callback, ``close()`` starts closing and returns without waiting). An
    exception raised by a callback is passed to ``on_error`` as a
    :class:`~speechkit.realtime.RealtimeCallbackError` (or logged) and the session carries on.

    **Callbacks**, each called with one argument:

    - ``on_open(SessionOpened)``: the first session began (later ones are ``on_reconnect``).
    - ``on_data(PartialTranscript | FinalTranscript)``: every transcript, on v2 and v3.
    - ``on_partial(PartialTranscript)``, ``on_final(FinalTranscript)``: the same, split by kind.
      Finals are delivered exactly once, also across reconnects.
    - ``on_turn(Turn)``: every v3 ``Turn`` message, times on the session timeline.
    - ``on_speech_started(SpeechStarted)``: v3 Universal-3 Pro.
    - ``on_extra_session_information(SessionInformation)``: v2, before the session ends.
    - ``on_reconnect(Reconnected)``: a dropped connection was replaced; unconfirmed audio replayed.
    - ``on_error(RealtimeError)``: server errors, audio that could not be transcribed
      (:class:`~speechkit.realtime.RealtimeAudioLostError`), callback failures, and the fatal error
      that ended the session. Without ``on_error`` these go to the ``speechkit.realtime`` log.
    - ``on_close(SessionClosed)``: once, when the session is over (if it was ever opened).
    - ``on_message(ServerMessage)``: server messages that are not transcripts (v3 ``Heartbeat``,
      ``Silence``, ``LLMGatewayResponse``, ``SpeakerRevision``, ``Warning``) and any message type
      speechkit does not know yet, typed where known, never dropped silently.

    **Options.** Every connection parameter of the protocol is a keyword under its wire name:
    v3 ``speech_model``, ``format_turns``, ``min_turn_silence``, ``max_turn_silence``,
    ``keyterms_prompt``, ``language_codes``, ``speaker_labels``, ``prompt``, ``domain``,
    ``redact_pii``, ``webhook_url``, ... (those of the ``assemblyai`` 1.8.2 SDK); v2
    ``word_boost``, ``end_utterance_silence_threshold``, ``enable_extra_session_information``;
    both ``disable_partial_transcripts``. Each is one row of the protocol's option table (see
    the tables in the realtime guide), which checks its type, range and values before anything
    is sent; ``None`` (the default) leaves it to the server. The rows marked live change on an
    open stream with :meth:`update_options`; the rest reconnect.

    **Times.** All transcript times are milliseconds on the session timeline: from the first audio
    byte streamed, continuous across reconnects (they never go backwards). Options ending in ``_ms``
    and ``min/max_turn_silence`` are milliseconds; ``*_timeout``, ``*_interval`` and ``backoff_*``
    options are seconds.

    Args:
        sample_rate: Hz of the audio you stream (8000 to 48000).
        encoding: ``"pcm_s16le"`` (16-bit little-endian) or ``"pcm_mulaw"``.
        protocol: ``"v3"`` (Universal Streaming, ``/v3/ws``) or ``"v2"`` (``/v2/realtime/ws``).
        chunk_ms: Audio is sent in chunks of this many milliseconds (v3: 50-1000, v2: 100-2000).
        extra_params: More query parameters, passed through as is.
        api_key: Sent in the ``Authorization`` header, never in the URL or a log line. Defaults to
            ``ASSEMBLYAI_API_KEY`` or ``speechkit.settings.api_key``.
        token: A temporary token (see :func:`~speechkit.realtime.create_temporary_token`) instead
            of a key, or a callable returning a fresh one for each connection (tokens are
            single-use, so reconnecting needs a callable).
        base_url: The service root (http(s) or ws(s)); default: AssemblyAI's streaming host.
        endpoints: More base URLs, tried in order when a connection attempt fails (failover).
        connect_timeout: Seconds per attempt for the handshake and the session to begin.
        max_retries: Attempts in a row that may fail: refused or timed-out connections, token
            provider errors worth retrying, and connections that ended before delivering
            anything (the count starts again once a connection delivers); 0 turns reconnecting
            off.
        backoff_initial: The first reconnect delay, in seconds; it doubles per failed attempt,
            minus up to 25 % random jitter.
        backoff_max: The cap of the reconnect delay, in seconds.
        retry: A :class:`~speechkit.RetryPolicy` instead of the three above (its
            ``max_retries``, ``initial_delay``, ``max_delay`` and ``jitter``); which closes and
            handshake statuses are retried is fixed (see docs/errors.md).
        keepalive_interval: Seconds without sending before a keepalive is sent (``None``: off).
            v3 sends ``KeepAlive``; v2 has no such message, so 100 ms of silence (billed) is sent.
        terminate_timeout: Seconds :meth:`close` waits without hearing from the server before
            giving up on the last transcripts (its total wait is bounded separately, see
            :meth:`close`).
        replay_buffer_ms: Milliseconds of unconfirmed audio kept for replay after a disconnect.
        **options: The realtime options above, by wire name (an unknown name raises
            ``InvalidInputError`` with "did you mean").

    Raises:
        InvalidInputError: An option is invalid (the message names it).
        ConfigurationError: No API key or token, or a bad URL.
    """

    def _setup(self) -> None:
        # Two locks, always taken in this order: _send_lock (held while frames go out, so they
        # keep the session's order) then _lock (the session state; never held during I/O, so
        # the reader can keep handling messages while a send waits on the network).
        self._send_lock = threading.Lock()
        self._lock = threading.RLock()
        self._ws: ClientConnection | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # the session opened, or the loop ended
        self._done = threading.Event()
        self._wake = threading.Event()
        self._loss_raised = False
        self._close_watch = CloseHandshakeWatch()

    # ---- public API ------------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the session; return once it has begun (``on_open`` has run by then).

        Retries failed attempts with backoff, moving through ``endpoints``; each attempt is bounded
        by ``connect_timeout`` seconds.

        Raises:
            RealtimeConnectionError: No session could be opened; ``code`` and ``retryable`` say why.
            RealtimeError: ``connect()`` was already called.
        """
        if self._thread is not None:
            raise RealtimeError("connect() was already called on this transcriber.")
        with self._lock:
            self._session.start()
        self._thread = threading.Thread(
            target=self._run, name=f"speechkit-realtime-{next(_thread_ids)}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if not self._session.opened:
            self._thread.join(CLOSE_TIMEOUT)
            raise self._session.error or RealtimeConnectionError(
                "The realtime session ended before it began (close() was called)."
            )

    def stream(self, data: bytes | Iterable[bytes]) -> None:
        """Send audio: ``bytes``, or an iterable of ``bytes`` chunks (a generator, a microphone).

        Audio is re-cut into ``chunk_ms`` chunks and kept until a final transcript covers it, so
        audio streamed while a connection is being replaced is sent once the new one is open.
        Blocks until the iterable is exhausted, and while the network is slower than the audio.

        Raises:
            InvalidInputError: Not raw audio: text, odd-length 16-bit PCM, or a WAV/MP3/Ogg/FLAC
                file (use :meth:`stream_file`).
            RealtimeError: The session failed or was closed.
        """
        for chunk in _chunks(data):
            with self._lock:
                self._session.send_audio(chunk, time.monotonic())
            self._send_pending()

    def stream_file(self, path: str | os.PathLike[str], *, realtime: bool = False) -> None:
        """Stream a PCM WAV file, converted to the session's rate and encoding.

        Args:
            path: The WAV file (8/16/24/32-bit, any channels, any rate).
            realtime: Pace the audio at its natural speed, like a live source (otherwise it is
                sent as fast as the connection takes it).
        """
        options = self._session.options
        chunks = audio.stream_file(
            path, options.sample_rate, options.chunk_ms, realtime, options.encoding
        )
        self.stream(chunks)

    def force_end_utterance(self) -> None:
        """End the current utterance (v2) or turn (v3) now, so its final arrives sooner."""
        with self._lock:
            self._session.force_endpoint(time.monotonic())
        self._send_pending()

    def force_endpoint(self) -> None:
        """Alias of :meth:`force_end_utterance` (the v3 name)."""
        self.force_end_utterance()

    def configure_end_utterance_silence_threshold(self, threshold: int) -> None:
        """v2: milliseconds of silence (0-20000) that end an utterance, applied immediately."""
        self.update_options(end_utterance_silence_threshold=threshold)

    def update_options(self, **changes: Any) -> None:
        """Change options mid-session; the latest options are also used for every reconnect.

        Sent on the open stream: the v3 options ``UpdateConfiguration`` carries (turn detection,
        ``format_turns``, ``keyterms_prompt``, ``prompt``, ``language_codes``,
        ``filter_profanity``, ...; the protocol decides, not the model); v2
        ``end_utterance_silence_threshold``. Applied locally:
        ``chunk_ms`` (and v3 ``disable_partial_transcripts``). Any other option needs a new
        connection: the current one is terminated gracefully (its last finals still arrive) and a
        new one opens with the new options, replaying audio not yet transcribed; ``on_reconnect``
        fires. ``sample_rate``, ``encoding`` and ``protocol`` cannot change.

        Raises:
            InvalidInputError: An unknown or invalid option, or one that cannot change.
            RealtimeError: The session failed or was closed.
        """
        with self._lock:
            self._session.update_options(time.monotonic(), **changes)
        self._send_pending()

    def close(self, timeout: float | None = None) -> None:
        """End the session: send the remaining audio and the terminate message, wait for the
        last transcripts, then close.

        How long it waits: with ``timeout=None`` (the default), as long as the server keeps
        sending messages about the audio already sent, giving up after ``terminate_timeout``
        seconds of silence, and after ``terminate_timeout`` plus three times the duration of the
        audio still outstanding in all (a file sent faster than real time leaves the server that
        much work). With a ``timeout``, at most that many seconds.

        Guarantees: returns within about the wait above + 2 seconds even if the server is gone;
        the reader thread and the websocket's threads have ended when it returns (unless called
        from a callback, where it only starts closing); ``on_close`` has run. Safe to call more
        than once.

        Raises:
            RealtimeAudioLostError: Some audio was not transcribed (the server did not confirm it
                in time, or a reconnect could not replay it); ``lost_ms`` says how much. It is
                also passed to ``on_error`` when it happens. Not raised when ``close()`` is
                called from a callback, nor after the session failed (that error was reported).
        """
        with self._lock:
            budget = self._session.request_close(time.monotonic(), timeout)
        wait = budget + 2
        # A send stuck on a dead peer must not hold close() up: the reader gives up at the
        # deadline either way.
        self._send_pending(timeout=wait)
        self._wake.set()
        thread = self._thread
        if thread is threading.current_thread():
            return
        if thread is not None:
            if not self._done.wait(wait + CLOSE_TIMEOUT):
                logger.warning("The realtime reader did not stop in time; dropping the connection.")
                self._drop_socket()
            thread.join(CLOSE_TIMEOUT)
        lost = self._session.lost_audio
        # A failed session already reported its error (on_error, stream(), iteration).
        if lost is not None and not self._loss_raised and self._session.error is None:
            self._loss_raised = True
            raise lost

    def _drop_socket(self) -> None:
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(OSError):
                ws.socket.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> RealtimeTranscriber:
        self.connect()
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        try:
            self.close()
        except RealtimeAudioLostError:
            if exc_type is None:
                raise
            # Do not hide the exception that ended the block; the loss went to on_error.

    # ---- the reader thread -----------------------------------------------------------------------

    def _run(self) -> None:
        session = self._session
        try:
            while True:
                with self._lock:
                    step = session.next_step(time.monotonic())
                    events = session.events_received()
                self._send_pending(wait=False)
                self._dispatch(events)
                if session.opened:
                    self._ready.set()
                if isinstance(step, Finished):
                    break
                self._perform(step)
        except Exception as exc:
            logger.exception("The realtime reader thread crashed.")
            with self._lock:
                error = RealtimeError(f"The realtime reader failed: {exc!r}")
                error.__cause__ = exc
                session.abort(time.monotonic(), error)
                events = session.events_received()
            self._dispatch(events)
        finally:
            ws, self._ws = self._ws, None
            if ws is not None:
                _close_quietly(ws)
            self._ready.set()
            self._done.set()

    def _perform(self, step: FetchToken | Connect | Receive | Disconnect | Sleep) -> None:
        session = self._session
        if isinstance(step, Receive):
            ws = self._ws
            assert ws is not None
            try:
                message = ws.recv(timeout=step.timeout)
            except TimeoutError:
                if self._close_watch.stalled(ws, ws.state, time.monotonic()):
                    logger.debug("The server did not end its closing handshake; dropping it.")
                    self._drop_socket()
                return
            except ConnectionClosed as closed:
                with self._lock:
                    self._ws = None
                    report_close(session, closed, time.monotonic())
                _close_quietly(ws)
                return
            with self._lock:
                session.receive(message, time.monotonic())
            self._send_pending(wait=False)
        elif isinstance(step, FetchToken):
            self._fetch_token()
        elif isinstance(step, Connect):
            self._connect(step)
        elif isinstance(step, Disconnect):
            with self._lock:
                ws, self._ws = self._ws, None
            if ws is not None:
                _close_quietly(ws)
            with self._lock:
                session.disconnected(time.monotonic())
        else:
            self._wake.wait(step.seconds)
            self._wake.clear()

    def _fetch_token(self) -> None:
        assert self._token_source is not None
        try:
            token = self._token_source()
            if inspect.isawaitable(token):
                _discard(token)
                raise not_a_sync_token()
        except Exception as err:
            with self._lock:
                self._session.token_failed(time.monotonic(), err)
        else:
            with self._lock:
                self._session.token_fetched(time.monotonic(), token)

    def _connect(self, step: Connect) -> None:
        try:
            # Enter connect()'s context (websockets >= 17.1 wants that) and take over closing it:
            # the connection outlives this call and _close_quietly() closes it.
            with contextlib.ExitStack() as stack:
                ws = stack.enter_context(ws_connect(step.url, **connect_arguments(step)))
                stack.pop_all()
        except CONNECT_ERRORS as err:
            with self._lock:
                report_connect_failure(self._session, err, time.monotonic())
        else:
            with self._lock:
                self._ws = ws
                self._session.connected(time.monotonic())

    def _send_pending(self, timeout: float | None = None, *, wait: bool = True) -> None:
        """Send what the session queued, in order (call without ``_lock`` held).

        With ``wait=False`` (the reader thread) it sends only if no other thread is sending:
        the reader must not sit behind a large audio send while transcripts wait for their
        callbacks. Whoever holds the send lock checks the queue again after releasing it, so
        messages queued meanwhile are never left behind.
        """
        while self._session.has_output:
            if not wait:
                acquired = self._send_lock.acquire(blocking=False)
            else:
                acquired = self._send_lock.acquire(timeout=-1 if timeout is None else timeout)
            if not acquired:
                return
            try:
                with self._lock:
                    messages = self._session.data_to_send()
                    ws = self._ws
                if ws is None:
                    return
                for message in messages:
                    ws.send(message)
            except (ConnectionClosed, OSError) as err:
                # The reader sees the close and decides; unsent audio stays in the replay buffer.
                logger.debug("Send failed (%s); the connection is closing.", err)
                return
            finally:
                self._send_lock.release()

    def _dispatch(self, events: list[Any]) -> None:
        for event in events:
            for name, callback, argument in self._handlers(event):
                try:
                    result = callback(argument)
                    if inspect.isawaitable(result):
                        _discard(result)
                        raise TypeError(
                            "async callbacks need AsyncRealtimeTranscriber; this one is sync"
                        )
                except Exception as exc:
                    report = self._callback_failed(name, exc)
                    if report is not None:
                        on_error, error = report
                        try:
                            on_error(error)
                        except Exception:
                            logger.exception("The on_error callback raised.")


def _chunks(data: bytes | Iterable[bytes]) -> Iterable[Any]:
    if isinstance(data, str) or is_buffer(data):
        return (data,)
    if not isinstance(data, Iterable):
        raise InvalidInputError(
            f"stream() takes bytes or an iterable of bytes chunks, got {type(data).__name__}."
        )
    return data


def _discard(awaitable: object) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


def _close_quietly(ws: ClientConnection) -> None:
    try:
        ws.close()
    except Exception:  # the peer may be gone; the socket is closed either way
        logger.debug("Error while closing the websocket.", exc_info=True)
