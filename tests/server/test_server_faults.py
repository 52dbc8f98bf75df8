"""Fault injection: latency, error statuses, resets, websocket drops, slow jobs, inspection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from speechkit.server.faults import EndpointFault, FaultConfig, endpoint_matches, parse_error_spec
from speechkit.server.runner import LocalServer


def upload(c: httpx.Client, data: bytes) -> str:
    return str(c.post("/v2/upload", content=data).json()["upload_url"])


@pytest.fixture
def srv(make_server: Callable[..., LocalServer]) -> LocalServer:
    return make_server()


def test_latency_fixed_and_jittered(srv: LocalServer) -> None:
    with httpx.Client(base_url=srv.base_url) as c:
        srv.faults.latency = 1.0
        started = time.monotonic()
        assert c.get("/v2/transcript").status_code == 200
        assert time.monotonic() - started >= 1.0
        started = time.monotonic()
        assert c.get("/_speechkit/health").status_code == 200  # control endpoints: no latency
        assert time.monotonic() - started < 0.9  # well under the 1 s a delayed answer takes
        srv.faults.latency, srv.faults.latency_jitter = 0.0, 0.1
        srv.faults.reseed(3)
        first = [srv.faults.latency_for_request() for _ in range(5)]
        srv.faults.reseed(3)
        assert [srv.faults.latency_for_request() for _ in range(5)] == first
        assert all(0 <= d <= 0.1 for d in first)
        assert len(set(first)) == 5


def test_error_times_retry_after_and_counts(srv: LocalServer, wav: Callable[..., bytes]) -> None:
    with httpx.Client(base_url=srv.base_url) as c:
        url = upload(c, wav(0.2))
        rule = srv.faults.add_error("transcript.create", 429, times=2)
        responses = [c.post("/v2/transcript", json={"audio_url": url}) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].json() == {"error": "Too Many Requests"}
    assert responses[0].headers["retry-after"] == "1"
    assert rule.injected == 2
    assert srv.request_count("transcript.create") == 3
    assert srv.state.stats.faults_injected("transcript.create") == 2
    assert srv.jobs_created == 1
    log = [r for r in srv.requests() if r.endpoint == "transcript.create"]
    assert [r.fault for r in log] == ["error:429", "error:429", None]
    assert log[-1].status == 200


def test_error_bodies_per_family(srv: LocalServer) -> None:
    srv.faults.add_error("transcript.get", 500)
    srv.faults.add_error("transcript.list", 503, retry_after=7)
    srv.faults.add_error("aiml", 502)
    with httpx.Client(base_url=srv.base_url) as c:
        r500 = c.get("/v2/transcript/abc")
        assert r500.status_code == 500
        assert r500.json() == {"error": "Internal Server Error"}
        r503 = c.get("/v2/transcript")
        assert r503.status_code == 503
        assert r503.headers["retry-after"] == "7"
        assert r503.text == "Service Unavailable"  # the spec gives 503 no JSON body
        aiml = c.get("/v1/stt/abc")
        assert aiml.status_code == 502
        assert {"message", "path", "requestId", "statusCode", "timestamp"} <= set(aiml.json())


def test_seeded_rates_are_deterministic(make_server: Callable[..., LocalServer]) -> None:
    outcomes = []
    for _ in range(2):
        srv = make_server(faults=FaultConfig(seed=42))
        srv.faults.add_error("transcript.list", 503, rate=0.5)
        with httpx.Client(base_url=srv.base_url) as c:
            outcomes.append([c.get("/v2/transcript").status_code for _ in range(20)])
    assert outcomes[0] == outcomes[1]
    assert {200, 503} == set(outcomes[0])


def test_reset_before_processing(srv: LocalServer, wav: Callable[..., bytes]) -> None:
    with httpx.Client(base_url=srv.base_url) as c:
        url = upload(c, wav(0.2))
        srv.faults.add_reset("transcript.create", times=1)
        with pytest.raises(httpx.TransportError):
            c.post("/v2/transcript", json={"audio_url": url})
        assert srv.jobs_created == 0
        assert c.post("/v2/transcript", json={"audio_url": url}).status_code == 200
    assert srv.jobs_created == 1
    assert srv.request_count("transcript.create") == 2


def test_reset_after_processing_creates_the_job(
    srv: LocalServer, wav: Callable[..., bytes]
) -> None:
    """The case a client must never retry: the job exists although no answer arrived."""
    with httpx.Client(base_url=srv.base_url) as c:
        url = upload(c, wav(0.2))
        srv.faults.add_reset("transcript.create", times=1, after_processing=True)
        with pytest.raises(httpx.TransportError):
            c.post("/v2/transcript", json={"audio_url": url})
        assert srv.jobs_created == 1
        srv.faults.add_error("transcript.create", 500, times=1, after_processing=True)
        assert c.post("/v2/transcript", json={"audio_url": url}).status_code == 500
    assert srv.jobs_created == 2
    assert len(srv.job_ids("assemblyai")) == 2


def test_async_client_sees_reset(srv: LocalServer) -> None:
    srv.faults.add_reset("transcript.list")

    async def go() -> None:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            with pytest.raises(httpx.TransportError):
                await c.get("/v2/transcript")

    asyncio.run(go())


def test_patterns() -> None:
    assert endpoint_matches("*", "transcript.create")
    assert not endpoint_matches("*", "control.stats")
    assert endpoint_matches("transcript", "transcript.get")
    assert not endpoint_matches("transcript", "transcripts.get")
    assert endpoint_matches("lemur.summary", "lemur.summary")
    assert not endpoint_matches("lemur.summary", "lemur.task")


def test_wildcard_spares_control_endpoints(srv: LocalServer) -> None:
    srv.faults.add_error("*", 503)
    with httpx.Client(base_url=srv.base_url) as c:
        assert c.get("/v2/transcript").status_code == 503
        assert c.get("/v3/token", params={"expires_in_seconds": 60}).status_code == 503
        assert c.get("/_speechkit/stats").status_code == 200


def test_parse_error_spec() -> None:
    assert parse_error_spec("transcript.create=0.5:503") == EndpointFault(
        "transcript.create", status=503, rate=0.5
    )
    assert parse_error_spec("*=1").status == 500
    assert parse_error_spec("upload=0.2:reset").reset is True
    for bad in ("nothing", "x=2", "x=0.5:200", "x=a:500", "x=0.5:abc", "=1"):
        with pytest.raises(ValueError, match=r"."):
            parse_error_spec(bad)


def test_processing_delay_and_factor(srv: LocalServer, wav: Callable[..., bytes]) -> None:
    srv.faults.processing_time_factor = 0.5
    with httpx.Client(base_url=srv.base_url) as c:
        url = upload(c, wav(1.0))
        started = time.monotonic()
        tid = c.post("/v2/transcript", json={"audio_url": url}).json()["id"]
        while c.get(f"/v2/transcript/{tid}").json()["status"] != "completed":
            time.sleep(0.01)
        elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 2.0
    assert srv.faults.processing_delay_for(2.0) == pytest.approx(1.0)


async def _session(srv: LocalServer, pcm: bytes) -> tuple[list[dict[str, Any]], int | None, float]:
    """Stream ``pcm`` in 100 ms chunks while reading; returns messages, close code, duration."""
    started = time.monotonic()
    messages: list[dict[str, Any]] = []
    async with connect(f"{srv.ws_base_url}/v3/ws?sample_rate=16000") as ws:

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    messages.append(json.loads(raw))

        reader = asyncio.create_task(read())
        with contextlib.suppress(ConnectionClosed):
            for i in range(0, len(pcm), 3200):
                await ws.send(pcm[i : i + 3200])
                await asyncio.sleep(0.01)
            await ws.send(json.dumps({"type": "Terminate"}))
        await asyncio.wait_for(reader, 5)
        return messages, ws.close_code, time.monotonic() - started


async def test_ws_drop_after_messages_abrupt(srv: LocalServer, pcm: Callable[..., bytes]) -> None:
    srv.faults.ws_drop_after_messages = 3
    messages, code, _ = await _session(srv, pcm(2.0))
    assert len(messages) == 3  # Begin and two Turns, then nothing
    assert code == 1006  # no close frame: the TCP connection was aborted
    assert any(r.fault == "ws_drop" for r in srv.requests())


async def test_ws_drop_with_close_code(srv: LocalServer, pcm: Callable[..., bytes]) -> None:
    srv.faults.ws_drop_after_messages = 1
    srv.faults.ws_drop_close_code = 1011
    messages, code, _ = await _session(srv, pcm(1.0))
    assert [m["type"] for m in messages] == ["Begin"]
    assert code == 1011


async def test_ws_drop_after_seconds(srv: LocalServer, pcm: Callable[..., bytes]) -> None:
    srv.faults.ws_drop_after_seconds = 0.3
    async with connect(f"{srv.ws_base_url}/v2/realtime/ws?sample_rate=16000") as ws:
        started = time.monotonic()
        await ws.recv()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)  # no message comes before the drop
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0
    assert ws.close_code == 1006


async def test_ws_handshake_error_and_reset(srv: LocalServer) -> None:
    srv.faults.add_error("streaming.ws", 503, times=1)
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{srv.ws_base_url}/v3/ws"):
            pass
    assert info.value.response.status_code == 503
    assert info.value.response.headers["retry-after"] == "1"
    srv.faults.add_reset("realtime.ws", times=1)
    with pytest.raises((OSError, ConnectionClosed, Exception)):
        async with connect(f"{srv.ws_base_url}/v2/realtime/ws?sample_rate=16000") as ws:
            await ws.recv()
    async with connect(f"{srv.ws_base_url}/v3/ws") as ws:  # faults used up: works again
        assert json.loads(await ws.recv())["type"] == "Begin"


def test_control_endpoints(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server(api_key="k")
    with httpx.Client(base_url=srv.base_url) as c:
        assert c.get("/_speechkit/stats").status_code == 401
        for auth in ("k", "Bearer k"):
            assert c.get("/_speechkit/health", headers={"Authorization": auth}).json() == {
                "status": "ok",
                "engine": "script",
            }
        c.headers["Authorization"] = "k"
        url = upload(c, wav(0.2))
        tid = c.post("/v2/transcript", json={"audio_url": url}).json()["id"]
        put = c.put(
            "/_speechkit/faults",
            json={"endpoint_faults": [{"endpoint": "transcript.get", "status": 503}], "seed": 1},
        )
        assert put.status_code == 200
        assert put.json()["endpoint_faults"][0]["status"] == 503
        assert c.get(f"/v2/transcript/{tid}").status_code == 503
        stats = c.get("/_speechkit/stats").json()
        assert stats["requests"]["transcript.create"] == 1
        assert stats["faults_injected"] == {"transcript.get": 1}
        assert stats["jobs"]["created"] == {"assemblyai": 1, "aiml": 0}
        assert stats["jobs"]["ids"]["assemblyai"] == [tid]
        assert c.put("/_speechkit/faults", json={"bogus": 1}).status_code == 400
        assert c.delete("/_speechkit/faults").json()["endpoint_faults"] == []
        assert c.get(f"/v2/transcript/{tid}").status_code == 200
        cleared = c.delete("/_speechkit/stats").json()
        assert cleared["requests"] == {}
        assert cleared["jobs"]["created"]["assemblyai"] == 1


def test_faults_from_dict_and_clear(make_server: Callable[..., LocalServer]) -> None:
    srv = make_server(faults={"latency": 0.01, "ws_drop_after_messages": 2})
    assert srv.faults.latency == 0.01
    assert srv.faults.ws_drop_after_messages == 2
    srv.faults.add_error("upload", 500)
    srv.faults.clear()
    assert srv.faults.to_json()["endpoint_faults"] == []
    assert srv.faults.latency == 0
    assert srv.faults.ws_drop_after_messages is None
