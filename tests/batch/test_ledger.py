"""The ledger: a crash at any step, then a rerun, never makes a job twice; done inputs cost no
request; several processes on one ledger create each job once."""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from speechkit import RetryPolicy, Transcriber
from speechkit.ledger import Ledger
from tests.batch.sweepfake import API_KEY, BASE_URL, SweepFake

AUDIO = [f"audio number {i}".encode() for i in range(6)]


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs, not even the ledger's release."""


class CrashingLedger(Ledger):
    """Dies when recording ``step`` for the ``at``-th time (before writing it)."""

    def __init__(self, path: Path, step: str, at: int) -> None:
        super().__init__(path)
        self.step, self.at, self.seen, self.dead = step, at, 0, False

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name in ("uploaded", "creating", "created", "done") and name == self.step:
            self.seen += 1
            if self.seen == self.at:
                self.dead = True
                raise Crash(name)
        if name in ("release", "release_all") and self.dead:
            return lambda *args, **kwargs: None
        return value


def transcriber(fake: SweepFake) -> Transcriber:
    return Transcriber(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=httpx.Client(transport=httpx.MockTransport(fake.handle)),
        polling_interval=0.001,
        polling_max_interval=0.004,
        retry=RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.002),
    )


@pytest.mark.parametrize("completion", ["poll", "sweep"])
@pytest.mark.parametrize("step", ["uploaded", "creating", "created", "done"])
@pytest.mark.parametrize("at", [1, 4])
def test_a_crash_at_any_step_then_a_rerun_makes_each_job_once(
    tmp_path: Path, step: str, at: int, completion: str
) -> None:
    fake = SweepFake()
    path = tmp_path / "batch.db"
    with transcriber(fake) as t, pytest.raises(Crash):
        t.transcribe_group(AUDIO, ledger=CrashingLedger(path, step, at), completion=completion)
    # The crashed process is this one, still alive: a zero lease lets the rerun take over at
    # once (a dead process's claims are taken over by pid; see the two-process test).
    with transcriber(fake) as t:
        group = t.transcribe_group(AUDIO, ledger=Ledger(path, lease=0), completion=completion)
    assert [t.text for t in group] == ["hello"] * len(AUDIO)
    assert len(fake.jobs) == len(AUDIO)  # no duplicate job, whatever the step
    assert fake.creates() == len(AUDIO)  # not even a rejected second create
    # A third run re-exports from the ledger: no request at all.
    before = len(fake.requests)
    with transcriber(fake) as t:
        again = t.transcribe_group(AUDIO, ledger=path, completion=completion)
    assert len(fake.requests) == before
    assert [x.id for x in again] == [x.id for x in group]
    assert Ledger(path).counts() == {"done": len(AUDIO)}


def test_a_failed_job_is_made_again_on_the_rerun_and_timeouts_are_waited_for(
    tmp_path: Path,
) -> None:
    failing_url = "https://cdn.test/u002.bin"
    fake = SweepFake(fail={failing_url})
    path = tmp_path / "batch.db"
    with transcriber(fake) as t:
        group = t.transcribe_group(AUDIO[:3], ledger=path, return_failures=True)
    # Uploads run concurrently, so which input got the second upload URL varies: ask the fake.
    assert [f.index for f in group.failures] == [AUDIO.index(fake.uploaded[failing_url])]
    assert Ledger(path).counts() == {"done": 2, "failed": 1}
    with transcriber(fake) as t:
        group = t.transcribe_group(AUDIO[:3], ledger=path)
    assert group.ok
    assert len(fake.jobs) == 4  # the failed one once more, nothing else


def test_changed_options_are_other_inputs(tmp_path: Path) -> None:
    from speechkit import TranscriptionConfig

    fake = SweepFake()
    path = tmp_path / "batch.db"
    with transcriber(fake) as t:
        t.transcribe_group(AUDIO[:2], ledger=path)
        t.transcribe_group(AUDIO[:2], TranscriptionConfig(punctuate=False), ledger=path)
    assert len(fake.jobs) == 4


def test_a_ledger_pickles_as_its_path(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "x.db", lease=5)
    copy = pickle.loads(pickle.dumps(ledger))
    assert copy.path == ledger.path
    assert copy.lease == 5
    assert copy.owner != ledger.owner  # each process (or copy) claims as itself


def test_open_file_inputs_are_refused_with_the_fix(tmp_path: Path) -> None:
    import io

    from speechkit.errors import InvalidInputError

    with transcriber(SweepFake()) as t, pytest.raises(InvalidInputError, match="path"):
        t.transcribe_group([io.BytesIO(b"x")], ledger=tmp_path / "x.db")


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from speechkit.server import local_server

    with local_server(engine="fixed", engine_options={"text": "hello"}) as running:
        running.faults.processing_delay = 0.3
        yield running


def _jobs_created(base_url: str) -> int:
    stats = httpx.get(f"{base_url}/_speechkit/stats", params={"log": 0}).json()
    return int(sum(stats["jobs"]["created"].values()))


def test_two_processes_on_one_ledger_create_each_job_once(server: Any, tmp_path: Path) -> None:
    import wave

    paths = []
    for i in range(8):
        path = tmp_path / f"clip{i}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(bytes([i]) * 3200)
        paths.append(str(path))
    db = tmp_path / "shared.db"
    script = textwrap.dedent(
        f"""
        import json, speechkit
        with speechkit.Transcriber(api_key="local", base_url={server.base_url!r},
                                   polling_interval=0.05) as t:
            group = t.transcribe_group({paths!r}, ledger={str(db)!r}, max_concurrency=2)
        print(json.dumps([x.id for x in group]))
        """
    )
    before = _jobs_created(server.base_url)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (_, stderr) in zip(children, outputs, strict=True):
        assert child.returncode == 0, stderr
    ids = [json.loads(stdout) for stdout, _ in outputs]
    assert ids[0] == ids[1]  # both return every input, the same jobs
    assert len(set(ids[0])) == len(paths)
    assert _jobs_created(server.base_url) - before == len(paths)  # each job made once


class _InterruptedOnce:
    """A connection whose first ``BEGIN IMMEDIATE`` succeeds and then raises
    KeyboardInterrupt, as Ctrl-C does when it lands while SQLite takes the write lock (Python
    raises it as the C call returns)."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.fired = False

    def execute(self, sql: str, *args: Any) -> Any:
        result = self._db.execute(sql, *args)
        if sql == "BEGIN IMMEDIATE" and not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@pytest.mark.parametrize("step", ["claim", "created"])
def test_ctrl_c_during_begin_leaves_no_transaction_open(
    tmp_path: Path, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger(tmp_path / "l.db")
    [entry] = ledger.claim(["a"], "opts")
    assert entry is None
    conn = _InterruptedOnce(ledger._db())
    monkeypatch.setattr(ledger, "_db", lambda: conn)
    write = {
        "claim": lambda: ledger.claim(["b"], "opts"),
        "created": lambda: ledger.created("a", "opts", "job-1"),
    }[step]
    with pytest.raises(KeyboardInterrupt):
        write()
    assert conn.fired
    assert not conn.in_transaction
    # Another process can take the write lock at once (it was not kept by the interrupt).
    other = sqlite3.connect(tmp_path / "l.db", timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    ledger.release_all()  # what the CLI does at Ctrl-C (it raised "transaction within")


# -- URL inputs left in `creating` ------------------------------------------------------------
REMOTE = "https://cdn.example/talk.wav"


class UrlJobs:
    """An API that dates its jobs (``created`` and ``Date``, in server time) and lists them."""

    def __init__(self, listed: list[dict[str, Any]] | None = None) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.listed = listed  # what the list shows instead of the jobs (a lagging list)
        self.creates = 0

    def _now(self) -> str:
        from datetime import UTC, datetime

        return datetime.now(UTC).replace(tzinfo=None).isoformat()

    def handle(self, request: httpx.Request) -> httpx.Response:
        import email.utils

        date = {"date": email.utils.formatdate(usegmt=True)}
        path = request.url.path
        if request.method == "POST" and path == "/v2/transcript":
            self.creates += 1
            url = json.loads(request.content)["audio_url"]
            job = {"id": f"job-{self.creates}", "status": "completed", "audio_url": url}
            self.jobs.append({**job, "created": self._now(), "text": "hello"})
            return httpx.Response(200, headers=date, json=self.jobs[-1])
        if request.method == "GET" and path == "/v2/transcript":
            shown = self.jobs if self.listed is None else self.listed
            page = {"limit": 200, "result_count": len(shown), "prev_url": None, "next_url": None}
            return httpx.Response(
                200, headers=date, json={"page_details": page, "transcripts": shown[::-1]}
            )
        if request.method == "GET" and path.startswith("/v2/transcript/"):
            tid = path.rsplit("/", 1)[1]
            job = next((j for j in self.jobs + (self.listed or []) if j["id"] == tid), None)
            return httpx.Response(404) if job is None else httpx.Response(200, json=job)
        return httpx.Response(404)


def _url_transcriber(api: UrlJobs) -> Transcriber:
    return Transcriber(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=httpx.Client(transport=httpx.MockTransport(api.handle)),
        polling_interval=0.001,
        retry=RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.002),
    )


def test_a_url_input_whose_create_was_sent_before_a_crash_is_adopted(tmp_path: Path) -> None:
    api = UrlJobs()
    path = tmp_path / "batch.db"
    with _url_transcriber(api) as t, pytest.raises(Crash):
        t.transcribe_group([REMOTE], ledger=CrashingLedger(path, "created", 1))
    assert api.creates == 1
    with _url_transcriber(api) as t:
        group = t.transcribe_group([REMOTE], ledger=Ledger(path, lease=0))
    assert api.creates == 1  # found on the list, not created again
    assert [x.id for x in group] == ["job-1"]
    assert Ledger(path).counts() == {"done": 1}


def _left_creating(path: Path, api: UrlJobs) -> None:
    """A run that recorded `creating` for REMOTE and then died (its create may have been sent)."""
    with _url_transcriber(api) as t, pytest.raises(Crash):
        t.transcribe_group([REMOTE], ledger=CrashingLedger(path, "created", 1))


@pytest.mark.parametrize("shown", ["nothing", "two jobs"])
def test_a_url_input_that_cannot_be_told_is_not_created_again(tmp_path: Path, shown: str) -> None:
    path = tmp_path / "batch.db"
    api = UrlJobs()
    _left_creating(path, api)
    made = api.jobs[0]
    # A lagging list that shows nothing yet, or two jobs from that URL made since the claim.
    api.listed = [] if shown == "nothing" else [made, {**made, "id": "job-other"}]
    with _url_transcriber(api) as t:
        group = t.transcribe_group([REMOTE], ledger=Ledger(path, lease=0), return_failures=True)
    assert api.creates == 1  # never a second job on a guess
    [failure] = group.failures
    assert f"may exist: look with find_transcripts([{REMOTE!r}])" in str(failure.error)
    entry = Ledger(path).entries()[0]
    assert (entry.state, entry.transcript_id) == ("creating", None)  # searched again next run


def test_a_url_job_older_than_the_claim_is_not_taken_for_it(tmp_path: Path) -> None:
    path = tmp_path / "batch.db"
    old = {"id": "old", "status": "completed", "audio_url": REMOTE, "created": "2024-01-01T00:00"}
    api = UrlJobs(listed=[old])
    _left_creating(path, api)
    api.jobs.clear()  # the crashed create never reached the server; only an old job is listed
    with _url_transcriber(api) as t:
        group = t.transcribe_group([REMOTE], ledger=Ledger(path, lease=0), return_failures=True)
    assert api.creates == 1
    assert "may exist" in str(group.failures[0].error)
