"""RealtimeTranscriber against real loopback websocket servers."""

from __future__ import annotations

import logging
import threading
import time
import wave
from pathlib import Path

import pytest

from speechkit.errors import InvalidInputError, RealtimeConnectionError, RealtimeError
from speechkit.realtime import (
    RealtimeAudioLostError,
    RealtimeCallbackError,
    RealtimeTranscriber,
)
from tests.realtime.conftest import API_KEY, FAST, Recorder, wait_for
from tests.realtime.fakeserver import Behaviour, FakeRealtimeServer, RawServer
from tests.realtime.helpers import v3_begin, word_audio


def expected_words(count: int) -> list[tuple[str, int, int]]:
    return [(w.text, w.start, w.end) for w in word_audio(count)[1]]


def make(
    server: FakeRealtimeServer | RawServer, recorder: Recorder, **options: object
) -> RealtimeTranscriber:
    settings = {**FAST, **options}
    return RealtimeTranscriber(base_url=server.base_url, **recorder.callbacks(), **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", ["v3", "v2"])
def test_happy_path_delivers_every_word_once_on_the_reader_thread(
    server: FakeRealtimeServer, recorder: Recorder, protocol: str
) -> None:
    audio, _ = word_audio(6)
    transcriber = make(
        server, recorder, protocol=protocol, enable_extra_session_information=protocol == "v2"
    )
    transcriber.connect()
    assert transcriber.is_connected
    assert transcriber.session_id == "session-0"
    assert len(recorder.of("on_open")) == 1  # on_open has run when connect() returns
    transcriber.stream(audio)
    transcriber.close()
    assert not transcriber.is_connected

    assert recorder.final_words() == expected_words(6)
    assert len(recorder.of("on_close")) == 1
    assert recorder.of("on_close")[0].code == 1000
    assert recorder.of("on_error") == []
    assert recorder.of("on_partial")
    assert all(recorder.of("on_data"))
    assert recorder.threads
    assert all(name.startswith("speechkit-realtime-") for name in recorder.threads)
    [connection] = server.connections
    assert connection.headers["authorization"] == API_KEY
    assert API_KEY not in connection.path
    assert "token" not in connection.query
    assert connection.query["sample_rate"] == "16000"
    assert bytes(connection.audio[: len(audio)]) == audio
    terminate = {"type": "Terminate"} if protocol == "v3" else {"terminate_session": True}
    assert connection.messages[-1] == terminate
    if protocol == "v2":
        [info] = recorder.of("on_extra_session_information")
        assert info.audio_duration_seconds == pytest.approx(len(connection.audio) / 32000)
    else:
        assert {t.turn_order for t in recorder.of("on_turn")} == {0, 1, 2}
    usage = transcriber.usage
    assert usage.audio_seconds_sent >= len(audio) / 32000
    assert usage.audio_seconds_replayed == 0


def test_stream_accepts_an_iterable_and_stream_file_reads_wav(
    server: FakeRealtimeServer, recorder: Recorder, tmp_path: Path
) -> None:
    audio, _ = word_audio(4)
    path = tmp_path / "words.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(audio)
    with make(server, recorder, protocol="v2", chunk_ms=200) as transcriber:
        transcriber.stream(audio[i : i + 1000] for i in range(0, len(audio), 1000))
        transcriber.stream_file(path)
    words = recorder.final_words()
    assert [w[0] for w in words] == ["w0", "w1", "w2", "w3"] * 2
    offset = len(audio) // 32
    assert words[4:] == [(t, s + offset, e + offset) for t, s, e in expected_words(4)]
    *whole, last = server.connections[0].chunk_sizes
    assert set(whole) == {6400}
    assert 3200 <= last <= 6400 + 3200


def test_mulaw_encoding_is_sent_as_such(
    server: FakeRealtimeServer, recorder: Recorder, tmp_path: Path
) -> None:
    audio, _ = word_audio(4, rate=8000)
    path = tmp_path / "w8k.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(audio)
    with make(server, recorder, sample_rate=8000, encoding="pcm_mulaw") as transcriber:
        transcriber.stream_file(path)
    assert server.connections[0].query["encoding"] == "pcm_mulaw"
    assert len(server.connections[0].audio) >= len(audio) // 2
    assert [w[0] for w in recorder.final_words()] == ["w0", "w1", "w2", "w3"]


def test_a_callback_that_raises_goes_to_on_error_and_the_session_continues(
    server: FakeRealtimeServer, recorder: Recorder
) -> None:
    calls = []

    def on_final(final: object) -> None:
        calls.append(final)
        if len(calls) == 1:
            raise ValueError("boom")

    callbacks = recorder.callbacks("on_error", "on_close")
    transcriber = RealtimeTranscriber(
        base_url=server.base_url, on_final=on_final, **callbacks, **FAST
    )  # type: ignore[arg-type]
    transcriber.connect()
    transcriber.stream(word_audio(6)[0])
    transcriber.close()
    assert len(calls) == 3
    [error] = recorder.of("on_error")
    assert isinstance(error, RealtimeCallbackError)
    assert error.callback == "on_final"
    assert isinstance(error.__cause__, ValueError)
    assert "boom" in str(error)


def test_callback_errors_without_on_error_are_logged(
    server: FakeRealtimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    def on_open(event: object) -> None:
        raise KeyError("nope")

    with RealtimeTranscriber(base_url=server.base_url, on_open=on_open, **FAST):  # type: ignore[arg-type]
        pass
    assert "on_open callback raised KeyError" in caplog.text


@pytest.mark.parametrize(
    ("protocol", "code", "words"),
    [("v3", 1008, "unauthorized"), ("v2", 4002, "insufficient funds")],
)
def test_fatal_close_is_not_retried_and_says_why(
    recorder: Recorder, protocol: str, code: int, words: str
) -> None:
    behaviour = Behaviour(close_after_ms=500, close_code=code)
    with FakeRealtimeServer(behaviours=[behaviour]) as server:
        transcriber = make(server, recorder, protocol=protocol)
        transcriber.connect()
        transcriber.stream(word_audio(6)[0])
        assert recorder.closed.wait(5)
        with pytest.raises(RealtimeError, match="failed"):
            transcriber.stream(b"\x00\x00" * 1600)
        transcriber.close()
        assert len(server.connections) == 1
    fatal = [e for e in recorder.of("on_error") if not isinstance(e, RealtimeAudioLostError)]
    assert len(fatal) == 1
    assert fatal[0].code == code
    assert not fatal[0].retryable
    assert words in str(fatal[0]).lower()
    [closed] = recorder.of("on_close")
    assert closed.error is fatal[0]
    assert recorder.of("on_reconnect") == []


def test_fatal_close_before_the_session_begins_fails_connect(recorder: Recorder) -> None:
    with FakeRealtimeServer(behaviours=[Behaviour(close_before_begin=4001)]) as server:
        transcriber = make(server, recorder, protocol="v2")
        with pytest.raises(RealtimeConnectionError, match="not authorized") as caught:
            transcriber.connect()
        assert caught.value.code == 4001
        assert server.handshakes == 1
    assert recorder.events == []


def test_http_401_on_the_upgrade_fails_connect_at_once(recorder: Recorder) -> None:
    with FakeRealtimeServer(behaviours=[Behaviour(reject_status=401)] * 3) as server:
        transcriber = make(server, recorder)
        with pytest.raises(RealtimeConnectionError, match="401") as caught:
            transcriber.connect()
        assert not caught.value.retryable
        assert server.handshakes == 1


def test_wrong_sample_rate_rejected_by_the_server_is_fatal(recorder: Recorder) -> None:
    with FakeRealtimeServer(behaviours=[Behaviour(close_before_begin=4000)]) as server:
        with pytest.raises(RealtimeConnectionError, match="sample rate"):
            make(server, recorder, protocol="v2", sample_rate=11025).connect()


def test_drops_mid_stream_reconnect_replay_and_lose_nothing(recorder: Recorder) -> None:
    behaviours = [
        Behaviour(abort_after_ms=1300),
        Behaviour(close_after_ms=1300, close_code=1011),
        Behaviour(close_after_ms=1300, close_code=3005),
    ]
    audio, _ = word_audio(16)
    with FakeRealtimeServer(behaviours=behaviours) as server:
        transcriber = make(server, recorder, terminate_timeout=5.0)
        transcriber.connect()
        for start in range(0, len(audio), 3200):  # 100 ms at a time, a little faster than live
            transcriber.stream(audio[start : start + 3200])
            time.sleep(0.002)
        transcriber.close()
        connections = server.connections
    # Every word once, with its original time, in order.
    assert recorder.final_words() == expected_words(16)
    reconnects = recorder.of("on_reconnect")
    assert [r.code for r in reconnects] == [None, 1011, 3005]
    assert len(connections) == 4
    for reconnect, connection in zip(reconnects, connections[1:], strict=True):
        start = reconnect.offset_ms * 32
        # The replay re-sent exactly the audio after the last final of the dropped connection.
        assert bytes(connection.audio[:3200]) == audio[start : start + 3200]
        assert reconnect.replayed_ms > 0
        assert reconnect.lost_ms == 0
    assert transcriber.usage.audio_seconds_replayed > 0
    assert transcriber.connection_info.reconnects == 3
    assert list(recorder.of("on_error")) == []


def test_connect_gives_up_when_the_server_never_answers(recorder: Recorder) -> None:
    with RawServer(handshake=False) as silent:
        transcriber = make(silent, recorder, connect_timeout=0.3, max_retries=1)
        started = time.monotonic()
        with pytest.raises(RealtimeConnectionError, match="2 attempt") as caught:
            transcriber.connect()
        assert time.monotonic() - started < 10.0  # the silent server would hold it forever
        assert caught.value.retryable
        assert silent.accepted == 2


def test_connect_gives_up_when_the_session_never_begins(recorder: Recorder) -> None:
    with FakeRealtimeServer(behaviours=[Behaviour(no_begin=True)] * 2) as server:
        transcriber = make(server, recorder, connect_timeout=0.3, max_retries=1)
        with pytest.raises(RealtimeConnectionError, match=r"did not begin within 0\.3 s"):
            transcriber.connect()
        assert server.handshakes == 2


def test_failover_to_the_next_endpoint(server: FakeRealtimeServer, recorder: Recorder) -> None:
    with RawServer(handshake=False) as dead:
        pass  # closed: its port now refuses connections
    transcriber = RealtimeTranscriber(
        endpoints=[dead.base_url, server.base_url],
        **recorder.callbacks(),
        **FAST,  # type: ignore[arg-type]
    )
    with transcriber:
        info = transcriber.connection_info
    assert [a.outcome for a in info.attempts] == ["failed", "connected"]
    assert info.attempts[0].url.startswith(f"ws://127.0.0.1:{dead.port}/v3/ws")
    assert info.attempts[1].url.startswith(f"ws://127.0.0.1:{server.port}/v3/ws")


def test_close_with_a_dead_peer_returns_within_its_bound(recorder: Recorder) -> None:
    with RawServer(handshake=True, first_message=v3_begin("dead")) as dead:
        baseline = set(threading.enumerate())
        transcriber = make(dead, recorder, terminate_timeout=0.5)
        transcriber.connect()
        transcriber.stream(word_audio(2)[0])
        started = time.monotonic()
        with pytest.raises(RealtimeAudioLostError) as raised:
            transcriber.close()
        elapsed = time.monotonic() - started
        assert elapsed < 0.5 + 2.0
        assert wait_for(lambda: set(threading.enumerate()) <= baseline, 2.0)
        transcriber.close()  # raised once; closing again is a no-op
    [closed] = recorder.of("on_close")
    assert closed.reason.startswith("timed out")
    assert "sent nothing for 0.5 s" in closed.reason  # the stall rule, not the budget
    [lost] = recorder.of("on_error")
    assert isinstance(lost, RealtimeAudioLostError)
    assert lost.lost_ms > 0
    assert raised.value is lost  # the caller sees the same error on_error got


def test_a_server_close_whose_tcp_never_ends_still_reaches_on_close(recorder: Recorder) -> None:
    # The server sends 4002 and then neither reads our answer nor closes TCP (its reading is
    # paused behind unread audio): the session must not wait for it.
    with RawServer(handshake=True, first_message=v3_begin("half"), close_code=4002) as half:
        transcriber = make(half, recorder)
        transcriber.connect()
        assert recorder.closed.wait(10)  # without the bound: never, while the server lives
        transcriber.close()
        assert half.accepted == 1
    [closed] = recorder.of("on_close")
    assert closed.code == 4002
    assert closed.error is not None
    assert closed.error.code == 4002
    assert not closed.error.retryable
    assert recorder.of("on_reconnect") == []


def test_no_thread_outlives_the_session(server: FakeRealtimeServer, recorder: Recorder) -> None:
    baseline = set(threading.enumerate())
    transcriber = make(server, recorder)
    transcriber.connect()
    assert len(set(threading.enumerate()) - baseline) >= 2  # reader + websocket threads
    transcriber.stream(word_audio(2)[0])
    transcriber.close()
    assert wait_for(lambda: set(threading.enumerate()) <= baseline, 1.0)
    reader = list(recorder.threads)
    assert reader
    assert all(name not in {t.name for t in threading.enumerate()} for name in reader)


def test_keepalive_while_no_audio_flows(server: FakeRealtimeServer, recorder: Recorder) -> None:
    with make(server, recorder, keepalive_interval=0.15):
        time.sleep(0.6)
    assert len(server.messages("KeepAlive")) >= 2


def test_update_options_live_and_by_reconnecting(
    server: FakeRealtimeServer, recorder: Recorder
) -> None:
    audio, _ = word_audio(8)
    half = len(audio) // 2 // 3200 * 3200
    transcriber = make(server, recorder, max_turn_silence=1000)
    transcriber.connect()
    transcriber.update_options(end_of_turn_confidence_threshold=0.6, min_turn_silence=200)
    transcriber.stream(audio[:half])
    transcriber.update_options(speaker_labels=True)
    transcriber.stream(audio[half:])
    assert recorder.reconnected.wait(5)
    transcriber.close()
    first, second = server.connections
    assert first.messages[0] == {
        "type": "UpdateConfiguration",
        "end_of_turn_confidence_threshold": 0.6,
        "min_turn_silence": 200,
    }
    assert {"type": "Terminate"} in first.messages
    assert "speaker_labels" not in first.query
    assert second.query["speaker_labels"] == "true"
    # The latest options are carried to the new connection.
    assert second.query["min_turn_silence"] == "200"
    assert second.query["max_turn_silence"] == "1000"
    assert recorder.of("on_reconnect")[0].reason == "options changed"
    assert recorder.final_words() == expected_words(8)
    with pytest.raises(RealtimeError, match="closed"):
        transcriber.update_options(min_turn_silence=100)


def test_bad_input(server: FakeRealtimeServer, recorder: Recorder) -> None:
    with pytest.raises(InvalidInputError, match="8000 to 48000"):
        make(server, recorder, sample_rate=96_000)
    with pytest.raises(InvalidInputError, match="50-1000 ms"):
        make(server, recorder, chunk_ms=20)
    with make(server, recorder) as transcriber:
        with pytest.raises(InvalidInputError, match="odd length"):
            transcriber.stream(b"\x00\x00\x00")
        wav_header = b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00"
        with pytest.raises(InvalidInputError, match="stream_file"):
            transcriber.stream(wav_header)
        with pytest.raises(InvalidInputError, match="got str"):
            transcriber.stream("hello")  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="looks like text"):
            transcriber.stream(b"this is definitely not audio, it is text")
        with pytest.raises(InvalidInputError, match="iterable"):
            transcriber.stream(42)  # type: ignore[arg-type]
        assert transcriber.is_connected  # bad input does not end the session
    assert not list(recorder.of("on_error"))


def test_temporary_token_goes_in_the_query_and_no_key_is_sent(
    server: FakeRealtimeServer, recorder: Recorder
) -> None:
    tokens = iter(["tok-1", "tok-2"])
    settings = {k: v for k, v in FAST.items() if k != "api_key"}
    behaviours = [Behaviour(close_after_ms=100, close_code=1011)]
    with FakeRealtimeServer(behaviours=behaviours) as flaky:
        transcriber = RealtimeTranscriber(
            base_url=flaky.base_url,
            token=lambda: next(tokens),
            **recorder.callbacks(),
            **settings,  # type: ignore[arg-type]
        )
        with transcriber:
            transcriber.stream(word_audio(1)[0])
            assert recorder.reconnected.wait(5)
        assert [c.query["token"] for c in flaky.connections] == ["tok-1", "tok-2"]
        assert all("authorization" not in c.headers for c in flaky.connections)
        assert "tok-" not in repr(transcriber)
        assert "tok-" not in str(transcriber.connection_info)


def test_the_key_never_reaches_a_log_line(
    server: FakeRealtimeServer, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with make(server, recorder, token=None) as transcriber:
        transcriber.stream(word_audio(1)[0])
    client_log = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")
    )
    assert "> Authorization: ***" in client_log  # websockets' handshake log, redacted
    assert API_KEY not in client_log
    assert API_KEY not in repr(transcriber)


def test_a_crash_in_the_reader_ends_the_session_with_an_error(
    server: FakeRealtimeServer, recorder: Recorder
) -> None:
    transcriber = make(server, recorder)
    transcriber.connect()

    def broken(message: object, now: float) -> None:
        raise RuntimeError("bug")

    transcriber._session.receive = broken  # type: ignore[method-assign]
    transcriber.stream(word_audio(2)[0])  # the partials that come back hit the bug
    assert recorder.closed.wait(5)
    error, lost = recorder.of("on_error")
    assert isinstance(lost, RealtimeAudioLostError)  # the audio it had not confirmed yet
    assert "reader failed" in str(error)
    assert isinstance(error.__cause__, RuntimeError)
    with pytest.raises(RealtimeError):
        transcriber.stream(b"\x00\x00" * 1600)
    transcriber.close()


def test_an_int16_array_is_streamed_as_one_block(
    server: FakeRealtimeServer, recorder: Recorder
) -> None:
    import array

    audio, _ = word_audio(2)
    with make(server, recorder) as transcriber:
        transcriber.stream(array.array("h", audio))  # type: ignore[arg-type]
    assert [w[0] for w in recorder.final_words()] == ["w0", "w1"]


def test_the_reader_never_waits_behind_another_sender(
    server: FakeRealtimeServer, recorder: Recorder
) -> None:
    """A stream() blocked on a slow network must not hold transcripts back from callbacks."""
    audio, _ = word_audio(2)
    transcriber = make(server, recorder)
    transcriber.connect()
    transcriber._send_lock.acquire()  # another thread is mid-send
    try:
        with transcriber._lock:
            transcriber._session.send_audio(audio, time.monotonic())
        started = time.monotonic()
        transcriber._send_pending(wait=False)  # what the reader does after each message
        assert time.monotonic() - started < 5.0  # waiting would block on the held lock forever
        assert transcriber._session.has_output  # left for the thread holding the lock
    finally:
        transcriber._send_lock.release()
    transcriber._send_pending()  # the sender's own check after releasing sends the rest
    transcriber.close()
    assert recorder.final_words() == expected_words(2)
    assert recorder.of("on_error") == []
