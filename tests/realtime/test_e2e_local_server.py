"""End to end: the transcribers against the local server with the pocketsphinx engine, streaming
the sample audio over v2 and v3, blocking and asyncio; and a fault test that drops the connection
several times mid-stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from speechkit.engines.wer import normalize_words, word_error_rate
from speechkit.models.realtime import FinalTranscript, Reconnected
from speechkit.realtime import AsyncRealtimeTranscriber, RealtimeTranscriber

pytest.importorskip("pocketsphinx")
import itertools

from speechkit.server.runner import LocalServer, local_server

pytestmark = pytest.mark.slow

AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio"
KEY = "e2e-key"
# The local server ends a v3 turn after max_turn_silence; the samples pause 0.9 s between sentences.
V3_TURNS = {"max_turn_silence": 500}
FAST = {"api_key": KEY, "backoff_initial": 0.05, "terminate_timeout": 20.0}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(engine="pocketsphinx", api_key=KEY) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults(server: LocalServer) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()


def reference(name: str) -> str:
    return (AUDIO / name).read_text()


def transcript(finals: list[FinalTranscript]) -> str:
    return " ".join(f.text for f in finals)


def assert_monotonic(finals: list[FinalTranscript]) -> None:
    starts = [w.start for f in finals for w in f.words]
    assert starts == sorted(starts)
    for earlier, later in itertools.pairwise(finals):
        assert later.audio_start >= earlier.audio_end - 1


@pytest.mark.parametrize("protocol", ["v3", "v2"])
def test_sync_sample_over_both_protocols(server: LocalServer, protocol: str) -> None:
    finals: list[FinalTranscript] = []
    errors: list[Exception] = []
    options: dict[str, Any] = (
        V3_TURNS if protocol == "v3" else {"enable_extra_session_information": True}
    )
    info: list[Any] = []
    transcriber = RealtimeTranscriber(
        base_url=server.base_url, protocol=protocol, on_final=finals.append, on_error=errors.append,
        on_extra_session_information=info.append, **FAST, **options,
    )  # fmt: skip
    with transcriber:
        transcriber.stream_file(AUDIO / "sample.wav")
    assert errors == []
    assert word_error_rate(reference("sample.txt"), transcript(finals)) <= 0.05
    assert len(finals) >= 4  # one per sentence or so
    assert_monotonic(finals)
    if protocol == "v2":
        assert info
        assert info[0].audio_duration_seconds == pytest.approx(21.4, abs=0.5)


async def test_async_v3_formatted_turns(server: LocalServer) -> None:
    finals: list[FinalTranscript] = []
    session = AsyncRealtimeTranscriber(
        base_url=server.base_url, format_turns=True, on_final=finals.append, **FAST, **V3_TURNS
    )
    async with session:
        await session.stream_file(AUDIO / "two_turns.wav")
    assert word_error_rate(reference("two_turns.txt"), transcript(finals)) <= 0.1
    assert len(finals) == 2  # the unformatted and formatted copies of each turn: one final each
    assert all(f.text_formatted and f.text[0].isupper() and f.text.endswith(".") for f in finals)
    assert [f.turn_order for f in finals] == [0, 1]


async def test_async_v2_telephone_audio_as_mulaw(server: LocalServer) -> None:
    finals: list[FinalTranscript] = []
    session = AsyncRealtimeTranscriber(
        base_url=server.base_url, protocol="v2", sample_rate=8000, encoding="pcm_mulaw",
        on_final=finals.append, **FAST,
    )  # fmt: skip
    async with session:
        await session.stream_file(AUDIO / "sample_8k.wav")
    # The telephone band loses detail the engine needs (examples/audio/README.md: ~0.2).
    assert word_error_rate(reference("sample.txt"), transcript(finals)) <= 0.4
    assert_monotonic(finals)


def test_sync_v3_survives_repeated_drops(server: LocalServer) -> None:
    """Each connection is dropped (no close frame) after 25 server messages, a little after a
    sentence's final; reconnects replay the rest. Every word arrives once, in time order."""
    finals: list[FinalTranscript] = []
    reconnects: list[Reconnected] = []
    errors: list[Exception] = []

    def on_reconnect(event: Reconnected) -> None:
        reconnects.append(event)
        if len(reconnects) >= 3:
            server.faults.clear()

    server.faults.update({"ws_drop_after_messages": 25})
    transcriber = RealtimeTranscriber(
        base_url=server.base_url, on_final=finals.append, on_reconnect=on_reconnect,
        on_error=errors.append, **FAST, **V3_TURNS,
    )  # fmt: skip
    with transcriber:
        transcriber.stream_file(AUDIO / "sample.wav")
    check_survived(finals, reconnects, errors, transcriber.usage.audio_seconds_replayed)


async def test_async_v2_survives_repeated_drops(server: LocalServer) -> None:
    finals: list[FinalTranscript] = []
    reconnects: list[Reconnected] = []
    errors: list[Exception] = []

    def on_reconnect(event: Reconnected) -> None:
        reconnects.append(event)
        if len(reconnects) >= 3:
            server.faults.clear()

    server.faults.update({"ws_drop_after_messages": 25, "ws_drop_close_code": 1011})
    session = AsyncRealtimeTranscriber(
        base_url=server.base_url, protocol="v2", on_final=finals.append,
        on_reconnect=on_reconnect, on_error=errors.append, **FAST,
    )  # fmt: skip
    async with session:
        await session.stream_file(AUDIO / "sample.wav")
    assert all(r.code == 1011 for r in reconnects)
    check_survived(finals, reconnects, errors, session.usage.audio_seconds_replayed)


def check_survived(
    finals: list[FinalTranscript],
    reconnects: list[Reconnected],
    errors: list[Exception],
    replayed: float,
) -> None:
    assert errors == []
    assert len(reconnects) >= 3
    offsets = [r.offset_ms for r in reconnects]
    assert offsets == sorted(offsets)
    assert offsets[-1] > 0
    assert replayed > 0
    ref = reference("sample.txt")
    hypothesis = transcript(finals)
    # Nothing lost and nothing twice: as many words as the reference, and (almost) all right.
    assert len(normalize_words(hypothesis)) == len(normalize_words(ref))
    assert word_error_rate(ref, hypothesis) <= 0.05
    assert_monotonic(finals)
