"""What an HTTP error says: the URL really requested (credentials masked), and a short summary of
an answer that is a web page or very long, never the page itself."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import speechkit
from speechkit import RetryPolicy
from speechkit.errors import APIStatusError, ConnectError, PermissionDeniedError

BASE = "https://api.example"
NO_RETRY = RetryPolicy(max_retries=0)

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, base_url: str = BASE) -> speechkit.Transcriber:
    return speechkit.Transcriber(
        api_key="sk-secret-key",
        base_url=base_url,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        retry=NO_RETRY,
    )


def test_a_base_url_ending_in_v2_shows_the_doubled_path_and_how_to_fix_it() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/v2/upload":
            return httpx.Response(200, json={"upload_url": "u"})
        return httpx.Response(404, json={"error": "Not found"})

    with client(handle, base_url=f"{BASE}/v2") as t, pytest.raises(APIStatusError) as info:
        t.upload_file(b"RIFF....")
    message = str(info.value)
    assert seen == [f"{BASE}/v2/v2/upload"]
    assert message.startswith(f"POST {BASE}/v2/v2/upload failed with 404 Not Found: Not found")
    assert "repeats '/v2'" in message
    assert "without '/v2'" in message


def test_transport_errors_show_the_full_url_too() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with client(handle) as t, pytest.raises(ConnectError) as info:
        t.list_transcripts(limit=3)
    assert str(info.value).startswith(f"GET {BASE}/v2/transcript?limit=3: could not connect")


def _list_page(surface: str, page: str, transport: httpx.MockTransport) -> None:
    options = {"api_key": "sk-secret-key", "base_url": BASE, "retry": NO_RETRY}
    if surface == "sync":
        with speechkit.Transcriber(**options, http_client=httpx.Client(transport=transport)) as t:
            t.list_page(page)
        return

    async def main() -> None:
        async with speechkit.AsyncTranscriber(
            **options, http_client=httpx.AsyncClient(transport=transport)
        ) as t:
            await t.list_page(page)

    asyncio.run(main())


@pytest.mark.parametrize("surface", ["sync", "async"])
def test_a_transport_error_on_a_page_url_keeps_its_cursor(surface: str) -> None:
    page = f"{BASE}/v2/transcript?limit=10&before_id=abc"

    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(speechkit.RequestTimeoutError) as info:
        _list_page(surface, page, httpx.MockTransport(handle))
    assert str(info.value).startswith(f"GET {page}: timed out")


def test_credentials_in_the_url_are_masked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="speechkit")
    signed = "https://cdn.example/r.mp3?X-Amz-Expires=60&X-Amz-Signature=s3cr3tsig"

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            return httpx.Response(403, text="AccessDenied")
        return httpx.Response(
            200, json={"status": "redacted_audio_ready", "redacted_audio_url": signed}
        )

    with client(handle) as t, pytest.raises(PermissionDeniedError) as info:
        t.save_redacted_audio("job-1", tmp_path / "r.mp3")
    message = str(info.value)
    assert "GET https://cdn.example/r.mp3?X-Amz-Expires=60&X-Amz-Signature=***" in message
    assert "s3cr3tsig" not in message
    assert "s3cr3tsig" not in info.value.response.url
    assert "cdn.example/r.mp3" in caplog.text  # the request was logged...
    assert "s3cr3tsig" not in caplog.text  # ...without the signature


SIGNED = "https://cdn.example/r.mp3?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=s3cr3tsig"


def _save_redacted(handle: Handler, surface: str, target: Path) -> speechkit.SpeechkitError:
    def storage(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            return handle(request)
        return httpx.Response(
            200, json={"status": "redacted_audio_ready", "redacted_audio_url": SIGNED}
        )

    options = {"api_key": "sk-secret-key", "base_url": BASE, "retry": NO_RETRY}
    transport = httpx.MockTransport(storage)
    try:
        if surface == "sync":
            with speechkit.Transcriber(
                **options, http_client=httpx.Client(transport=transport)
            ) as t:
                t.save_redacted_audio("job-1", target)
        else:

            async def main() -> None:
                async with speechkit.AsyncTranscriber(
                    **options, http_client=httpx.AsyncClient(transport=transport)
                ) as t:
                    await t.save_redacted_audio("job-1", target)

            asyncio.run(main())
    except speechkit.SpeechkitError as err:
        return err
    raise AssertionError("the download did not fail")


def _refused(request: httpx.Request) -> httpx.Response:
    return httpx.Response(403, text="AccessDenied")


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.mark.parametrize("surface", ["sync", "async"])
@pytest.mark.parametrize("handle", [_refused, _unreachable], ids=["403", "connect"])
def test_a_signed_download_url_is_masked_on_the_error_and_in_its_pickle(
    tmp_path: Path, surface: str, handle: Handler
) -> None:
    err = _save_redacted(handle, surface, tmp_path / "r.mp3")
    assert isinstance(err, PermissionDeniedError if handle is _refused else ConnectError)
    assert err.request is not None
    assert err.request.path.startswith("https://cdn.example/r.mp3?X-Amz-Credential=")
    for shown in (str(err), repr(err.request), err.request.path):
        assert "s3cr3tsig" not in shown
        assert "AKIAEXAMPLE" not in shown

    assert b"s3cr3tsig" not in pickle.dumps(err)
    assert not (tmp_path / "r.mp3.part").exists()


@pytest.mark.parametrize("surface", ["sync", "async"])
def test_a_storage_403_does_not_blame_the_api_key(tmp_path: Path, surface: str) -> None:
    err = _save_redacted(_refused, surface, tmp_path / "r.mp3")
    assert "The key is not allowed" not in str(err)


def test_an_api_403_still_points_at_the_key() -> None:
    with client(_answer(403, "forbidden", "text/plain")) as t:
        with pytest.raises(PermissionDeniedError, match="The key is not allowed"):
            t.get_transcript("job-1")


def test_a_password_in_the_base_url_is_masked() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": "boom"})

    with (
        client(handle, base_url="https://user:hunter2pw@api.example") as t,
        pytest.raises(APIStatusError) as info,
    ):
        t.get_transcript("job-1")
    assert "https://user:***@api.example/v2/transcript/job-1" in str(info.value)
    assert "hunter2pw" not in str(info.value)


PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
    "<style>body { font-family: sans-serif }</style></head><body>"
    + "<p>The upstream server is unreachable.</p>" * 150
    + "</body></html>"
)


def _answer(status: int, content: str, content_type: str) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=content, headers={"content-type": content_type})

    return handle


def test_an_html_error_page_is_summarized_not_dumped() -> None:
    with (
        client(_answer(502, PROXY_PAGE, "text/html; charset=utf-8")) as t,
        pytest.raises(APIStatusError) as info,
    ):
        t.get_transcript("job-1")
    message = str(info.value)
    assert message.startswith(
        f"GET {BASE}/v2/transcript/job-1 failed with 502 Bad Gateway: 502 Bad Gateway "
        "(an HTML page, text/html,"
    )
    assert f"{len(PROXY_PAGE.encode())} bytes" in message
    assert "<" not in message
    assert "upstream server" not in message  # the title is enough
    assert len(message) < 400
    assert info.value.body == PROXY_PAGE  # all of it is still there for debugging


def test_an_html_page_without_a_title_shows_its_first_words() -> None:
    page = "<html><body><h1>Access denied</h1><p>Your request was blocked.</p></body></html>"
    with client(_answer(403, page, "text/plain")) as t, pytest.raises(APIStatusError) as info:
        t.get_transcript("job-1")
    message = str(info.value)
    assert ": Access denied Your request was blocked. (an HTML page" in message
    assert "<" not in message


def test_a_very_long_error_message_is_truncated_with_its_size() -> None:
    text = "x" * 20_000
    with (
        client(_answer(400, f'{{"error": "{text}"}}', "application/json")) as t,
        pytest.raises(APIStatusError) as info,
    ):
        t.get_transcript("job-1")
    message = str(info.value)
    assert len(message) < 500
    assert "(application/json, 20 KiB; the whole body is on error.body)" in message
    assert info.value.body == {"error": text}


def test_the_async_client_says_the_same() -> None:
    async def main() -> str:
        transport = httpx.MockTransport(_answer(502, PROXY_PAGE, "text/html"))
        async with speechkit.AsyncTranscriber(
            api_key="k",
            base_url=f"{BASE}/v2",
            http_client=httpx.AsyncClient(transport=transport),
            retry=NO_RETRY,
        ) as t:
            with pytest.raises(APIStatusError) as info:
                await t.get_transcript("job-1")
        return str(info.value)

    message = asyncio.run(main())
    assert message.startswith(f"GET {BASE}/v2/v2/transcript/job-1 failed with 502 Bad Gateway")
    assert "(an HTML page, text/html," in message
