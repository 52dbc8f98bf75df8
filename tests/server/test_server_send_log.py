"""``realtime_send_log``: when each realtime message was sent, for latency measurements."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from speechkit.server.runner import LocalServer


async def _get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


async def _session(server: LocalServer, path: str, audio: bytes, end: str) -> list[Any]:
    messages: list[Any] = []
    async with connect(f"{server.ws_base_url}{path}?sample_rate=16000") as ws:
        for i in range(0, len(audio), 3200):
            await ws.send(audio[i : i + 3200])
        await ws.send(json.dumps({end: True} if end == "terminate_session" else {"type": end}))
        try:
            async for raw in ws:
                messages.append((json.loads(raw), time.time()))
        except ConnectionClosed:
            pass
    return messages


async def test_v3_send_log_matches_the_messages_in_order(
    make_server: Callable[..., LocalServer], pcm: Callable[..., bytes]
) -> None:
    server = make_server(realtime_send_log=True)
    started = time.time()
    messages = await _session(server, "/v3/ws", pcm(2.0), "Terminate")
    session_id = messages[0][0]["id"]
    log = (await _get(f"{server.base_url}/_speechkit/realtime/{session_id}/sends")).json()
    assert log["session_id"] == session_id
    assert log["types"] == [m["type"] for m, _ in messages]
    assert log["types"][0] == "Begin"
    assert log["types"][-1] == "Termination"
    assert "Turn" in log["types"]
    assert log["sent_at"] == sorted(log["sent_at"])
    # Each message was stamped before the client received it (same machine, same clock).
    for stamp, (_, received) in zip(log["sent_at"], messages, strict=True):
        assert started <= stamp <= received


async def test_v2_sessions_are_logged_too(
    make_server: Callable[..., LocalServer], pcm: Callable[..., bytes]
) -> None:
    server = make_server(realtime_send_log=True)
    messages = await _session(server, "/v2/realtime/ws", pcm(2.0), "terminate_session")
    session_id = messages[0][0]["session_id"]
    log = (await _get(f"{server.base_url}/_speechkit/realtime/{session_id}/sends")).json()
    assert log["types"] == [m["message_type"] for m, _ in messages]


async def test_no_log_unless_enabled(server: LocalServer, pcm: Callable[..., bytes]) -> None:
    messages = await _session(server, "/v3/ws", pcm(0.5), "Terminate")
    response = await _get(f"{server.base_url}/_speechkit/realtime/{messages[0][0]['id']}/sends")
    assert response.status_code == 404
    assert "realtime_send_log" in response.json()["error"]
