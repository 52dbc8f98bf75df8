"""Fixtures for the command-line tests: the local server, tiny WAV files, and ways to run the
real ``speechkit`` command (a subprocess, piped or on a pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from speechkit.server import LocalServer, local_server

KEY = "cli-test-key"
TEXT = "hello from the command line"


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16_000, tone: int = 0) -> Path:
    """A small mono 16-bit WAV (a different ``tone`` gives different bytes)."""
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        sample = (tone % 200).to_bytes(2, "little", signed=True)
        wav.writeframes(sample * frames)
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(engine="fixed", engine_options={"text": TEXT}, api_key=KEY) as running:
        yield running


@pytest.fixture
def slow_server() -> Iterator[LocalServer]:
    """Jobs take 0.6 s, so a run can be stopped while some are in flight."""
    faults = {"processing_delay": 0.6}
    with local_server(engine="fixed", api_key=KEY, faults=faults) as running:
        yield running


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "speech.wav", seconds=2.0)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Four small WAV files (and one file that is not audio, which is ignored)."""
    root = tmp_path / "audio"
    root.mkdir()
    for index in range(4):
        write_wav(root / f"clip{index}.wav", seconds=0.5 + index / 10, tone=index)
    (root / "notes.txt").write_text("not audio")
    return root


def cli_env() -> dict[str, str]:
    """The environment for a subprocess: no ambient key or base URL from the developer."""
    names = ("ASSEMBLYAI_API_KEY", "ASSEMBLYAI_BASE_URL", "AIML_API_KEY", "SPEECHKIT_API_KEY")
    env = {k: v for k, v in os.environ.items() if k not in names}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def connection_args(server: LocalServer) -> list[str]:
    return ["--base-url", server.base_url, "--api-key", KEY]


def run_cli(
    args: Sequence[str], *, timeout: float = 30, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m speechkit.cli ARGS`` with stdout and stderr piped."""
    return subprocess.run(
        [sys.executable, "-m", "speechkit.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
        check=False,
    )


def start_cli(args: Sequence[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "speechkit.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


@dataclass
class TerminalRun:
    output: str  # everything written to the terminal (stdout and stderr share it)
    returncode: int


def run_on_terminal(args: Sequence[str], *, timeout: float = 30) -> TerminalRun:
    """Run the command with stdin, stdout and stderr on a pseudo-terminal."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "speechkit.cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**cli_env(), "COLUMNS": "200"},
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        returncode = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return TerminalRun(b"".join(chunks).decode(errors="replace"), returncode)
