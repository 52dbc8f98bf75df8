"""An asyncio client used from a second event loop says so and how to fix it, instead of
"the client was closed" or a raw ``RuntimeError: Event loop is closed``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

import speechkit
from speechkit.errors import ClientClosedError, EventLoopError


@pytest.fixture(scope="module")
def server() -> Iterator[speechkit.LocalServer]:
    with speechkit.local_server(engine="fixed") as srv:
        yield srv


def test_async_transcriber_on_a_second_loop_says_so(server: speechkit.LocalServer) -> None:
    t = speechkit.AsyncTranscriber(api_key="local", base_url=server.base_url)

    async def listing() -> int:
        return len((await t.list_transcripts(limit=1)).transcripts)

    assert asyncio.run(listing()) >= 0  # the first loop: real connections made on it
    with pytest.raises(EventLoopError) as info:
        asyncio.run(listing())
    message = str(info.value)
    assert not isinstance(info.value, ClientClosedError)
    assert isinstance(info.value, RuntimeError)  # what asyncio misuse raises
    assert "second event loop" in message
    assert "has ended" in message
    assert "asyncio.run()" in message
    assert "inside the coroutine" in message
    asyncio.run(t.close())  # closing from yet another loop is quiet: nothing to wait for


def test_every_call_from_one_loop_is_fine(server: speechkit.LocalServer) -> None:
    async def main() -> int:
        async with speechkit.AsyncTranscriber(api_key="local", base_url=server.base_url) as t:
            for _ in range(3):
                await t.list_transcripts(limit=1)
            return 3

    assert asyncio.run(main()) == 3
    assert asyncio.run(main()) == 3  # a new client per loop


def test_waits_on_a_second_loop_are_refused_before_anything_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "job-1", "status": "processing"})

    t = speechkit.AsyncTranscriber(
        api_key="k",
        base_url="https://api.example",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handle)),
    )
    asyncio.run(t.get_transcript("job-1"))
    with pytest.raises(EventLoopError):
        asyncio.run(t.wait_for_completion("job-1", poll_timeout=5))
    assert len(seen) == 1


def test_async_realtime_on_a_second_loop_says_so(server: speechkit.LocalServer) -> None:
    rt = speechkit.AsyncRealtimeTranscriber(
        api_key="local", base_url=server.base_url, sample_rate=16000, on_data=lambda _: None
    )
    asyncio.run(rt.connect())  # the loop ends, and the session's reader task with it
    with pytest.raises(EventLoopError) as info:
        asyncio.run(rt.stream(b"\0\0" * 1600))
    assert "AsyncRealtimeTranscriber" in str(info.value)
    assert "has ended" in str(info.value)
    with pytest.raises(EventLoopError):
        asyncio.run(rt.close())
