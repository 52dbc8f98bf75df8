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
