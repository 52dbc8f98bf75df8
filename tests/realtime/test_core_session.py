"""The sans-I/O session without sockets: a fake clock, a fixed jitter, and hand-written frames."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from speechkit._core.realtime import (
    Connect,
    ConnectionSettings,
    Disconnect,
    Finished,
    RealtimeAudioLostError,
    RealtimeSession,
    Receive,
    SessionState,
    Sleep,
    backoff_delay,
)
from speechkit._core.realtime_protocol import RealtimeOptions
from speechkit._core.retry import (
    client_close_retryable,
    close_code_retryable,
    connect_failure_retryable,
)
from speechkit.errors import InvalidInputError, RealtimeConnectionError, RealtimeError
from speechkit.models.realtime import (
    ErrorEvent,
    FinalTranscript,
    PartialTranscript,
    Reconnected,
    SessionClosed,
    SessionOpened,
    Turn,
)
from tests.realtime.helpers import (
    v2_begins,
    v2_transcript,
    v3_begin,
    v3_turn,
)

MS = 32  # bytes per millisecond of 16 kHz 16-bit PCM


def pcm(ms: int, value: int = 1) -> bytes:
    return value.to_bytes(2, "little", signed=True) * (16 * ms)


class Sim:
    """Drives one session the way a shell does, with a fake clock."""

    def __init__(
        self, protocol: str = "v3", *, settings: dict[str, Any] | None = None, **options: Any
    ):
        self.now = 100.0
        base = {
            "endpoints": ("http://a.test",),
            "api_key": "secret-key",
            "backoff_initial": 0.5,
            "backoff_max": 4.0,
            "keepalive_interval": None,
        }
        base.update(settings or {})
        self.session = RealtimeSession(
            RealtimeOptions(protocol=protocol, **options),  # type: ignore[arg-type]
            ConnectionSettings(**base),  # type: ignore[arg-type]
            rng=lambda: 0.0,
        )
        self.protocol = protocol
        self.events: list[Any] = []
        self.sent: list[bytes | str] = []

    def drain(self) -> None:
        self.sent += self.session.data_to_send()
        self.events += self.session.events_received()

    def step(self) -> Any:
        step = self.session.next_step(self.now)
        self.drain()
        return step

    def open(self, session_id: str = "s-1") -> None:
        step = self.step()
        assert isinstance(step, Connect), step
        self.session.connected(self.now)
        begin = v3_begin(session_id) if self.protocol == "v3" else v2_begins(session_id)
        self.session.receive(begin, self.now)
        self.drain()

    def receive(self, text: str) -> None:
        self.session.receive(text, self.now)
        self.drain()

    def audio(self, data: bytes) -> None:
        self.session.send_audio(data, self.now)
        self.drain()

    def audio_sent(self) -> bytes:
        return b"".join(m for m in self.sent if isinstance(m, bytes))

    def json_sent(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in self.sent if isinstance(m, str)]

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def drop(self, code: int | None = None) -> None:
        self.session.connection_closed(self.now, code, "")
        self.drain()

    def reconnect(self, session_id: str) -> None:
        step = self.step()
        while isinstance(step, Sleep):
            self.now += step.seconds
            step = self.step()
        assert isinstance(step, Connect), step
        self.sent.clear()
        self.session.connected(self.now)
        self.receive(v3_begin(session_id) if self.protocol == "v3" else v2_begins(session_id))


# ---- lifecycle --------------------------------------------------------------------------------


def test_lifecycle_open_stream_close() -> None:
    sim = Sim("v3")
    assert sim.session.state is SessionState.IDLE
    step = sim.step()
    assert isinstance(step, Connect)
    assert sim.session.state is SessionState.CONNECTING
    sim.session.connected(sim.now)
    assert sim.session.state is SessionState.AWAITING_BEGIN
    assert not sim.session.is_open
    sim.receive(v3_begin("abc"))
    assert sim.session.state is SessionState.OPEN
    assert sim.session.is_open
    [opened] = sim.of(SessionOpened)
    assert opened.session_id == "abc"
    assert opened.expires_at is not None
    assert isinstance(sim.step(), Receive)

    sim.audio(pcm(250))
    assert len(sim.audio_sent()) == 200 * MS  # two 100 ms chunks; 50 ms wait for more
    sim.session.request_close(sim.now)
    sim.drain()
    assert sim.session.state is SessionState.TERMINATING
    assert len(sim.audio_sent()) == 250 * MS  # the rest went before Terminate
    assert sim.json_sent()[-1] == {"type": "Terminate"}
    sim.receive(json.dumps({"type": "Termination", "audio_duration_seconds": 1}))
    assert sim.session.state is SessionState.CLOSED
    [closed] = sim.of(SessionClosed)
    assert closed.code == 1000
    assert closed.audio_duration_seconds == 1
    assert isinstance(sim.step(), Disconnect)
    sim.session.disconnected(sim.now)
    assert isinstance(sim.step(), Finished)
    assert not sim.of(ErrorEvent)


def test_remainder_is_flushed_after_one_chunk_of_idle_time() -> None:
    sim = Sim("v3", chunk_ms=100)
    sim.open()
    sim.audio(pcm(130))
    assert len(sim.audio_sent()) == 100 * MS
    sim.now += 0.05
    sim.step()
    assert len(sim.audio_sent()) == 100 * MS
    sim.now += 0.06
    sim.step()
    assert len(sim.audio_sent()) == 150 * MS  # 30 ms padded with silence to the 50 ms minimum
    assert sim.session.usage.audio_seconds_padded == pytest.approx(0.02)


def test_malformed_messages_are_typed_errors_and_the_session_goes_on() -> None:
    sim = Sim("v3")
    sim.open()
    sim.receive("not json")
    sim.receive('["a list"]')
    sim.receive('{"type": "Turn", "turn_order": "not a number"}')
    sim.receive("[" * 100_000 + "]" * 100_000)  # RecursionError in the JSON parser
    sim.receive('{"type": "Turn", "turn_order": 1' + "0" * 5000 + "}")  # int digit limit
    sim.session.receive(b"\x00\x01", sim.now)
    assert sim.session.state is SessionState.OPEN
    assert len(sim.of(SessionOpened)) == 1
    errors = sim.of(ErrorEvent)
    assert len(errors) == 5
    assert all(type(e.error) is RealtimeError and not e.fatal for e in errors)
    assert all("cannot read" in str(e.error) for e in errors)
    assert isinstance(errors[3].error.__cause__, RecursionError)
    sim.receive(v3_turn(0, [("w", 0, 100)], end_of_turn=True))
    assert [f.text for f in sim.of(FinalTranscript)] == ["W."]  # and it still works


def test_server_error_message_is_reported_and_named_in_the_close() -> None:
    sim = Sim("v2")
    sim.open()
    sim.receive('{"error": "Client sent audio too fast"}')
    [event] = sim.of(ErrorEvent)
    assert not event.fatal
    assert "too fast" in str(event.error)
    sim.drop(4029)
    fatal = next(e for e in sim.of(ErrorEvent) if e.fatal)
    assert "4029" in str(fatal.error)
    assert "too fast" in str(fatal.error)


# ---- close codes ----------------------------------------------------------------------------------

CASES = [
    ("v3", 1008, False, "unauthorized"),
    ("v3", 3005, True, "server error"),
    ("v3", 3006, False, "invalid message"),
    ("v3", 3007, False, "50-1000 ms"),
    ("v3", 3008, True, "expired"),
    ("v3", 3009, False, "too many concurrent"),
    ("v3", None, True, "without a close frame"),
    ("v3", 1006, True, "without a close frame"),
    ("v3", 1011, True, "internal server error"),
    ("v3", 1012, True, "service restart"),
    ("v3", 1013, True, "try again later"),
    ("v3", 1001, True, "going away"),
    ("v3", 1000, True, "closed"),
    ("v3", 1002, False, "protocol error"),
    ("v3", 3999, False, "application-defined"),
    ("v2", 4000, False, "sample rate"),
    ("v2", 4001, False, "not authorized"),
    ("v2", 4002, False, "insufficient funds"),
    ("v2", 4008, True, "session expired"),
    ("v2", 4029, False, "too fast"),
    ("v2", 4031, False, "idle"),
    ("v2", 4103, False, "reconnected"),
    ("v2", 4104, False, "word boost"),
    ("v2", 1013, True, "try again later"),
    ("v2", 4999, False, "application-defined"),
]


@pytest.mark.parametrize(("protocol", "code", "retryable", "words"), CASES)
def test_close_code_decides_reconnect_or_fail(
    protocol: str, code: int | None, retryable: bool, words: str
) -> None:
    sim = Sim(protocol)
    sim.open()
    sim.drop(code)
    if retryable:
        assert sim.session.state is SessionState.WAITING_TO_RECONNECT
        assert not sim.of(ErrorEvent)
        assert isinstance(sim.step(), Sleep)
    else:
        assert sim.session.state is SessionState.FAILED
        [event] = sim.of(ErrorEvent)
        assert event.fatal
        assert event.error.code == code
        assert not event.error.retryable
        assert words in str(event.error).lower()
        [closed] = sim.of(SessionClosed)
        assert closed.error is event.error
        with pytest.raises(RealtimeError, match="failed"):
            sim.session.send_audio(pcm(100), sim.now)


@pytest.mark.parametrize("code", [1002, 1007, 1009])
def test_a_close_the_client_makes_for_a_bad_server_frame_reconnects_as_the_classifier_says(
    code: int,
) -> None:
    # The same codes *received* from a server are fatal; sent by the client because of the
    # server's frames, the classifier calls them worth a new connection.
    assert not close_code_retryable(code)
    assert client_close_retryable()
    sim = Sim("v3")
    sim.open()
    sim.session.connection_closed(sim.now, code, "bad frame", by_client=True)
    sim.drain()
    [event] = sim.of(ErrorEvent)
    assert not event.fatal
    assert event.error.code == code
    assert event.error.retryable
    assert sim.session.state is SessionState.WAITING_TO_RECONNECT
    sim.reconnect("s-2")
    assert sim.of(Reconnected)


def test_a_connect_failure_without_a_status_is_retried_as_the_classifier_says() -> None:
    assert connect_failure_retryable()
    sim = Sim("v3", settings={"max_retries": 1})
    assert isinstance(sim.step(), Connect)
    sim.session.connect_failed(sim.now, detail="connection refused")
    step = sim.step()
    assert isinstance(step, Sleep)
    while isinstance(step, Sleep):
        sim.now += step.seconds
        step = sim.step()
    assert isinstance(step, Connect)
    sim.session.connect_failed(sim.now, detail="connection refused", timed_out=True)
    sim.step()
    assert sim.session.state is SessionState.FAILED


def test_fatal_close_before_begin_fails_connect_without_events() -> None:
    sim = Sim("v2")
    assert isinstance(sim.step(), Connect)
    sim.session.connected(sim.now)
    sim.drop(4001)
    assert sim.session.state is SessionState.FAILED
    error = sim.session.error
    assert isinstance(error, RealtimeConnectionError)
    assert error.code == 4001
    assert "not authorized" in str(error).lower()
    assert "API key" in str(error)
    assert sim.events == []


def test_handshake_401_is_fatal_and_429_is_retried() -> None:
    sim = Sim("v3")
    sim.step()
    sim.session.connect_failed(sim.now, detail="HTTP 429", status=429)
    assert sim.session.state is SessionState.WAITING_TO_RECONNECT
    sim.now += 10
    sim.step()
    sim.session.connect_failed(sim.now, detail="x", status=401)
    assert sim.session.state is SessionState.FAILED
    assert isinstance(sim.session.error, RealtimeConnectionError)
    assert not sim.session.error.retryable
    assert "credentials" in str(sim.session.error)
    attempts = sim.session.connection_info.attempts
    assert [a.outcome for a in attempts] == ["failed", "failed"]


# ---- backoff and failover ----------------------------------------------------------------------


def test_backoff_doubles_to_the_cap_minus_jitter() -> None:
    def delays(r: float) -> list[float]:
        return [
            backoff_delay(n, initial=0.5, maximum=8.0, jitter=0.25, rng=lambda: r)
            for n in range(1, 8)
        ]

    assert delays(0.0) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert delays(0.999999) == pytest.approx([d * 0.75 for d in delays(0.0)], rel=1e-5)


def test_retries_back_off_fail_over_and_give_up() -> None:
    sim = Sim(
        "v3",
        settings={"endpoints": ("http://a.test", "https://b.test:8443/x"), "max_retries": 3},
    )
    urls, waits = [], []
    for _ in range(4):
        step = sim.step()
        while isinstance(step, Sleep):
            waits.append(step.seconds)
            sim.now += step.seconds
            step = sim.step()
        assert isinstance(step, Connect)
        urls.append(step.url.split("?")[0])
        sim.session.connect_failed(sim.now, detail="ConnectionRefusedError")
    assert urls == ["ws://a.test/v3/ws", "wss://b.test:8443/x/v3/ws"] * 2
    # 0.5, 1.0, 2.0 seconds (no jitter with rng=0), in wake-interval slices
    assert sum(waits) == pytest.approx(3.5)
    assert sim.session.state is SessionState.FAILED
    error = sim.session.error
    assert isinstance(error, RealtimeConnectionError)
    assert error.retryable
    assert "4 attempt" in str(error)
    assert [a.url.split("?")[0] for a in sim.session.connection_info.attempts][:2] == [
        "ws://a.test/v3/ws",
        "wss://b.test:8443/x/v3/ws",
    ]


def test_no_begin_within_connect_timeout_is_a_failed_attempt() -> None:
    sim = Sim("v3", settings={"connect_timeout": 2.0, "max_retries": 0})
    sim.step()
    sim.session.connected(sim.now)
    step = sim.step()
    assert isinstance(step, Receive)
    assert step.timeout <= 2.0
    sim.now += 2.0
    assert isinstance(sim.step(), Disconnect)
    sim.session.disconnected(sim.now)
    assert isinstance(sim.step(), Finished)
    assert "did not begin within 2 s" in str(sim.session.error)


def test_reconnect_counter_resets_once_a_connection_delivers() -> None:
    sim = Sim("v3", settings={"max_retries": 1})
    sim.open()
    for n in range(3):  # three drops in a row, each after a connection that did work
        sim.receive(v3_turn(n, [("w", 0, 100)], end_of_turn=False))
        sim.drop(1011)
        sim.reconnect(f"s-{n + 2}")
        assert sim.session.state is SessionState.OPEN
    assert [e.attempt for e in sim.of(Reconnected)] == [1, 1, 1]
    assert sim.session.connection_info.reconnects == 3


@pytest.mark.parametrize("code", [1000, 1006, 1011, None])
def test_connections_that_open_then_close_at_once_use_up_max_retries(code: int | None) -> None:
    """A server that begins every session and drops it at once: not an endless reconnect loop."""
    sim = Sim("v3", settings={"max_retries": 3})
    sim.open()
    sim.audio(pcm(200))
    for n in range(3):
        sim.drop(code)
        sim.reconnect(f"s-{n + 2}")
    sim.drop(code)
    assert isinstance(sim.step(), Finished)
    assert sim.session.state is SessionState.FAILED
    error = sim.session.error
    assert isinstance(error, RealtimeError)
    assert error.code == (1006 if code is None else code)
    assert "4 attempts in a row" in str(error)
    assert "max_retries=3" in str(error)


NOT_WORK = {
    "error": json.dumps({"type": "Error", "error": "internal failure", "error_code": 3005}),
    "heartbeat": json.dumps({"type": "Heartbeat", "total_audio_received_ms": 5}),
    "warning": json.dumps({"type": "Warning", "warning": "slow down", "warning_code": 1}),
    "unknown": json.dumps({"type": "BrandNew"}),
}


@pytest.mark.parametrize("message", sorted(NOT_WORK))
def test_messages_that_are_not_transcripts_do_not_reset_the_retry_count(message: str) -> None:
    """A server that begins, sends an error (or a heartbeat) and drops, on every connection."""
    sim = Sim("v3", settings={"max_retries": 2})
    sim.open()
    connections = 1
    while True:
        sim.receive(NOT_WORK[message])
        sim.drop(1011)
        step = sim.step()
        while isinstance(step, Sleep):
            sim.now += step.seconds
            step = sim.step()
        if not isinstance(step, Connect):
            break
        assert connections < 10, "reconnects forever"
        connections += 1
        sim.session.connected(sim.now)
        sim.receive(v3_begin(f"s-{connections}"))
    assert isinstance(step, Finished)
    assert connections == 3  # the first connection and max_retries=2 retries
    assert sim.session.state is SessionState.FAILED
    error = sim.session.error
    assert isinstance(error, RealtimeError)
    assert error.code == 1011
    assert "max_retries=2" in str(error)


def test_a_long_quiet_connection_counts_as_working() -> None:
    sim = Sim("v3", settings={"max_retries": 1})
    sim.open()
    for n in range(3):
        sim.now += 31.0  # open longer than STABLE_CONNECTION_SECONDS, no message (silence)
        sim.drop(1011)
        sim.reconnect(f"s-{n + 2}")
    assert sim.session.state is SessionState.OPEN


# ---- replay, timestamps, exactly-once finals ------------------------------------------------------


def test_replay_starts_at_the_last_final_and_shifts_timestamps() -> None:
    sim = Sim("v2")
    sim.open("first")
    audio = b"".join(pcm(100, value=i + 1) for i in range(10))  # 1 s, each 100 ms recognisable
    sim.audio(audio)
    sim.receive(v2_transcript("FinalTranscript", [("a", 100, 350)], 0, 400))
    [first] = sim.of(FinalTranscript)
    assert (first.audio_start, first.audio_end, first.words[0].start) == (0, 400, 100)
    sim.drop(None)
    sim.reconnect("second")
    [event] = sim.of(Reconnected)
    assert (event.offset_ms, event.replayed_ms, event.lost_ms) == (400, 600, 0)
    assert (event.previous_session_id, event.session_id, event.code) == ("first", "second", None)
    # Exactly the audio after the final was sent again, in order.
    assert sim.audio_sent() == audio[400 * MS :]
    sim.receive(v2_transcript("FinalTranscript", [("b", 100, 300)], 0, 400))
    second = sim.of(FinalTranscript)[1]
    assert (second.audio_start, second.audio_end) == (400, 800)
    assert (second.words[0].start, second.words[0].end) == (500, 700)
    assert second.session_id == "second"
    usage = sim.session.usage
    assert usage.audio_seconds_sent == pytest.approx(1.0)
    assert usage.audio_seconds_replayed == pytest.approx(0.6)
    assert usage.connections == 2


def test_audio_streamed_while_disconnected_is_sent_after_the_replay() -> None:
    sim = Sim("v3")
    sim.open()
    sim.audio(pcm(300, value=1))
    sim.drop(1012)
    sim.audio(pcm(200, value=2))  # accepted while reconnecting
    sim.reconnect("s-2")
    assert sim.audio_sent() == pcm(300, value=1) + pcm(200, value=2)


def test_duplicate_finals_from_a_replay_are_not_delivered_twice() -> None:
    sim = Sim("v2")
    sim.open()
    sim.audio(pcm(600))
    # The server's final claims audio up to 700 ms although only 600 ms were sent (it rounds
    # up): the replay can only start at 600 ms, so the new connection hears 600-700 ms again.
    sim.receive(v2_transcript("FinalTranscript", [("one", 0, 200), ("two", 300, 690)], 0, 700))
    sim.drop(1011)
    sim.reconnect("s-2")
    [event] = sim.of(Reconnected)
    assert event.offset_ms == 600
    # The tail of "two" again (600-680 ms on the timeline): a duplicate, dropped entirely.
    sim.receive(v2_transcript("FinalTranscript", [("wo", 0, 80)], 0, 90))
    # A final that starts with the duplicate tail: only the new word is delivered.
    sim.receive(v2_transcript("FinalTranscript", [("wo", 0, 80), ("three", 150, 300)], 0, 350))
    finals = sim.of(FinalTranscript)
    assert [f.text for f in finals] == ["one two", "three"]
    starts = [w.start for f in finals for w in f.words]
    assert starts == sorted(starts) == [0, 300, 750]
    assert finals[1].audio_start >= finals[0].audio_end


def test_replay_buffer_overflow_is_reported_as_lost_audio() -> None:
    sim = Sim("v3", settings={"replay_buffer_ms": 2000})
    sim.open()
    sim.audio(pcm(500))
    sim.drop(None)
    sim.audio(pcm(3000))  # 3.5 s unconfirmed, 2 s kept
    sim.reconnect("s-2")
    [reconnected] = sim.of(Reconnected)
    assert reconnected.lost_ms == 1500
    assert reconnected.offset_ms == 1500
    [lost] = sim.of(ErrorEvent)
    assert isinstance(lost.error, RealtimeAudioLostError)
    assert not lost.fatal
    assert (lost.error.lost_ms, lost.error.start_ms) == (1500, 0)
    assert len(sim.audio_sent()) == 2000 * MS


def test_format_turns_pair_gives_one_final_with_the_formatted_text() -> None:
    sim = Sim("v3", format_turns=True)
    sim.open()
    words = [("hi", 100, 200), ("there", 250, 400)]
    sim.receive(v3_turn(0, words[:1], end_of_turn=False, formatted=False))
    sim.receive(v3_turn(0, words, end_of_turn=True, formatted=False))
    assert sim.of(FinalTranscript) == []  # held: a formatted copy may follow
    sim.receive(v3_turn(0, words, end_of_turn=True, formatted=True))
    sim.receive(v3_turn(0, words, end_of_turn=True, formatted=True))  # repeated: ignored
    [final] = sim.of(FinalTranscript)
    assert final.text == "Hi there."
    assert final.text_formatted
    assert final.turn_order == 0
    assert len(sim.of(Turn)) == 4  # on_turn mirrors every Turn message
    assert [p.text for p in sim.of(PartialTranscript)] == ["hi"]


def test_held_unformatted_final_is_released_by_the_next_turn_or_a_drop() -> None:
    sim = Sim("v3", format_turns=True)
    sim.open()
    sim.receive(v3_turn(0, [("a", 0, 100)], end_of_turn=True, formatted=False))
    sim.receive(v3_turn(1, [("b", 200, 300)], end_of_turn=False, formatted=False))
    assert [f.text for f in sim.of(FinalTranscript)] == ["a"]
    kinds = [type(e).__name__ for e in sim.events if not isinstance(e, Turn)]
    assert kinds == ["SessionOpened", "FinalTranscript", "PartialTranscript"]
    sim.receive(v3_turn(1, [("b", 200, 300)], end_of_turn=True, formatted=False))
    sim.drop(1011)
    assert [f.text for f in sim.of(FinalTranscript)] == ["a", "b"]


def test_turn_order_keeps_counting_across_reconnects() -> None:
    sim = Sim("v3")
    sim.open()
    sim.audio(pcm(1000))
    sim.receive(v3_turn(0, [("a", 100, 200)], end_of_turn=True))
    sim.receive(v3_turn(1, [("b", 300, 400)], end_of_turn=True))
    sim.receive(v3_turn(2, [("c", 500, 600)], end_of_turn=False))  # interrupted turn
    sim.drop(3005)
    sim.reconnect("s-2")  # replays from 400 ms
    sim.receive(v3_turn(0, [("c", 100, 200)], end_of_turn=True))
    finals = sim.of(FinalTranscript)
    assert [(f.turn_order, f.text, f.audio_start) for f in finals] == [
        (0, "A.", 100),
        (1, "B.", 300),
        (2, "C.", 500),
    ]


def test_v3_speech_started_is_moved_to_the_session_timeline() -> None:
    sim = Sim("v3")
    sim.open()
    sim.audio(pcm(500))
    sim.receive(v3_turn(0, [("a", 100, 300)], end_of_turn=True))
    sim.drop(1011)
    sim.reconnect("s-2")
    sim.receive('{"type": "SpeechStarted", "timestamp": 40, "confidence": 0.9}')
    assert sim.events[-1].timestamp == 340


def test_partials_can_be_switched_off_on_v3() -> None:
    sim = Sim("v3", disable_partial_transcripts=True)
    sim.open()
    sim.receive(v3_turn(0, [("a", 0, 100)], end_of_turn=False))
    sim.receive(v3_turn(0, [("a", 0, 100)], end_of_turn=True))
    assert sim.of(PartialTranscript) == []
    assert len(sim.of(FinalTranscript)) == 1


# ---- keepalive, update_options, close ------------------------------------------------------------


def test_keepalive_is_sent_only_after_the_interval_without_sending() -> None:
    sim = Sim("v3", settings={"keepalive_interval": 5.0})
    sim.open()
    sim.now += 4.9
    step = sim.step()
    assert isinstance(step, Receive)
    assert step.timeout == pytest.approx(0.1)
    assert sim.json_sent() == []
    sim.now += 0.1
    sim.step()
    assert sim.json_sent() == [{"type": "KeepAlive"}]
    sim.now += 1.0
    sim.audio(pcm(100))  # sending audio counts as activity
    sim.now += 4.9
    sim.step()
    assert len(sim.json_sent()) == 1
    sim.now += 0.2
    sim.step()
    assert len(sim.json_sent()) == 2


def test_v2_keepalive_is_100_ms_of_silence() -> None:
    sim = Sim("v2", settings={"keepalive_interval": 5.0})
    sim.open()
    sim.now += 5.0
    sim.step()
    assert sim.audio_sent() == b"\x00" * (100 * MS)
    assert sim.session.usage.audio_seconds_padded == pytest.approx(0.1)


def test_update_options_sends_what_can_change_and_reconnects_for_the_rest() -> None:
    sim = Sim("v3", min_turn_silence=400)
    sim.open()
    sim.session.update_options(sim.now, end_of_turn_confidence_threshold=0.7, max_turn_silence=900)
    sim.drain()
    assert sim.json_sent() == [
        {
            "type": "UpdateConfiguration",
            "end_of_turn_confidence_threshold": 0.7,
            "max_turn_silence": 900,
        }
    ]
    assert sim.session.state is SessionState.OPEN
    sim.session.update_options(sim.now, chunk_ms=200)  # local: nothing sent
    sim.drain()
    assert len(sim.json_sent()) == 1

    sim.audio(pcm(400))
    sim.session.update_options(sim.now, speaker_labels=True)
    sim.drain()
    assert sim.json_sent()[-1] == {"type": "Terminate"}
    assert sim.session.state is SessionState.TERMINATING
    sim.audio(pcm(200, value=7))  # streamed while switching: kept for the new connection
    sim.receive(json.dumps({"type": "Termination"}))
    assert isinstance(sim.step(), Disconnect)
    sim.session.disconnected(sim.now)
    step = sim.step()
    assert isinstance(step, Connect)
    assert "speaker_labels=true" in step.url
    assert "max_turn_silence=900" in step.url
    sim.sent.clear()
    sim.session.connected(sim.now)
    sim.receive(v3_begin("s-2"))
    [event] = sim.of(Reconnected)
    assert event.reason == "options changed"
    assert event.offset_ms == 400
    assert sim.audio_sent() == pcm(200, value=7)
    assert not sim.of(SessionClosed)

    with pytest.raises(InvalidInputError, match="sample_rate"):
        sim.session.update_options(sim.now, sample_rate=8000)
    with pytest.raises(InvalidInputError, match="v2 option"):
        sim.session.update_options(sim.now, word_boost=["x"])
    with pytest.raises(InvalidInputError, match="unknown option 'colour'"):
        sim.session.update_options(sim.now, colour="blue")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=repr)
def test_update_options_refuses_numbers_json_cannot_carry(bad: float) -> None:
    sim = Sim("v3")
    sim.open()
    with pytest.raises(InvalidInputError, match="end_of_turn_confidence_threshold must be a fin"):
        sim.session.update_options(sim.now, end_of_turn_confidence_threshold=bad)
    sim.drain()
    assert sim.json_sent() == []  # nothing half-sent
    assert sim.session.options.end_of_turn_confidence_threshold is None
    sim.session.update_options(sim.now, end_of_turn_confidence_threshold=0.5)
    sim.drain()
    assert sim.json_sent() == [
        {"type": "UpdateConfiguration", "end_of_turn_confidence_threshold": 0.5}
    ]


def test_v2_threshold_is_sent_live_and_after_every_begin() -> None:
    sim = Sim("v2", end_utterance_silence_threshold=300)
    sim.open()
    assert sim.json_sent() == [{"end_utterance_silence_threshold": 300}]
    sim.session.update_options(sim.now, end_utterance_silence_threshold=500)
    sim.drain()
    assert sim.json_sent()[-1] == {"end_utterance_silence_threshold": 500}
    sim.drop(1011)
    sim.reconnect("s-2")
    assert sim.json_sent() == [{"end_utterance_silence_threshold": 500}]


def test_close_without_an_answer_gives_up_at_the_deadline_and_reports_it() -> None:
    sim = Sim("v3", settings={"terminate_timeout": 3.0})
    sim.open()
    sim.audio(pcm(300))
    sim.session.request_close(sim.now)
    sim.drain()
    for _ in range(20):
        step = sim.step()
        if not isinstance(step, Receive):
            break
        sim.now += step.timeout
    assert isinstance(step, Disconnect)
    assert sim.now == pytest.approx(103.0)
    [lost] = sim.of(ErrorEvent)
    assert isinstance(lost.error, RealtimeAudioLostError)
    assert lost.error.lost_ms == 300
    assert sim.of(SessionClosed)[0].reason.startswith("timed out")


def test_close_while_reconnecting_finishes_the_session_on_the_new_connection() -> None:
    sim = Sim("v2")
    sim.open()
    sim.audio(pcm(300))
    sim.drop(None)
    sim.session.request_close(sim.now)
    sim.reconnect("s-2")
    assert sim.audio_sent() == pcm(300)
    assert sim.json_sent()[-1] == {"terminate_session": True}
    sim.receive(v2_transcript("FinalTranscript", [("x", 0, 100)], 0, 300))
    sim.receive('{"message_type": "SessionTerminated"}')
    assert sim.session.state is SessionState.CLOSED
    assert not sim.of(ErrorEvent)


def test_force_endpoint_flushes_audio_first() -> None:
    sim = Sim("v2")
    sim.open()
    sim.audio(pcm(150))
    sim.session.force_endpoint(sim.now)
    sim.drain()
    # The 50 ms left is padded with silence to v2's 100 ms minimum chunk.
    assert sim.audio_sent() == pcm(150) + b"\x00" * (50 * MS)
    assert sim.sent[-1] == '{"force_end_utterance":true}'


# ---- token fetching as a step of the session ------------------------------------------------------


def token_sim(**settings: Any) -> Sim:
    return Sim("v3", settings={"token_provider": True, "api_key": None, **settings})


def sleep_through(sim: Sim) -> tuple[float, Any]:
    """Follow Sleep steps; return the seconds slept and the next other step."""
    slept, step = 0.0, sim.step()
    while isinstance(step, Sleep):
        slept += step.seconds
        sim.now += step.seconds
        step = sim.step()
    return slept, step


def test_each_attempt_fetches_a_fresh_token_first() -> None:
    from speechkit._core.realtime import FetchToken

    sim = token_sim()
    step = sim.step()
    assert isinstance(step, FetchToken)
    assert sim.session.state is SessionState.FETCHING_TOKEN
    with pytest.raises(RuntimeError, match="token_fetched"):
        sim.session.next_step(sim.now)
    sim.session.token_fetched(sim.now, " tok-1 ")
    connect = sim.step()
    assert isinstance(connect, Connect)
    assert ("token", "tok-1") in urllib.parse.parse_qsl(urllib.parse.urlsplit(connect.url).query)
    assert "Authorization" not in connect.headers
    assert "tok-1" not in connect.display_url
    sim.session.connect_failed(sim.now, detail="refused")
    slept, step = sleep_through(sim)
    assert slept > 0  # backoff, then a new token for the new attempt
    assert isinstance(step, FetchToken)


def test_retryable_token_errors_back_off_and_others_are_fatal() -> None:
    from speechkit._core.realtime import FetchToken
    from speechkit.errors import AuthenticationError, ConnectError, RateLimitError

    sim = token_sim(max_retries=5)
    delays = []
    step = sim.step()
    for error in (ConnectError("down"), RateLimitError("slow down", status_code=429)):
        assert isinstance(step, FetchToken)
        sim.session.token_failed(sim.now, error)
        slept, step = sleep_through(sim)
        delays.append(slept)
    assert delays == [0.5, 1.0]  # the shared backoff: 0.5 s doubling (rng fixed at 0)
    assert isinstance(step, FetchToken)
    refused = AuthenticationError("bad key", status_code=401)
    sim.session.token_failed(sim.now, refused)
    assert isinstance(sim.step(), Finished)
    error = sim.session.error
    assert isinstance(error, RealtimeConnectionError)
    assert error.code == 401
    assert error.__cause__ is refused
    assert [a.outcome for a in sim.session.connection_info.attempts] == ["failed"] * 3


def test_handshake_status_is_the_error_code_when_retries_run_out() -> None:
    sim = Sim("v3", settings={"max_retries": 1})
    for _ in range(2):
        step = sim.step()
        while isinstance(step, Sleep):
            sim.now += step.seconds
            step = sim.step()
        assert isinstance(step, Connect)
        sim.session.connect_failed(sim.now, detail="HTTP 429", status=429)
    assert isinstance(sim.step(), Finished)
    error = sim.session.error
    assert isinstance(error, RealtimeConnectionError)
    assert (error.code, error.retryable) == (429, True)


def test_the_realtime_and_batch_backoff_are_one_function() -> None:
    from speechkit._core import retry

    assert backoff_delay is retry.backoff_delay
    policy = retry.RetryPolicy(initial_delay=0.5, max_delay=8.0)
    assert [policy.backoff(n, lambda: 0.0) for n in (1, 2, 5, 6)] == [0.5, 1.0, 8.0, 8.0]
    assert policy.backoff(1, lambda: 1.0) == pytest.approx(0.375)


# ---- messages that are not transcripts -------------------------------------------------------------


def test_a_message_that_only_mentions_turn_is_not_a_turn() -> None:
    """Every field of a Turn has a default: a type-less message must not become an empty turn."""
    from speechkit.models.realtime import ServerMessage

    sim = Sim("v3", settings={"max_retries": 0})
    sim.open()
    sim.receive(json.dumps({"error": "Turn"}))
    sim.receive(json.dumps({"status": "Turn", "turn_order": 3}))
    sim.receive(json.dumps({"type": "Novel", "about": "Turn"}))
    assert sim.of(Turn) == []
    assert sim.of(PartialTranscript) == []
    [error] = sim.of(ErrorEvent)
    assert "reported an error: Turn" in str(error.error)
    assert [(m.type, m.data) for m in sim.of(ServerMessage)] == [
        ("", {"status": "Turn", "turn_order": 3}),
        ("Novel", {"type": "Novel", "about": "Turn"}),
    ]
    sim.drop(1011)  # none of them was work: with max_retries=0 the session gives up
    assert isinstance(sim.step(), Finished)
    assert sim.session.state is SessionState.FAILED


def test_todays_v3_messages_and_unknown_types_reach_the_application() -> None:
    from speechkit.models.realtime import (
        ServerMessage,
        V3Heartbeat,
        V3LLMGatewayResponse,
        V3Silence,
        V3SpeakerRevision,
    )

    sim = Sim("v3")
    sim.open()
    sim.audio(pcm(400))
    sim.receive(v3_turn(0, [("w", 0, 200)], end_of_turn=True))
    sim.drop(1011)
    sim.reconnect("s-2")  # the second connection starts at 200 ms on the session timeline
    for message in (
        {"type": "Heartbeat", "total_audio_received_ms": 200, "total_duration_ms": 300,
         "realtime_factor": 1.5, "max_speech_probability": 0.2},
        {"type": "Silence", "start_ms": 10, "end_ms": 90},
        {"type": "LLMGatewayResponse", "turn_order": 0, "transcript": "w", "data": {"a": 1}},
        {"type": "SpeakerRevision", "revisions": [
            {"turn_order": 0, "speaker_label": "B", "words": [{"text": "w", "start": 0,
             "end": 200, "confidence": 1, "word_is_final": True, "speaker": "B"}]}]},
        {"type": "Warning", "warning_code": 1, "warning": "slow down"},
        {"type": "SomethingNew", "x": [1, 2]},
    ):  # fmt: skip
        sim.receive(json.dumps(message))
    got = sim.of(ServerMessage)
    assert [m.type for m in got] == [
        "Heartbeat", "Silence", "LLMGatewayResponse", "SpeakerRevision", "Warning", "SomethingNew",
    ]  # fmt: skip
    heartbeat, silence, llm, revision, _, unknown = got
    assert isinstance(heartbeat.message, V3Heartbeat)
    assert heartbeat.message.realtime_factor == 1.5
    assert heartbeat.message.total_audio_received_ms == 200  # an amount: left as sent
    assert isinstance(silence.message, V3Silence)
    assert silence.offset_ms == 200
    # Times and turn numbers on the session timeline (the raw JSON stays as sent).
    assert (silence.message.start_ms, silence.message.end_ms) == (210, 290)
    assert silence.data["start_ms"] == 10
    assert silence.session_id == "s-2"
    assert isinstance(llm.message, V3LLMGatewayResponse)
    assert llm.message.data == {"a": 1}
    assert llm.message.turn_order == 1  # the second connection's turn 0 follows turn 0
    assert isinstance(revision.message, V3SpeakerRevision)
    [item] = revision.message.revisions
    assert item.turn_order == 1
    assert (item.words[0].start, item.words[0].end, item.words[0].speaker) == (200, 400, "B")
    assert unknown.message is None
    assert unknown.data == {"type": "SomethingNew", "x": [1, 2]}
    assert not sim.of(ErrorEvent)


def test_silence_repeated_by_a_replay_is_trimmed_to_what_is_new() -> None:
    from speechkit.models.realtime import ServerMessage, V3Silence

    sim = Sim("v3")
    sim.open()
    sim.audio(pcm(1000))
    sim.receive(json.dumps({"type": "Silence", "start_ms": 0, "end_ms": 600}))
    sim.receive(v3_turn(0, [("w", 600, 700)], end_of_turn=True))
    sim.receive(json.dumps({"type": "Silence", "start_ms": 700, "end_ms": 900}))
    sim.drop(1011)
    sim.reconnect("s-2")  # replays from 700 ms: the server hears 700-1000 ms again
    [reconnected] = sim.of(Reconnected)
    assert reconnected.offset_ms == 700
    sim.audio(pcm(1000))
    for start, end in ((0, 150), (150, 300), (300, 900)):
        sim.receive(json.dumps({"type": "Silence", "start_ms": start, "end_ms": end}))
    ranges = [
        (m.message.start_ms, m.message.end_ms)
        for m in sim.of(ServerMessage)
        if isinstance(m.message, V3Silence)
    ]
    # 700-850 ms was reported before the drop: skipped; 850-1000 ms is trimmed to 900-1000.
    assert ranges == [(0, 600), (700, 900), (900, 1000), (1000, 1600)]


def test_begin_configuration_is_typed() -> None:
    from speechkit.models.realtime import V3Begin

    begin = V3Begin.from_json_data(
        {"type": "Begin", "id": "s", "expires_at": 1,
         "configuration": {"model": "u3-rt-pro", "mode": "balanced", "api_version": "x"}}
    )  # fmt: skip
    assert begin.configuration is not None
    assert (begin.configuration.model, begin.configuration.mode) == ("u3-rt-pro", "balanced")


@pytest.mark.parametrize("encoding", ["opus", "ogg_opus", "aac"])
def test_compressed_encodings_are_refused_with_the_reason(encoding: str) -> None:
    with pytest.raises(InvalidInputError, match=r"not supported by speechkit yet.*stream_file"):
        RealtimeOptions(encoding=encoding)  # type: ignore[arg-type]
