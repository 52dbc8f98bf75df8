"""The parts of the realtime core on their own, without mocks: the Timeline (audio positions,
replay, losses), the ReconnectPolicy (count, failover, backoff) and Closing (the close budget)."""

from __future__ import annotations

import pytest

from speechkit._core.realtime.closing import Closing, close_budget
from speechkit._core.realtime.reconnect import ReconnectPolicy, token_error_retryable
from speechkit._core.realtime.timeline import Timeline
from speechkit._core.realtime_audio import AudioFormat, Chunker
from speechkit._core.realtime_types import ConnectionSettings
from speechkit.errors import AuthenticationError, ConnectError, ServerError

FORMAT = AudioFormat(16_000)
MS = 32


def timeline(replay_ms: int = 60_000) -> Timeline:
    return Timeline(FORMAT, Chunker(FORMAT, 100, "v3"), replay_ms)


def test_timeline_sends_in_chunks_and_replays_from_the_last_confirmed_position() -> None:
    t = timeline()
    t.append(b"\x01\x00" * 16 * 250)  # 250 ms
    chunks = t.take_chunks(flush=False)
    assert [len(c) for c in chunks] == [100 * MS, 100 * MS]
    assert t.unsent == 50 * MS
    t.confirm_ms(120)  # finals cover 120 ms of this connection's audio
    assert t.confirmed == 120 * MS
    assert t.outstanding_seconds() == pytest.approx(0.13)
    offset, lost = t.start_connection()  # a reconnect starts at the first unconfirmed byte
    assert (offset, lost) == (120 * MS, 0)
    replay = t.take_chunks(flush=True)
    assert sum(map(len, replay)) == 130 * MS
    assert t.replayed_bytes == 80 * MS  # 120..200 ms had been sent before
    assert t.lost_audio is None


def test_timeline_overflow_is_one_loss_reported_once() -> None:
    t = timeline(replay_ms=200)  # kept: at least two of the largest chunks (2 x 1000 ms for v3)
    kept_ms = t.buffer.limit_bytes // MS
    for _ in range(kept_ms // 100 + 5):
        t.append(b"\x00\x00" * 16 * 100)  # never sent (disconnected): 500 ms too many
    offset, lost = t.start_connection()
    assert lost == offset == 500 * MS
    error = t.loss(offset - lost, lost, "the replay buffer overflowed")
    assert (error.start_ms, error.lost_ms) == (0, 500)
    assert t.start_connection() == (500 * MS, 0)  # not reported twice
    t.loss(600 * MS, 100 * MS, "the session ended")
    total = t.lost_audio
    assert total is not None
    assert (total.lost_ms, total.start_ms) == (600, 0)
    assert "2 stretches" in str(total)


def test_policy_fails_over_and_backs_off_until_the_count_runs_out() -> None:
    settings = ConnectionSettings(
        endpoints=("http://a", "http://b"), max_retries=2, backoff_initial=1.0, backoff_max=3.0
    )
    policy = ReconnectPolicy(settings, rng=lambda: 0.0)
    seen = []
    outcomes = []
    for _ in range(3):
        policy.begin_attempt()
        seen.append(policy.endpoint())
        outcomes.append(policy.attempt_failed(retryable=True).delay)
    assert seen == ["http://a", "http://b", "http://a"]
    assert outcomes == [1.0, 2.0, None]
    assert policy.attempt_failed(retryable=False).give_up


def test_policy_counts_drops_of_connections_that_delivered_nothing() -> None:
    policy = ReconnectPolicy(ConnectionSettings(endpoints=("http://a",), max_retries=1), lambda: 0)
    policy.session_began(0.0)
    assert policy.dropped(1.0).delay is not None
    policy.session_began(2.0)
    assert policy.dropped(3.0).give_up  # two empty connections in a row
    policy = ReconnectPolicy(ConnectionSettings(endpoints=("http://a",), max_retries=1), lambda: 0)
    for n in range(5):
        policy.session_began(float(n))
        policy.delivered()
        assert not policy.dropped(n + 0.5).give_up  # working connections never run out


def test_token_errors_worth_retrying() -> None:
    assert token_error_retryable(ConnectError("down"))
    assert token_error_retryable(ServerError("oops", status_code=502))
    assert token_error_retryable(OSError("reset"))
    assert not token_error_retryable(AuthenticationError("no", status_code=401))
    assert not token_error_retryable(ValueError("a bug in the provider"))


def test_closing_waits_for_progress_within_the_budget() -> None:
    assert close_budget(None, terminate_timeout=5.0, outstanding_s=10.0) == 35.0
    assert close_budget(2.0, terminate_timeout=5.0, outstanding_s=10.0) == 2.0
    closing = Closing()
    closing.begin(100.0, 35.0, stall=5.0)
    assert closing.due(connected=True) == 105.0
    closing.last_progress = 120.0
    assert closing.due(connected=True) == 125.0
    assert closing.due(connected=False) == 135.0  # backoff is not the server stalling
    closing.last_progress = 133.0
    assert closing.due(connected=True) == 135.0
    assert closing.why(135.0) == "the close timeout ran out"
    assert closing.why(125.0) == "the server sent nothing for 5 s"
