"""One answer to "may this be retried?": the retry loop, ``error.retryable``, realtime handshakes,
close codes and token errors all agree, and a server's ``x-should-retry`` is obeyed."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest

import speechkit
from speechkit._core.flow import status_error
from speechkit._core.http import Request, Response
from speechkit._core.realtime.reconnect import handshake_status, token_error_retryable
from speechkit._core.realtime_codes import _COMMON, _V2, _V3, classify_close
from speechkit._core.retry import (
    RetryPolicy,
    close_code_retryable,
    error_retryable,
    handshake_retryable,
    status_retryable,
)
from speechkit.errors import (
    APIStatusError,
    ConnectError,
    InvalidInputError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransportError,
    status_error_class,
)

CREATE = Request("POST", "/v2/transcript", json={"audio_url": "u"}, creates_job=True)
GET = Request("GET", "/v2/transcript/abc")
UPLOAD = Request("POST", "/v2/upload", repeatable=True)
REQUESTS = {"create": CREATE, "get": GET, "upload": UPLOAD}
POLICY = RetryPolicy()
STATUSES = range(400, 600)
VERDICTS = [None, "true", "false"]


def _error(request: Request, status: int, verdict: str | None) -> APIStatusError:
    headers = {} if verdict is None else {"x-should-retry": verdict}
    return status_error(request, Response(status, headers, b"{}"), now=0.0)


@pytest.mark.parametrize("kind", list(REQUESTS))
@pytest.mark.parametrize("verdict", VERDICTS)
def test_error_retryable_agrees_with_the_policy_for_every_status(
    kind: str, verdict: str | None
) -> None:
    request = REQUESTS[kind]
    for status in STATUSES:
        error = _error(request, status, verdict)
        assert error.retryable is POLICY.may_retry(request, error, body_rewindable=True), status


def test_the_status_table() -> None:
    always = {s for s in STATUSES if status_retryable(s, idempotent=False)}
    idempotent = {s for s in STATUSES if status_retryable(s, idempotent=True)}
    assert always == {425, 429, 503}
    assert {408, 409, 500, 502, 504, 520} <= idempotent
    # A server that says "not implemented" will say it again: 501 is never retried (errors.py
    # used to call it retryable while the retry loop never retried it).
    assert not idempotent & {400, 401, 403, 404, 422, 501, 505, 511}
    assert _error(GET, 501, None).retryable is False
    assert _error(GET, 500, None).retryable is True
    assert _error(CREATE, 500, None).retryable is False  # it may have made the job


@pytest.mark.parametrize(
    ("error", "create", "get"),
    [
        (ConnectError("refused"), True, True),
        (RequestTimeoutError("read"), False, True),
        (TransportError("reset"), False, True),
        (ResponseTooLargeError("huge"), False, False),  # it would be as large again
    ],
)
def test_transport_errors(error: TransportError, create: bool, get: bool) -> None:
    assert error_retryable(error, CREATE) is create
    assert error_retryable(error, GET) is get
    error.request = CREATE
    assert error.retryable is create
    assert error.retryable is POLICY.may_retry(CREATE, error, body_rewindable=True)


def test_x_should_retry_wins_both_ways_but_never_resends_an_unrewindable_body() -> None:
    assert status_retryable(500, idempotent=False, headers={"x-should-retry": "true"})
    assert not status_retryable(503, idempotent=True, headers={"x-should-retry": "false"})
    assert not status_retryable(429, idempotent=True, headers={"X-Should-Retry": "FALSE"})
    # Anything but true/false is no verdict.
    assert not status_retryable(500, idempotent=False, headers={"x-should-retry": "maybe"})
    error = _error(CREATE, 500, "true")
    assert not POLICY.may_retry(CREATE, error, body_rewindable=False)


def test_handshake_statuses_follow_the_idempotent_rules() -> None:
    for status in STATUSES:
        expected = status_retryable(status, idempotent=True)
        assert handshake_retryable(status) is expected
        assert handshake_status(status)[0] is expected, status
    assert handshake_status(401) == (
        False,
        "the server rejected the credentials (check the API key or token)",
    )


ALL_CODES = sorted({*_COMMON, *_V2, *_V3, 1000, 1004, 2000, 3000, 3999, 4005, 4999, 1016})


@pytest.mark.parametrize("protocol", ["v2", "v3"])
def test_close_codes_take_their_verdict_from_the_classifier(protocol: str) -> None:
    for code in ALL_CODES:
        info = classify_close(protocol, code)  # type: ignore[arg-type]
        assert info.retryable is close_code_retryable(code), code
    assert classify_close(protocol, None).retryable is close_code_retryable(None) is True  # type: ignore[arg-type]
    retryable = {c for c in ALL_CODES if close_code_retryable(c)}
    assert {1001, 1006, 1011, 1012, 1013, 1014, 3005, 3008, 4008} <= retryable
    assert not retryable & {1002, 1008, 1009, 3006, 3007, 3009, 4001, 4002, 4029, 3000, 4999}


def test_token_errors_read_error_retryable() -> None:
    for status, verdict in itertools.product((401, 429, 500, 501, 503), VERDICTS):
        headers = {} if verdict is None else {"x-should-retry": verdict}
        error = status_error_class(status)(
            "x", status_code=status, response=Response(status, headers, b"")
        )
        assert token_error_retryable(error) is error.retryable
    assert token_error_retryable(OSError("reset"))
    assert not token_error_retryable(ValueError("a bug"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
        {"initial_delay": "fast"},
        {"max_delay": -1},
        {"jitter": 2},
        {"max_retry_after": float("nan")},
    ],
)
def test_a_bad_retry_policy_names_the_field(kwargs: dict[str, object]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(InvalidInputError, match=f"RetryPolicy {name}"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_jitter_is_part_of_the_policy() -> None:
    assert RetryPolicy(jitter=0.0).backoff(3, lambda: 0.99) == 2.0
    assert RetryPolicy(jitter=0.5).backoff(3, lambda: 1.0) == 1.0


# ---- on the wire -----------------------------------------------------------------------------

BASE = "https://api.example"
FAST = speechkit.RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.002)


def _server(status: int, verdict: str | None) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """Answers the first create with ``status`` (and the verdict), then creates the job."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            headers = {} if verdict is None else {"x-should-retry": verdict}
            return httpx.Response(status, json={"error": "busy"}, headers=headers)
        return httpx.Response(200, json={"id": "job-1", "status": "queued"})

    return httpx.MockTransport(handle), seen


CASES = [
    # (status, x-should-retry, creates sent): the header overrides the status both ways.
    (500, None, 1),  # a create that may have made a job is not resent...
    (500, "true", 2),  # ...unless the server says it did nothing
    (503, None, 2),  # nothing was processed: resent...
    (503, "false", 1),  # ...unless the server says not to
    (429, "false", 1),
]


@pytest.mark.parametrize(("status", "verdict", "sent"), CASES)
def test_x_should_retry_on_the_wire_sync(status: int, verdict: str | None, sent: int) -> None:
    transport, seen = _server(status, verdict)
    with speechkit.Transcriber(
        api_key="k", base_url=BASE, http_client=httpx.Client(transport=transport), retry=FAST
    ) as t:
        if sent == 1:
            with pytest.raises(APIStatusError) as info:
                t.submit("https://audio.example/a.mp3")
            assert info.value.retryable is False
        else:
            assert t.submit("https://audio.example/a.mp3").id == "job-1"
    assert [r.url.path for r in seen] == ["/v2/transcript"] * sent


@pytest.mark.parametrize(("status", "verdict", "sent"), CASES)
def test_x_should_retry_on_the_wire_async(status: int, verdict: str | None, sent: int) -> None:
    transport, seen = _server(status, verdict)

    async def main() -> None:
        client = httpx.AsyncClient(transport=transport)
        async with speechkit.AsyncTranscriber(
            api_key="k", base_url=BASE, http_client=client, retry=FAST
        ) as t:
            if sent == 1:
                with pytest.raises(APIStatusError) as info:
                    await t.submit("https://audio.example/a.mp3")
                assert info.value.retryable is False
            else:
                assert (await t.submit("https://audio.example/a.mp3")).id == "job-1"

    asyncio.run(main())
    assert [r.url.path for r in seen] == ["/v2/transcript"] * sent


def test_retry_policy_sets_the_count_and_the_waits_through_the_public_seam() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"error": "down"})

    policy = speechkit.RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001)
    client = httpx.Client(transport=httpx.MockTransport(handle))
    with speechkit.Transcriber(api_key="k", base_url=BASE, http_client=client, retry=policy) as t:
        assert t.retry_policy is policy
        with pytest.raises(speechkit.ServerError) as info:
            t.get_transcript("job-1")
    assert len(seen) == 3  # the first attempt and max_retries=2 retries
    assert info.value.retryable  # the retries ran out; trying later may work


def test_retry_and_max_retries_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="not both"):
        speechkit.Transcriber(api_key="k", retry=FAST, max_retries=2)
    with pytest.raises(InvalidInputError, match=r"retry must be a speechkit\.RetryPolicy"):
        speechkit.AsyncTranscriber(api_key="k", retry=3)  # type: ignore[arg-type]
    with speechkit.Transcriber(api_key="k", max_retries=1) as t:
        assert t.retry_policy == RetryPolicy(max_retries=1)


def test_a_pickled_transcriber_keeps_its_retry_policy() -> None:
    import pickle

    with speechkit.Transcriber(api_key="k", base_url=BASE, retry=FAST) as t:
        copy = pickle.loads(pickle.dumps(t))
    with copy:
        assert copy.retry_policy == FAST


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_realtime_takes_the_same_retry_policy() -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens: every attempt is refused
    policy = speechkit.RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001)
    rt = speechkit.RealtimeTranscriber(
        api_key="k", base_url=url, sample_rate=16000, on_data=lambda _: None, retry=policy
    )
    with pytest.raises(speechkit.RealtimeConnectionError) as info:
        rt.connect()
    assert "after 3 attempt(s)" in str(info.value)  # the first and max_retries=2 retries
    assert [a.outcome for a in rt.connection_info.attempts] == ["failed"] * 3


def test_realtime_refuses_retry_with_the_old_arguments() -> None:
    with pytest.raises(InvalidInputError, match="not both"):
        speechkit.AsyncRealtimeTranscriber(api_key="k", retry=FAST, max_retries=1)
    with pytest.raises(InvalidInputError, match="RetryPolicy"):
        speechkit.RealtimeTranscriber(api_key="k", retry={"max_retries": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("protocol", "status", "verdict", "retryable"),
    [
        ("v2", 500, None, True),  # a token starts no billed work: a POST may be repeated
        ("v3", 500, None, True),
        ("v3", 503, "false", False),  # the server's word wins
        ("v3", 400, "true", True),
        ("v3", 401, None, False),
    ],
)
def test_token_errors_carry_the_classifiers_verdict(
    protocol: str, status: int, verdict: str | None, retryable: bool
) -> None:
    headers = {} if verdict is None else {"x-should-retry": verdict}

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": "nope"}, headers=headers)

    with pytest.raises(APIStatusError) as info:
        speechkit.create_temporary_token(
            api_key="k",
            protocol=protocol,  # type: ignore[arg-type]
            expires_in_seconds=60,
            http_client=httpx.Client(transport=httpx.MockTransport(handle)),
        )
    assert info.value.retryable is retryable
    assert token_error_retryable(info.value) is retryable
    host = "api" if protocol == "v2" else "streaming"
    assert f"https://{host}.assemblyai.com/v" in str(info.value)  # the URL requested


def test_a_token_endpoints_html_page_is_summarized() -> None:
    page = "<html><head><title>503 Service Temporarily Unavailable</title></head>" + "x" * 9000

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text=page, headers={"content-type": "text/html"})

    with pytest.raises(APIStatusError) as info:
        speechkit.create_temporary_token(
            api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(handle))
        )
    message = str(info.value)
    assert "503 Service Temporarily Unavailable (an HTML page, text/html" in message
    assert "xxxx" not in message
    assert info.value.retryable


@pytest.mark.parametrize("status", [409, 520])
def test_a_create_answered_with_a_transient_status_is_recovered_not_resent(status: int) -> None:
    """The server made the job, then answered with a status retried only for idempotent
    requests: the job is found by its unique upload URL instead of being created twice."""
    audio = Path(__file__).resolve().parents[2] / "examples" / "audio" / "two_turns.wav"
    with speechkit.local_server(engine="fixed") as server:
        server.faults.add_error("transcript.create", status, times=1, after_processing=True)
        with speechkit.Transcriber(api_key="k", base_url=server.base_url, retry=FAST) as t:
            transcript = t.submit(audio)
        assert server.request_count("transcript.create") == 1  # never sent twice
        assert server.jobs_created == 1
        assert transcript.id in server.job_ids()
