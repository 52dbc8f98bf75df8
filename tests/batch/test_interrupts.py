"""Ctrl-C during a group and a script ending with futures in flight: the process stops at once.

A real loopback HTTP server (jobs that never finish, creates that take a moment) and a real
child process receiving a real SIGINT. Bounds are generous: the point is that the process
ends without waiting for jobs, not how fast the machine is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

#: Far above the 2 s a user waits; only a process that waits for its jobs would exceed it.
EXIT_BOUND = 20.0


class _StuckAPI(BaseHTTPRequestHandler):
    """Creates take 0.2 s; every job stays ``processing`` forever."""

    creates = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        audio_url = json.loads(self.rfile.read(length))["audio_url"]
        with _StuckAPI.lock:
            _StuckAPI.creates += 1
            number = _StuckAPI.creates
        time.sleep(0.2)
        self._json({"id": f"job-{number}", "status": "queued", "audio_url": audio_url})

    def do_GET(self) -> None:
        if self.path.startswith("/v2/transcript/"):
            job = self.path.rsplit("/", 1)[-1]
            self._json({"id": job, "status": "processing", "audio_url": "x"})
        else:  # the job list: nothing finished
            self._json({"page_details": {"limit": 1, "result_count": 0}, "transcripts": []})


@pytest.fixture
def stuck_api() -> Iterator[str]:
    _StuckAPI.creates = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StuckAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _child(script: str, base_url: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(script).replace("BASE_URL", repr(base_url))
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("the child never got going")
        time.sleep(0.02)


def test_ctrl_c_during_a_blocking_group_stops_creating_and_says_what_runs(
    stuck_api: str,
) -> None:
    child = _child(
        """
        import speechkit
        t = speechkit.Transcriber(api_key="k", base_url=BASE_URL, max_retries=0)
        urls = [f"https://audio.example/{i}.mp3" for i in range(120)]
        t.transcribe_group(urls, max_concurrency=4)
        """,
        stuck_api,
    )
    _wait_for(lambda: _StuckAPI.creates >= 8)
    child.send_signal(signal.SIGINT)
    at_interrupt = _StuckAPI.creates
    sent = time.monotonic()
    _, stderr = child.communicate(timeout=EXIT_BOUND)
    took = time.monotonic() - sent
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr
    # Only creates already being sent may finish: no new one starts after Ctrl-C.
    assert _StuckAPI.creates - at_interrupt <= 4
    assert "no more jobs are created" in stderr
    assert "keep running on the server" in stderr
    assert "ledger=" in stderr  # how to resume
    running = int(stderr.split("no more jobs are created. ")[1].split(" job(s)")[0])
    assert at_interrupt - 4 <= running <= _StuckAPI.creates
    assert took < EXIT_BOUND


@pytest.mark.parametrize("ending", ["return", "raise"])
def test_a_script_ending_with_futures_in_flight_exits(stuck_api: str, ending: str) -> None:
    child = _child(
        f"""
        import time
        import speechkit
        t = speechkit.Transcriber(api_key="k", base_url=BASE_URL, polling_interval=0.05)
        futures = [t.transcribe_async(f"https://audio.example/{{i}}.mp3") for i in range(4)]
        while sum(1 for f in futures if f.running()) < 4:
            time.sleep(0.01)
        time.sleep(0.5)  # the jobs exist and are being polled
        print("ready", flush=True)
        if {ending == "raise"!r}:
            raise RuntimeError("the script failed")
        """,
        stuck_api,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    sent = time.monotonic()
    _, stderr = child.communicate(timeout=EXIT_BOUND)
    assert time.monotonic() - sent < EXIT_BOUND
    assert _StuckAPI.creates == 4
    if ending == "raise":
        assert child.returncode == 1
        assert "the script failed" in stderr
    else:
        assert child.returncode == 0
