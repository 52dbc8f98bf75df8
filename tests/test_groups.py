"""transcribe_group / submit_group: bounded concurrency, input order, failures kept."""

from __future__ import annotations

import threading

import httpx
import pytest

from speechkit import AsyncTranscriber, Transcriber, TranscriptGroup
from speechkit.errors import InvalidInputError, TranscriptionGroupError
from speechkit.group import GroupFailure
from tests.fakes import FakeAssemblyAI

URLS = [f"https://example.org/{i}.mp3" for i in range(6)]


def fail_third_create(fake: FakeAssemblyAI) -> None:
    original = fake._create

    def create(params: dict) -> dict:  # type: ignore[type-arg]
        if params["audio_url"].endswith("/2.mp3"):
            params = dict(params, audio_url="bad")
            result = original(params)
            fake.transcripts[result["id"]]["status"] = "error"
            return result
        return original(params)

    fake._create = create  # type: ignore[method-assign]
    original_poll = fake._poll

    def poll(tid: str) -> dict:  # type: ignore[type-arg]
        if fake.transcripts[tid]["audio_url"] == "bad":
            return dict(
                fake.transcripts[tid],
                status="error",
                error="File does not appear to contain audio.",
            )
        return original_poll(tid)

    fake._poll = poll  # type: ignore[method-assign]


def check(group: TranscriptGroup) -> None:
    assert len(group) == len(URLS)
    assert [t.audio_url for t in group.transcripts] == [u for u in URLS if not u.endswith("/2.mp3")]
    (failure,) = group.failures
    assert isinstance(group[2], GroupFailure)
    assert failure.index == 2
    assert failure.audio == URLS[2]
    assert "does not appear to contain audio" in str(failure.error)
    assert not group.ok


def test_sync_group_keeps_order_and_failures(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    fail_third_create(fake)
    check(transcriber.transcribe_group(URLS, return_failures=True))
    with pytest.raises(TranscriptionGroupError) as info:
        transcriber.transcribe_group(URLS)
    check(info.value.group)  # nothing lost when it raises


async def test_async_group_keeps_order_and_failures(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI
) -> None:
    fail_third_create(fake)
    check(await atranscriber.transcribe_group(URLS, return_failures=True))
    submitted = await atranscriber.submit_group(URLS[:3])
    assert [t.status for t in submitted] == ["queued"] * 3


def test_sync_group_concurrency_is_bounded(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    original = fake.handle
    gate = threading.Barrier(2, timeout=0.2)

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            try:
                gate.wait()
            except threading.BrokenBarrierError:
                gate.reset()
            return original(request)
        finally:
            with lock:
                active -= 1

    fake.handle = handle  # type: ignore[method-assign]
    group = transcriber.submit_group(URLS, max_concurrency=2)
    assert group.ok
    assert len(group) == 6
    assert peak == 2


def test_group_input_errors(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    with pytest.raises(InvalidInputError, match="list of URLs"):
        transcriber.transcribe_group("https://example.org/a.mp3")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="max_concurrency"):
        transcriber.transcribe_group(URLS, max_concurrency=0)
    with pytest.raises(InvalidInputError, match="no such file"):
        transcriber.transcribe_group([URLS[0], "/nope/missing.wav"])
    assert fake.requests == []  # every input is checked before any job starts


class InFlight:
    """Counts, from the fake's side, jobs created and not yet seen completed, and threads."""

    def __init__(self, fake: FakeAssemblyAI) -> None:
        self.fake = fake
        self.created = 0
        self.completed: set[str] = set()
        self.peak_jobs = 0
        self.peak_threads = 0
        self.http_active = 0
        self.peak_http = 0
        self.lock = threading.Lock()
        original = fake.handle

        def handle(request: httpx.Request) -> httpx.Response:
            with self.lock:
                self.http_active += 1
                self.peak_http = max(self.peak_http, self.http_active)
                self.peak_threads = max(self.peak_threads, threading.active_count())
            try:
                response = original(request)
            finally:
                with self.lock:
                    self.http_active -= 1
            with self.lock:
                if request.method == "POST" and request.url.path == "/v2/transcript":
                    self.created += 1
                elif request.method == "GET" and response.json().get("status") == "completed":
                    self.completed.add(request.url.path)
                self.peak_jobs = max(self.peak_jobs, self.created - len(self.completed))
            return response

        fake.handle = handle  # type: ignore[method-assign]


MANY = [f"https://example.org/{i}.mp3" for i in range(12)]


def test_sync_group_waits_on_every_job_at_once_with_bounded_requests_and_threads(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    from speechkit.transcriber import MAX_POLL_THREADS

    fake.polls_until_done = 5
    seen = InFlight(fake)
    baseline = threading.active_count()
    inputs = [f"https://example.org/{i}.mp3" for i in range(3 * MAX_POLL_THREADS)]
    group = transcriber.transcribe_group(inputs, max_concurrency=2)
    assert group.ok
    assert [t.audio_url for t in group.transcripts] == inputs
    # waiting holds no slot: every job was running at once...
    assert seen.peak_jobs == len(inputs)
    # ...with requests and threads bounded, not one per job
    assert seen.peak_http <= MAX_POLL_THREADS
    assert seen.peak_threads <= baseline + MAX_POLL_THREADS
    assert fake.count("POST", "/v2/transcript") == len(inputs)


async def test_async_group_waits_on_every_job_at_once(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI
) -> None:
    fake.polls_until_done = 5
    seen = InFlight(fake)
    group = await atranscriber.transcribe_group(MANY, max_concurrency=2)
    assert group.ok
    assert [t.audio_url for t in group.transcripts] == MANY
    assert seen.peak_jobs > 2  # more jobs running than create slots
    assert fake.count("POST", "/v2/transcript") == len(MANY)


def test_closing_during_a_group_wait_cancels_every_wait(fake: FakeAssemblyAI) -> None:
    from speechkit.errors import TranscriptionCancelledError
    from tests.fakes import API_KEY, BASE_URL

    fake.polls_until_done = 10_000  # never completes
    client = httpx.Client(transport=fake.transport())
    transcriber = Transcriber(
        api_key=API_KEY, base_url=BASE_URL, http_client=client, polling_interval=0.01
    )
    future = transcriber.transcribe_group_async(MANY[:4], return_failures=True)
    assert wait_until(lambda: fake.count("GET", "/v2/transcript/tr-1") >= 2)
    transcriber.close()
    group = future.result(timeout=5)
    assert len(group.failures) == 4
    assert all(isinstance(f.error, TranscriptionCancelledError) for f in group.failures)
    assert all(f.error.transcript_id for f in group.failures)  # type: ignore[attr-defined]
    client.close()


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False
