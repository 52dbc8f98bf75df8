"""Universal Streaming v3 (``/v3/ws``) on the local server, with a real websocket client."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from speechkit.server.runner import LocalServer

TURN_FIELDS = {
    "type",
    "turn_order",
    "turn_is_formatted",
    "end_of_turn",
    "transcript",
    "end_of_turn_confidence",
    "words",
}


def url(server: LocalServer, **query: Any) -> str:
    return f"{server.ws_base_url}/v3/ws?" + str(httpx.QueryParams(query))


async def drain(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    messages: list[dict[str, Any]] = []
    try:
        async for raw in ws:
            messages.append(json.loads(raw))
    except ConnectionClosed:
        pass
    return messages, ws.close_code


async def send_audio(ws: ClientConnection, audio: bytes, chunk_ms: int = 100) -> None:
    step = 16000 * chunk_ms // 1000 * 2
    for i in range(0, len(audio), step):
        await ws.send(audio[i : i + step])


async def test_session_turns_and_termination(
    server: LocalServer, pcm: Callable[..., bytes]
) -> None:
    async with connect(url(server, sample_rate=16000)) as ws:
        begin = json.loads(await ws.recv())
        assert begin["type"] == "Begin"
        uuid.UUID(begin["id"])
        assert isinstance(begin["expires_at"], int)
        assert begin["expires_at"] > time.time()
        await send_audio(ws, pcm(2.0))
        await ws.send(json.dumps({"type": "Terminate"}))
        messages, code = await drain(ws)
    assert code == 1000
    assert messages[-1]["type"] == "Termination"
    assert messages[-1]["audio_duration_seconds"] == 2
    assert isinstance(messages[-1]["session_duration_seconds"], int)
    turns = [m for m in messages if m["type"] == "Turn"]
    for turn in turns:
        assert set(turn) >= TURN_FIELDS
        assert turn["turn_order"] == 0
        assert turn["turn_is_formatted"] is False
        for word in turn["words"]:
            assert {"text", "start", "end", "confidence", "word_is_final"} <= set(word)
    partials, ends = (
        [t for t in turns if not t["end_of_turn"]],
        [t for t in turns if t["end_of_turn"]],
    )
    assert len(ends) == 1  # format_turns off: no formatted duplicate
    end = ends[0]
    assert end["transcript"] == "hello world this is a test of the local server"
    assert end["utterance"] == end["transcript"]
    assert all(w["word_is_final"] for w in end["words"])
    assert partials[0]["transcript"] == ""
    assert partials[0]["utterance"] == ""
    # Final words never change; transcript is exactly the finalized words.
    finals_seen: dict[int, str] = {}
    for turn in partials:
        final_words = [w for w in turn["words"] if w["word_is_final"]]
        assert turn["transcript"] == " ".join(w["text"] for w in final_words)
        assert not turn["words"][-1]["word_is_final"]
        for i, w in enumerate(turn["words"]):
            if i in finals_seen:
                assert w["word_is_final"]
                assert w["text"] == finals_seen[i]
            elif w["word_is_final"]:
                finals_seen[i] = w["text"]
    assert finals_seen  # some words became final before the end of the turn


async def test_format_turns_pair(server: LocalServer, pcm: Callable[..., bytes]) -> None:
    async with connect(url(server, format_turns="true")) as ws:
        await ws.recv()
        await send_audio(ws, pcm(2.0))
        await send_audio(ws, pcm(0.4))  # two words of the next turn
        await ws.send(json.dumps({"type": "ForceEndpoint"}))
        await ws.send(json.dumps({"type": "Terminate"}))
        messages, code = await drain(ws)
    assert code == 1000
    ends = [m for m in messages if m["type"] == "Turn" and m["end_of_turn"]]
    assert [(e["turn_order"], e["turn_is_formatted"]) for e in ends] == [
        (0, False),
        (0, True),
        (1, False),
        (1, True),
    ]
    assert ends[0]["transcript"] == "hello world this is a test of the local server"
    assert ends[1]["transcript"] == "Hello world this is a test of the local server."
    assert ends[1]["words"][0]["text"] == "Hello"
    assert ends[1]["words"][-1]["text"] == "server."
    assert ends[1]["utterance"] == ends[1]["transcript"]
    assert ends[3]["transcript"] == "Hello world."
    assert messages.index(ends[1]) == messages.index(ends[0]) + 1


async def test_force_endpoint_update_configuration_keepalive(
    server: LocalServer, pcm: Callable[..., bytes]
) -> None:
    async with connect(url(server, max_turn_silence=900)) as ws:
        await ws.recv()
        stream = server.engine.streams[-1]  # type: ignore[attr-defined]
        assert stream.silence_threshold == 900
        await ws.send(
            json.dumps(
                {"type": "UpdateConfiguration", "max_turn_silence": 500, "min_turn_silence": 200}
            )
        )
        await ws.send(json.dumps({"type": "KeepAlive"}))
        await send_audio(ws, pcm(0.6))
        await ws.send(json.dumps({"type": "ForceEndpoint"}))
        seen = []
        while True:
            message = json.loads(await ws.recv())
            seen.append(message)
            if message.get("end_of_turn"):
                break
        assert seen[-1]["transcript"] == "hello world this"
        assert stream.silence_threshold == 500
        await send_audio(ws, pcm(0.2))
        nxt = json.loads(await ws.recv())
        assert nxt["turn_order"] == 1
        assert nxt["end_of_turn"] is False
        await ws.send(json.dumps({"type": "Terminate"}))
        messages, code = await drain(ws)
    assert code == 1000
    assert messages[-1]["type"] == "Termination"


async def test_chunk_duration_rules(server: LocalServer, pcm: Callable[..., bytes]) -> None:
    # Over 1000 ms: 3007.
    async with connect(url(server)) as ws:
        await ws.recv()
        await ws.send(pcm(1.2))
        _, code = await drain(ws)
    assert code == 3007
    assert "Input Duration Violation" in (ws.close_reason or "")
    # A short chunk followed by more audio: 3007.
    async with connect(url(server)) as ws:
        await ws.recv()
        await ws.send(pcm(0.02))
        await ws.send(pcm(0.1))
        _, code = await drain(ws)
    assert code == 3007
    # A short final chunk before Terminate is forgiven.
    async with connect(url(server)) as ws:
        await ws.recv()
        await ws.send(pcm(0.1))
        await ws.send(pcm(0.02))
        await ws.send(json.dumps({"type": "Terminate"}))
        messages, code = await drain(ws)
    assert code == 1000
    assert messages[-1]["type"] == "Termination"


async def test_mulaw_at_8k(server: LocalServer) -> None:
    async with connect(url(server, sample_rate=8000, encoding="pcm_mulaw")) as ws:
        await ws.recv()
        for _ in range(10):
            await ws.send(b"\xff" * 800)  # 100 ms of mu-law silence
        await ws.send(json.dumps({"type": "Terminate"}))
        messages, code = await drain(ws)
    assert code == 1000
    ends = [m for m in messages if m.get("end_of_turn")]
    assert ends[0]["transcript"] == "hello world this is a"


@pytest.mark.parametrize(
    "query",
    [
        {"sample_rate": "fast"},
        {"encoding": "flac"},
        {"format_turns": "perhaps"},
        {"end_of_turn_confidence_threshold": "2"},
        {"inactivity_timeout": "2"},
        {"keyterms_prompt": "nope"},
    ],
)
async def test_bad_query_is_3006(server: LocalServer, query: dict[str, str]) -> None:
    async with connect(url(server, **query)) as ws:
        messages, code = await drain(ws)
    assert messages == []
    assert code == 3006


@pytest.mark.parametrize(
    "message",
    [
        "{oops",
        '{"type": "Dance"}',
        '"Terminate"',
        '{"type": "UpdateConfiguration", "max_turn_silence": "long"}',
    ],
)
async def test_bad_messages_are_3006(server: LocalServer, message: str) -> None:
    async with connect(url(server)) as ws:
        await ws.recv()
        await ws.send(message)
        _, code = await drain(ws)
    assert code == 3006


async def test_auth_and_tokens(keyed_server: LocalServer) -> None:
    async with connect(url(keyed_server)) as ws:
        messages, code = await drain(ws)
    assert messages == []
    assert code == 1008
    async with connect(url(keyed_server), additional_headers={"Authorization": "test-key"}) as ws:
        assert json.loads(await ws.recv())["type"] == "Begin"

    async with httpx.AsyncClient(base_url=keyed_server.base_url) as api:
        unauthorized = await api.get("/v3/token", params={"expires_in_seconds": 60})
        assert unauthorized.status_code == 401
        headers = {"Authorization": "test-key"}
        for bad in (
            {},
            {"expires_in_seconds": 0},
            {"expires_in_seconds": 601},
            {"expires_in_seconds": 60, "max_session_duration_seconds": 59},
            {"expires_in_seconds": 60, "max_session_duration_seconds": 10801},
        ):
            response = await api.get("/v3/token", params=bad, headers=headers)
            assert response.status_code == 400, bad
            assert "error" in response.json()
        issued_response = await api.get(
            "/v3/token",
            params={"expires_in_seconds": 60, "max_session_duration_seconds": 600},
            headers=headers,
        )
        header_token = await api.get(
            "/v3/token", params={"expires_in_seconds": 60}, headers=headers
        )
    issued = issued_response.json()
    assert issued["expires_in_seconds"] == 60
    token = issued["token"]
    async with connect(url(keyed_server, token=token)) as ws:
        begin = json.loads(await ws.recv())
        assert begin["expires_at"] <= time.time() + 601  # capped by the token's session limit
    async with connect(url(keyed_server, token=token)) as ws:  # single use
        _, code = await drain(ws)
    assert code == 1008
    # The official SDK sends the temporary token in the Authorization header.
    other = header_token.json()["token"]
    async with connect(url(keyed_server), additional_headers={"Authorization": other}) as ws:
        assert json.loads(await ws.recv())["type"] == "Begin"


async def test_session_expiry_is_3008(keyed_server: LocalServer) -> None:
    info = keyed_server.state.tokens.issue("v3", 60, max_session_seconds=0.3)
    async with connect(url(keyed_server, token=info.token)) as ws:
        await ws.recv()
        _, code = await drain(ws)
    assert code == 3008


async def test_engine_failures_map_to_close_codes(
    make_server: Callable[..., LocalServer],
    pcm: Callable[..., bytes],
    failing_engines: tuple[type[Any], type[Any]],
) -> None:
    no_streams, broken_streams = failing_engines
    full = make_server(engine=no_streams())
    async with connect(url(full)) as ws:
        _, code = await drain(ws)
    assert code == 3009
    async with connect(f"{full.ws_base_url}/v2/realtime/ws?sample_rate=16000") as ws:
        _, code = await drain(ws)
    assert code == 4102
    broken = make_server(engine=broken_streams())
    async with connect(url(broken)) as ws:
        await ws.recv()
        await ws.send(pcm(0.1))
        _, code = await drain(ws)
    assert code == 3005
    async with connect(f"{broken.ws_base_url}/v2/realtime/ws?sample_rate=16000") as ws:
        await ws.recv()
        await ws.send(pcm(0.1))
        messages, code = await drain(ws)
    assert code == 1011
    assert messages == [{"error": "Internal server error: the recognizer failed"}]
