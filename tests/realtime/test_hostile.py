"""Hostile and broken servers: every parse failure is a typed RealtimeError (with the close code
where there is one) and the session goes on or ends cleanly; handshake statuses are on the error;
connections that open and close at once use up max_retries; token fetching is retried."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from speechkit.errors import (
    AuthenticationError,
    ConnectError,
    RealtimeConnectionError,
    RealtimeError,
)
from speechkit.models.realtime import SessionClosed
from speechkit.realtime import AsyncRealtimeTranscriber, RealtimeTranscriber
from tests.realtime.conftest import FAST
from tests.realtime.helpers import v3_begin, word_audio
from tests.realtime.hostile import HostileServer, frame, normal

AUDIO = word_audio(2)[0]
# The server answers at once; a generous stall limit keeps a loaded machine from looking like a
# stalled server (the tests do not wait for it when all goes well).
PATIENT = {**FAST, "terminate_timeout": 15.0}


def run_sync(server: HostileServer, **options: Any) -> tuple[list[Any], list[Any]]:
    """Connect, stream, close; return (errors, closes)."""
    errors: list[Any] = []
    closes: list[Any] = []
    with RealtimeTranscriber(
        base_url=server.base_url, on_error=errors.append, on_close=closes.append,
        **{**PATIENT, **options},
    ) as transcriber:  # fmt: skip
        transcriber.stream(AUDIO)
    return errors, closes


async def run_async(server: HostileServer, **options: Any) -> tuple[list[Any], list[Any]]:
    errors: list[Any] = []
    closes: list[Any] = []
    async with AsyncRealtimeTranscriber(
        base_url=server.base_url, on_error=errors.append, on_close=closes.append,
        **{**PATIENT, **options},
    ) as session:  # fmt: skip
        await session.stream(AUDIO)
    return errors, closes


HOSTILE_MESSAGES = {
    "deep nesting": "[" * 200_000 + "]" * 200_000,
    "huge integer": '{"type": "Turn", "turn_order": 1' + "0" * 5000 + "}",
    "huge float": '{"type": "Turn", "turn_order": 0, "words": [{"start": 1e400}]}',
    "wrong shape": '{"type": "Turn", "words": "not a list"}',
    "not an object": '"just a string"',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_MESSAGES))
def test_unreadable_messages_are_typed_errors_and_the_session_goes_on(name: str) -> None:
    script = [("send", v3_begin()), ("send", HOSTILE_MESSAGES[name]), ("serve",)]
    with HostileServer([script]) as server:
        errors, closes = run_sync(server)
        assert server.connections == 1  # no reconnect was needed
    [error] = errors
    assert type(error) is RealtimeError
    assert "cannot read" in str(error)
    assert closes[0].error is None  # the session ended normally


async def test_async_deep_nesting_does_not_kill_the_reader() -> None:
    script = [("send", v3_begin()), ("send", HOSTILE_MESSAGES["deep nesting"]), ("serve",)]
    with HostileServer([script]) as server:
        errors, closes = await run_async(server)
    assert isinstance(errors[0].__cause__, RecursionError)
    assert closes[0].error is None


def test_a_begin_with_a_huge_expires_at_opens_the_session() -> None:
    begin = json.dumps({"type": "Begin", "id": "s", "expires_at": 10**30})
    with HostileServer([[("send", begin), ("serve",)]]) as server:
        opened: list[Any] = []
        errors, _ = run_sync(server, on_open=opened.append)
    assert errors == []
    assert opened[0].session_id == "s"
    assert opened[0].expires_at is None  # out of range: unknown, not a crash


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (frame(0x1, b"\xff\xfe not utf-8"), 1007),
        (frame(0x1, b"x" * 16, claimed_length=64 << 20), 1009),  # a 64 MiB frame header
    ],
    ids=["invalid-utf8", "oversize"],
)
def test_protocol_violations_carry_the_close_code_and_the_session_reconnects(
    raw: bytes, code: int
) -> None:
    bad = [("send", v3_begin("bad")), ("raw", raw), ("serve",)]
    with HostileServer([bad]) as server:
        reconnects: list[Any] = []
        errors, closes = run_sync(server, on_reconnect=reconnects.append)
        assert server.connections == 2
    [error] = errors
    assert isinstance(error, RealtimeError)
    assert error.code == code
    assert "server sent" in str(error)
    assert len(reconnects) == 1
    assert closes[0].error is None


HEARTBEAT = json.dumps({"type": "Heartbeat", "total_audio_received_ms": 5})
SERVER_ERROR = json.dumps({"type": "Error", "error": "internal failure"})


@pytest.mark.parametrize(
    ("before", "action"),
    [
        (None, ("close", 1000)),
        (None, ("close", 1011)),
        (None, ("abort",)),
        (HEARTBEAT, ("close", 1011)),  # a heartbeat or an error is not work: no fresh count
        (SERVER_ERROR, ("close", 1011)),
    ],
)
def test_a_server_that_drops_every_session_at_once_runs_out_of_retries(
    before: str | None, action: Any
) -> None:
    script = [("send", v3_begin()), *([("send", before)] if before else []), action]
    with HostileServer([script] * 20) as server:
        closes: list[SessionClosed] = []
        transcriber = RealtimeTranscriber(
            base_url=server.base_url, on_close=closes.append, **{**FAST, "max_retries": 3}
        )
        transcriber.connect()
        assert wait_for_closed(closes)
        with pytest.raises(RealtimeError, match=r"max_retries=3") as raised:
            transcriber.stream(AUDIO)
        transcriber.close()
        assert server.connections == 4  # the first connection and 3 retries, then it gave up
    assert raised.value.__cause__ is closes[0].error
    assert closes[0].error is not None


def wait_for_closed(closes: list[Any]) -> bool:
    from tests.realtime.conftest import wait_for

    return wait_for(lambda: bool(closes), 10.0)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_handshake_statuses_are_on_the_error(status: int) -> None:
    with HostileServer([[("status", status)]] * 5) as server:
        transcriber = RealtimeTranscriber(base_url=server.base_url, **{**FAST, "max_retries": 1})
        with pytest.raises(RealtimeConnectionError) as raised:
            transcriber.connect()
        assert server.handshakes == 2  # retried once: these statuses say "try again"
    assert raised.value.code == status
    assert raised.value.retryable
    assert f"HTTP {status}" in str(raised.value)


async def test_async_handshake_401_is_fatal_with_its_status() -> None:
    with HostileServer([[("status", 401)]] * 5) as server:
        session = AsyncRealtimeTranscriber(base_url=server.base_url, **FAST)
        with pytest.raises(RealtimeConnectionError) as raised:
            await session.connect()
        assert server.handshakes == 1
    assert raised.value.code == 401
    assert not raised.value.retryable


def flaky_tokens(failures: list[BaseException]) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return f"token-{len(calls)}"

    return token, calls


def test_token_fetching_is_retried_with_backoff_like_a_connection() -> None:
    token, calls = flaky_tokens([ConnectError("token endpoint down"), OSError("reset")])
    with HostileServer([]) as server:
        errors, closes = run_sync(server, token=token, api_key=None)
        assert server.handshakes == 1  # connected once, with the third token
    assert len(calls) == 3
    assert errors == []
    assert closes[0].error is None


async def test_async_token_provider_errors_that_cannot_help_are_fatal() -> None:
    refused = AuthenticationError("bad key", status_code=401)
    calls: list[int] = []

    async def token() -> str:
        calls.append(1)
        raise refused

    with HostileServer([]) as server:
        session = AsyncRealtimeTranscriber(base_url=server.base_url, token=token, **FAST)
        with pytest.raises(RealtimeConnectionError, match="token provider") as raised:
            await session.connect()
        assert server.handshakes == 0
    assert len(calls) == 1  # not retried
    assert raised.value.__cause__ is refused
    assert raised.value.code == 401


def test_a_token_provider_that_returns_nothing_is_a_clear_error() -> None:
    with HostileServer([]) as server:
        transcriber = RealtimeTranscriber(
            base_url=server.base_url, token=lambda: "", **{**FAST, "max_retries": 0}
        )
        with pytest.raises(RealtimeConnectionError, match="not a token string"):
            transcriber.connect()


def test_normal_script_sanity() -> None:
    """The harness itself: a normal server confirms everything (no loss, one connection)."""
    with HostileServer([normal()]) as server:
        errors, _ = run_sync(server)
        assert server.connections == 1
    assert errors == []
    assert any(isinstance(m, bytes) for m in server.received)


def test_unknown_message_types_reach_on_message() -> None:
    heartbeat = json.dumps({"type": "Heartbeat", "total_audio_received_ms": 5})
    novel = json.dumps({"type": "BrandNew", "value": 7})
    script = [("send", v3_begin()), ("send", heartbeat), ("send", novel), ("serve",)]
    messages: list[Any] = []
    with HostileServer([script]) as server:
        errors, _ = run_sync(server, on_message=messages.append)
    assert errors == []
    assert [m.type for m in messages] == ["Heartbeat", "BrandNew"]
    assert messages[0].message.total_audio_received_ms == 5
    assert messages[1].data == {"type": "BrandNew", "value": 7}
