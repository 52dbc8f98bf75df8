"""The create-then-poll state machine and its retries, driven without any I/O."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from speechkit._core import operations as ops
from speechkit._core.audio_input import LocalAudio, RemoteAudio, to_audio_source
from speechkit._core.flow import Flow, FlowContext, Sleep, status_error
from speechkit._core.http import BytesBody, Request, Response
from speechkit._core.retry import RetryPolicy
from speechkit.config import TranscriptionConfig
from speechkit.errors import (
    ClientClosedError,
    ConnectError,
    InvalidInputError,
    ServerError,
    TranscriptionCancelledError,
    TranscriptionError,
    TranscriptionTimeoutError,
    TransportError,
)
from speechkit.providers.assemblyai import AssemblyAIProvider

Answer = Response | Exception


def ok(data: Any, code: int = 200) -> Response:
    return Response(code, {"content-type": "application/json"}, json.dumps(data).encode())


def job(status: str, **extra: Any) -> Response:
    return ok({"id": "job-1", "status": status, **extra})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Driver:
    """Runs a flow like the shells do, answering requests from a script and advancing a clock."""

    def __init__(self, answer: Callable[[Request], Answer]) -> None:
        self.answer = answer
        self.clock = Clock()
        self.sent: list[Request] = []
        self.sleeps: list[float] = []
        self.close_at_sleep: int | None = None

    def ctx(self) -> FlowContext:
        return FlowContext(
            retry=RetryPolicy(max_retries=3),
            monotonic=self.clock,
            wall=self.clock,
            random=lambda: 0.0,
        )

    def run(self, flow: Flow[Any]) -> Any:
        try:
            op = next(flow)
            while True:
                try:
                    if isinstance(op, Sleep):
                        self.sleeps.append(op.seconds)
                        if self.close_at_sleep == len(self.sleeps):
                            raise ClientClosedError("closed")
                        self.clock.now += op.seconds
                        result = None
                    else:
                        self.sent.append(op)
                        outcome = self.answer(op)
                        if isinstance(outcome, Exception):
                            raise outcome
                        if not outcome.is_success and outcome.status_code not in op.ok_statuses:
                            raise status_error(op, outcome, now=self.clock.now)
                        result = outcome
                except Exception as err:
                    op = flow.throw(err)
                else:
                    op = flow.send(result)
        except StopIteration as stop:
            return stop.value


PROVIDER = AssemblyAIProvider("key", "https://api.test")
SCHEDULE = ops.PollSchedule(interval=0.2, max_interval=3.0, backoff=1.5)


def scripted(*answers: Answer) -> Callable[[Request], Answer]:
    queue = list(answers)
    return lambda request: queue.pop(0)


def test_transcribe_uploads_local_audio_then_creates_then_polls() -> None:
    driver = Driver(
        scripted(
            ok({"upload_url": "https://cdn.test/u1"}),
            job("queued"),
            job("processing"),
            job("completed", text="hello"),
        )
    )
    audio = to_audio_source(b"RIFF....")
    config = TranscriptionConfig(speaker_labels=True)
    flow = ops.transcribe(driver.ctx(), PROVIDER, audio, config, SCHEDULE, None)
    transcript = driver.run(flow)
    assert transcript.text == "hello"
    assert [r.describe() for r in driver.sent] == [
        "POST /v2/upload",
        "POST /v2/transcript",
        "GET /v2/transcript/job-1",
        "GET /v2/transcript/job-1",
    ]
    assert driver.sent[1].json == {
        "audio_url": "https://cdn.test/u1",
        "speaker_labels": True,
        "speech_models": ["universal-3-5-pro", "universal-2"],
    }
    assert driver.sent[1].creates_job


def test_poll_interval_starts_short_and_grows_to_the_cap() -> None:
    answers = [job("queued")] + [job("processing")] * 12 + [job("completed")]
    driver = Driver(scripted(*answers))
    flow = ops.transcribe(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None, SCHEDULE, None)
    driver.run(flow)
    assert driver.sleeps[0] == pytest.approx(0.2)
    assert driver.sleeps[1] == pytest.approx(0.3)
    assert all(b >= a for a, b in zip(driver.sleeps, driver.sleeps[1:], strict=False))
    assert max(driver.sleeps) == pytest.approx(3.0)


def test_timeout_names_the_job_and_says_it_keeps_running() -> None:
    driver = Driver(lambda request: job("processing") if request.method == "GET" else job("queued"))
    flow = ops.transcribe(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None, SCHEDULE, 5.0)
    with pytest.raises(TranscriptionTimeoutError) as info:
        driver.run(flow)
    assert info.value.transcript_id == "job-1"
    assert "keeps running on the server" in str(info.value)
    # The last sleep is cut to the deadline: waiting never overshoots the timeout.
    assert sum(driver.sleeps) == pytest.approx(5.0)


def test_failed_job_raises_with_id_and_server_message() -> None:
    driver = Driver(scripted(job("queued"), job("error", error="Audio is not valid")))
    flow = ops.transcribe(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None, SCHEDULE, None)
    with pytest.raises(TranscriptionError) as info:
        driver.run(flow)
    assert info.value.transcript_id == "job-1"
    assert info.value.server_message == "Audio is not valid"
    assert "Audio is not valid" in str(info.value)


def test_polling_survives_transient_failures_beyond_request_retries() -> None:
    # Each poll's GET fails 4 times (1 try + 3 retries) for two polls, then succeeds.
    failures = [TransportError("reset")] * 4 + [ok({}, 503)] * 4
    answers: list[Answer] = [job("queued"), *failures, job("completed", text="done")]
    driver = Driver(scripted(*answers))
    flow = ops.transcribe(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None, SCHEDULE, None)
    assert driver.run(flow).text == "done"


def test_polling_stops_on_a_non_retryable_error() -> None:
    driver = Driver(scripted(job("queued"), ok({"error": "Transcript not found"}, 404)))
    flow = ops.transcribe(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None, SCHEDULE, None)
    with pytest.raises(Exception, match="Transcript not found"):
        driver.run(flow)


def test_closing_while_waiting_cancels_with_the_job_id() -> None:
    driver = Driver(lambda r: job("processing") if r.method == "GET" else job("queued"))
    driver.close_at_sleep = 3
    flow = ops.transcribe(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None, SCHEDULE, None)
    with pytest.raises(TranscriptionCancelledError) as info:
        driver.run(flow)
    assert info.value.transcript_id == "job-1"


def test_create_is_not_resent_after_it_may_have_reached_the_server() -> None:
    driver = Driver(scripted(TransportError("connection reset after sending")))
    flow = ops.submit(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None)
    with pytest.raises(TransportError) as info:
        driver.run(flow)
    assert len(driver.sent) == 1
    # The error says so, rather than inviting the caller to resend a possibly created job.
    assert info.value.retryable is False
    assert "may have been created" in str(info.value)
    assert "list_transcripts()" in info.value.message


def test_a_failed_get_stays_retryable_and_unannotated() -> None:
    driver = Driver(scripted(*[TransportError("connection reset")] * 4))
    with pytest.raises(TransportError) as info:
        driver.run(ops.get(driver.ctx(), PROVIDER, "job-1"))
    assert len(driver.sent) == 4  # the retries ran out
    assert info.value.retryable is True
    assert "may have been created" not in str(info.value)


def test_create_is_resent_after_429_503_and_connect_errors() -> None:
    answers: list[Answer] = [
        ok({"error": "Too Many Requests"}, 429),
        ok({}, 503),
        ConnectError("refused"),
        job("queued"),
    ]
    driver = Driver(scripted(*answers))
    flow = ops.submit(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None)
    assert driver.run(flow).id == "job-1"
    assert len(driver.sent) == 4


def test_create_500_is_not_resent() -> None:
    driver = Driver(scripted(ok({"error": "Internal Server Error"}, 500)))
    flow = ops.submit(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None)
    with pytest.raises(ServerError, match="Internal Server Error"):
        driver.run(flow)
    assert len(driver.sent) == 1


def test_retry_after_header_sets_the_wait() -> None:
    answers: list[Answer] = [
        Response(429, {"retry-after": "2"}, b'{"error": "Too Many Requests"}'),
        job("queued"),
    ]
    driver = Driver(scripted(*answers))
    driver.run(ops.submit(driver.ctx(), PROVIDER, RemoteAudio("https://a"), None))
    assert driver.sleeps == [2.0]


def test_word_search_joins_words_with_commas_and_rejects_bad_input() -> None:
    driver = Driver(scripted(ok({"id": "j", "total_count": 0, "matches": []})))
    driver.run(ops.word_search(driver.ctx(), PROVIDER, "j", ["foo", "bar baz"]))
    assert driver.sent[0].params == {"words": "foo,bar baz"}
    with pytest.raises(InvalidInputError, match="commas"):
        driver.run(ops.word_search(driver.ctx(), PROVIDER, "j", ["a,b"]))
    with pytest.raises(InvalidInputError, match="at least one"):
        driver.run(ops.word_search(driver.ctx(), PROVIDER, "j", ["  "]))


def test_audio_input_classification(tmp_path: Any) -> None:
    assert to_audio_source("https://x/a.mp3") == RemoteAudio("https://x/a.mp3")
    path = tmp_path / "a.wav"
    path.write_bytes(b"data")
    local = to_audio_source(str(path))
    assert isinstance(local, LocalAudio)
    assert local.filename == "a.wav"
    assert local.content_type in ("audio/x-wav", "audio/wav")
    assert isinstance(to_audio_source(b"abc"), LocalAudio)
    assert to_audio_source(b"abc").body == BytesBody(b"abc")  # type: ignore[union-attr]
    with pytest.raises(InvalidInputError, match="no such file"):
        to_audio_source(str(tmp_path / "missing.wav"))
    with pytest.raises(InvalidInputError, match="directory"):
        to_audio_source(tmp_path)
    with pytest.raises(InvalidInputError, match="empty"):
        to_audio_source(b"")
    with pytest.raises(InvalidInputError, match="binary mode"), open(path) as text_file:
        to_audio_source(text_file)
    with pytest.raises(InvalidInputError, match="got int"):
        to_audio_source(42)
