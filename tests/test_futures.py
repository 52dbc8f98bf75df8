"""The concurrent.futures forms: owned bounded pool, close() stops in-flight waits."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import httpx
import pytest

from speechkit import Transcriber
from speechkit.errors import TranscriptionCancelledError
from tests.fakes import API_KEY, BASE_URL, FakeAssemblyAI


def make(fake: FakeAssemblyAI, **options: object) -> Transcriber:
    client = httpx.Client(transport=fake.transport())
    return Transcriber(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=client,
        polling_interval=0.001,
        polling_max_interval=0.005,
        **options,  # type: ignore[arg-type]
    )


def test_futures_return_the_same_results(fake: FakeAssemblyAI, no_thread_leak: None) -> None:
    with make(fake) as t:
        assert t._executor is None  # the pool is created lazily
        future = t.transcribe_async("https://example.org/a.mp3")
        assert isinstance(future, concurrent.futures.Future)
        transcript = future.result(timeout=5)
        assert transcript.status == "completed"
        assert t.upload_file_async(b"abc").result(timeout=5).startswith(f"{BASE_URL}/upload/")
        queued = t.submit_async("https://example.org/a.mp3").result(timeout=5)
        assert t.wait_for_completion_async(queued).result(timeout=5).status == "completed"
        assert t.get_transcript_async(queued.id).result(timeout=5).id == queued.id
        group = t.transcribe_group_async(["https://a", "https://b"]).result(timeout=5)
        assert len(group.transcripts) == 2
        assert len(t.submit_group_async(["https://c"]).result(timeout=5)) == 1


def test_pool_is_bounded(fake: FakeAssemblyAI) -> None:
    fake.polls_until_done = 5
    names: set[str] = set()
    original = fake.handle

    def record(request: httpx.Request) -> httpx.Response:
        names.add(threading.current_thread().name)
        return original(request)

    fake.handle = record  # type: ignore[method-assign]
    with make(fake, max_workers=2) as t:
        futures = [t.transcribe_async(f"https://example.org/{i}.mp3") for i in range(8)]
        for future in futures:
            assert future.result(timeout=10).status == "completed"
    assert 1 <= len(names) <= 2


def test_done_callbacks_run_in_a_pool_thread(fake: FakeAssemblyAI) -> None:
    seen: list[str] = []
    done = threading.Event()
    with make(fake) as t:
        future = t.transcribe_async("https://example.org/a.mp3")
        future.add_done_callback(
            lambda f: (seen.append(threading.current_thread().name), done.set())
        )
        assert done.wait(5)
    assert seen[0] != threading.main_thread().name


def test_close_stops_in_flight_polling_promptly(fake: FakeAssemblyAI, no_thread_leak: None) -> None:
    fake.polls_until_done = 10**9
    t = make(fake, max_workers=1)
    t._schedule = t._schedule.__class__(interval=0.05, max_interval=30.0, backoff=2.0)
    running = t.transcribe_async("https://example.org/a.mp3")
    queued = t.transcribe_async("https://example.org/b.mp3")  # waits behind the only worker
    while not fake.polls:
        time.sleep(0.01)
    started = time.monotonic()
    t.close()
    assert time.monotonic() - started < 10.0  # the jobs never finish: waiting would hang
    with pytest.raises(TranscriptionCancelledError) as info:
        running.result(timeout=1)
    assert info.value.transcript_id in fake.transcripts  # the job itself keeps running
    assert queued.cancelled()


def test_future_cancel_only_stops_calls_not_yet_started(fake: FakeAssemblyAI) -> None:
    fake.polls_until_done = 3
    with make(fake, max_workers=1) as t:
        first = t.transcribe_async("https://example.org/a.mp3")
        second = t.transcribe_async("https://example.org/b.mp3")
        assert second.cancel()
        assert first.result(timeout=5).status == "completed"
    assert second.cancelled()
    assert len(fake.transcripts) == 1
