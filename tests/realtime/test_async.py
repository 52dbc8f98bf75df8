"""AsyncRealtimeTranscriber against real loopback websocket servers."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from speechkit.errors import (
    InvalidInputError,
    RealtimeAudioLostError,
    RealtimeConnectionError,
    RealtimeError,
)
from speechkit.models.realtime import (
    FinalTranscript,
    PartialTranscript,
    Reconnected,
    SessionClosed,
    SessionOpened,
)
from speechkit.realtime import AsyncRealtimeTranscriber, RealtimeCallbackError
from tests.realtime.conftest import FAST, Recorder
from tests.realtime.fakeserver import Behaviour, FakeRealtimeServer, RawServer
from tests.realtime.helpers import v3_begin, word_audio


def expected_words(count: int) -> list[tuple[str, int, int]]:
    return [(w.text, w.start, w.end) for w in word_audio(count)[1]]


def make(server: FakeRealtimeServer | RawServer, **options: Any) -> AsyncRealtimeTranscriber:
    return AsyncRealtimeTranscriber(base_url=server.base_url, **{**FAST, **options})


def other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


async def settle() -> set[asyncio.Task[Any]]:
    for _ in range(50):
        if not other_tasks():
            break
        await asyncio.sleep(0.01)
    return other_tasks()


async def test_happy_path_with_async_and_sync_callbacks(server: FakeRealtimeServer) -> None:
    finals: list[FinalTranscript] = []
    tasks: set[str] = set()
    opened = []

    async def on_final(final: FinalTranscript) -> None:
        tasks.add(asyncio.current_task().get_name())  # type: ignore[union-attr]
        await asyncio.sleep(0)
        finals.append(final)

    async with make(server, on_final=on_final, on_open=opened.append) as session:
        assert session.is_connected
        assert len(opened) == 1
        await session.stream(word_audio(6)[0])
    assert [(w.text, w.start, w.end) for f in finals for w in f.words] == expected_words(6)
    assert len(tasks) == 1
    assert tasks.pop().startswith("speechkit-realtime-")
    assert not await settle()


async def test_async_for_yields_every_event_and_ends_after_close(
    server: FakeRealtimeServer,
) -> None:
    audio, _ = word_audio(6)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(audio), 3200):
            yield audio[start : start + 3200]

    session = make(server, protocol="v2")
    await session.connect()

    async def produce() -> None:
        await session.stream(chunks())
        await session.close()

    producer = asyncio.create_task(produce())
    events = [event async for event in session]
    await producer
    assert isinstance(events[0], SessionOpened)
    assert isinstance(events[-1], SessionClosed)
    words = [
        (w.text, w.start, w.end) for e in events if isinstance(e, FinalTranscript) for w in e.words
    ]
    assert words == expected_words(6)
    assert any(isinstance(e, PartialTranscript) for e in events)
    assert [e async for e in session] == []  # iterating again ends at once
    assert not await settle()


async def test_async_callback_that_raises_goes_to_on_error(server: FakeRealtimeServer) -> None:
    recorder = Recorder()
    seen = []

    async def on_final(final: FinalTranscript) -> None:
        seen.append(final)
        if len(seen) == 2:
            raise RuntimeError("async boom")

    async with make(server, on_final=on_final, **recorder.callbacks("on_error")) as session:
        await session.stream(word_audio(6)[0])
    assert len(seen) == 3
    [error] = recorder.of("on_error")
    assert isinstance(error, RealtimeCallbackError)
    assert "async boom" in str(error)


async def test_fatal_close_ends_iteration_with_the_error() -> None:
    with FakeRealtimeServer(behaviours=[Behaviour(close_after_ms=400, close_code=1008)]) as server:
        session = make(server)
        await session.connect()
        await session.stream(word_audio(4)[0])
        events: list[Any] = []

        async def collect() -> None:
            async for event in session:
                events.append(event)

        with pytest.raises(RealtimeError, match="unauthorized") as caught:
            await collect()
        assert caught.value.code == 1008
        assert not caught.value.retryable
        assert isinstance(events[-1], SessionClosed)
        assert events[-1].error is caught.value
        assert not any(isinstance(e, Reconnected) for e in events)
        with pytest.raises(RealtimeError):
            await session.stream(b"\x00\x00" * 800)
        await session.close()
        assert len(server.connections) == 1
    assert not await settle()


async def test_drops_reconnect_and_deliver_every_word_once() -> None:
    behaviours = [Behaviour(abort_after_ms=1000), Behaviour(close_after_ms=1000, close_code=1012)]
    reconnects: list[Reconnected] = []
    finals: list[FinalTranscript] = []
    audio, _ = word_audio(12)
    with FakeRealtimeServer(behaviours=behaviours) as server:
        session = make(
            server, protocol="v2", on_reconnect=reconnects.append, on_final=finals.append
        )
        await session.connect()
        for start in range(0, len(audio), 3200):
            await session.stream(audio[start : start + 3200])
            await asyncio.sleep(0.002)
        await session.close()
        assert len(server.connections) == 3
    assert [(w.text, w.start, w.end) for f in finals for w in f.words] == expected_words(12)
    assert [r.code for r in reconnects] == [None, 1012]
    starts = [w.start for f in finals for w in f.words]
    assert starts == sorted(starts)


async def test_connect_timeout_with_a_silent_server() -> None:
    with RawServer(handshake=False) as silent:
        session = make(silent, connect_timeout=0.3, max_retries=0)
        started = time.monotonic()
        with pytest.raises(RealtimeConnectionError, match="timed out"):
            await session.connect()
        assert time.monotonic() - started < 10.0  # the silent server would hold it forever
    assert not await settle()


async def test_close_with_a_dead_peer_is_bounded_and_leaves_no_task() -> None:
    closed: list[SessionClosed] = []
    with RawServer(handshake=True, first_message=v3_begin("dead")) as dead:
        session = make(dead, terminate_timeout=0.4, on_close=closed.append)
        await session.connect()
        await session.stream(word_audio(2)[0])
        started = time.monotonic()
        with pytest.raises(RealtimeAudioLostError) as raised:
            await session.close()
        assert time.monotonic() - started < 0.4 + 2.0
    assert raised.value.lost_ms > 0
    assert closed
    assert closed[0].reason.startswith("timed out")
    assert not await settle()


async def test_a_server_close_whose_tcp_never_ends_still_ends_iteration() -> None:
    with RawServer(handshake=True, first_message=v3_begin("half"), close_code=4002) as half:
        session = make(half)
        await session.connect()
        events: list[Any] = []

        async def collect() -> None:
            async for event in session:
                events.append(event)

        with pytest.raises(RealtimeError) as caught:
            await asyncio.wait_for(collect(), 10)  # without the bound: never
        assert caught.value.code == 4002
        assert isinstance(events[-1], SessionClosed)
        assert events[-1].code == 4002
        await session.close()
        assert half.accepted == 1
    assert not await settle()


async def test_cancelling_connect_stops_the_reader() -> None:
    with RawServer(handshake=False) as silent:
        session = make(silent, connect_timeout=5.0)
        attempt = asyncio.create_task(session.connect())
        await asyncio.sleep(0.1)
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
    assert not await settle()


async def test_update_options_and_keepalive(server: FakeRealtimeServer) -> None:
    reconnects: list[Reconnected] = []
    session = make(server, keepalive_interval=0.1, on_reconnect=reconnects.append)
    await session.connect()
    await asyncio.sleep(0.35)
    await session.update_options(max_turn_silence=800)
    await session.update_options(speaker_labels=True)  # a query parameter: a new connection
    for _ in range(100):
        if reconnects:
            break
        await asyncio.sleep(0.01)
    await session.stream(word_audio(2)[0])
    await session.close()
    first, second = server.connections
    assert len([m for m in first.messages if m == {"type": "KeepAlive"}]) >= 2
    assert {"type": "UpdateConfiguration", "max_turn_silence": 800} in first.messages
    assert second.query["speaker_labels"] == "true"
    assert second.query["max_turn_silence"] == "800"
    assert reconnects[0].reason == "options changed"


async def test_async_token_provider_and_stream_file(
    server: FakeRealtimeServer, tmp_path: Path
) -> None:
    audio, _ = word_audio(3)
    path = tmp_path / "w.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(audio)

    async def token() -> str:
        await asyncio.sleep(0)
        return "async-token"

    finals: list[FinalTranscript] = []
    settings = {k: v for k, v in FAST.items() if k != "api_key"}
    session = AsyncRealtimeTranscriber(
        base_url=server.base_url, token=token, on_final=finals.append, **settings
    )
    async with session:
        await session.stream_file(path)
    assert server.connections[0].query["token"] == "async-token"
    assert "authorization" not in server.connections[0].headers
    assert [(w.text, w.start, w.end) for f in finals for w in f.words] == expected_words(3)


async def test_bad_input_is_rejected_before_sending(server: FakeRealtimeServer) -> None:
    async with make(server) as session:
        with pytest.raises(InvalidInputError, match="odd length"):
            await session.stream(b"\x01")
        with pytest.raises(InvalidInputError, match="stream_file"):
            await session.stream([b"RIFF\x00\x00\x00\x00WAVEfmt "])
        assert session.is_connected
    assert server.connections[0].audio == bytearray()
