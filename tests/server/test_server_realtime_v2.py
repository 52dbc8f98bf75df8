"""AssemblyAI realtime v2 (``/v2/realtime/ws``) on the local server, with a real websocket client."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from speechkit.server.runner import LocalServer


def url(server: LocalServer, **query: Any) -> str:
    params = {"sample_rate": 16000, **query}
    return f"{server.ws_base_url}/v2/realtime/ws?" + httpx.QueryParams(params).__str__()


async def drain(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """All messages until the server closes; and the close code."""
    messages: list[dict[str, Any]] = []
    try:
        async for raw in ws:
            messages.append(json.loads(raw))
    except ConnectionClosed:
        pass
    return messages, ws.close_code


async def stream(
    ws: ClientConnection, audio: bytes, chunk_ms: int = 100, rate: int = 16000, width: int = 2
) -> None:
    step = rate * chunk_ms // 1000 * width
    for i in range(0, len(audio), step):
        await ws.send(audio[i : i + step])


async def test_session_partials_final_and_termination(
    server: LocalServer, pcm: Callable[..., bytes]
) -> None:
    async with connect(url(server)) as ws:
        begins = json.loads(await ws.recv())
        assert begins["message_type"] == "SessionBegins"
        uuid.UUID(begins["session_id"])
        datetime.fromisoformat(begins["expires_at"])  # naive ISO, like the service
        await stream(ws, pcm(2.1))
        await ws.send(json.dumps({"terminate_session": True}))
        messages, code = await drain(ws)
    assert code == 1000
    kinds = [m["message_type"] for m in messages]
    assert kinds[-1] == "SessionTerminated"
    assert "SessionInformation" not in kinds
    partials = [m for m in messages if m["message_type"] == "PartialTranscript"]
    finals = [m for m in messages if m["message_type"] == "FinalTranscript"]
    assert [p["text"] for p in partials[:2]] == ["hello", "hello world"]
    assert len(finals) == 1
    final = finals[0]
    assert final["text"] == "Hello world this is a test of the local server."
    assert final["punctuated"] is True
    assert final["text_formatted"] is True
    assert final["words"][0] == {"start": 0, "end": 160, "confidence": 0.9, "text": "Hello"}
    assert final["audio_start"] == 0
    assert final["audio_end"] >= 2000
    assert kinds.index("FinalTranscript") > kinds.index("PartialTranscript")
    for m in partials + finals:
        datetime.fromisoformat(m["created"])
        assert {"audio_start", "audio_end", "confidence", "text", "words", "created"} <= set(m)


async def test_no_partials_and_session_information(
    server: LocalServer, pcm: Callable[..., bytes]
) -> None:
    query = {"disable_partial_transcripts": "true", "enable_extra_session_information": "true"}
    async with connect(url(server, **query)) as ws:
        await ws.recv()
        await stream(ws, pcm(1.0))
        await ws.send(json.dumps({"terminate_session": True}))
        messages, code = await drain(ws)
    assert code == 1000
    kinds = [m["message_type"] for m in messages]
    assert kinds == ["FinalTranscript", "SessionInformation", "SessionTerminated"]
    assert messages[0]["text"] == "Hello world this is a."
    assert messages[1]["audio_duration_seconds"] == pytest.approx(1.0)


async def test_force_end_utterance_and_threshold(
    server: LocalServer, pcm: Callable[..., bytes]
) -> None:
    async with connect(url(server, disable_partial_transcripts="True")) as ws:
        await ws.recv()
        await ws.send(json.dumps({"end_utterance_silence_threshold": 300}))
        await stream(ws, pcm(0.6))
        await ws.send(json.dumps({"force_end_utterance": True}))
        final = json.loads(await ws.recv())
        assert final["message_type"] == "FinalTranscript"
        assert final["text"] == "Hello world this."
        assert server.engine.streams[-1].silence_threshold == 300  # type: ignore[attr-defined]
        await ws.send(json.dumps({"terminate_session": True}))
        messages, code = await drain(ws)
    assert [m["message_type"] for m in messages] == ["SessionTerminated"]
    assert code == 1000


async def test_legacy_base64_audio_and_mulaw(
    server: LocalServer, pcm: Callable[..., bytes]
) -> None:
    # pcm_mulaw at 8 kHz: 0xFF is mu-law silence; 1 s of it reveals 5 words.
    audio = b"\xff" * 8000
    async with connect(url(server, sample_rate=8000, encoding="pcm_mulaw")) as ws:
        await ws.recv()
        for i in range(0, len(audio), 800):
            chunk = base64.b64encode(audio[i : i + 800]).decode()
            await ws.send(json.dumps({"audio_data": chunk}))
        await ws.send(json.dumps({"terminate_session": True}))
        messages, code = await drain(ws)
    assert code == 1000
    final = [m for m in messages if m["message_type"] == "FinalTranscript"][-1]
    assert final["text"] == "Hello world this is a."
    stream_ = server.engine.streams[-1]  # type: ignore[attr-defined]
    assert stream_.position_ms == pytest.approx(1000, abs=5)  # resampled to 16 kHz


def test_mulaw_decoder_matches_g711() -> None:
    from speechkit.server._streaming import mulaw_to_pcm16

    decoded = np.frombuffer(mulaw_to_pcm16(bytes([0xFF, 0x7F, 0x00, 0x80, 0xEF, 0xFE])), "<i2")
    assert decoded.tolist() == [0, 0, -32124, 32124, 132, 8]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"sample_rate": "abc"}, 4000),
        ({"sample_rate": "0"}, 4000),
        ({"encoding": "opus"}, 4101),
        ({"word_boost": "not json"}, 4104),
        ({"disable_partial_transcripts": "maybe"}, 4101),
    ],
)
async def test_bad_query_close_codes(server: LocalServer, query: dict[str, str], code: int) -> None:
    async with connect(url(server, **query)) as ws:
        messages, close_code = await drain(ws)
    assert messages == []
    assert close_code == code


async def test_missing_sample_rate(server: LocalServer) -> None:
    async with connect(f"{server.ws_base_url}/v2/realtime/ws") as ws:
        _, code = await drain(ws)
    assert code == 4000
    assert ws.close_reason == "Sample rate must be a positive integer"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", 4100),
        ('{"foo": 1}', 4101),
        ("[1, 2]", 4101),
        ('{"end_utterance_silence_threshold": 20001}', 4101),
        ('{"audio_data": "!!"}', 4101),
    ],
)
async def test_bad_messages_close(server: LocalServer, message: str, code: int) -> None:
    async with connect(url(server)) as ws:
        await ws.recv()
        await ws.send(message)
        messages, close_code = await drain(ws)
    assert close_code == code
    assert len(messages) == 1  # the spec's RealtimeError message, then the close
    assert messages[0]["error"] == ws.close_reason


async def test_auth_key_and_tokens(keyed_server: LocalServer, pcm: Callable[..., bytes]) -> None:
    async with connect(url(keyed_server)) as ws:
        _, code = await drain(ws)
    assert code == 4001
    async with connect(url(keyed_server), additional_headers={"Authorization": "wrong"}) as ws:
        _, code = await drain(ws)
    assert code == 4001
    async with connect(url(keyed_server), additional_headers={"Authorization": "test-key"}) as ws:
        assert json.loads(await ws.recv())["message_type"] == "SessionBegins"

    async with httpx.AsyncClient(base_url=keyed_server.base_url) as api:
        unauthorized = await api.post("/v2/realtime/token", json={"expires_in": 60})
        assert unauthorized.status_code == 401
        headers = {"Authorization": "test-key"}
        for bad in ({}, {"expires_in": 59}, {"expires_in": "60"}, {"expires_in": 10**9}):
            response = await api.post("/v2/realtime/token", json=bad, headers=headers)
            assert response.status_code == 400, bad
            assert "expires_in" in response.json()["error"]
        issued = await api.post("/v2/realtime/token", json={"expires_in": 480}, headers=headers)
    token = issued.json()["token"]
    for _ in range(2):  # v2 tokens can be reused until they expire
        async with connect(url(keyed_server, token=token)) as ws:
            assert json.loads(await ws.recv())["message_type"] == "SessionBegins"
    async with connect(url(keyed_server, token="f" * 64)) as ws:
        _, code = await drain(ws)
    assert code == 4001
    expired = keyed_server.state.tokens.issue("v2", -1)
    async with connect(url(keyed_server, token=expired.token)) as ws:
        _, code = await drain(ws)
    assert code == 4008


async def test_idle_and_expiry_close_codes(make_server: Callable[..., LocalServer]) -> None:
    idle = make_server(realtime_idle_timeout=0.3)
    async with connect(url(idle)) as ws:
        await ws.recv()
        messages, code = await drain(ws)
    assert code == 4031
    assert messages == [{"error": "Session idle for too long"}]
    short = make_server(realtime_max_session_seconds=0.3)
    async with connect(url(short)) as ws:
        await ws.recv()
        _, code = await drain(ws)
    assert code == 4008


async def test_stream_closed_when_client_disconnects(
    server: LocalServer, pcm: Callable[..., bytes]
) -> None:
    async with connect(url(server)) as ws:
        await ws.recv()
        await stream(ws, pcm(0.3))
    stream_ = server.engine.streams[-1]  # type: ignore[attr-defined]
    for _ in range(100):
        if stream_.closed:
            break
        import asyncio

        await asyncio.sleep(0.01)
    assert stream_.closed
