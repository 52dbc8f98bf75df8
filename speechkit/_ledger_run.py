"""A group call as both transcribers run it: :class:`GroupRun`, with or without a ledger.

Without a ledger a group call is one core group. With one (``transcribe_group(...,
ledger=...)``) it is a :class:`LedgerRun` of rounds:
Each round claims the inputs in the ledger, answers done ones from it (no request), searches the
job list for inputs left in ``creating`` by a crash, then runs one core group for the rest with
hooks that record every step. Inputs another process is working on are waited for in the next
round. Either way the shells drive one :class:`~speechkit._core.rounds.Rounds`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from speechkit._core import operations as ops
from speechkit._core.flow import Flow, Sleep
from speechkit._core.group import GroupHooks, Resume
from speechkit._core.http import Response
from speechkit._core.paging import Pages
from speechkit._core.recovery import CLOCK_SLACK, ListWitness, _server_time
from speechkit._core.rounds import Rounds
from speechkit.errors import (
    APIError,
    NotSupportedError,
    TranscriptionCancelledError,
    TranscriptionError,
    TranscriptionGroupError,
    TranscriptionTimeoutError,
)
from speechkit.group import GroupFailure, TranscriptGroup
from speechkit.ledger import Ledger, audio_identity, options_identity

if TYPE_CHECKING:
    from speechkit._client_base import TranscriberBase
    from speechkit._core.group import GroupFlow
    from speechkit.config import TranscriptionConfig
    from speechkit.models import Transcript, TranscriptList
    from speechkit.webhooks import WebhookReceiver

__all__ = ["GroupRun", "LedgerRun", "group_result", "open_ledger"]

#: Newest jobs searched for one an interrupted run may have created.
RECOVERY_SEARCH_LIMIT = 1000
#: Seconds between rounds while another process works on some inputs.
ELSEWHERE_WAIT = 0.5


LEDGER_HINT = (
    "Run the same call again with the same ledger to resume: no job is created twice, and "
    "inputs already done are returned without any request."
)
RESUME_HINT = (
    "Wait for them with wait_for_completion(id) (ids in the log), or pass ledger= to resume "
    "a group without creating any job twice."
)


class _ClockWitness(ListWitness):
    """A :class:`ListWitness` that also keeps the server's clock offset (server minus local
    seconds, from the first page's ``Date`` header), to date jobs against local times."""

    offset: float | None = None

    def saw(self, response: Response, page: TranscriptList) -> None:
        super().saw(response, page)
        served = _server_time(response.headers.get("date"))
        if served is not None:
            self.offset = served - self._asked_at


def _remote_url(item: Any) -> bool:
    return isinstance(item, str) and item.startswith(("http://", "https://"))


def group_result(
    items: Sequence[Any],
    outcomes: Sequence[Transcript | BaseException | None],
    return_failures: bool,
) -> TranscriptGroup:
    results: list[Transcript | GroupFailure] = []
    for index, (audio, outcome) in enumerate(zip(items, outcomes, strict=True)):
        if outcome is None:
            outcome = TranscriptionCancelledError(
                "The group stopped before this input ended.", transcript_id=None
            )
        if isinstance(outcome, BaseException):
            results.append(GroupFailure(index, audio, outcome))
        else:
            results.append(outcome)
    group = TranscriptGroup(tuple(results))
    if group.failures and not return_failures:
        first = group.failures[0]
        raise TranscriptionGroupError(
            f"{len(group.failures)} of {len(group)} inputs failed; the first (index "
            f"{first.index}): {first.error}. The error's .group holds every result; pass "
            "return_failures=True to get them without raising.",
            group=group,
        )
    return group


@dataclass
class GroupRun:
    """One group call: its inputs, the rounds a shell drives, and how to end it."""

    items: list[Any]
    rounds: Rounds
    resume_hint: str
    outcomes: Callable[[], Sequence[Transcript | BaseException | None]]
    close: Callable[[], None] = lambda: None

    def result(self, return_failures: bool) -> TranscriptGroup:
        return group_result(self.items, self.outcomes(), return_failures)


def open_ledger(ledger: Ledger | str | os.PathLike[str]) -> Ledger:
    return ledger if isinstance(ledger, Ledger) else Ledger(ledger)


class _Hooks(GroupHooks):
    def __init__(self, run: LedgerRun, indexes: list[int]) -> None:
        self.run = run
        self.indexes = indexes  # group index -> input index

    def _key(self, index: int) -> str:
        return self.run.keys[self.indexes[index]]

    def uploaded(self, index: int, upload_url: str) -> None:
        self.run.ledger.uploaded(self._key(index), self.run.options, upload_url)
        if self.run.extra is not None:
            self.run.extra.uploaded(self.indexes[index], upload_url)

    def creating(self, index: int) -> None:
        self.run.ledger.creating(self._key(index), self.run.options)
        if self.run.extra is not None:
            self.run.extra.creating(self.indexes[index])

    def created(self, index: int, transcript: Transcript) -> None:
        self.run.ledger.created(self._key(index), self.run.options, transcript.id)
        if self.run.extra is not None:
            self.run.extra.created(self.indexes[index], transcript)

    def finished(self, index: int, outcome: Transcript | BaseException) -> None:
        key, options, ledger = self._key(index), self.run.options, self.run.ledger
        if not isinstance(outcome, BaseException):
            ledger.done(key, options, outcome)
        elif isinstance(outcome, TranscriptionTimeoutError | TranscriptionCancelledError):
            pass  # the job keeps running: a rerun waits for it
        elif isinstance(outcome, TranscriptionError) and outcome.transcript_id:
            ledger.failed(key, options, str(outcome), job_ended=True)
        else:
            ledger.release(key, options, str(outcome))  # no job recorded: a rerun takes it
        if self.run.extra is not None:
            self.run.extra.finished(self.indexes[index], outcome)


@dataclass
class LedgerRun:
    """The state of one ``transcribe_group(..., ledger=...)`` call across its rounds."""

    client: TranscriberBase
    items: list[Any]
    config: TranscriptionConfig | None
    ledger: Ledger
    poll_timeout: float | None
    max_concurrency: int | None
    completion: str
    options: str = ""
    #: Called after the ledger's own hooks, with input indexes (the CLI writes outputs there).
    extra: GroupHooks | None = None
    webhook: WebhookReceiver | None = None
    keys: list[str] = field(init=False)
    outcomes: list[Transcript | BaseException | None] = field(init=False)
    pending: list[int] = field(init=False)

    def __post_init__(self) -> None:
        provider = self.client.provider
        self.keys = [audio_identity(item) for item in self.items]
        self.options = self.options or options_identity(
            f"{provider.name} {provider.base_url}", self.client._config(self.config)
        )
        self.outcomes = [None] * len(self.items)
        self.pending = list(range(len(self.items)))
        self._reported: set[int] = set()
        self._rounds = 0
        self._indexes: list[int] = []

    def next_group(self) -> Flow[GroupFlow | None]:
        """The next group to run (hand it to :meth:`collect` once run), or None once every
        input is answered. While another process is creating some inputs, waits for its jobs
        between rounds. Every shell and the CLI run their rounds through this one loop."""
        while self.pending:
            if self._rounds:  # inputs left after a round are another process's: let it work
                yield Sleep(ELSEWHERE_WAIT)
            self._rounds += 1
            group, self._indexes = yield from self.round()
            if group is not None:
                return group
        return None

    def round(self) -> Flow[tuple[GroupFlow | None, list[int]]]:
        """Claim the pending inputs; return the group to run (or None) and its input indexes."""
        entries = self.ledger.claim([self.keys[i] for i in self.pending], self.options)
        run: list[int] = []
        resume: list[Resume | None] = []
        elsewhere: list[int] = []
        searching: dict[str, int] = {}
        lost: dict[int, float | None] = {}
        for index, entry in zip(self.pending, entries, strict=True):
            if entry is None:
                run.append(index)
                resume.append(None)
            elif entry.state in ("done", "written") and entry.transcript_json is not None:
                self.outcomes[index] = entry.transcript
            elif entry.state in ("done", "written") and entry.transcript_id:
                run.append(index)  # recorded without its transcript (an older CLI run): fetch it
                resume.append(Resume(transcript_id=entry.transcript_id))
            elif entry.state == "running" and entry.transcript_id:
                run.append(index)
                resume.append(Resume(transcript_id=entry.transcript_id))
            elif entry.owner != self.ledger.owner:
                elsewhere.append(index)
            elif entry.state == "creating" and entry.upload_url:
                searching[entry.upload_url] = len(run)
                run.append(index)
                resume.append(Resume(upload_url=entry.upload_url))
            elif entry.state == "creating" and _remote_url(self.items[index]):
                lost[index] = entry.claimed_at  # a URL input: its job is not ours alone
            else:  # claimed by us; uploaded (create from the URL) or nothing yet
                run.append(index)
                resume.append(Resume(upload_url=entry.upload_url) if entry.upload_url else None)
        if searching:
            found = yield from self._search(list(searching))
            for url, transcript_id in found.items():
                position = searching[url]
                resume[position] = Resume(transcript_id=transcript_id)
                self.ledger.created(self.keys[run[position]], self.options, transcript_id)
        if lost:
            answers = yield from self._search_remote(lost)
            for index, answer in answers.items():
                if isinstance(answer, APIError):  # undecided: never a second job on a guess
                    self.outcomes[index] = answer
                    self.ledger.failed(self.keys[index], self.options, str(answer), job_ended=False)
                    continue
                if answer is not None:  # its job: adopt it
                    self.ledger.created(self.keys[index], self.options, answer)
                run.append(index)
                resume.append(None if answer is None else Resume(transcript_id=answer))
        self.pending = elsewhere
        if self.extra is not None:
            for index in self.pending_done():
                self.extra.finished(index, self.outcomes[index])  # type: ignore[arg-type]
        if not run:
            return None, []
        _, group = self.client._group_flow(
            [self.items[i] for i in run],
            self.config,
            poll_timeout=self.poll_timeout,
            max_concurrency=self.max_concurrency,
            completion=self.completion,
            hooks=_Hooks(self, run),
            resume=resume,
            webhook=self.webhook,
        )
        return group, run

    def pending_done(self) -> list[int]:
        """Inputs answered from the ledger in the latest round and not yet reported."""
        fresh = [
            i for i, o in enumerate(self.outcomes) if o is not None and i not in self._reported
        ]
        self._reported.update(fresh)
        return fresh

    def _search(self, urls: Sequence[str]) -> Flow[dict[str, str]]:
        client = self.client
        try:
            return (
                yield from ops.find_jobs(client._ctx, client.provider, urls, RECOVERY_SEARCH_LIMIT)
            )
        except NotSupportedError:
            return {}  # a provider that cannot list (the create carries the audio): create again

    def _search_remote(
        self, lost: dict[int, float | None]
    ) -> Flow[dict[int, str | APIError | None]]:
        """For URL inputs left in ``creating`` (their create may or may not have been sent):
        the id of the one job made from the URL after the input was claimed and recorded for no
        other input (adopt it), None when the job list is shown current and holds no such job
        (create it), or the error to record when it cannot be told (never a second job)."""
        client = self.client
        urls = {index: str(self.items[index]) for index in lost}
        witness = _ClockWitness(failed_at=client._ctx.wall(), wall=client._ctx.wall)
        params = {"limit": min(RECOVERY_SEARCH_LIMIT, 200)}
        pages = Pages(
            client._ctx, client.provider, params, max_items=RECOVERY_SEARCH_LIMIT, observe=witness
        )
        recorded = {e.transcript_id for e in self.ledger.entries() if e.transcript_id}
        candidates: dict[int, list[str]] = {index: [] for index in lost}
        undated: set[int] = set()
        try:
            while (page := (yield from pages.next())) is not None:
                for item in page.transcripts:
                    created = _server_time(getattr(item, "created", None))
                    for index, url in urls.items():
                        claimed = lost[index]
                        if item.audio_url != url or item.id in recorded:
                            continue
                        if claimed is None or created is None or witness.offset is None:
                            undated.add(index)  # a job from this URL we cannot date
                        elif created > claimed + witness.offset - CLOCK_SLACK - 1.0:
                            candidates[index].append(item.id)
        except NotSupportedError:
            return dict.fromkeys(lost)  # a provider that cannot list (the create carries it)
        answers: dict[int, str | APIError | None] = {}
        for index, found in candidates.items():
            if len(found) == 1 and index not in undated:
                answers[index] = found[0]
            elif not found and index not in undated and witness.fresh:
                answers[index] = None
            else:
                answers[index] = APIError(
                    "An earlier run was interrupted while creating the job for "
                    f"{urls[index]!r}, and the job list cannot tell whether it was made "
                    f"({'more than one job matches' if found else 'it may lag behind'}), so "
                    "it was not created again. The job may exist: look with "
                    f"find_transcripts([{urls[index]!r}]); if there is none, remove the input "
                    "from the ledger (Ledger.forget) and run again"
                )
        return answers

    def group_run(self) -> GroupRun:
        """This run as a :class:`GroupRun` (the ledger's claims are released at its end)."""
        from speechkit._client_base import DEFAULT_GROUP_CONCURRENCY

        limit = self.max_concurrency or DEFAULT_GROUP_CONCURRENCY
        rounds = Rounds(self.next_group, limit, self.collect)
        return GroupRun(self.items, rounds, LEDGER_HINT, lambda: self.outcomes, self.release)

    def release(self) -> None:
        self.ledger.release_all()

    def collect(self, group: GroupFlow) -> None:
        """Take the outcomes of the group :meth:`next_group` returned last."""
        for index, outcome in zip(self._indexes, group.outcomes, strict=True):
            self.outcomes[index] = outcome
            self._reported.add(index)
