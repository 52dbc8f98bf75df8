"""The local server with its default settings, against what a web page in the developer's browser,
or a request naming a local address, could try: each is refused or bounded."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from speechkit.server.runner import LocalServer
from speechkit.server.state import ServerConfig
from tests.hostile import Exchange, HostileServer, wait_until

KEY = "sk-local-0123456789"


def _default_server(**options: Any) -> LocalServer:
    """A server with speechkit's defaults (not the permissive test-fixture settings)."""
    return LocalServer(engine="fixed", engine_options={"text": "hello there"}, **options).start()


@pytest.fixture
def default_server() -> Iterator[LocalServer]:
    server = _default_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def keyed_default_server() -> Iterator[LocalServer]:
    server = _default_server(api_key=KEY)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def audio_host(wav: Callable[..., bytes]) -> Iterator[HostileServer]:
    """A loopback HTTP server that serves a WAV file to anyone who asks."""
    data = wav(0.5)

    def handler(exchange: Exchange) -> None:
        exchange.respond(200, data, {"Content-Type": "audio/wav"})

    with HostileServer(handler) as server:
        yield server


def _job(client: httpx.Client, audio_url: str, **options: Any) -> dict[str, Any]:
    created = client.post("/v2/transcript", json={"audio_url": audio_url, **options})
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    body: dict[str, Any] = {}

    def done() -> bool:
        body.update(client.get(f"/v2/transcript/{job_id}").json())
        return body["status"] in ("completed", "error")

    assert wait_until(done)
    return body


# -- web pages: cross-origin requests, DNS rebinding ---------------------------------------------


def test_cross_origin_simple_post_is_refused_and_makes_no_job(default_server: LocalServer) -> None:
    body = json.dumps({"audio_url": "https://example.com/a.wav"})
    with httpx.Client(base_url=default_server.base_url) as client:
        # What a page's fetch(..., {mode: "no-cors"}) or a <form> sends: no preflight.
        from_page = client.post(
            "/v2/transcript",
            content=body,
            headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
        )
        assert from_page.status_code == 403
        assert "allowed_origins" in from_page.json()["error"]
        # Even without an Origin header, JSON endpoints take only JSON.
        plain = client.post("/v2/transcript", content=body, headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415
        assert "application/json" in plain.json()["error"]
    assert default_server.jobs_created == 0


def test_allowed_origin_and_own_origin_may_call(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(allowed_origins=("http://localhost:3000",))
    with httpx.Client(base_url=server.base_url) as client:
        for origin in ("http://localhost:3000", server.base_url):
            response = client.get("/v2/transcript", headers={"Origin": origin})
            assert response.status_code == 200, origin
        assert client.get("/v2/transcript", headers={"Origin": "http://localhost:4000"}).is_error


def test_host_header_of_a_rebinding_page_is_refused(default_server: LocalServer) -> None:
    with httpx.Client(base_url=default_server.base_url) as client:
        rebound = client.get("/v2/transcript", headers={"Host": "evil.example"})
        assert rebound.status_code == 421
        assert "allowed_hosts" in rebound.json()["error"]
        for host in ("localhost", f"localhost:{default_server.port}", "127.0.0.1", "[::1]:80"):
            assert client.get("/v2/transcript", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_opens_a_name(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(allowed_hosts=("speech.internal",))
    with httpx.Client(base_url=server.base_url) as client:
        ok = client.get("/v2/transcript", headers={"Host": "speech.internal:8765"})
        assert ok.status_code == 200
        assert client.get("/v2/transcript", headers={"Host": "other.internal"}).status_code == 421


async def test_cross_origin_websocket_is_refused(default_server: LocalServer) -> None:
    url = f"{default_server.ws_base_url}/v3/ws?sample_rate=16000"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with connect(url) as ws:  # no Origin: an SDK, not a page
        assert json.loads(await ws.recv())["type"] == "Begin"


# -- file:// URLs and reading local files back ---------------------------------------------------


def test_file_urls_are_off_by_default(
    default_server: LocalServer, tmp_path: Path, wav: Callable[..., bytes]
) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(wav(0.5))
    with httpx.Client(base_url=default_server.base_url) as client:
        created = client.post("/v2/transcript", json={"audio_url": audio.as_uri()})
        assert created.status_code == 400
        created = client.post("/v2/transcript", json={"audio_url": "file:///dev/zero"})
        assert created.status_code == 400
    assert default_server.jobs_created == 0


def test_dev_zero_and_files_outside_the_roots_are_refused(
    make_server: Callable[..., LocalServer], tmp_path: Path, wav: Callable[..., bytes]
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "ok.wav").write_bytes(wav(0.5))
    (tmp_path / "secret.wav").write_bytes(wav(0.5))
    (allowed / "escape.wav").symlink_to(tmp_path / "secret.wav")
    server = make_server(allow_file_urls=True, file_url_roots=(str(allowed), "/dev"))
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert _job(client, (allowed / "ok.wav").as_uri())["status"] == "completed"
        errors = []
        for target in ("file:///dev/zero", (tmp_path / "secret.wav").as_uri()):
            errors.append(_job(client, target))
        errors.append(_job(client, (allowed / "escape.wav").as_uri()))
        errors.append(_job(client, (allowed / "missing.wav").as_uri()))
    for job in errors:
        assert job["status"] == "error"
        assert "regular file under the folders" in job["error"]
    # The same words whether the path exists or not: no probing of the disk.
    assert len({job["error"].split(" the file://")[0] for job in errors}) == 1


def test_downloads_and_control_endpoints_need_the_key(keyed_default_server: LocalServer) -> None:
    base = keyed_default_server.base_url
    with httpx.Client(base_url=base, headers={"Authorization": KEY}) as client:
        upload_url = client.post("/v2/upload", content=b"RIFF-bytes").json()["upload_url"]
        assert client.get(upload_url).content == b"RIFF-bytes"
    with httpx.Client(base_url=base) as anonymous:
        assert anonymous.get(upload_url).status_code == 401
        assert anonymous.get("/v2/redacted-audio/any-id.wav").status_code == 401
        put = anonymous.put("/_speechkit/faults", json={"latency": 5})
        assert put.status_code == 401
        assert anonymous.get("/_speechkit/stats").status_code == 401
    assert keyed_default_server.faults.latency == 0


# -- outbound requests: SSRF, redirects, port oracle --------------------------------------------


def test_audio_url_on_loopback_is_not_fetched(
    default_server: LocalServer, audio_host: HostileServer
) -> None:
    with httpx.Client(base_url=default_server.base_url) as client:
        job = _job(client, f"{audio_host.url}/a.wav")
        named = _job(client, f"http://localhost:{audio_host.port}/a.wav")
    assert job["status"] == named["status"] == "error"
    assert "loopback or private address" in job["error"]
    assert "--allow-private-urls" in job["error"]
    assert audio_host.count() == 0


def test_redirects_to_loopback_are_checked_again(
    make_server: Callable[..., LocalServer], audio_host: HostileServer
) -> None:
    def redirect(exchange: Exchange) -> None:
        exchange.respond(302, b"", {"Location": f"{audio_host.url}/a.wav"})

    with HostileServer(redirect) as redirector:
        # The redirecting host is allowed; the address it redirects to is not.
        server = make_server(
            allow_private_urls=False, allowed_url_hosts=(f"127.0.0.1:{redirector.port}",)
        )
        with httpx.Client(base_url=server.base_url) as client:
            job = _job(client, f"{redirector.url}/start")
    assert redirector.count() == 1
    assert audio_host.count() == 0
    assert job["status"] == "error"
    assert "loopback or private" in job["error"]


def test_job_errors_do_not_tell_which_ports_answer(make_server: Callable[..., LocalServer]) -> None:
    def not_found(exchange: Exchange) -> None:
        exchange.respond(404, b"nothing here")

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    with HostileServer(not_found) as open_port:
        server = make_server(allow_private_urls=True)
        with httpx.Client(base_url=server.base_url) as client:
            answered = _job(client, f"{open_port.url}/x")
            refused = _job(client, f"http://127.0.0.1:{closed_port}/x")
    assert open_port.count() == 1
    assert answered["error"].replace(str(open_port.port), "PORT") == refused["error"].replace(
        str(closed_port), "PORT"
    )


def test_webhook_to_loopback_is_not_posted(
    default_server: LocalServer, wav: Callable[..., bytes]
) -> None:
    with HostileServer(lambda exchange: exchange.respond(200, b"ok")) as receiver:
        with httpx.Client(base_url=default_server.base_url) as client:
            upload_url = client.post("/v2/upload", content=wav(0.5)).json()["upload_url"]
            job = _job(client, upload_url, webhook_url=f"{receiver.url}/hook")
        assert job["status"] == "completed"  # its own upload URL is served from the store
        assert default_server.wait_for_jobs()
        assert receiver.count() == 0
        final = httpx.get(f"{default_server.base_url}/v2/transcript/{job['id']}").json()
        assert final["webhook_status_code"] is None


# -- keys --------------------------------------------------------------------------------------


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        LocalServer(engine="fixed", api_key="")
    with pytest.raises(ValueError, match="empty"):
        ServerConfig(engine=object(), api_key="  ")  # type: ignore[arg-type]


def _serve_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "speechkit.server.cli", "--engine", "fixed", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_cli_refuses_an_empty_key_from_every_source(tmp_path: Path) -> None:
    empty = tmp_path / "key"
    empty.write_text("\n")
    for args, env in (
        (("--api-key", ""), {}),
        (("--api-key-file", str(empty)), {}),
        ((), {"SPEECHKIT_SERVER_API_KEY": " "}),
    ):
        result = _serve_cli("--port", "0", *args, env=env)
        assert result.returncode == 2, (args, env)
        assert "empty" in result.stderr


def test_cli_reads_the_key_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from speechkit.server import cli

    key_file = tmp_path / "key"
    key_file.write_text("from-file-key\n")
    parser = cli.build_parser()
    assert cli._api_key(parser.parse_args(["--api-key-file", str(key_file)])) == "from-file-key"
    monkeypatch.setenv(cli.API_KEY_ENV, "from-env-key")
    assert cli._api_key(parser.parse_args([])) == "from-env-key"
    assert cli._api_key(parser.parse_args(["--api-key", "explicit"])) == "explicit"


# -- bounded: bodies, JSON depth, counts, idle sessions, slow heads -----------------------------


def test_big_json_bodies_are_refused(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(max_json_bytes=64 * 1024)
    big = json.dumps({"audio_url": "https://example.com/a.wav", "pad": "x" * 100_000})
    with httpx.Client(base_url=server.base_url) as client:
        declared = client.post(
            "/v2/transcript", content=big, headers={"Content-Type": "application/json"}
        )
        assert declared.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield big.encode()

        streamed = client.post(
            "/v2/transcript", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert "65536 bytes" in streamed.json()["error"]
    assert server.jobs_created == 0


def test_deeply_nested_json_is_a_400_not_a_500(default_server: LocalServer) -> None:
    with httpx.Client(base_url=default_server.base_url) as client:
        deep = '{"audio_url": "https://example.com/a.wav", "x": ' + "[" * 100_000 + "]" * 100_000
        response = client.post(
            "/v2/transcript", content=deep + "}", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert "nested deeper than 400" in response.json()["error"]
        tricky = json.dumps({"audio_url": "https://example.com/a.wav", "s": "[" * 1000})
        fine = client.post(
            "/v2/transcript", content=tricky, headers={"Content-Type": "application/json"}
        )
        assert fine.status_code == 200  # brackets inside strings do not count


def test_uploads_are_bounded_in_count_oldest_forgotten(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server(max_uploads=3)
    with httpx.Client(base_url=server.base_url) as client:
        urls = [
            client.post("/v2/upload", content=f"upload {i}".encode()).json()["upload_url"]
            for i in range(5)
        ]
        assert len(server.state.uploads) == 3
        assert client.get(urls[0]).status_code == 404
        assert client.get(urls[-1]).content == b"upload 4"


def test_jobs_are_bounded_in_count_oldest_finished_forgotten(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    server = make_server(max_jobs=3)
    with httpx.Client(base_url=server.base_url) as client:
        upload_url = client.post("/v2/upload", content=wav(0.3)).json()["upload_url"]
        ids = [_job(client, upload_url)["id"] for _ in range(5)]
        assert server.jobs_created == 5
        assert len(server.job_ids()) == 3
        assert client.get(f"/v2/transcript/{ids[0]}").status_code == 404
        assert client.get(f"/v2/transcript/{ids[-1]}").json()["status"] == "completed"


async def test_idle_v3_session_is_closed(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(realtime_v3_idle_timeout=0.3)
    async with connect(f"{server.ws_base_url}/v3/ws?sample_rate=16000") as ws:
        assert json.loads(await ws.recv())["type"] == "Begin"
        messages = []
        try:
            while True:  # no audio: the server ends the session by itself
                messages.append(json.loads(await ws.recv()))
        except ConnectionClosed:
            pass
    assert messages[-1]["type"] == "Termination"
    assert wait_until(lambda: server.state.realtime_sessions == 0)


def test_slow_request_heads_are_cut_off(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(request_head_timeout=0.3)
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(b"GET /v2/transcript HTTP/1.1\r\nHost: localhost\r\n")  # never finished
        assert sock.recv(1024) == b""  # closed by the server, not by our 20 s timeout
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as idle:
        assert idle.recv(1024) == b""  # a connection that never sends a byte
    with httpx.Client(base_url=server.base_url) as client:  # normal requests are unaffected
        assert client.get("/v2/transcript").status_code == 200


def test_no_secret_in_debug_logs(
    wav: Callable[..., bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = _default_server(api_key=KEY, log_level="debug")
    try:
        import asyncio

        async def stream() -> None:
            url = f"{server.ws_base_url}/v3/ws?sample_rate=16000"
            async with connect(url, additional_headers={"Authorization": KEY}) as ws:
                assert json.loads(await ws.recv())["type"] == "Begin"

        asyncio.run(stream())
        with httpx.Client(base_url=server.base_url, headers={"Authorization": KEY}) as client:
            token = client.get("/v3/token", params={"expires_in_seconds": 60}).json()["token"]
        asyncio.run(_stream_with_token(server, token))
    finally:
        server.close()
    # The server's records (the test's own websocket client logs what it sends, as it should).
    server_loggers = ("uvicorn", "speechkit.server", "websockets.server")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_loggers))
    assert "/v3/ws" in text  # the debug log did show the request heads
    assert KEY not in text
    assert token not in text


async def _stream_with_token(server: LocalServer, token: str) -> None:
    async with connect(f"{server.ws_base_url}/v3/ws?sample_rate=16000&token={token}") as ws:
        assert json.loads(await ws.recv())["type"] == "Begin"
