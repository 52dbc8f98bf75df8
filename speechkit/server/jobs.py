"""The job store and the job state machine shared by the AssemblyAI and AIML endpoints.

A job moves ``queued`` → ``processing`` → ``completed`` or ``error`` and never back. It is created
by ``POST /v2/transcript`` or ``POST /v1/stt/create`` and then runs as a background task on the
server's event loop:

1. wait for a free slot (only if ``max_concurrent_jobs`` is set; the job stays ``queued``),
2. ``processing``: fetch the audio (upload store, ``file://`` or http), decode it off the event loop
   to mono 16-bit PCM at the engine's rate, cut it to ``audio_start_from``/``audio_end_at``
   (milliseconds), and recognize it with the engine (which keeps heavy work off the loop itself),
3. wait the fault-injected processing delay, if any (still holding the slot),
4. ``completed`` with the words (times shifted back to the original audio), or ``error`` with a
   message in the style of the real service (download errors, transcoding failures).

The store counts every job ever created, per API, for "no duplicate jobs" checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from speechkit.engines.audio import decode_audio
from speechkit.engines.base import Engine, EngineError, RecognitionResult
from speechkit.server.faults import FaultConfig
from speechkit.server.security import OutboundPolicy
from speechkit.server.uploads import AudioSourceError, UploadStore, load_audio

__all__ = ["Job", "JobContext", "JobStatus", "JobStore", "run_job", "utcnow"]

logger = logging.getLogger("speechkit.server")
_sequence = itertools.count()


def utcnow() -> datetime:
    """UTC now without tzinfo: the service prints ``created`` as ``2024-03-11T21:29:59.936851``."""
    return datetime.now(UTC).replace(tzinfo=None)


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ERROR = "error"


@dataclass(eq=False)
class Job:
    """One transcription job. ``params`` is the validated request (AssemblyAI or AIML options)."""

    id: str
    api: str  # "assemblyai" or "aiml"
    audio_url: str
    params: dict[str, Any]
    model: str | None = None  # AIML model name
    created: datetime = field(default_factory=utcnow)
    seq: int = field(default_factory=lambda: next(_sequence))
    status: JobStatus = JobStatus.QUEUED
    completed: datetime | None = None
    finished_monotonic: float | None = None
    error: str | None = None
    result: RecognitionResult | None = None
    audio_duration: float | None = None  # seconds, of the whole decoded file
    audio_sha256: str | None = None
    pcm: bytes | None = None  # kept only when redacted audio was requested
    sample_rate: int = 16000
    deleted: bool = False
    webhook_status_code: int | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # presenters memoize formatting here

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.COMPLETED, JobStatus.ERROR)

    def _finish(self) -> None:
        self.completed = utcnow()
        try:
            self.finished_monotonic = asyncio.get_running_loop().time()
        except RuntimeError:  # pragma: no cover - always called on the loop
            self.finished_monotonic = None

    def fail(self, message: str) -> None:
        self.status = JobStatus.ERROR
        self.error = message
        self._finish()

    def complete(self, result: RecognitionResult) -> None:
        self.result = result
        self.status = JobStatus.COMPLETED
        self._finish()


class JobStore:
    """All jobs by id, in creation order, with creation counters (thread-safe).

    At most ``max_jobs`` are kept: adding one past that forgets the oldest *finished* job
    (running ones are never dropped; :meth:`full` tells when every kept job still runs).
    """

    def __init__(self, *, max_jobs: int | None = None) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._created: Counter[str] = Counter()
        self.max_jobs = max_jobs

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            self._created[job.api] += 1
            if self.max_jobs is not None and len(self._jobs) > self.max_jobs:
                self._evict(len(self._jobs) - self.max_jobs)

    def _evict(self, count: int) -> None:  # call with the lock held
        for job_id in [j.id for j in self._jobs.values() if j.done][:count]:
            job = self._jobs.pop(job_id)
            job.pcm = None
            logger.debug("forgot job %s: over max_jobs (%s)", job_id, self.max_jobs)

    def full(self) -> bool:
        """Whether ``max_jobs`` unfinished jobs are kept already (a new one would not fit)."""
        with self._lock:
            if self.max_jobs is None or len(self._jobs) < self.max_jobs:
                return False
            return not any(job.done for job in self._jobs.values())

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def all(self, api: str | None = None) -> list[Job]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [j for j in jobs if api is None or j.api == api]

    def created(self, api: str | None = None) -> int:
        """How many jobs were ever created (deleted and expired ones included)."""
        with self._lock:
            return self._created[api] if api is not None else sum(self._created.values())

    def ids(self, api: str | None = None) -> list[str]:
        return [j.id for j in self.all(api)]


@dataclass
class JobContext:
    """What a job needs from the server."""

    engine: Engine
    uploads: UploadStore
    faults: FaultConfig
    max_fetch_bytes: int
    fetch_timeout: float
    allow_file_urls: bool
    file_url_roots: tuple[str, ...] = ()
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    slots: asyncio.Semaphore | None = None
    on_done: Callable[[Job], Awaitable[None]] | None = None


def _transcoding_error(exc: Exception) -> str:
    detail = str(exc).strip()
    message = "Transcoding failed. File does not appear to contain audio."
    return f"{message} {detail}" if detail else message


async def _recognize(job: Job, ctx: JobContext) -> RecognitionResult:
    data = await load_audio(
        job.audio_url,
        uploads=ctx.uploads,
        max_bytes=ctx.max_fetch_bytes,
        fetch_seconds=ctx.fetch_timeout,
        allow_file_urls=ctx.allow_file_urls,
        file_url_roots=ctx.file_url_roots,
        outbound=ctx.outbound,
    )
    job.audio_sha256 = hashlib.sha256(data).hexdigest()
    rate = ctx.engine.sample_rate
    try:
        decoded = await asyncio.to_thread(decode_audio, data, target_rate=rate)
    except EngineError as exc:
        raise _JobFailed(_transcoding_error(exc)) from exc
    if not decoded.pcm:
        raise _JobFailed(_transcoding_error(EngineError("The file holds no audio samples.")))
    job.audio_duration = decoded.duration
    job.sample_rate = rate
    start_ms = int(job.params.get("audio_start_from") or 0)
    end_ms = job.params.get("audio_end_at")
    first = start_ms * rate // 1000 * 2
    last = int(end_ms) * rate // 1000 * 2 if end_ms is not None else len(decoded.pcm)
    pcm = decoded.pcm[first:last]
    if not pcm:
        raise _JobFailed(
            f"audio_start_from ({start_ms} ms) is beyond the end of the audio "
            f"({round(decoded.duration * 1000)} ms)."
        )
    if job.params.get("redact_pii_audio"):
        job.pcm = pcm
    try:
        result = await ctx.engine.transcribe(pcm)
    except EngineError as exc:
        raise _JobFailed(f"Transcription failed: {exc}") from exc
    if start_ms:
        shifted = tuple(
            replace(w, start=w.start + start_ms, end=w.end + start_ms) for w in result.words
        )
        result = replace(result, words=shifted)
    return replace(result, audio_duration=decoded.duration)


class _JobFailed(Exception):
    pass


async def run_job(job: Job, ctx: JobContext) -> None:
    """Run ``job`` to ``completed`` or ``error``. Cancellation (server shutdown) propagates."""
    try:
        async with ctx.slots if ctx.slots is not None else contextlib.nullcontext():
            job.status = JobStatus.PROCESSING
            result = await _recognize(job, ctx)
            # Injected slow processing holds the slot, like a slow engine would.
            delay = ctx.faults.processing_delay_for(result.audio_duration)
            if delay > 0:
                await asyncio.sleep(delay)
        job.complete(result)
    except (AudioSourceError, _JobFailed) as exc:
        job.fail(str(exc))
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("job %s failed unexpectedly", job.id)
        job.fail("Internal server error while processing the audio.")
    if ctx.on_done is not None:
        try:
            await ctx.on_done(job)
        except Exception:  # a hook must never break the job
            logger.exception("job %s completion hook failed", job.id)
