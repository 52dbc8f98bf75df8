"""Retry decisions (pure): what may be sent again, and how long to wait."""

from __future__ import annotations

import pytest

from speechkit._core.http import Request, Response, StreamBody
from speechkit._core.retry import RetryPolicy, parse_retry_after
from speechkit.errors import (
    APIStatusError,
    ConnectError,
    RequestTimeoutError,
    SpeechkitError,
    TransportError,
    status_error_class,
)

CREATE = Request("POST", "/v2/transcript", json={"audio_url": "u"}, creates_job=True)
GET = Request("GET", "/v2/transcript/abc")
POLICY = RetryPolicy(max_retries=3)


def status(code: int, headers: dict[str, str] | None = None) -> APIStatusError:
    response = Response(code, headers or {}, b"")
    return status_error_class(code)("x", status_code=code, response=response)


def decide(request: Request, error: SpeechkitError, attempt: int = 1) -> float | None:
    return POLICY.next_delay(
        request, error, attempt=attempt, body_rewindable=True, now=0.0, random=lambda: 0.0
    )


@pytest.mark.parametrize(
    ("error", "post_retried", "get_retried"),
    [
        (ConnectError("refused"), True, True),  # nothing was sent
        (status(429), True, True),  # the server processed nothing
        (status(503), True, True),
        (status(500), False, True),  # it may have acted: only idempotent requests
        (status(502), False, True),
        (status(504), False, True),
        (RequestTimeoutError("read timeout"), False, True),
        (TransportError("connection reset"), False, True),
        (status(400), False, False),
        (status(401), False, False),
        (status(404), False, False),
    ],
)
def test_job_creating_post_is_never_resent_once_it_may_have_arrived(
    error: SpeechkitError, post_retried: bool, get_retried: bool
) -> None:
    assert (decide(CREATE, error) is not None) is post_retried
    assert (decide(GET, error) is not None) is get_retried


UPLOAD = Request("POST", "/v2/upload", body=None, repeatable=True)


@pytest.mark.parametrize(
    "error", [TransportError("connection reset"), RequestTimeoutError("read"), status(502)]
)
def test_an_upload_is_repeatable_so_a_lost_answer_is_retried(error: SpeechkitError) -> None:
    # A repeated upload stores the audio twice at worst; it never starts billed work.
    assert decide(UPLOAD, error) is not None
    # ...which a job-creating request can never claim, even if marked.
    marked_create = Request("POST", "/v2/transcript", creates_job=True, repeatable=True)
    assert decide(marked_create, error) is None


def test_gives_up_after_max_retries() -> None:
    assert decide(GET, status(503), attempt=3) is not None
    assert decide(GET, status(503), attempt=4) is None


def test_backoff_doubles_to_the_cap_with_up_to_25_percent_jitter() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0)
    assert [policy.backoff(n, lambda: 0.0) for n in range(1, 7)] == [0.5, 1, 2, 4, 8, 8]
    assert policy.backoff(1, lambda: 1.0) == pytest.approx(0.375)


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    assert decide(CREATE, status(429, {"retry-after": "7"})) == 7.0
    # A hint longer than max_retry_after falls back to the normal backoff.
    assert decide(CREATE, status(429, {"retry-after": "3600"})) == 0.5


def test_unseekable_stream_is_not_resent() -> None:
    request = Request("POST", "/v2/upload", body=StreamBody(object()))  # type: ignore[arg-type]
    args = {"attempt": 1, "now": 0.0, "random": lambda: 0.0}
    assert POLICY.next_delay(request, status(503), body_rewindable=False, **args) is None
    # A connect failure consumed nothing, so even such a body may be sent.
    assert POLICY.next_delay(request, ConnectError("x"), body_rewindable=False, **args) == 0.5


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "Thu, 01 Jan 1970 00:00:10 GMT"}, 10.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=0.0) == expected
