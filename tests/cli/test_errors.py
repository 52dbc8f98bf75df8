"""Errors are one line on stderr with a documented exit code; --debug adds the traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from speechkit.cli import main
from speechkit.server import LocalServer
from tests.cli.conftest import KEY, cli_env, connection_args, run_cli


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _one_error_line(stderr: str) -> str:
    assert stderr.startswith("speechkit: error: "), stderr
    assert stderr.count("\n") == 1, stderr
    return stderr


def test_missing_file_is_a_usage_error(server: LocalServer, tmp_path: Path) -> None:
    result = run_cli([*connection_args(server), "transcribe", str(tmp_path / "nope.wav")])
    assert result.returncode == 2
    assert "no such file or folder" in _one_error_line(result.stderr)
    assert result.stdout == ""


def test_unreachable_server_is_a_network_error(wav: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = run_cli(
        ["--base-url", url, "--api-key", KEY, "--max-retries", "0", "transcribe", str(wav)]
    )
    assert result.returncode == 4
    line = _one_error_line(result.stderr)
    assert "could not connect" in line
    assert KEY not in line


def test_rejected_key_is_an_auth_error(server: LocalServer, wav: Path) -> None:
    result = run_cli(["--base-url", server.base_url, "--api-key", "wrong", "transcribe", str(wav)])
    assert result.returncode == 3
    assert "401" in _one_error_line(result.stderr)


def test_missing_key_says_how_to_give_one(wav: Path) -> None:
    result = run_cli(["transcribe", str(wav)])
    assert result.returncode == 3
    line = _one_error_line(result.stderr)
    assert "SPEECHKIT_API_KEY" in line
    assert "--api-key" in line


def test_key_from_the_environment(server: LocalServer, wav: Path) -> None:
    env = {**cli_env(), "SPEECHKIT_API_KEY": KEY}
    result = run_cli(["--base-url", server.base_url, "transcribe", str(wav)], env=env)
    assert result.returncode == 0, result.stderr


def test_debug_prints_the_traceback(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = run_cli(
        ["transcribe", str(tmp_path / "x.wav"), "--debug", "--base-url", url, "--api-key", KEY]
    )
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("speechkit: error: no such file")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["transcribe"], "the following arguments are required: PATH|URL|DIR"),
        (["transcribe", "x.wav", "--format", "doc"], "invalid choice: 'doc'"),
        (["list", "--limit", "0"], "must be >= 1"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in _one_error_line(captured.err)
    assert "--help" in captured.err
    assert captured.out == ""


def test_unknown_transcript_id(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*connection_args(server), "get", "no-such-id"]) == 1
    assert "404" in _one_error_line(capsys.readouterr().err)


def test_help_everywhere_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    for command in ("transcribe", "stream", "get", "list", "delete", "serve"):
        assert command in top
    assert "exit codes:" in top
    for command in ("transcribe", "stream", "get", "list", "delete"):
        assert main([command, "--help"]) == 0
        assert f"usage: speechkit {command}" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("speechkit ")
