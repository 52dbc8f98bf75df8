"""The speechkit console script: `serve` starts the local server for real, `--local` embeds one.

The other commands are tested in tests/cli/."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

from speechkit.cli import main
from tests.cli.conftest import cli_env, write_wav


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


def test_serve_help_is_dispatched(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["serve", "--help"]) == 0
    assert "usage: speechkit serve" in capsys.readouterr().out
    assert main(["--debug", "serve", "--help"]) == 0  # options before the command name
    assert "usage: speechkit serve" in capsys.readouterr().out


def test_local_starts_an_embedded_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    wav = write_wav(tmp_path / "a.wav", seconds=1.0)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "speechkit.cli",
            "transcribe",
            str(wav),
            "--local",
            "--local-engine",
            "fixed",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),  # no API key anywhere: --local needs none
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"status": "completed"' in result.stdout
    assert '"text": "Hello world."' in result.stdout
