"""The core group flow, driven by both shells: one behaviour, fewer requests when sweeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from speechkit import AsyncTranscriber, RetryPolicy, Transcriber
from speechkit._core.flow import Sleep
from speechkit._core.http import Request
from speechkit._core.limiter import TokenBucket, limited
from speechkit.errors import TranscriptionError, TranscriptionTimeoutError
from tests.batch.sweepfake import API_KEY, BASE_URL, SweepFake

URLS = [f"https://audio.example/{i:03d}.mp3" for i in range(30)]
FAST = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.002)


def run_sync(fake: SweepFake, urls: list[str], **options: Any) -> Any:
    client = httpx.Client(transport=httpx.MockTransport(fake.handle))
    with Transcriber(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=client,
        polling_interval=0.001,
        polling_max_interval=0.004,
        retry=FAST,
    ) as transcriber:
        return transcriber.transcribe_group(urls, return_failures=True, **options)


def run_async(fake: SweepFake, urls: list[str], **options: Any) -> Any:
    async def main() -> Any:
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake.handle))
        async with AsyncTranscriber(
            api_key=API_KEY,
            base_url=BASE_URL,
            http_client=client,
            polling_interval=0.001,
            polling_max_interval=0.004,
            retry=FAST,
        ) as transcriber:
            return await transcriber.transcribe_group(urls, return_failures=True, **options)

    return asyncio.run(main())


RUNNERS: dict[str, Callable[..., Any]] = {"sync": run_sync, "async": run_async}


@pytest.mark.parametrize("completion", ["poll", "sweep"])
def test_both_shells_send_the_same_requests_for_each_job(completion: str) -> None:
    """The behaviour-parity harness: one handler, both shells, the same per-job sequences."""
    seen = {}
    for name, runner in RUNNERS.items():
        fake = SweepFake(fail={URLS[3]})
        group = runner(fake, URLS[:15], completion=completion, max_concurrency=4)
        assert [t.id for t in group.transcripts] == [
            f"job-{i:03d}" for i in range(15) if i != 3
        ]  # input order kept
        assert isinstance(group.failures[0].error, TranscriptionError)
        lists = fake.lists()
        shapes = {(r.method, r.url.path, tuple(sorted(r.url.params.keys()))) for r in lists}
        seen[name] = (fake.per_job(), shapes)
    assert seen["sync"] == seen["async"]
    per_job, shapes = seen["sync"]
    if completion == "sweep":
        # one create and one fetch per job: completion was found by listing, not by polling
        assert set(map(tuple, per_job.values())) == {("create", "get")}
        assert {params for _, _, params in shapes} <= {
            ("limit",),  # once, before the first create: the newest job, where sweeps start
            ("limit", "status"),
            ("after_id", "limit", "status"),
        }
    else:
        assert set(map(tuple, per_job.values())) == {("create", "get", "get")}
        assert shapes == set()


@pytest.mark.parametrize("shell", sorted(RUNNERS))
def test_sweeping_many_jobs_costs_about_two_requests_each(shell: str) -> None:
    fake = SweepFake(done_after=3)
    fake.order.append("job-old")  # the account's history: sweeps start after its newest job
    fake.jobs["job-old"] = {
        "id": "job-old",
        "audio_url": "https://old/x.mp3",
        "status": "completed",
    }
    fake.reads["job-old"] = 0
    group = RUNNERS[shell](fake, URLS, max_concurrency=30)  # auto: 30 jobs are swept
    assert group.ok
    assert len(group) == len(URLS)
    non_list = len(fake.requests) - len(fake.lists())
    assert non_list == 2 * len(URLS)  # a create and a fetch each
    anchor, *sweeps = fake.lists()
    assert dict(anchor.url.params) == {"limit": "1"}
    assert sweeps
    for request in sweeps:  # never the old job again: every sweep starts after it
        assert request.url.params["after_id"] != ""
        assert request.url.params["limit"] == "200"
        assert request.url.params["status"] in ("completed", "error")


def test_a_swept_job_that_fails_is_found_by_the_error_sweep() -> None:
    fake = SweepFake(fail={URLS[0], URLS[20]})
    group = run_sync(fake, URLS, completion="sweep")
    assert [f.index for f in group.failures] == [0, 20]
    assert all("no audio" in str(f.error) for f in group.failures)
    assert any(r.url.params.get("status") == "error" for r in fake.lists())


@pytest.mark.parametrize("shell", sorted(RUNNERS))
def test_poll_timeout_counts_from_each_jobs_creation(shell: str) -> None:
    fake = SweepFake(done_after=10**9)  # never ends
    group = RUNNERS[shell](fake, URLS[:14], completion="sweep", poll_timeout=0.05)
    assert len(group.failures) == 14
    assert all(isinstance(f.error, TranscriptionTimeoutError) for f in group.failures)
    assert all(f.error.transcript_id == f"job-{f.index:03d}" for f in group.failures)


def test_token_bucket_spreads_requests_under_the_budget() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    waits = [bucket.reserve(0.0) for _ in range(8)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([0.1, 0.2, 0.3])
    assert bucket.reserve(10.0) == 0.0  # refilled, capped at burst
    empty = TokenBucket(rate=10, burst=5, initial=0)
    assert empty.reserve(0.0) == pytest.approx(0.1)  # no burst granted again


def test_limited_flow_sleeps_before_a_request_when_over_budget() -> None:
    bucket = TokenBucket(rate=2, burst=1)

    def flow() -> Any:
        first = yield Request("GET", "/a")
        second = yield Request("GET", "/b")
        return (first, second)

    wrapped = limited(flow(), bucket, lambda: 0.0)
    assert next(wrapped) == Request("GET", "/a")
    assert wrapped.send("A") == Sleep(0.5)
    assert wrapped.send(None) == Request("GET", "/b")
    with pytest.raises(StopIteration) as stop:
        wrapped.send("B")
    assert stop.value.value == ("A", "B")
