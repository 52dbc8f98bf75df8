"""Sync/async parity of the transcribers, and temporary tokens (httpx MockTransport)."""

from __future__ import annotations

import inspect
import json

import httpx
import pytest

from speechkit.errors import (
    AuthenticationError,
    ConnectError,
    InvalidInputError,
    ServerError,
    TransportError,
)
from speechkit.realtime import (
    AsyncRealtimeTranscriber,
    RealtimeTranscriber,
    create_temporary_token,
    create_temporary_token_async,
)


def public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
    }


def shape(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_same_methods_same_signatures_async_where_it_waits() -> None:
    sync, asynchronous = public(RealtimeTranscriber), public(AsyncRealtimeTranscriber)
    assert set(sync) == set(asynchronous)
    assert {"connect", "stream", "stream_file", "close", "update_options"} <= set(sync)
    for name, signature in asynchronous.items():
        assert shape(signature) == shape(sync[name]), name
        assert inspect.iscoroutinefunction(getattr(AsyncRealtimeTranscriber, name)), name
        assert not inspect.iscoroutinefunction(getattr(RealtimeTranscriber, name)), name
    assert shape(inspect.signature(RealtimeTranscriber.__init__)) == shape(
        inspect.signature(AsyncRealtimeTranscriber.__init__)
    )
    for prop in ("is_connected", "session_id", "connection_info", "usage", "options"):
        assert isinstance(getattr(RealtimeTranscriber, prop), property)
        assert getattr(RealtimeTranscriber, prop) is getattr(AsyncRealtimeTranscriber, prop)


def test_the_familiar_constructor_options_exist() -> None:
    # Table options are typed keywords through **options: Unpack[RealtimeOptionArgs].
    from speechkit._core.realtime_options import RealtimeOptionArgs

    parameters = inspect.signature(RealtimeTranscriber.__init__).parameters
    names = {n for n, p in parameters.items() if p.kind is not p.VAR_KEYWORD}
    names |= set(RealtimeOptionArgs.__annotations__)
    assert {
        "on_data",
        "on_error",
        "on_open",
        "on_close",
        "on_extra_session_information",
        "sample_rate",
        "word_boost",
        "encoding",
        "disable_partial_transcripts",
        "end_utterance_silence_threshold",
        "token",
    } <= names
    v2 = RealtimeTranscriber(
        api_key="k",
        protocol="v2",
        word_boost=["x"],
        disable_partial_transcripts=True,
        end_utterance_silence_threshold=300,
    )
    assert v2.options.word_boost == ("x",)
    assert v2.options.end_utterance_silence_threshold == 300


def handler(
    seen: list[httpx.Request], status: int = 200, body: object = None
) -> httpx.MockTransport:
    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(respond)


def test_v3_token_request_and_answer() -> None:
    seen: list[httpx.Request] = []
    client = httpx.Client(transport=handler(seen, body={"token": "t0k", "expires_in_seconds": 60}))
    token = create_temporary_token(
        api_key="k-1", expires_in_seconds=60, max_session_duration_seconds=600, http_client=client
    )
    assert (token.token, token.expires_in_seconds, token.protocol) == ("t0k", 60, "v3")
    [request] = seen
    assert request.method == "GET"
    assert str(request.url) == (
        "https://streaming.assemblyai.com/v3/token?expires_in_seconds=60"
        "&max_session_duration_seconds=600"
    )
    assert request.headers["authorization"] == "k-1"


def test_v2_token_request_posts_expires_in() -> None:
    seen: list[httpx.Request] = []
    client = httpx.Client(transport=handler(seen, body={"token": "v2tok"}))
    token = create_temporary_token(
        protocol="v2",
        api_key="k",
        expires_in_seconds=480,
        base_url="http://127.0.0.1:9",
        http_client=client,
    )
    assert token.token == "v2tok"
    assert token.protocol == "v2"
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "http://127.0.0.1:9/v2/realtime/token")
    assert json.loads(request.content) == {"expires_in": 480}


def test_token_errors_are_typed() -> None:
    client = httpx.Client(
        transport=handler([], 401, {"error": "Invalid API key", "code": "unauthorized"})
    )
    with pytest.raises(AuthenticationError, match="Invalid API key") as caught:
        create_temporary_token(api_key="bad", http_client=client)
    assert caught.value.status_code == 401
    assert "bad" not in str(caught.value)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ConnectError):
        create_temporary_token(
            api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(refuse))
        )
    with pytest.raises(InvalidInputError, match="1-600"):
        create_temporary_token(api_key="k", expires_in_seconds=601)
    with pytest.raises(InvalidInputError, match="at least 60"):
        create_temporary_token(api_key="k", protocol="v2", expires_in_seconds=30)


async def test_async_token() -> None:
    seen: list[httpx.Request] = []
    client = httpx.AsyncClient(
        transport=handler(seen, body={"token": "a", "expires_in_seconds": 5})
    )
    token = await create_temporary_token_async(
        api_key="k", expires_in_seconds=5, http_client=client
    )
    assert token.token == "a"
    assert seen[0].url.params["expires_in_seconds"] == "5"
    await client.aclose()


def _answer(status: int, content: bytes, **headers: str) -> httpx.Client:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(  # a stream: decoded (or not) as the client reads it
            status,
            stream=httpx.ByteStream(content),
            headers={"content-type": "application/json", **headers},
        )

    return httpx.Client(transport=httpx.MockTransport(respond))


DEEP = b"[" * 100_000 + b"]" * 100_000
BROKEN_GZIP = {"content-encoding": "gzip"}


@pytest.mark.parametrize(
    ("content", "headers", "detail"),
    [
        (b'{"error": 5}', {}, "no details"),
        (b'{"error": {"message": "busy"}}', {}, "busy"),  # a gateway's shape
        (DEEP, {}, "the whole body is on error.body"),
        (b"\x1f\x8b not gzip at all", BROKEN_GZIP, "could not be decoded"),
    ],
    ids=["number", "object", "deep", "gzip"],
)
def test_a_token_error_with_an_odd_body_keeps_its_status(
    content: bytes, headers: dict[str, str], detail: str
) -> None:
    with pytest.raises(ServerError) as caught:
        create_temporary_token(api_key="k-odd", http_client=_answer(503, content, **headers))
    error = caught.value
    assert (error.status_code, error.retryable) == (503, True)
    assert "HTTP 503: " in str(error)
    assert detail in str(error)


@pytest.mark.parametrize(
    ("content", "headers", "problem"),
    [
        (DEEP, {}, "no token"),
        (b'{"token": "abc", "expires_in_seconds": "soon"}', {}, "expires_in_seconds"),
        (b'{"token": 5}', {}, "no token"),
        (b"\x1f\x8b not gzip at all", BROKEN_GZIP, "could not be decoded"),
    ],
    ids=["deep", "expires", "token type", "gzip"],
)
def test_a_success_without_a_valid_token_is_a_typed_error(
    content: bytes, headers: dict[str, str], problem: str
) -> None:
    with pytest.raises(TransportError, match="answered HTTP 200 with") as caught:
        create_temporary_token(api_key="k-odd", http_client=_answer(200, content, **headers))
    assert problem in str(caught.value)
    assert caught.value.retryable  # asking for a token again is safe


async def test_async_token_with_a_broken_body_keeps_its_status() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, stream=httpx.ByteStream(b"\x1f\x8b broken"), headers=BROKEN_GZIP)

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as client:
        with pytest.raises(ServerError, match="could not be decoded") as caught:
            await create_temporary_token_async(api_key="k", http_client=client)
    assert caught.value.status_code == 502


def test_a_key_echoed_by_the_token_endpoint_is_masked() -> None:
    key = "sk-live-0123456789abcdef"
    body = json.dumps(
        {"error": f"Invalid API key {key}", "request": {"headers": {"authorization": key}},
         "seen": [f"key={key}"]}
    ).encode()  # fmt: skip
    with pytest.raises(AuthenticationError) as caught:
        create_temporary_token(api_key=key, http_client=_answer(401, body))
    error = caught.value
    assert key not in str(error)
    assert key not in repr(error.body)
    assert "Invalid API key ***" in str(error)
    assert error.body["seen"] == ["key=***"]
    assert error.status_code == 401
    assert not error.retryable
