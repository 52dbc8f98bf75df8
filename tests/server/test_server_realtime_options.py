"""The local server checks realtime query parameters with the client's option tables: a bad value
closes the connection with the protocol's code and the table's problem text."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from speechkit._core.options.realtime import check_query
from speechkit._core.options.realtime_v2 import V2_OPTIONS
from speechkit._core.options.realtime_v3 import V3_OPTIONS
from speechkit.server.runner import LocalServer


async def _open(server: LocalServer, path: str, query: dict[str, Any]) -> tuple[str, int, str]:
    """The first message type (or ""), the close code and the close reason."""
    url = f"{server.ws_base_url}{path}?" + str(httpx.QueryParams(query))
    first = ""
    async with connect(url) as ws:
        try:
            first_raw = await ws.recv()
            data = json.loads(first_raw)
            first = data.get("type") or data.get("message_type") or ""
            await ws.close()
        except ConnectionClosed:
            pass
    return first, ws.close_code or 0, ws.close_reason


@pytest.mark.parametrize(
    ("param", "text"),
    [
        ("mode", "fastest"),
        ("voice_focus", "middle"),
        ("voice_focus_threshold", "2"),
        ("redact_pii_policies", '["social_security"]'),
        ("redact_pii_policies", "person_name"),
        ("speaker_labels", "maybe"),
        ("max_speakers", "11"),
        ("interruption_delay", "-5"),
        ("llm_gateway", "[1]"),
    ],
)
async def test_bad_v3_values_close_3006_with_the_tables_problem(
    server: LocalServer, param: str, text: str
) -> None:
    first, code, reason = await _open(server, "/v3/ws", {"sample_rate": 16000, param: text})
    assert (first, code) == ("", 3006)
    _, expected = check_query(V3_OPTIONS, {param: text})
    assert expected, "the table must find a problem"
    assert reason.startswith("Invalid query parameter: " + expected[0][:40])
    assert param in reason


async def test_good_v3_values_begin_a_session(server: LocalServer) -> None:
    query = {
        "sample_rate": 16000,
        "mode": "balanced",
        "voice_focus": "far-field",
        "redact_pii_policies": '["person_name"]',
        "speaker_labels": "True",  # the official SDK sends Python's spelling
        "max_speakers": 3,
        "llm_gateway": '{"model": "m", "messages": [], "max_tokens": 9}',
        "speech_model": "a-model-from-next-year",  # model names stay open, as the service adds
    }
    first, code, _ = await _open(server, "/v3/ws", query)
    assert (first, code) == ("Begin", 1000)


@pytest.mark.parametrize(
    ("param", "text"),
    [("enable_extra_session_information", "maybe"), ("disable_partial_transcripts", "2")],
)
async def test_bad_v2_values_close_4101_with_the_tables_problem(
    server: LocalServer, param: str, text: str
) -> None:
    first, code, reason = await _open(
        server, "/v2/realtime/ws", {"sample_rate": 16000, param: text}
    )
    assert (first, code) == ("", 4101)
    _, expected = check_query(V2_OPTIONS, {param: text})
    assert reason == expected[0][:120]


@pytest.mark.parametrize(
    ("change", "named"),
    [({"format_turns": "yes"}, "format_turns must be a boolean"), ({"prompt": 5}, "prompt")],
)
async def test_bad_live_update_closes_3006_with_the_tables_problem(
    server: LocalServer, change: dict[str, Any], named: str
) -> None:
    url = f"{server.ws_base_url}/v3/ws?sample_rate=16000"
    async with connect(url) as ws:
        assert json.loads(await ws.recv())["type"] == "Begin"
        await ws.send(json.dumps({"type": "UpdateConfiguration", **change}))
        try:
            async with asyncio.timeout(30):  # a guard against hanging, not a timing check
                async for _ in ws:  # until the server closes
                    pass
        except ConnectionClosed:
            pass
    assert ws.close_code == 3006
    assert ws.close_reason.startswith("Invalid Message: ")
    assert named in ws.close_reason
