"""Words exactly once across drops: 5 forced drops per session against the local server (fixed
engine, so results depend only on the audio, never on the machine's speed), v2 and v3, blocking
and asyncio. Every final word of the no-drop session arrives exactly once, at the same time on
the session timeline, in order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from speechkit.models.realtime import (
    FinalTranscript,
    Reconnected,
    ServerMessage,
    V3Silence,
    V3SpeakerRevision,
    V3SpeakerRevisionItem,
)
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


# ---- v3 messages with times and turn numbers: Silence and SpeakerRevision ------------------------

TONE_MS, QUIET_MS = 1000, 2000
SPOKEN = (b"\x00\x10" * 16 * TONE_MS + b"\x00\x00" * 16 * QUIET_MS) * 4  # 12 s
QUIET = [(t + TONE_MS, t + TONE_MS + QUIET_MS) for t in range(0, 12_000, TONE_MS + QUIET_MS)]
V3_EXTRAS: dict[str, Any] = {"acknowledge_silence": True, "speaker_labels": True}


class ExtrasRun(Run):
    def __init__(self, server: LocalServer, drops: int) -> None:
        super().__init__(server, drops)
        self.messages: list[ServerMessage] = []

    def callbacks(self) -> dict[str, Any]:
        return {**super().callbacks(), "on_message": self.messages.append}

    def silences(self) -> list[tuple[int, int, str | None]]:
        return [
            (m.message.start_ms, m.message.end_ms, m.session_id)
            for m in self.messages
            if isinstance(m.message, V3Silence)
        ]

    def revisions(self) -> list[tuple[V3SpeakerRevisionItem, str | None]]:
        return [
            (item, m.session_id)
            for m in self.messages
            if isinstance(m.message, V3SpeakerRevision)
            for item in m.message.revisions
        ]


def merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def check_extras(reference: ExtrasRun, dropped: ExtrasRun) -> None:
    check(reference, dropped)
    first_session = dropped.finals[0].session_id
    # Silence: on the session timeline, exactly the quiet stretches of the audio.
    assert merged([(s, e) for s, e, _ in reference.silences()]) == QUIET
    silences = dropped.silences()
    assert any(session != first_session for *_, session in silences)  # after a reconnect too
    for (_, end, _), (start, _, _) in itertools.pairwise(silences):
        assert start >= end  # never reported twice, never backwards
    for start, end, _ in silences:
        assert any(q_start <= start < end <= q_end for q_start, q_end in QUIET), (start, end)
    # SpeakerRevision: each names a turn as it was delivered (turn number and word times).
    finals = {f.turn_order: f for f in dropped.finals}
    revisions = dropped.revisions()
    assert len(reference.revisions()) >= 10
    assert any(session != first_session for _, session in revisions)
    for item, _ in revisions:
        final = finals[item.turn_order]
        assert [(w.start, w.end) for w in item.words] == [(w.start, w.end) for w in final.words]
        assert item.speaker_label == "B"


def test_sync_silence_and_speaker_revisions_stay_on_the_timeline_across_drops(
    server: LocalServer,
) -> None:
    def run(drops: int) -> ExtrasRun:
        recorded = ExtrasRun(server, drops)
        with RealtimeTranscriber(
            base_url=server.base_url, **V3_EXTRAS, **recorded.callbacks(), **OPTIONS
        ) as transcriber:
            transcriber.stream(SPOKEN)
        return recorded

    check_extras(run(0), run(DROPS))


async def test_async_silence_and_speaker_revisions_stay_on_the_timeline_across_drops(
    server: LocalServer,
) -> None:
    async def run(drops: int) -> ExtrasRun:
        recorded = ExtrasRun(server, drops)
        async with AsyncRealtimeTranscriber(
            base_url=server.base_url, **V3_EXTRAS, **recorded.callbacks(), **OPTIONS
        ) as session:
            await session.stream(SPOKEN)
        return recorded

    check_extras(await run(0), await run(DROPS))
