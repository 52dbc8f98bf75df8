"""A 1 GiB upload streams in chunks, in constant memory, sync and async."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from speechkit import AsyncTranscriber, Transcriber
from tests.fakes import API_KEY, BASE_URL

GIB = 1024**3
CHUNK_LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("big") / "huge.wav"
    with open(path, "wb") as file:
        file.truncate(GIB)  # sparse: takes no disk space
    yield path
    path.unlink()


class CountingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Consumes the body as a server does, chunk by chunk, never holding it whole."""

    def __init__(self) -> None:
        self.total = 0
        self.largest = 0
        self.chunks = 0
        self.content_length: str | None = None

    def _count(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.largest = max(self.largest, len(chunk))
        self.chunks += 1

    def _answer(self) -> httpx.Response:
        return httpx.Response(200, content=json.dumps({"upload_url": "https://u/1"}).encode())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.content_length = request.headers.get("content-length")
        for chunk in request.stream:  # type: ignore[union-attr]
            self._count(chunk)
        return self._answer()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.content_length = request.headers.get("content-length")
        async for chunk in request.stream:  # type: ignore[union-attr]
            self._count(chunk)
        return self._answer()


def test_sync_upload_of_1_gib_streams_in_chunks(big_file: Path) -> None:
    transport = CountingTransport()
    client = httpx.Client(transport=transport)
    with Transcriber(api_key=API_KEY, base_url=BASE_URL, http_client=client) as t:
        tracemalloc.start()
        try:
            assert t.upload_file(big_file) == "https://u/1"
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert transport.total == GIB
    assert transport.content_length == str(GIB)
    assert transport.largest <= CHUNK_LIMIT
    assert transport.chunks >= GIB // CHUNK_LIMIT
    assert peak < 16 * 1024 * 1024, f"peak traced memory {peak} bytes"


async def test_async_upload_of_1_gib_streams_in_chunks(big_file: Path) -> None:
    transport = CountingTransport()
    client = httpx.AsyncClient(transport=transport)
    async with AsyncTranscriber(api_key=API_KEY, base_url=BASE_URL, http_client=client) as t:
        tracemalloc.start()
        try:
            assert await t.upload_file(big_file) == "https://u/1"
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert transport.total == GIB
    assert transport.largest <= CHUNK_LIMIT
    assert peak < 16 * 1024 * 1024, f"peak traced memory {peak} bytes"
