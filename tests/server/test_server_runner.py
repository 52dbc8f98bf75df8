"""LocalServer lifecycle: start, stop, threads, engine ownership, import weight, CLI parsing."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from speechkit.server import cli
from speechkit.server.runner import LocalServer, local_server


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "speechkit-local-server"]


def test_start_stop_is_bounded_and_leaves_no_thread(script_engine: type[Any]) -> None:
    before = len(server_threads())
    started = time.monotonic()
    engine = script_engine()
    with local_server(engine=engine, api_key="secret") as srv:
        assert time.monotonic() - started < 5
        assert srv.running
        assert srv.base_url == f"http://127.0.0.1:{srv.port}"
        assert srv.ws_base_url == f"ws://127.0.0.1:{srv.port}"
        assert srv.api_key == "secret"
        assert "secret" not in repr(srv)
        assert (
            httpx.get(
                f"{srv.base_url}/_speechkit/health", headers={"Authorization": "secret"}
            ).json()["engine"]
            == "script"
        )
        assert srv.start() is srv  # idempotent
        closing = time.monotonic()
    assert time.monotonic() - closing < 5
    assert not srv.running
    assert len(server_threads()) == before
    assert engine.closed is False  # an engine passed in stays the caller's
    srv.close()  # idempotent
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{srv.base_url}/_speechkit/health", timeout=1)


def test_close_with_open_session_and_running_job_is_bounded(
    wav: Callable[..., bytes], script_engine: type[Any]
) -> None:
    engine = script_engine()
    srv = LocalServer(
        engine=engine,
        close_engine=True,
        faults={"processing_delay": 60},
        shutdown_timeout=4,
    ).start()
    with httpx.Client(base_url=srv.base_url) as c:
        url = c.post("/v2/upload", content=wav(0.2)).json()["upload_url"]
        c.post("/v2/transcript", json={"audio_url": url})
    codes: list[int | None] = []

    async def hold_session(ready: threading.Event) -> None:
        async with connect(f"{srv.ws_base_url}/v3/ws") as ws:
            await ws.recv()
            ready.set()
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed:
                codes.append(ws.close_code)

    ready = threading.Event()
    client_thread = threading.Thread(target=lambda: asyncio.run(hold_session(ready)))
    client_thread.start()
    assert ready.wait(5)
    assert srv.state.pending_tasks == 1
    started = time.monotonic()
    srv.close()
    assert time.monotonic() - started < 5
    client_thread.join(5)
    assert codes == [1012]  # "service restart": uvicorn closes open websockets on shutdown
    assert engine.closed is True
    assert srv.state.pending_tasks == 0
    assert not srv.running


async def test_async_context_manager(script_engine: type[Any]) -> None:
    async with LocalServer(engine=script_engine()) as srv:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            response = await c.get("/v2/transcript")
        assert response.status_code == 200
    assert not srv.running


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_busy_port_raises_a_typed_error_naming_the_port_and_the_fix(
    script_engine: type[Any], busy_port: int
) -> None:
    from speechkit.errors import InvalidInputError
    from speechkit.server import PortInUseError

    port = busy_port
    with pytest.raises(PortInUseError) as info:
        LocalServer(engine=script_engine(), port=port).start()
    assert isinstance(info.value, InvalidInputError)
    assert (info.value.host, info.value.port) == ("127.0.0.1", port)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "already in use" in str(info.value)
    assert "port=0" in str(info.value)


def test_serve_on_a_busy_port_names_the_port_and_the_flag(
    capsys: pytest.CaptureFixture[str], busy_port: int
) -> None:
    port = busy_port
    code = cli.main(["--engine", "fixed", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"127.0.0.1:{port}" in err
    assert "already in use" in err
    assert "--port" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_webhook_receiver_on_a_busy_port_names_the_fix(busy_port: int) -> None:
    from speechkit.errors import InvalidInputError
    from speechkit.webhooks import WebhookReceiver

    port = busy_port
    receiver = WebhookReceiver()
    with pytest.raises(InvalidInputError) as info:
        receiver.start(port=port)
    receiver.stop()
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "port=0" in str(info.value)


def test_unknown_option_raises(script_engine: type[Any]) -> None:
    with pytest.raises(TypeError):
        LocalServer(engine=script_engine(), not_an_option=1).start()


def test_wait_for_jobs_and_inspection(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server(faults={"processing_delay": 0.2})
    with httpx.Client(base_url=srv.base_url) as c:
        url = c.post("/v2/upload", content=wav(0.2)).json()["upload_url"]
        ids = [c.post("/v2/transcript", json={"audio_url": url}).json()["id"] for _ in range(3)]
    assert srv.wait_for_jobs(0.01) is False
    assert srv.wait_for_jobs(5) is True
    assert srv.job_ids() == ids
    assert srv.job_ids("aiml") == []
    assert srv.jobs_created == 3
    assert srv.request_count("upload") == 1
    assert srv.request_count() == 4


def test_import_speechkit_does_not_load_the_server() -> None:
    code = (
        "import sys, speechkit, speechkit.server; "
        "print(json.dumps([m in sys.modules for m in ('starlette', 'uvicorn', 'pytest')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [False, False, False]


def test_cli_parser_builds_faults() -> None:
    args = cli.build_parser().parse_args(
        [
            "--port",
            "0",
            "--latency",
            "0.2:0.1",
            "--error-rate",
            "transcript.create=0.5:503",
            "--reset-rate",
            "upload=1",
            "--after-processing",
            "--ws-drop-after",
            "3",
            "--ws-drop-code",
            "1011",
            "--processing-delay",
            "2",
            "--seed",
            "7",
        ]
    )
    faults = cli._fault_config(args)
    assert (faults.latency, faults.latency_jitter, faults.seed) == (0.2, 0.1, 7)
    first, second = faults.endpoint_faults
    assert (first.endpoint, first.status, first.rate, first.after_processing) == (
        "transcript.create",
        503,
        0.5,
        True,
    )
    assert second.endpoint == "upload"
    assert second.reset
    assert faults.ws_drop_after_messages == 3
    assert faults.ws_drop_close_code == 1011
    assert faults.processing_delay == 2


def test_cli_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--error-rate", "nonsense"]) == 2
    assert "ENDPOINT=RATE" in capsys.readouterr().err
    assert cli.main(["--latency", "soon"]) == 2
    assert cli.main(["serve", "--help"]) == 0
    assert "--ws-drop-after" in capsys.readouterr().out


def test_local_provider_starts_the_engine_asked_for() -> None:
    from speechkit.errors import InvalidInputError
    from speechkit.providers import resolve_provider

    provider, server = resolve_provider(
        "local", api_key=None, base_url=None, model=None, engine="fixed"
    )
    assert server is not None
    try:
        assert httpx.get(f"{provider.base_url}/_speechkit/health").json()["engine"] == "fixed"
    finally:
        server.close()
    with pytest.raises(
        InvalidInputError, match='engine= chooses the recognizer of provider="local"'
    ):
        resolve_provider("assemblyai", api_key="k", base_url=None, model=None, engine="whisper")
    with pytest.raises(InvalidInputError, match="Unknown engine"):
        resolve_provider("local", api_key=None, base_url=None, model=None, engine="nope")
