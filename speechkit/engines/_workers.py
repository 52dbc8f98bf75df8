"""Engines whose recognizers run in worker processes: the parent side.

Recognizers that decode in C while holding the GIL (pocketsphinx, CTranslate2's Whisper) never run
in the server process. Every model lives in a worker: a fresh Python interpreter started with
:class:`subprocess.Popen` (fork + exec, so it is safe from a threaded asyncio server, and unlike
``multiprocessing``'s ``spawn`` it does not re-import the application's ``__main__`` module) and
connected by a socket pair. A worker loads its model once and then serves requests one at a time
(the loop is :mod:`speechkit.engines._worker_loop`):

- Batch: up to ``workers`` processes; :meth:`WorkerEngine.transcribe` checks out an idle one
  (waiting if all are busy), and idle workers stay loaded for the next job.
- Streaming: each open stream owns one worker until :meth:`WorkerStream.aclose`, which hands a
  healthy worker back as a warm spare (``spare_streams`` of them are kept, so opening a stream
  does not wait for a model to load) or ends it.

The event loop never waits on a worker: replies are awaited with ``loop.add_reader`` on the
socket, and uploads larger than 256 KiB are written from a thread. Cancelling a call
(``transcribe``, ``feed``, ...) kills the worker that was running it, so abandoned work stops
using a CPU at once; a stream then fails with :class:`EngineError`. :meth:`WorkerEngine.aclose`
ends every worker: politely first, then ``SIGTERM``, then ``SIGKILL``, and reaps it (about two
seconds in the worst case). A worker also exits by itself when its socket closes, so if the
server process dies, its workers follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any

from speechkit.engines._turns import TurnPolicy
from speechkit.engines.base import Engine, EngineError, RecognitionResult, Stream, StreamEvent

__all__ = ["WorkerEngine", "WorkerStream"]

# A write to the socket blocks once its kernel buffer (about 200 KiB) is full, until the worker
# reads; bigger payloads are written from a thread so the event loop never waits on that.
_INLINE_SEND_LIMIT = 256 * 1024
_CLOSE_STEP_TIMEOUT = 0.7  # seconds for each of: polite exit, SIGTERM, SIGKILL

# Run by the worker interpreter: argv[1] is its socket's descriptor, the rest is the parent's
# sys.path (so it imports the same speechkit and recognizer packages).
_BOOTSTRAP = (
    "import sys; sys.path[:0] = sys.argv[2:]; "
    "from {module} import _worker_main; "
    "_worker_main(int(sys.argv[1]))"
)


class _Worker:
    """The server's handle on one worker process. Use from one event loop; one call at a time."""

    def __init__(self, module: str, options: object) -> None:
        parent_socket, child_socket = socket.socketpair()
        with parent_socket, child_socket:
            fd = child_socket.fileno()
            paths = [p for p in sys.path if isinstance(p, str)]
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP.format(module=module), str(fd), *paths],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
            )
            # Only the worker holds the other end now, so each side sees EOF if the other dies.
            self._conn = Connection(parent_socket.detach())
        self._conn.send(options)
        self.pid = self.process.pid
        self._ready = False
        self.broken = False  # a reply may be out of step with its request: never reuse
        self.closed = False
        self.busy = False  # a request is in flight
        self._closing: asyncio.Future[None] | None = None

    async def wait_ready(self) -> None:
        """Wait until the decoder is loaded (raises EngineError if it cannot load)."""
        if not self._ready:
            status, value = await self._guarded(self._receive())
            if status != "ok":
                self.broken = True
                raise EngineError(str(value))
            self._ready = True

    async def call(self, op: str, argument: object = None, payload: bytes | None = None) -> Any:
        """Send one request (and ``payload`` as a raw message after it); return the reply."""
        if self.closed or self.broken:
            raise EngineError("The speech recognizer process is no longer available.")
        await self.wait_ready()

        async def exchange() -> tuple[str, Any]:
            self._conn.send((op, argument))
            if payload is not None:
                if len(payload) > _INLINE_SEND_LIMIT:
                    await asyncio.to_thread(self._conn.send_bytes, payload)
                else:
                    self._conn.send_bytes(payload)
            return await self._receive()

        self.busy = True
        try:
            status, value = await self._guarded(exchange())
        finally:
            self.busy = False
        if status != "ok":
            raise EngineError(str(value))
        return value

    async def _guarded(self, operation: Any) -> tuple[str, Any]:
        try:
            result: tuple[str, Any] = await operation
        except BaseException:
            # Cancelled or failed mid-request: the worker may still be decoding, and its late
            # reply would answer the next request. Stop it now; this also frees its CPU.
            self.broken = True
            self.kill()
            raise
        return result

    async def _receive(self) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[str, Any]] = loop.create_future()

        def on_readable() -> None:
            if future.done():
                return
            try:
                future.set_result(self._conn.recv())
            except (EOFError, OSError) as err:
                future.set_exception(self._exited_error(err))

        try:
            fd = self._conn.fileno()
        except OSError as err:
            raise self._exited_error(err) from err
        try:
            loop.add_reader(fd, on_readable)
        except NotImplementedError:  # e.g. the Windows proactor loop
            try:
                reply: tuple[str, Any] = await asyncio.to_thread(self._conn.recv)
            except (EOFError, OSError) as err:
                raise self._exited_error(err) from err
            return reply
        try:
            return await future
        finally:
            loop.remove_reader(fd)

    def _exited_error(self, err: BaseException) -> EngineError:
        if self.closed:
            return EngineError("The speech recognizer was shut down.")
        code = self.process.poll()
        detail = f" (exit code {code})" if code is not None else ""
        return EngineError(f"The speech recognizer process exited unexpectedly{detail}.")

    def kill(self) -> None:
        """Stop the process at once (SIGKILL) without waiting; :meth:`aclose` reaps it."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.kill()

    async def aclose(self) -> None:
        """End the process (politely, then SIGTERM, then SIGKILL) and reap it. Idempotent;
        concurrent callers all wait for the same shutdown."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._closing)

    async def _shutdown(self) -> None:
        self.closed = True
        try:
            # A worker still loading its model, or busy with a job (it would read "close" only
            # afterwards), or out of step, is not worth waiting for: go straight to SIGTERM.
            polite = self._ready and not self.broken and not self.busy
            if polite:
                with contextlib.suppress(OSError, ValueError):
                    self._conn.send(("close", None))
            steps = (None, self.process.terminate, self.process.kill)
            for stop in steps if polite else steps[1:]:
                if stop is not None and self.process.poll() is None:
                    with contextlib.suppress(OSError):
                        stop()
                if await self._wait_exit(_CLOSE_STEP_TIMEOUT):
                    break
        finally:
            # Even if this coroutine is cancelled, leave no live process behind.
            self.kill()
            with contextlib.suppress(OSError):
                self._conn.close()

    async def _wait_exit(self, limit: float) -> bool:
        """Wait up to ``limit`` seconds for the process to exit and reap it; True if it has."""
        if self.process.poll() is not None:
            return True
        try:
            pidfd = os.pidfd_open(self.pid)  # Linux >= 5.3: readable once the process exited
        except (AttributeError, OSError):
            pidfd = None
        if pidfd is None:
            # No pidfd (macOS, old kernels): poll, boundedly.
            for _ in range(max(1, int(limit / 0.01))):
                if self.process.poll() is not None:
                    return True
                await asyncio.sleep(0.01)
            return self.process.poll() is not None
        loop = asyncio.get_running_loop()
        exited = asyncio.Event()
        try:
            loop.add_reader(pidfd, exited.set)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(exited.wait(), limit)
            finally:
                loop.remove_reader(pidfd)
        finally:
            os.close(pidfd)
        return self.process.poll() is not None


class WorkerEngine(Engine):
    """The worker pool behind process-based engines (see the module docstring).

    Subclasses set :attr:`worker_module` (a module with ``_worker_main(fd)``) and
    :attr:`_worker_options` (the options sent to each new worker), and may override
    :meth:`_batch_settings` and :meth:`_batch_result`. All methods must be called from one event
    loop; any number of jobs and streams may run concurrently (jobs beyond ``workers`` wait for
    a free worker).
    """

    worker_module = ""

    def __init__(
        self,
        *,
        workers: int | None,
        max_streams: int,
        spare_streams: int,
        silence_threshold_ms: int,
        partial_interval_ms: int | None,
        max_utterance_ms: int,
        worker_options: object,
    ) -> None:
        """``workers`` None: two, or one on a single CPU. The streaming turn policy starts with
        one pause limit, ``silence_threshold_ms`` (a session may change it)."""
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        settings = TurnPolicy(
            min_silence_ms=silence_threshold_ms,
            max_silence_ms=silence_threshold_ms,
            partial_interval_ms=partial_interval_ms,
            max_utterance_ms=max_utterance_ms,
        )
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.max_streams = max_streams
        self.spare_streams = spare_streams
        self._settings = settings
        self._worker_options = worker_options
        self._batch_slots: asyncio.Semaphore | None = None
        self._idle: list[_Worker] = []
        self._spares: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._streams: set[WorkerStream] = set()
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Start all batch workers and the spare stream workers; return when their models loaded.

        Optional: call it at server startup to take the model loading off the first requests.

        Raises:
            EngineError: A worker could not load its model (bad options).
        """
        self._check_open()
        while len(self._idle) < self.workers:
            self._idle.append(self._new_worker())
        self._top_up_spares()
        await asyncio.gather(*(w.wait_ready() for w in [*self._idle, *self._spares]))

    def _batch_settings(self) -> object:
        """What a batch ``transcribe`` request carries to the worker."""
        return self._settings

    def _batch_result(self, value: Any, duration: float) -> RecognitionResult:
        """The worker's batch reply as a result (default: a list of words)."""
        return RecognitionResult(words=tuple(value), audio_duration=duration)

    async def transcribe(self, pcm: bytes) -> RecognitionResult:
        """Recognize a whole recording in a batch worker process.

        Args:
            pcm: Mono 16-bit little-endian PCM at :attr:`sample_rate`.

        Returns:
            Words with times in milliseconds from the start of ``pcm``.

        Raises:
            EngineError: The engine is closed, or its worker failed or could not start.
        """
        self._check_open()
        duration = len(pcm) // 2 / self.sample_rate
        if len(pcm) < 2:
            return RecognitionResult(words=(), audio_duration=duration)
        if self._batch_slots is None:
            self._batch_slots = asyncio.Semaphore(self.workers)
        async with self._batch_slots:
            self._check_open()
            worker = self._idle.pop() if self._idle else self._new_worker()
            try:
                value = await worker.call("transcribe", self._batch_settings(), payload=pcm)
            finally:
                if worker.broken or worker.closed or self._closed:
                    self._retire(worker)
                else:
                    self._idle.append(worker)
        return self._batch_result(value, duration)

    def open_stream(self) -> WorkerStream:
        """Open a streaming session; its worker (a warm spare, if one is ready) is its own.

        Returns at once; the first call on the stream waits if the worker's model is still
        loading.

        Raises:
            EngineError: The engine is closed or ``max_streams`` streams are open.
        """
        self._check_open()
        if len(self._streams) >= self.max_streams:
            raise EngineError(
                f"Too many concurrent streams: this server allows {self.max_streams}."
            )
        worker = self._spares.pop(0) if self._spares else self._new_worker()
        stream = WorkerStream(self, worker, self._settings)
        self._streams.add(stream)
        with contextlib.suppress(RuntimeError):  # no running loop: top up on next use
            # Starting a process blocks for about 10 ms; do it after this caller has its stream.
            asyncio.get_running_loop().call_soon(self._top_up_spares)
        return stream

    async def aclose(self) -> None:
        """Close every stream and end every worker process; idempotent.

        In-flight ``transcribe`` and stream calls fail with :class:`EngineError`. Returns once
        all workers have exited (about two seconds at worst, when a worker ignores SIGTERM).
        """
        self._closed = True
        streams, self._streams = list(self._streams), set()
        workers, self._workers = list(self._workers), set()
        self._idle.clear()
        self._spares.clear()
        await asyncio.gather(
            *(s.aclose() for s in streams),
            *(w.aclose() for w in workers),
            return_exceptions=True,
        )

    def worker_pids(self) -> list[int]:
        """Process ids of the worker processes this engine currently owns (for monitoring)."""
        return sorted(w.pid for w in self._workers if w.process.poll() is None)

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError("The speech recognizer was shut down.")

    def _new_worker(self) -> _Worker:
        worker = _Worker(self.worker_module, self._worker_options)
        self._workers.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        """End a worker in the background (the reaping is awaited again by :meth:`aclose`)."""
        task = asyncio.get_running_loop().create_task(worker.aclose())
        self._retiring.add(task)  # the loop keeps only a weak reference to tasks

        def done(task: asyncio.Task[None]) -> None:
            self._retiring.discard(task)
            self._workers.discard(worker)

        task.add_done_callback(done)

    def _top_up_spares(self) -> None:
        while not self._closed and len(self._spares) < self.spare_streams:
            self._spares.append(self._new_worker())

    async def _stream_closed(self, stream: WorkerStream, worker: _Worker, reuse: bool) -> None:
        self._streams.discard(stream)
        if reuse and not self._closed and len(self._spares) < self.spare_streams:
            try:
                await worker.call("reset")
            except EngineError:
                pass
            else:
                if not self._closed:
                    self._spares.append(worker)
                    return
        self._workers.discard(worker)
        await worker.aclose()


class WorkerStream(Stream):
    """A streaming session on its own worker process. Use from one event loop.

    Calls are serialized (a call waits for the previous one). Each call returns the events its
    audio produced: at most one partial (the latest) per utterance, and a final whenever an
    utterance ends. Word times are milliseconds from the start of the stream.
    """

    def __init__(self, engine: WorkerEngine, worker: _Worker, settings: TurnPolicy) -> None:
        self._engine = engine
        self._worker = worker
        self._settings = settings
        self._sent_settings: TurnPolicy | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def feed(self, pcm: bytes) -> list[StreamEvent]:
        """Feed mono 16-bit PCM at the engine's rate (any length); return the events it
        produced."""
        result: list[StreamEvent] = await self._call("feed", bytes(pcm))
        return result

    async def force_endpoint(self) -> list[StreamEvent]:
        """End the current utterance now: its final, or ``[]`` if no words were recognized."""
        result: list[StreamEvent] = await self._call("endpoint")
        return result

    async def finish(self) -> list[StreamEvent]:
        """No more audio: the final of the open utterance, if it has words. The stream stays
        usable (more audio starts a new utterance) until :meth:`aclose`."""
        result: list[StreamEvent] = await self._call("endpoint")
        return result

    def set_silence_threshold(self, milliseconds: int) -> None:
        """Trailing silence (ms, at least one 30 ms frame) that ends an utterance, whatever
        the engine's confidence (v2 ``end_utterance_silence_threshold``); applies from the next
        call."""
        self._settings = self._settings.with_silence(milliseconds)

    def set_turn_silence(
        self, min_ms: int, max_ms: int, confidence_threshold: float | None = None
    ) -> None:
        """Pause limits of a turn (v3): ``min_ms`` ends it when the engine's end-of-turn
        confidence reaches ``confidence_threshold``, ``max_ms`` in any case."""
        self._settings = self._settings.with_silence(min_ms, max_ms, confidence_threshold)

    async def aclose(self) -> None:
        """Release the worker; idempotent and safe to call while another call is in flight
        (that call then fails with :class:`EngineError`). On return the worker process has
        exited or been reset and parked as a warm spare."""
        if self._closed:
            return
        self._closed = True
        busy = self._lock.locked()
        if busy:
            self._worker.broken = self._worker.closed = True  # the in-flight call: "shut down"
            self._worker.kill()
        await self._engine._stream_closed(self, self._worker, reuse=not busy)

    async def _call(self, op: str, argument: object = None) -> Any:
        async with self._lock:
            if self._closed:
                raise EngineError("The stream is closed.")
            if self._sent_settings is None:
                await self._worker.call("open", self._settings)
                self._sent_settings = self._settings
            elif self._sent_settings != self._settings:
                await self._worker.call("settings", self._settings)
                self._sent_settings = self._settings
            return await self._worker.call(op, argument)
