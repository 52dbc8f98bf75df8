"""The batch client against a hostile or broken server on loopback (tests/hostile.py): slow
bytes, bombs, long Retry-After, a lagging job list, odd error bodies, an echoing proxy — on the
blocking, futures and asyncio surfaces. Every call ends with a typed error (or the right answer),
no thread is left behind, and no secret shows."""

from __future__ import annotations

import asyncio
import gzip
import json
import pickle
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import speechkit
from speechkit import AsyncTranscriber, Transcriber
from tests.hostile import Exchange, HostileServer

KEY = "sk-test-9f8e7d6c5b4a"
WEBHOOK_SECRET = "whsec-abc-123-xyz"


def _client(server: HostileServer, **options: Any) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": server.url, **options}


def run_on(
    surface: str, server: HostileServer, blocking: Callable[[Transcriber], Any], **options: Any
) -> Any:
    """Run ``blocking(transcriber)`` on the blocking surface, its futures twin, or asyncio (the
    call is looked up by name on AsyncTranscriber)."""
    if surface == "blocking":
        with Transcriber(**_client(server, **options)) as transcriber:
            return blocking(transcriber)
    if surface == "futures":
        with Transcriber(**_client(server, **options)) as transcriber:
            proxy = _FuturesProxy(transcriber)
            return blocking(proxy)  # type: ignore[arg-type]

    async def main() -> Any:
        async with AsyncTranscriber(**_client(server, **options)) as transcriber:
            return await blocking(_AwaitProxy(transcriber))  # type: ignore[arg-type]

    return asyncio.run(main())


class _FuturesProxy:
    """``t.name(...)`` runs ``t.name_async(...).result()``: the futures surface."""

    def __init__(self, transcriber: Transcriber) -> None:
        self._t = transcriber

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._t, f"{name}_async")
        return lambda *a, **k: method(*a, **k).result(timeout=60)


class _AwaitProxy:
    """``t.name(...)`` returns the AsyncTranscriber coroutine (awaited by ``run_on``)."""

    def __init__(self, transcriber: AsyncTranscriber) -> None:
        self._t = transcriber

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)


SURFACES = ["blocking", "futures", "asyncio"]


@pytest.fixture
def threads_checked() -> Iterator[None]:
    """No thread of the client outlives the test (the hostile server's own are closed first)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10
    while True:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"threads outlived the call: {left}"


def _get(transcript_id: str) -> Callable[[Any], Any]:
    def call(t: Any) -> Any:
        return t.get_transcript(transcript_id)

    return call


# -- deadlines -----------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACES)
def test_a_body_sent_one_byte_at_a_time_ends_at_the_total_deadline(
    surface: str, threads_checked: None
) -> None:
    body = json.dumps({"id": "j1", "status": "completed", "text": "x" * 500}).encode()

    def trickle(exchange: Exchange) -> None:
        exchange.send(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        exchange.trickle(body, 0.1)  # 50+ s in all; each byte well within the read timeout

    with HostileServer(trickle) as server:
        with pytest.raises(speechkit.RequestTimeoutError) as info:
            run_on(surface, server, _get("j1"), http_timeout=1, max_retries=0)
    assert "no complete answer within 1 s" in str(info.value)
    assert info.value.request is not None


@pytest.mark.parametrize("surface", SURFACES)
def test_headers_sent_one_byte_at_a_time_end_at_the_total_deadline(
    surface: str, threads_checked: None
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    with HostileServer(lambda exchange: exchange.trickle(head, 0.1)) as server:
        with pytest.raises(speechkit.RequestTimeoutError) as info:
            run_on(surface, server, _get("j1"), http_timeout=1, max_retries=0)
    assert "within 1 s" in str(info.value)


def _fake_api(
    *, poll: Callable[[Exchange], None], jobs: dict[str, Any] | None = None
) -> Callable[[Exchange], None]:
    """Create answers ``queued``; polls go to ``poll``."""

    def handler(exchange: Exchange) -> None:
        if exchange.method == "POST" and exchange.path == "/v2/transcript":
            exchange.respond(200, {"id": "j1", "status": "queued"})
        else:
            poll(exchange)

    return handler


@pytest.mark.parametrize("surface", SURFACES)
def test_retry_after_past_poll_timeout_ends_the_wait_and_says_so(
    surface: str, threads_checked: None
) -> None:
    api = _fake_api(poll=lambda e: e.respond(429, {"error": "slow down"}, {"Retry-After": "20"}))
    with HostileServer(api) as server:
        with pytest.raises(speechkit.TranscriptionTimeoutError) as info:
            run_on(
                surface,
                server,
                lambda t: t.transcribe("https://example.com/a.wav", poll_timeout=1),
            )
        polls = server.count("GET", "/v2/transcript/j1")
    assert info.value.transcript_id == "j1"
    assert "Retry-After" in str(info.value)
    assert "poll_timeout" in str(info.value)
    assert polls == 1  # the 20 s wait was never started


@pytest.mark.parametrize("surface", SURFACES)
def test_a_slow_poll_answer_is_cut_at_poll_timeout(surface: str, threads_checked: None) -> None:
    body = json.dumps({"id": "j1", "status": "processing"}).encode()

    def slow(exchange: Exchange) -> None:
        exchange.send(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        exchange.trickle(body, 0.2)

    with HostileServer(_fake_api(poll=slow)) as server:
        with pytest.raises(speechkit.TranscriptionTimeoutError) as info:
            # The request's own deadline (http_timeout=30) is longer than what poll_timeout
            # leaves: the poll gets only the time left.
            run_on(
                surface,
                server,
                lambda t: t.transcribe("https://example.com/a.wav", poll_timeout=1),
                http_timeout=30,
            )
    assert info.value.transcript_id == "j1"


# -- bounded memory ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)  # about 0.25 MB


@pytest.mark.parametrize("surface", SURFACES)
def test_a_gzip_bomb_is_refused_without_inflating_it(
    surface: str, gzip_bomb: bytes, threads_checked: None
) -> None:
    assert len(gzip_bomb) < 1024 * 1024

    def bomb(exchange: Exchange) -> None:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        exchange.respond(200, gzip_bomb, headers)

    with HostileServer(bomb) as server:
        tracemalloc.start()
        try:
            with pytest.raises(speechkit.ResponseTooLargeError) as info:
                run_on(surface, server, _get("j1"), max_retries=0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "decompressed" in str(info.value)
    # The cap is 64 MiB; inflating the bomb whole would take 256 MiB.
    assert peak < 128 * 1024 * 1024


def test_a_coding_that_was_not_asked_for_is_a_typed_error() -> None:
    seen: list[str] = []

    def brotli(exchange: Exchange) -> None:
        seen.append(exchange.headers.get("accept-encoding", ""))
        exchange.respond(200, b"\x1b\x00", {"Content-Encoding": "br"})

    with HostileServer(brotli) as server:
        with pytest.raises(speechkit.TransportError) as info:
            run_on("blocking", server, _get("j1"), max_retries=0)
    assert seen == ["gzip, deflate"]
    assert "did not ask for" in str(info.value)


# -- lost creates and a lagging job list ---------------------------------------------------------


class _LaggingAPI:
    """An AssemblyAI-like API whose job list omits jobs younger than ``lag`` seconds, and whose
    first create answer is lost (the connection reset) after or before making the job."""

    def __init__(self, *, lag: float, made_before_reset: bool, busy: bool = False) -> None:
        self.lag = lag
        self.made_before_reset = made_before_reset
        self.busy = busy  # other jobs are created all the time (a shared account)
        self.jobs: list[dict[str, Any]] = []
        self.creates = 0
        self.lock = threading.Lock()

    def _job(self, audio_url: str) -> dict[str, Any]:
        job = {
            "id": str(uuid.uuid4()),
            "status": "completed",
            "text": "hello",
            "audio_url": audio_url,
            "created": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "_at": time.time(),
        }
        self.jobs.append(job)
        return job

    def __call__(self, exchange: Exchange) -> None:
        public = {"Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())}
        with self.lock:
            if exchange.path == "/v2/upload":
                url = f"https://cdn.example/upload/{uuid.uuid4()}"
                exchange.respond(200, {"upload_url": url}, public)
            elif exchange.method == "POST" and exchange.path == "/v2/transcript":
                self.creates += 1
                audio_url = json.loads(exchange.body)["audio_url"]
                if self.creates == 1:
                    if self.made_before_reset:
                        self._job(audio_url)
                    exchange.sock.close()  # the answer is lost
                    return
                job = self._job(audio_url)
                exchange.respond(200, _public(job), public)
            elif exchange.method == "GET" and exchange.path.startswith("/v2/transcript?"):
                if self.busy:
                    self._job("https://example.com/someone-else.wav")
                now = time.time()
                visible = [
                    {k: v for k, v in j.items() if k in ("id", "status", "audio_url", "created")}
                    for j in reversed(self.jobs)
                    if now - j["_at"] >= self.lag or j["audio_url"].endswith("someone-else.wav")
                ]
                page = {"transcripts": visible, "page_details": {"prev_url": None}}
                exchange.respond(200, page, public)
            elif exchange.method == "GET" and exchange.path.startswith("/v2/transcript/"):
                job_id = exchange.path.rsplit("/", 1)[1]
                match = [j for j in self.jobs if j["id"] == job_id]
                exchange.respond(200, _public(match[0]) if match else {"error": "nope"}, public)
            else:
                exchange.respond(404, {"error": "not found"})


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


@pytest.mark.parametrize("surface", SURFACES)
def test_a_lagging_list_never_makes_a_second_job(surface: str) -> None:
    api = _LaggingAPI(lag=60.0, made_before_reset=True)
    with HostileServer(api) as server:
        with pytest.raises(speechkit.TransportError) as info:
            run_on(surface, server, lambda t: t.transcribe(b"RIFF-audio-bytes"))
    assert api.creates == 1
    assert len(api.jobs) == 1  # the lost create's job, and no second one
    assert info.value.retryable is False
    assert "find_transcripts(['https://cdn.example/upload/" in str(info.value)


def test_a_job_that_shows_up_late_is_taken_over() -> None:
    api = _LaggingAPI(lag=1.0, made_before_reset=True)
    with HostileServer(api) as server:
        transcript = run_on("blocking", server, lambda t: t.transcribe(b"RIFF-audio-bytes"))
    assert api.creates == 1
    assert [j["id"] for j in api.jobs] == [transcript.id]


def test_a_list_shown_current_by_a_newer_job_allows_the_resend() -> None:
    # Nothing was made before the reset; others' jobs keep appearing in the list, newer than
    # the lost create: the list has caught up, so the missing job was never made.
    api = _LaggingAPI(lag=0.0, made_before_reset=False, busy=True)
    with HostileServer(api) as server:
        transcript = run_on("blocking", server, lambda t: t.transcribe(b"RIFF-audio-bytes"))
    assert api.creates == 2
    ours = [j for j in api.jobs if not j["audio_url"].endswith("someone-else.wav")]
    assert [j["id"] for j in ours] == [transcript.id]


# -- odd answers keep the outcome ---------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("error", "shown"),
    [({"code": "E42", "message": "audio too short"}, "audio too short"), (42, "42"), ([1], "[1]")],
)
def test_a_failed_job_with_a_non_text_error_keeps_its_id(
    surface: str, error: Any, shown: str
) -> None:
    api = _fake_api(poll=lambda e: e.respond(200, {"id": "j1", "status": "error", "error": error}))
    with HostileServer(api) as server:
        with pytest.raises(speechkit.TranscriptionError) as info:
            run_on(surface, server, lambda t: t.transcribe("https://example.com/a.wav"))
    assert info.value.transcript_id == "j1"
    assert shown in str(info.value)


# -- secrets ------------------------------------------------------------------------------------


def _echo(exchange: Exchange) -> None:
    """A proxy that answers 400 and echoes the request headers and body back."""
    echoed = "\n".join(f"{name}: {value}" for name, value in exchange.headers.items())
    body = {
        "error": f"bad request; you sent:\n{echoed}\n{exchange.body.decode()}",
        "headers": exchange.headers,
    }
    exchange.respond(400, body, {"X-Echo-Authorization": exchange.headers.get("authorization", "")})


@pytest.mark.parametrize("surface", SURFACES)
def test_an_echoing_proxy_does_not_put_secrets_in_errors(surface: str) -> None:
    config = speechkit.TranscriptionConfig(
        webhook_url="https://hooks.example/done",
        webhook_auth_header_name="X-Hook-Secret",
        webhook_auth_header_value=WEBHOOK_SECRET,
    )
    with HostileServer(_echo) as server:
        with pytest.raises(speechkit.BadRequestError) as info:
            run_on(surface, server, lambda t: t.submit("https://example.com/a.wav", config))
        assert server.count("POST") == 1
    err = info.value
    shown = [str(err), repr(err), repr(err.request), repr(err.body), repr(err.response)]
    shown.append(repr(vars(err)))
    for text in shown:
        assert KEY not in text
        assert WEBHOOK_SECRET not in text
    assert "bad request; you sent" in str(err)  # the server's message itself is kept
    assert "***" in str(err)
    assert err.request is not None
    assert err.request.json["webhook_url"] == "https://hooks.example/done"
    try:
        data = pickle.dumps(err)
    except Exception:  # pragma: no cover - pickling support is tested with the errors module
        return
    assert KEY.encode() not in data
    assert WEBHOOK_SECRET.encode() not in data


# -- requests in flight per client ---------------------------------------------------------------


def test_requests_in_flight_are_capped_per_client() -> None:
    active = 0
    most = 0
    lock = threading.Lock()

    def slow(exchange: Exchange) -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        exchange.respond(200, {"id": exchange.path.rsplit("/", 1)[1], "status": "completed"})

    async def many(server: HostileServer) -> list[Any]:
        async with AsyncTranscriber(api_key=KEY, base_url=server.url) as transcriber:
            calls = [transcriber.get_transcript(f"job-{i}") for i in range(150)]
            return await asyncio.gather(*calls)

    with HostileServer(slow) as server:
        results = asyncio.run(many(server))
    assert sorted(t.id for t in results) == sorted(f"job-{i}" for i in range(150))
    assert 1 < most <= 64
