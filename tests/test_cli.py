"""The speechkit console script: `serve` starts the local server for real."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

from speechkit.cli import main


def test_help_and_unknown_command(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--help"]) == 0
    assert "serve" in capsys.readouterr().out
    assert main(["transcribe-everything"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_serve_runs_the_server_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "speechkit.cli", "serve", "--port", "0", "--engine", "fixed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 20
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            url = match.group(0) if match else None
        assert url, "serve did not print its base URL"
        assert httpx.get(f"{url}/_speechkit/health", timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
