"""The asyncio realtime transcriber: ``websockets.asyncio`` and one reader task per session."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, cast

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from speechkit import audio
from speechkit._core.realtime import Connect, Disconnect, FetchToken, Finished, Receive, Sleep
from speechkit._core.realtime_audio import is_buffer
from speechkit.errors import (
    EventLoopError,
    InvalidInputError,
    RealtimeAudioLostError,
    RealtimeConnectionError,
    RealtimeError,
)
from speechkit.models.realtime import RealtimeEvent

from ._common import (
    CLOSE_TIMEOUT,
    CONNECT_ERRORS,
    CloseHandshakeWatch,
    TranscriberBase,
    connect_arguments,
    report_close,
    report_connect_failure,
)

__all__ = ["AsyncRealtimeTranscriber"]

logger = logging.getLogger("speechkit.realtime")

_task_ids = itertools.count(1)
_END = object()
#: Events kept for ``async for`` (see the class docstring for what happens when it is full).
EVENT_QUEUE_SIZE = 256
# Audio read from a file per worker-thread hop in stream_file (milliseconds).
_FILE_BLOCK_MS = 1000


class AsyncRealtimeTranscriber(TranscriberBase):
    """The asyncio twin of :class:`~speechkit.realtime.RealtimeTranscriber`: same options, same
    methods (as coroutines), same events. ::

        async with AsyncRealtimeTranscriber(sample_rate=16_000) as session:
            sender = asyncio.create_task(session.stream_file("call.wav", realtime=True))
            async for event in session:
                if isinstance(event, FinalTranscript):
                    print(event.text)
                    ...
            # iteration ends after SessionClosed, once close() finished the session

    **Tasks and callbacks.** One reader task per session (named ``speechkit-realtime-N``) reads
    the websocket and runs the callbacks on the event loop, in order. Callbacks may be plain
    functions (keep them quick: they run on the loop) or ``async def`` (awaited before the next
    event is handled). An exception in a callback goes to ``on_error`` (or the log) and the session
    carries on. :meth:`close` ends the reader task; no task outlives the session.

    **Pull style.** ``async for event in session`` yields every event (the same objects the
    callbacks get, including :class:`~speechkit.models.realtime.ErrorEvent` for non-fatal errors)
    and stops after :class:`~speechkit.models.realtime.SessionClosed`; if the session failed, the
    loop then raises the :class:`~speechkit.errors.RealtimeError`. Events are queued from the
    start, up to 256. Until you start iterating, a full queue drops its oldest event (so a
    callback-only application never stalls); once you iterate, a full queue makes the reader wait
    for you (backpressure: the websocket is not read meanwhile, so keep up or the server may close
    the connection).

    Args and times: see :class:`~speechkit.realtime.RealtimeTranscriber`.
    """

    def _setup(self) -> None:
        # Held while frames go out, so they keep the session's order. Session calls need no lock
        # (they never await), so the reader keeps handling messages while a send waits.
        self._send_lock = asyncio.Lock()
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._queue: asyncio.Queue[object] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self._iterating = False
        self._ended = False
        self._loss_raised = False
        self._loop: asyncio.AbstractEventLoop | None = None  # the one connect() ran on
        self._close_watch = CloseHandshakeWatch()

    # ---- public API ------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the session; return once it has begun (``on_open`` has run by then).

        Cancelling ``connect()`` stops the attempt and the reader task.

        Raises:
            RealtimeConnectionError: No session could be opened; ``code`` and ``retryable`` say why.
            RealtimeError: ``connect()`` was already called.
        """
        if self._task is not None:
            raise RealtimeError("connect() was already called on this transcriber.")
        self._loop = asyncio.get_running_loop()
        self._session.start()
        self._ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name=f"speechkit-realtime-{next(_task_ids)}")
        try:
            await asyncio.shield(self._ready)
        except asyncio.CancelledError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            raise
        if not self._session.opened:
            await self._task
            raise self._session.error or RealtimeConnectionError(
                "The realtime session ended before it began (close() was called)."
            )

    async def stream(self, data: bytes | Iterable[bytes] | AsyncIterable[bytes]) -> None:
        """Send audio: ``bytes``, or a sync or async iterable of ``bytes`` chunks.

        See :meth:`RealtimeTranscriber.stream`; returns when the iterable is exhausted.

        Raises:
            InvalidInputError: Not raw audio (text, odd-length PCM, a WAV/MP3/... file).
            RealtimeError: The session failed or was closed.
        """
        if isinstance(data, AsyncIterable):
            async for chunk in data:
                await self._send_audio(chunk)
            return
        if isinstance(data, str) or is_buffer(data):
            await self._send_audio(data)
            return
        if not isinstance(data, Iterable):
            raise InvalidInputError(
                f"stream() takes bytes or an iterable of bytes chunks, got {type(data).__name__}."
            )
        for item in cast(Iterable[object], data):
            await self._send_audio(item)

    async def stream_file(self, path: str | os.PathLike[str], *, realtime: bool = False) -> None:
        """Stream a PCM WAV file, converted to the session's rate and encoding.

        The file is read and converted in a worker thread, so the event loop is not blocked;
        ``realtime`` paces it with ``asyncio.sleep``.
        """
        options = self._session.options
        block_ms = options.chunk_ms if realtime else _FILE_BLOCK_MS
        blocks = audio.stream_file(path, options.sample_rate, block_ms, False, options.encoding)
        bytes_per_second = options.audio_format.bytes_per_second
        started, sent = time.monotonic(), 0.0
        try:
            while (block := await asyncio.to_thread(_next_or_none, blocks)) is not None:
                if realtime and (delay := started + sent - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                await self._send_audio(block)
                sent += len(block) / bytes_per_second
        finally:
            blocks.close()

    async def force_end_utterance(self) -> None:
        """End the current utterance (v2) or turn (v3) now, so its final arrives sooner."""
        self._session.force_endpoint(time.monotonic())
        await self._send_pending()

    async def force_endpoint(self) -> None:
        """Alias of :meth:`force_end_utterance` (the v3 name)."""
        await self.force_end_utterance()

    async def configure_end_utterance_silence_threshold(self, threshold: int) -> None:
        """v2: milliseconds of silence (0-20000) that end an utterance, applied immediately."""
        await self.update_options(end_utterance_silence_threshold=threshold)

    async def update_options(self, **changes: Any) -> None:
        """Change options mid-session; see :meth:`RealtimeTranscriber.update_options` for what is
        sent on the open stream and what reconnects."""
        self._session.update_options(time.monotonic(), **changes)
        await self._send_pending()
        self._wake.set()

    # Same signature as the sync close() (a parity test checks it), hence a timeout argument.
    async def close(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """End the session: send the remaining audio and the terminate message, wait for the
        last transcripts, then close. How long it waits is as for
        :meth:`RealtimeTranscriber.close`: while the server makes progress, bounded by
        ``timeout`` (default: ``terminate_timeout`` plus three times the outstanding audio).

        Guarantees: returns within about that wait + 2 seconds even if the server is gone; the
        reader task has finished when it returns (unless called from a callback, where it only
        starts closing); ``on_close`` has run. Safe to call more than once.

        Raises:
            RealtimeAudioLostError: Some audio was not transcribed; see
                :meth:`RealtimeTranscriber.close`.
        """
        self._check_loop()
        task = self._task
        budget = self._session.request_close(time.monotonic(), timeout)
        wait = budget + 2
        if task is not None and task is asyncio.current_task():
            await self._send_pending()  # called from a callback: start closing, do not wait
            return
        # A send stuck on a dead peer must not hold close() up: the reader gives up at the
        # deadline either way.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._send_pending(), wait)
        self._wake.set()
        if task is None:
            self._end_iteration()
        else:
            done, _ = await asyncio.wait({task}, timeout=wait + CLOSE_TIMEOUT)
            if not done:
                logger.warning("The realtime reader did not stop in time; cancelling it.")
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        lost = self._session.lost_audio
        # A failed session already reported its error (on_error, stream(), iteration).
        if lost is not None and not self._loss_raised and self._session.error is None:
            self._loss_raised = True
            raise lost

    async def __aenter__(self) -> AsyncRealtimeTranscriber:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: object, *exc_info: object) -> None:
        try:
            await self.close()
        except RealtimeAudioLostError:
            if exc_type is None:
                raise
            # Do not hide the exception that ended the block; the loss went to on_error.

    def __aiter__(self) -> AsyncIterator[RealtimeEvent]:
        self._iterating = True
        return self._iterate()

    # ---- internals -------------------------------------------------------------------------------

    def _check_loop(self) -> None:
        """The session's connection and reader task live on the loop ``connect()`` ran on."""
        if self._loop is not None and asyncio.get_running_loop() is not self._loop:
            ended = "has ended, and the session with it" if self._loop.is_closed() else "runs"
            raise EventLoopError(
                "This AsyncRealtimeTranscriber is used from a second event loop: connect() ran "
                f"on another one, which {ended} (each asyncio.run() call starts a new loop). "
                "Connect, stream and close in one coroutine (async with "
                "speechkit.AsyncRealtimeTranscriber(...) as rt: ...), or use "
                "speechkit.RealtimeTranscriber from blocking code."
            )

    async def _iterate(self) -> AsyncIterator[RealtimeEvent]:
        self._check_loop()
        while not (self._ended and self._queue.empty()):
            item = await self._queue.get()
            if item is _END:
                break
            yield cast(RealtimeEvent, item)
        error = self._session.error
        if error is not None and self._session.opened:
            raise error

    async def _send_audio(self, chunk: object) -> None:
        self._check_loop()
        self._session.send_audio(chunk, time.monotonic())
        await self._send_pending()

    async def _run(self) -> None:
        session = self._session
        try:
            while True:
                step = session.next_step(time.monotonic())
                events = session.events_received()
                await self._send_pending()
                await self._dispatch(events)
                if session.opened and self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)
                if isinstance(step, Finished):
                    break
                await self._perform(step)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("The realtime reader task crashed.")
            error = RealtimeError(f"The realtime reader failed: {exc!r}")
            error.__cause__ = exc
            session.abort(time.monotonic(), error)
            await self._dispatch(session.events_received())
        finally:
            ws, self._ws = self._ws, None
            if ws is not None:
                await _close_quietly(ws)
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
            self._end_iteration()

    async def _perform(self, step: FetchToken | Connect | Receive | Disconnect | Sleep) -> None:
        session = self._session
        if isinstance(step, Receive):
            ws = self._ws
            assert ws is not None
            try:
                message = await asyncio.wait_for(ws.recv(), step.timeout)
            except TimeoutError:  # recv() is cancellation-safe: nothing is lost
                if self._close_watch.stalled(ws, ws.state, time.monotonic()):
                    logger.debug("The server did not end its closing handshake; dropping it.")
                    ws.transport.abort()
                return
            except ConnectionClosed as closed:
                self._ws = None
                report_close(session, closed, time.monotonic())
                await _close_quietly(ws)
                return
            session.receive(message, time.monotonic())
            await self._send_pending()
        elif isinstance(step, FetchToken):
            await self._fetch_token(step)
        elif isinstance(step, Connect):
            await self._connect(step)
        elif isinstance(step, Disconnect):
            ws, self._ws = self._ws, None
            if ws is not None:
                await _close_quietly(ws)
            session.disconnected(time.monotonic())
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), step.seconds)
            self._wake.clear()

    async def _fetch_token(self, step: FetchToken) -> None:
        assert self._token_source is not None
        try:
            token = self._token_source()
            if inspect.isawaitable(token):
                token = await asyncio.wait_for(token, step.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._session.token_failed(time.monotonic(), err)
        else:
            self._session.token_fetched(time.monotonic(), token)

    async def _connect(self, step: Connect) -> None:
        try:
            ws = await ws_connect(step.url, **connect_arguments(step))
        except CONNECT_ERRORS as err:
            report_connect_failure(self._session, err, time.monotonic())
        else:
            self._ws = ws
            self._session.connected(time.monotonic())

    async def _send_pending(self) -> None:
        """Send what the session queued, in order."""
        self._check_loop()
        if not self._session.has_output:
            return  # the reader's usual case: nothing to send, so never wait for a sender
        async with self._send_lock:
            messages = self._session.data_to_send()  # taken under the lock: order is kept
            ws = self._ws
            if ws is None:
                return
            try:
                for message in messages:
                    await ws.send(message)
            except (ConnectionClosed, OSError) as err:
                logger.debug("Send failed (%s); the connection is closing.", err)

    async def _dispatch(self, events: list[RealtimeEvent]) -> None:
        for event in events:
            for name, callback, argument in self._handlers(event):
                try:
                    result = callback(argument)
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    report = self._callback_failed(name, exc)
                    if report is not None:
                        on_error, error = report
                        try:
                            result = on_error(error)
                            if inspect.isawaitable(result):
                                await result
                        except Exception:
                            logger.exception("The on_error callback raised.")
            await self._enqueue(event)

    async def _enqueue(self, item: object) -> None:
        if self._iterating:
            await self._queue.put(item)  # backpressure: wait for the consumer
            return
        if self._queue.full():
            self._queue.get_nowait()  # nobody iterates yet: keep the newest events
        self._queue.put_nowait(item)

    def _end_iteration(self) -> None:
        self._ended = True
        if not self._queue.full():
            self._queue.put_nowait(_END)  # wakes a waiting consumer; a full queue is drained first


def _next_or_none(iterator: Iterator[bytes]) -> bytes | None:
    return next(iterator, None)


async def _close_quietly(ws: ClientConnection) -> None:
    try:
        await ws.close()
    except Exception:  # the peer may be gone; the transport is closed either way
        logger.debug("Error while closing the websocket.", exc_info=True)
