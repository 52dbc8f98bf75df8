"""Closing never drops audio the server is still working on (issue: a file sent faster than real
time, then a fixed 5 s wait that reported the rest as lost, only as a warning).

Loopback servers that "process" each chunk slowly, the core with a fake clock, and the local
server (fixed engine for the exact checks; the offline engine for the project's samples).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from speechkit._core.realtime import (
    ConnectionSettings,
    Finished,
    RealtimeSession,
    Receive,
    SessionState,
)
from speechkit._core.realtime_protocol import RealtimeOptions
from speechkit.errors import RealtimeAudioLostError, RealtimeError
from speechkit.models.realtime import ErrorEvent, FinalTranscript, SessionClosed
from speechkit.realtime import AsyncRealtimeTranscriber, RealtimeTranscriber
from tests.realtime.conftest import FAST
from tests.realtime.fakeserver import Behaviour, FakeRealtimeServer
from tests.realtime.helpers import v3_begin, v3_turn, word_audio

AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio"
MS = 32  # bytes per millisecond of 16 kHz 16-bit PCM


def pcm(ms: int) -> bytes:
    return b"\x01\x00" * (16 * ms)


def open_session(**settings: Any) -> tuple[RealtimeSession, float]:
    session = RealtimeSession(
        RealtimeOptions(protocol="v3"),
        ConnectionSettings(
            endpoints=("http://a.test",), api_key="k", keepalive_interval=None, **settings
        ),
        rng=lambda: 0.0,
    )
    now = 100.0
    session.start()
    session.next_step(now)
    session.connected(now)
    session.receive(v3_begin(), now)
    return session, now


def run_until_finished(session: RealtimeSession, now: float, messages: dict[float, str]) -> float:
    """Drive the session with a fake clock; ``messages`` arrive at the given times."""
    pending = sorted(messages.items())
    for _ in range(10_000):
        step = session.next_step(now)
        session.data_to_send()
        if isinstance(step, Finished) or session.is_finished:
            return now
        assert isinstance(step, Receive), step
        if pending and pending[0][0] <= now + step.timeout:
            now, text = max(now, pending[0][0]), pending.pop(0)[1]
            session.receive(text, now)
        else:
            now += step.timeout
    raise AssertionError("the session never finished")


# ---- the core, with a fake clock ----------------------------------------------------------------


def test_default_close_budget_covers_the_outstanding_audio() -> None:
    session, now = open_session(terminate_timeout=5.0)
    session.send_audio(pcm(10_000), now)
    assert session.outstanding_seconds() == pytest.approx(10.0)
    # Not a fixed 5 s: 5 s plus three times the 10 s the server has yet to confirm.
    assert session.request_close(now) == pytest.approx(35.0)
    assert session.close_budget(2.5) == 2.5  # an explicit timeout is taken as given


def test_close_waits_while_the_server_makes_progress() -> None:
    session, now = open_session(terminate_timeout=5.0)
    session.send_audio(pcm(4000), now)
    assert session.request_close(now) == pytest.approx(17.0)
    # The server needs 12 s, far past terminate_timeout, but speaks every 4 s.
    words = [("w", i * 400, i * 400 + 390) for i in range(10)]
    messages = {
        now + 4: v3_turn(0, words[:3], end_of_turn=False, final_words=2),
        now + 8: v3_turn(0, words[:6], end_of_turn=False, final_words=5),
        now + 12: v3_turn(0, words, end_of_turn=True),
        now + 12.5: '{"type": "Termination", "audio_duration_seconds": 1}',
    }
    end = run_until_finished(session, now, messages)
    assert end == pytest.approx(now + 12.5)
    events = session.events_received()
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    [final] = [e for e in events if isinstance(e, FinalTranscript)]
    assert len(final.words) == 10
    assert session.lost_audio is None
    assert session.state is SessionState.CLOSED


def test_close_gives_up_when_the_server_stalls_and_reports_the_loss() -> None:
    session, now = open_session(terminate_timeout=5.0)
    session.send_audio(pcm(2000), now)
    session.request_close(now)  # budget 11 s
    words = [("w", 0, 90), ("x", 100, 190)]
    messages = {now + 3: v3_turn(0, words, end_of_turn=True)}  # covers 190 ms, then silence
    end = run_until_finished(session, now, messages)
    assert end == pytest.approx(now + 3 + 5)  # 5 s without progress after the last message
    lost = session.lost_audio
    assert isinstance(lost, RealtimeAudioLostError)
    assert lost.start_ms == 190
    assert lost.lost_ms == 2000 - 190
    closed = [e for e in session.events_received() if isinstance(e, SessionClosed)]
    assert "sent nothing for 5 s" in closed[0].reason


def test_an_explicit_timeout_is_a_hard_limit_even_with_progress() -> None:
    session, now = open_session(terminate_timeout=5.0)
    session.send_audio(pcm(1000), now)
    session.request_close(now, timeout=2.0)
    chatter = {now + t / 2: v3_turn(0, [("w", 0, 50)], end_of_turn=False) for t in range(1, 10)}
    end = run_until_finished(session, now, chatter)
    assert end == pytest.approx(now + 2.0)
    assert session.lost_audio is not None
    assert session.lost_audio.lost_ms == 1000


def test_audio_before_connect_is_refused_with_a_typed_error_naming_connect() -> None:
    session = RealtimeSession(
        RealtimeOptions(protocol="v3"), ConnectionSettings(endpoints=("http://a.test",))
    )
    with pytest.raises(RealtimeError, match=r"before connect\(\).*call connect\(\) first"):
        session.send_audio(pcm(100), 0.0)
    with pytest.raises(RealtimeError, match=r"connect\(\)"):
        session.force_endpoint(0.0)


# ---- the shells against a slow loopback server --------------------------------------------------


def slow_server() -> FakeRealtimeServer:
    # 50 ms of "processing" per 100 ms chunk: 4.8 s of audio takes the server ~2.4 s after an
    # unpaced send, longer than terminate_timeout (1 s), with a message every ~150 ms.
    return FakeRealtimeServer(behaviours=[Behaviour(chunk_delay=0.05)])


def test_sync_close_waits_for_a_slow_server_and_loses_nothing() -> None:
    audio, expected = word_audio(16)
    finals: list[FinalTranscript] = []
    errors: list[Exception] = []
    with slow_server() as server:
        with RealtimeTranscriber(
            base_url=server.base_url, on_final=finals.append, on_error=errors.append,
            **{**FAST, "terminate_timeout": 1.0},
        ) as transcriber:  # fmt: skip
            transcriber.stream(audio)
    assert errors == []
    assert [(w.text, w.start, w.end) for f in finals for w in f.words] == [
        (w.text, w.start, w.end) for w in expected
    ]


async def test_async_close_waits_for_a_slow_server_and_loses_nothing() -> None:
    audio, expected = word_audio(16)
    finals: list[FinalTranscript] = []
    with slow_server() as server:
        async with AsyncRealtimeTranscriber(
            base_url=server.base_url, on_final=finals.append,
            **{**FAST, "terminate_timeout": 1.0},
        ) as session:  # fmt: skip
            await session.stream(audio)
    assert [w.text for f in finals for w in f.words] == [w.text for w in expected]


def _stream_into_a_server_that_never_confirms(server: FakeRealtimeServer, **options: Any) -> None:
    with RealtimeTranscriber(
        base_url=server.base_url, **{**FAST, "terminate_timeout": 0.3, **options}
    ) as transcriber:
        transcriber.stream(word_audio(4)[0])
        transcriber.stream(b"\x00\x00" * 1600)  # 100 ms after the last word: unconfirmed


def test_lost_audio_is_raised_by_close_and_the_with_block() -> None:
    errors: list[Exception] = []
    with FakeRealtimeServer(behaviours=[Behaviour(ignore_terminate=True)]) as server:
        with pytest.raises(RealtimeAudioLostError) as raised:
            _stream_into_a_server_that_never_confirms(server, on_error=errors.append)
    assert raised.value.lost_ms > 0
    assert errors == [raised.value]


def test_an_exception_in_the_with_block_is_not_replaced_by_the_loss() -> None:
    def body(server: FakeRealtimeServer) -> None:
        with RealtimeTranscriber(
            base_url=server.base_url, **{**FAST, "terminate_timeout": 0.3}
        ) as transcriber:
            transcriber.stream(word_audio(2)[0])
            raise KeyError("the application's own error")

    with FakeRealtimeServer(behaviours=[Behaviour(ignore_terminate=True)]) as server:
        with pytest.raises(KeyError):
            body(server)


@pytest.mark.parametrize("method", ["stream", "stream_file"])
def test_sync_stream_before_connect_raises(method: str) -> None:
    with FakeRealtimeServer() as server:
        transcriber = RealtimeTranscriber(base_url=server.base_url, **FAST)
        call = (
            (lambda: transcriber.stream(b"\x00\x00" * 1600))
            if method == "stream"
            else (lambda: transcriber.stream_file(AUDIO / "two_turns.wav"))
        )
        with pytest.raises(RealtimeError, match=r"connect\(\)"):
            call()
        assert server.handshakes == 0


async def test_async_stream_before_connect_raises() -> None:
    with FakeRealtimeServer() as server:
        session = AsyncRealtimeTranscriber(base_url=server.base_url, **FAST)
        with pytest.raises(RealtimeError, match=r"connect\(\)"):
            await session.stream_file(AUDIO / "two_turns.wav")
        with pytest.raises(RealtimeError, match=r"connect\(\)"):
            await session.stream(b"\x00\x00" * 1600)
        assert server.handshakes == 0


# ---- the project's samples on the local server ----------------------------------------------------


@pytest.mark.slow
def test_with_block_transcribes_every_turn_of_two_turns_wav() -> None:
    """The newcomer's first try, exactly: default options, the offline engine, no pacing."""
    pytest.importorskip("pocketsphinx")
    import speechkit

    finals: list[FinalTranscript] = []
    errors: list[Exception] = []
    with (
        speechkit.local_server() as server,
        RealtimeTranscriber(
            sample_rate=16_000, base_url=server.base_url, api_key="local",
            on_final=finals.append, on_error=errors.append,
        ) as rt,
    ):  # fmt: skip
        rt.stream_file(str(AUDIO / "two_turns.wav"))
    assert errors == []
    text = " ".join(f.text for f in finals)
    assert "coffee" in text
    assert "good day" in text
