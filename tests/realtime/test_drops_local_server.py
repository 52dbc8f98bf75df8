"""Words exactly once across drops: 5 forced drops per session against the local server (fixed
engine, so results depend only on the audio, never on the machine's speed), v2 and v3, blocking
and asyncio. Every final word of the no-drop session arrives exactly once, at the same time on
the session timeline, in order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from speechkit.models.realtime import FinalTranscript, Reconnected
from speechkit.realtime import AsyncRealtimeTranscriber, RealtimeTranscriber
from speechkit.server.runner import LocalServer, local_server

KEY = "drop-key"
DROPS = 5
# One word every 250 ms (times are whole milliseconds), two words per final. The engine starts
# counting again on each connection, so one word text makes a replayed word identical to the
# original: the word's identity is its time.
ENGINE = {"text": "word", "words_per_second": 4, "words_per_final": 2}
AUDIO = b"\x10\x00" * 16_000 * 12  # 12 s of 16 kHz PCM: 48 words
OPTIONS: dict[str, Any] = {
    "api_key": KEY,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "keepalive_interval": None,
    "terminate_timeout": 10.0,
    "max_retries": 3,
}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(engine="fixed", engine_options=ENGINE, api_key=KEY) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults(server: LocalServer) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()


class Run:
    def __init__(self, server: LocalServer, drops: int) -> None:
        self.server = server
        self.drops = drops
        self.finals: list[FinalTranscript] = []
        self.reconnects: list[Reconnected] = []
        self.errors: list[Exception] = []
        if drops:
            # Each connection is dropped after this many server messages (abruptly, no close
            # frame, or with 1011 every other time), until the client has reconnected DROPS times.
            server.faults.update({"ws_drop_after_messages": 12})

    def on_reconnect(self, event: Reconnected) -> None:
        self.reconnects.append(event)
        if len(self.reconnects) % 2:
            self.server.faults.update({"ws_drop_close_code": 1011})
        else:
            self.server.faults.update({"ws_drop_close_code": None})
        if len(self.reconnects) >= self.drops:
            self.server.faults.clear()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_final": self.finals.append,
            "on_reconnect": self.on_reconnect,
            "on_error": self.errors.append,
        }

    def words(self) -> list[tuple[str, int, int]]:
        return [(w.text.strip(".").lower(), w.start, w.end) for f in self.finals for w in f.words]


def check(reference: Run, dropped: Run) -> None:
    assert reference.errors == []
    assert dropped.errors == []
    # At least DROPS: the fault is lifted from the callback, and the server may drop the next
    # connection before the callback runs.
    assert len(dropped.reconnects) >= DROPS
    assert all(r.lost_ms == 0 for r in dropped.reconnects)
    assert dropped.words() == reference.words()  # every word, once, at the same time
    assert len(reference.words()) == 48
    starts = [start for _, start, _ in dropped.words()]
    assert starts == sorted(starts)
    for earlier, later in itertools.pairwise(dropped.finals):
        assert later.audio_start >= earlier.audio_end


def sync_run(server: LocalServer, protocol: str, drops: int) -> Run:
    run = Run(server, drops)
    with RealtimeTranscriber(
        base_url=server.base_url, protocol=protocol, **run.callbacks(), **OPTIONS
    ) as transcriber:  # type: ignore[arg-type]
        transcriber.stream(AUDIO)
    return run


async def async_run(server: LocalServer, protocol: str, drops: int) -> Run:
    run = Run(server, drops)
    async with AsyncRealtimeTranscriber(
        base_url=server.base_url, protocol=protocol, **run.callbacks(), **OPTIONS
    ) as session:  # type: ignore[arg-type]
        await session.stream(AUDIO)
    return run


@pytest.mark.parametrize("protocol", ["v3", "v2"])
def test_sync_five_drops_deliver_every_word_exactly_once(
    server: LocalServer, protocol: str
) -> None:
    reference = sync_run(server, protocol, 0)
    check(reference, sync_run(server, protocol, DROPS))


@pytest.mark.parametrize("protocol", ["v3", "v2"])
async def test_async_five_drops_deliver_every_word_exactly_once(
    server: LocalServer, protocol: str
) -> None:
    reference = await async_run(server, protocol, 0)
    check(reference, await async_run(server, protocol, DROPS))
