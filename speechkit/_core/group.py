"""A group of jobs as one sans-I/O flow: both shells drive it, so every group behaves the same.

:class:`GroupFlow` decides everything about a group (which item to create next under the
create budget, how completion is found, when a job has waited too long, what to do after an
interrupt); a shell only runs the :class:`Task` flows it hands out, many at once, and reports
each one's end back with :meth:`GroupFlow.finished`. Hooks (:class:`GroupHooks`) are called in
the driving thread (the event loop for asyncio) at each step of each item, for progress and for
the ledger.

How completion is found:

* ``"poll"``: one GET per job per interval (:func:`~speechkit._core.operations.wait`), the
  schedule growing to ``max_interval``. Cheapest for a few jobs.
* ``"webhook"``: the service POSTs to a receiver when a job ends; the group checks the
  receiver's notices (in memory, no request) and fetches each finished job once, sweeping the
  list only every ``fallback_interval`` seconds in case a delivery was lost.
* ``"sweep"``: with many jobs in flight, one list request per interval finds the finished ones
  (``status=completed``, ``limit=200``, ``after_id`` just before the oldest job still running,
  paged forward), then one GET fetches each finished job: about two requests per job whatever
  the number of jobs. Failed jobs are swept (``status=error``) every few sweeps.

``poll_timeout`` has one meaning everywhere: seconds each job may take, counted from its own
creation.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from speechkit._core import operations as ops
from speechkit._core.audio_input import AudioSource, LocalAudio, RemoteAudio
from speechkit._core.flow import Flow, FlowContext, Sleep
from speechkit._core.limiter import RateLimiter, limited
from speechkit._core.operations import PollSchedule
from speechkit._core.paging import Direction, Pages, list_page
from speechkit.errors import (
    ClientClosedError,
    NotSupportedError,
    TranscriptionCancelledError,
    TranscriptionError,
    TranscriptionTimeoutError,
)
from speechkit.providers.base import JobState, Provider

if TYPE_CHECKING:
    from speechkit.config import TranscriptionConfig
    from speechkit.models import Transcript

__all__ = ["GroupFlow", "GroupHooks", "Notices", "Resume", "Task", "TaskKind", "can_sweep"]

#: Jobs in flight from which sweeping the list costs fewer requests than polling each job.
SWEEP_FROM = 12
#: Items per list page (the service's maximum).
PAGE_LIMIT = 200
#: Every how many sweeps the failed jobs are swept too.
ERROR_SWEEP_EVERY = 4
#: Longest pause between sweeps, in seconds: a sweep costs the same however many jobs it
#: finds, so sweeping often keeps the wait short without adding requests per job.
SWEEP_MAX_INTERVAL = 1.0
#: Seconds between looks at a webhook receiver's notices (memory only, no request).
NOTICE_INTERVAL = 0.05


class Notices(Protocol):
    """Where job-ended notices arrive (a webhook receiver)."""

    fallback_interval: float

    def take(self, transcript_ids: set[str]) -> dict[str, str]:
        """Remove and return the ended jobs among ``transcript_ids`` (id -> status)."""
        ...


class TaskKind(enum.Enum):
    ANCHOR = "anchor"  # the newest job before the group: where sweeps start
    CREATE = "create"  # upload (when local) and create one item's job
    WAIT = "wait"  # poll one job until it ends (poll mode, or a resumed job)
    SWEEP = "sweep"  # list the jobs that ended since the anchor
    FETCH = "fetch"  # get one finished job
    ROUND = "round"  # make the next group of a run in rounds (speechkit._core.rounds)


@dataclass(eq=False)
class Task:
    """One flow for the shell to run; hand it back to :meth:`GroupFlow.finished` when it ends."""

    kind: TaskKind
    flow: Flow[Any]
    index: int = -1


@dataclass(frozen=True, slots=True)
class Resume:
    """Where an item stands from an earlier run (the ledger): its job, or its uploaded audio."""

    transcript_id: str | None = None
    upload_url: str | None = None
    transcript: Transcript | None = None  # finished already: no request at all


class GroupHooks:
    """Per-item callbacks, called in the driving thread; override what you need."""

    def uploaded(self, index: int, upload_url: str) -> None:
        """Local audio was uploaded (before its job is created)."""

    def creating(self, index: int) -> None:
        """The create request is about to be sent."""

    def created(self, index: int, transcript: Transcript) -> None:
        """The job exists on the server."""

    def finished(self, index: int, outcome: Transcript | BaseException) -> None:
        """The item ended: its completed transcript, or why not."""


def can_sweep(provider: Provider) -> bool:
    """Whether the provider lists jobs (so completion can be found by sweeping)."""
    try:
        provider.build_list({"limit": 1})
    except NotSupportedError:
        return False
    return True


@dataclass(eq=False)
class _Item:
    audio: AudioSource | None
    resume: Resume | None
    state: str = "new"  # new, creating, running, fetching, done
    transcript: Transcript | None = None
    outcome: Transcript | BaseException | None = None
    created_at: float = 0.0
    start_tick: float = math.inf
    done_tick: float = math.inf


@dataclass
class GroupFlow:
    """The group's decisions. Create with the items, then let a shell drive it."""

    ctx: FlowContext
    provider: Provider
    audios: Sequence[AudioSource | None]
    config: TranscriptionConfig | None
    schedule: PollSchedule
    poll_timeout: float | None
    max_creating: int
    hooks: GroupHooks = field(default_factory=GroupHooks)
    completion: str = "auto"  # auto, poll, sweep, create (create only: submit_group)
    resume: Sequence[Resume | None] = ()
    limiter: RateLimiter | None = None
    notices: Notices | None = None

    def __post_init__(self) -> None:
        resume = list(self.resume) + [None] * (len(self.audios) - len(self.resume))
        self._items = [_Item(a, r) for a, r in zip(self.audios, resume, strict=True)]
        self._queue = list(range(len(self._items)))
        self._creating = 0
        self._tick = 0
        self._stopped = False
        self._outstanding = 0
        to_create = sum(1 for item in self._items if item.resume is None)
        if self.completion == "auto":
            sweep = to_create >= SWEEP_FROM and can_sweep(self.provider)
            self.completion = "sweep" if sweep else "poll"
        self._sweeping = False
        self._sweeps = 0
        self._anchor: str | None = None
        self._anchor_known = self.completion not in ("sweep", "webhook")
        self._last_sweep = self.ctx.monotonic()
        self._sweep_failures = 0
        self._watched: dict[str, int] = {}

    # -- what the shell calls ----------------------------------------------------------------
    def start(self) -> list[Task]:
        """The first tasks to run."""
        tasks: list[Task] = []
        for index, item in enumerate(self._items):
            resume = item.resume
            if resume is None:
                continue
            self._queue.remove(index)
            if resume.transcript is not None:
                self._finish(index, self._outcome(resume.transcript))
            elif resume.transcript_id is not None:
                item.state = "polling"
                item.created_at = self.ctx.monotonic()
                tasks.append(self._task(TaskKind.WAIT, self._wait(resume.transcript_id), index))
            else:
                self._queue.append(index)  # uploaded only: create from the upload URL
        if not self._anchor_known and self._queue:
            tasks.append(self._task(TaskKind.ANCHOR, self._anchor_flow()))
        else:
            self._anchor_known = True
            tasks.extend(self._creates())
        return tasks

    def finished(self, task: Task, result: Any, error: BaseException | None) -> list[Task]:
        """Record how ``task`` ended; return the tasks to start next."""
        self._outstanding -= 1
        self._tick += 1
        kind, index = task.kind, task.index
        tasks: list[Task] = []
        if kind is TaskKind.ANCHOR:
            self._anchor_known = True
            self._anchor = None if error is not None else result
        elif kind is TaskKind.CREATE:
            self._creating -= 1
            item = self._items[index]
            item.done_tick = self._tick
            if error is not None:
                self._finish(index, error)
            else:
                item.state, item.transcript = "polling", result
                item.created_at = self.ctx.monotonic()
                self.hooks.created(index, result)
                if self.completion == "create":
                    self._finish(index, result)
                elif self.completion == "poll" or self.provider.job_state(result) is not (
                    JobState.PENDING
                ):
                    tasks.append(self._task(TaskKind.WAIT, self._wait(result), index))
                else:  # found by sweeps or webhook notices
                    item.state = "running"
                    self._watched[result.id] = index
        elif kind in (TaskKind.WAIT, TaskKind.FETCH):
            self._finish(index, error if error is not None else self._outcome(result))
        elif kind is TaskKind.SWEEP:
            self._sweeping = False
            if error is None:
                self._sweep_failures = 0
                tasks.extend(self._swept(result))
            else:
                self._sweep_failed(error)
            self._expire()
        tasks.extend(self._creates())
        tasks.extend(self._next_sweep())
        return tasks

    def stop(self) -> None:
        """Create no more jobs (an interrupt); creates already sent may finish."""
        self._stopped = True

    @property
    def done(self) -> bool:
        """True when nothing is running and nothing more will start."""
        return self._outstanding == 0

    @property
    def outcomes(self) -> list[Transcript | BaseException | None]:
        """Each item's outcome in input order (``None``: not finished)."""
        return [item.outcome for item in self._items]

    def running(self) -> list[str]:
        """Ids of the jobs created and not finished (they keep running on the server)."""
        return [
            item.transcript.id if item.transcript is not None else str(item.resume.transcript_id)  # type: ignore[union-attr]
            for item in self._items
            if item.state in ("running", "polling", "fetching")
        ]

    def counts(self) -> dict[str, int]:
        """How many items are in each state (``new``: never created)."""
        counts: dict[str, int] = {}
        for item in self._items:
            counts[item.state] = counts.get(item.state, 0) + 1
        return counts

    # -- inside ----------------------------------------------------------------------------------
    def _task(self, kind: TaskKind, flow: Flow[Any], index: int = -1) -> Task:
        self._outstanding += 1
        if self.limiter is not None:
            flow = limited(flow, self.limiter, self.ctx.monotonic)
        return Task(kind, flow, index)

    def _finish(self, index: int, outcome: Transcript | BaseException) -> None:
        item = self._items[index]
        if item.transcript is not None:
            self._watched.pop(item.transcript.id, None)
        item.state, item.outcome = "done", outcome
        self.hooks.finished(index, outcome)

    def _outcome(self, transcript: Transcript) -> Transcript | BaseException:
        try:
            return ops.raise_for_failed(self.provider, transcript)
        except TranscriptionError as err:
            return err

    def _creates(self) -> list[Task]:
        tasks = []
        while (
            self._anchor_known
            and not self._stopped
            and self._queue
            and self._creating < self.max_creating
        ):
            index = self._queue.pop(0)
            item = self._items[index]
            item.state = "creating"
            self._creating += 1
            self._tick += 1
            item.start_tick = self._tick
            tasks.append(self._task(TaskKind.CREATE, self._create(index), index))
        return tasks

    def _create(self, index: int) -> Flow[Transcript]:
        item = self._items[index]
        ctx, provider = self.ctx, self.provider
        audio = item.audio
        upload_url = item.resume.upload_url if item.resume is not None else None
        if upload_url is None and isinstance(audio, LocalAudio) and provider.uploads_local_audio:
            upload_url = yield from ops.upload_body(ctx, provider, audio.body)
            self.hooks.uploaded(index, upload_url)
        if upload_url is not None:
            request = provider.build_create(RemoteAudio(upload_url), self.config)
            self.hooks.creating(index)
            return (yield from ops._create_for_upload(ctx, provider, request, upload_url))
        if audio is None:
            raise AssertionError("an item with neither audio nor upload URL")  # pragma: no cover
        self.hooks.creating(index)
        return (yield from ops.submit(ctx, provider, audio, self.config))

    def _wait(self, transcript: Transcript | str) -> Flow[Transcript]:
        if isinstance(transcript, str):
            transcript = yield from ops.get(self.ctx, self.provider, transcript)
        return (
            yield from ops.wait(
                self.ctx, self.provider, transcript, self.schedule, self.poll_timeout
            )
        )

    # -- sweeping --------------------------------------------------------------------------------
    def _anchor_flow(self) -> Flow[str | None]:
        page = yield from list_page(self.ctx, self.provider, {"limit": 1}, None)
        return page.transcripts[0].id if page.transcripts else None

    def _swept_ids(self) -> dict[str, int]:
        """The jobs waiting on sweeps or notices (transcript id -> item index)."""
        return self._watched

    def _next_sweep(self) -> list[Task]:
        sweeping = self.completion in ("sweep", "webhook")
        if not sweeping or self._sweeping or not self._swept_ids():
            return []
        self._sweeping = True
        if self.completion == "webhook":
            return [self._task(TaskKind.SWEEP, self._notices())]
        self._sweeps += 1
        status = "error" if self._sweeps % ERROR_SWEEP_EVERY == 0 else "completed"
        return [self._task(TaskKind.SWEEP, self._sweep(status, self._advance_anchor()))]

    def _notices(self) -> Flow[list[str]]:
        """Wait for webhook notices of our running jobs; sweep the list now and then in case a
        delivery was lost (both kinds of failed and completed in turn)."""
        notices = self.notices
        if notices is None:
            raise AssertionError("webhook completion without a receiver")  # pragma: no cover
        while True:
            ended = notices.take(set(self._swept_ids()))
            if ended:
                return list(ended)
            now = self.ctx.monotonic()
            deadline = self._next_deadline()
            if deadline is not None and now >= deadline:
                return []
            if now - self._last_sweep >= notices.fallback_interval:
                self._last_sweep = now
                self._sweeps += 1
                status = "error" if self._sweeps % 2 == 0 else "completed"
                listed = yield from self._sweep(status, self._advance_anchor(), wait=False)
                return listed
            yield Sleep(NOTICE_INTERVAL)

    def _advance_anchor(self) -> str | None:
        """The newest of our jobs such that no job of ours still running is older.

        A job's place in the server's order is set between its create being sent and its answer
        arriving, so job J is safe when every create sent before J's answer arrived has ended.
        """
        unfinished = min(
            (item.start_tick for item in self._items if item.state in ("creating", "running")),
            default=math.inf,
        )
        best: _Item | None = None
        for item in self._items:
            if item.transcript is None or item.state not in ("fetching", "done"):
                continue
            if item.done_tick <= unfinished and (best is None or item.done_tick > best.done_tick):
                best = item
        if best is not None and best.transcript is not None:
            self._anchor = best.transcript.id
        return self._anchor

    def _sweep(self, status: str, anchor: str | None, wait: bool = True) -> Flow[list[str]]:
        if wait:
            delay = min(self.schedule.delay(min(self._sweeps, 64)), SWEEP_MAX_INTERVAL)
            deadline = self._next_deadline()
            if deadline is not None:
                delay = max(0.0, min(delay, deadline - self.ctx.monotonic()))
            yield Sleep(delay)
        params: dict[str, Any] = {"status": status, "limit": PAGE_LIMIT}
        if anchor is not None:
            params["after_id"] = anchor
        # With an anchor, pages run oldest to newest (next_url); without one (an account with
        # no job before this group) every page is ours, newest first (prev_url).
        direction = Direction.OLDER if anchor is None else Direction.NEWER
        pages = Pages(self.ctx, self.provider, params, direction)
        found: list[str] = []
        while (page := (yield from pages.next())) is not None:
            found.extend(item.id for item in page.transcripts)
        return found

    def _swept(self, ended: list[str]) -> list[Task]:
        tasks = []
        for transcript_id in ended:
            index = self._watched.pop(transcript_id, None)
            if index is None:
                continue
            self._items[index].state = "fetching"
            fetch = ops.get(self.ctx, self.provider, transcript_id)
            tasks.append(self._task(TaskKind.FETCH, fetch, index))
        return tasks

    def _sweep_failed(self, error: BaseException) -> None:
        """A sweep failed (each request already retried): keep sweeping while that may help;
        past that, or once the client is closed, every job waiting on sweeps ends with it."""
        self._sweep_failures += 1
        closed = isinstance(error, ClientClosedError)
        retryable = getattr(error, "retryable", False)
        if not closed and retryable and self._sweep_failures < ops.MAX_CONSECUTIVE_POLL_FAILURES:
            return
        for index in list(self._watched.values()):
            transcript = self._items[index].transcript
            outcome: BaseException = error
            if closed and transcript is not None:
                outcome = TranscriptionCancelledError(
                    f"Stopped waiting for transcript {transcript.id} because the client was "
                    "closed. The job keeps running on the server.",
                    transcript_id=transcript.id,
                    transcript=transcript,
                )
            self._finish(index, outcome)

    def _next_deadline(self) -> float | None:
        if self.poll_timeout is None:
            return None
        created = [item.created_at for item in self._items if item.state == "running"]
        return min(created) + self.poll_timeout if created else None

    def _expire(self) -> None:
        if self.poll_timeout is None:
            return
        now = self.ctx.monotonic()
        for index, item in enumerate(self._items):
            if item.state != "running" or item.transcript is None:
                continue
            if now - item.created_at >= self.poll_timeout:
                transcript = item.transcript
                self._finish(
                    index,
                    TranscriptionTimeoutError(
                        f"Transcript {transcript.id} did not end within {self.poll_timeout:g} s "
                        "of its creation. The job keeps running on the server: fetch it later "
                        f"with get_transcript({transcript.id!r}) or wait_for_completion().",
                        transcript_id=transcript.id,
                        transcript=transcript,
                    ),
                )
