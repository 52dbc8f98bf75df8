"""Fixtures shared by the batch client tests."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from speechkit import AsyncTranscriber, RetryPolicy, Transcriber
from tests.fakes import API_KEY, BASE_URL, FakeAssemblyAI

#: Retries as the defaults decide them, with waits short enough for tests.
QUICK_RETRY = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.004)


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's real key or base URL."""
    names = ("ASSEMBLYAI_API_KEY", "ASSEMBLYAI_BASE_URL", "AIML_API_KEY", "AIMLAPI_API_KEY")
    for name in (*names, "AIML_API_BASE", "AIMLAPI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> FakeAssemblyAI:
    return FakeAssemblyAI()


@pytest.fixture
def transcriber(fake: FakeAssemblyAI) -> Iterator[Transcriber]:
    client = httpx.Client(transport=fake.transport())
    with Transcriber(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=client,
        polling_interval=0.001,
        polling_max_interval=0.005,
        retry=QUICK_RETRY,  # retries back off for real; keep them quick in tests
    ) as t:
        yield t
    client.close()


@pytest.fixture
async def atranscriber(fake: FakeAssemblyAI) -> AsyncIterator[AsyncTranscriber]:
    client = httpx.AsyncClient(transport=fake.async_transport())
    async with AsyncTranscriber(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=client,
        polling_interval=0.001,
        polling_max_interval=0.005,
        retry=QUICK_RETRY,  # retries back off for real; keep them quick in tests
    ) as t:
        yield t
    await client.aclose()


@pytest.fixture
def no_thread_leak() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads outlived the test: {leaked}"
