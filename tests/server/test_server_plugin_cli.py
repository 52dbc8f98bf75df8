"""The pytest plugin (``speechkit.testing``) and ``speechkit serve``, each in a subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

USER_TEST = """
import io, time, wave

import httpx

from speechkit.testing import DEFAULT_FIXED_TEXT


def wav(seconds=1.0):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\\x00\\x01" * int(16000 * seconds))
    return buffer.getvalue()


def test_session_server_transcribes(speechkit_server):
    with httpx.Client(base_url=speechkit_server.base_url) as c:
        url = c.post("/v2/upload", content=wav()).json()["upload_url"]
        tid = c.post("/v2/transcript", json={"audio_url": url}).json()["id"]
        while (body := c.get(f"/v2/transcript/{tid}").json())["status"] not in ("completed", "error"):
            time.sleep(0.02)
    assert body["text"] == DEFAULT_FIXED_TEXT.capitalize() + "."
    assert speechkit_server.jobs_created >= 1


def test_factory_with_key_and_faults(speechkit_server_factory, speechkit_server):
    srv = speechkit_server_factory(api_key="k")
    srv.faults.add_error("transcript.list", 429, times=1)
    assert srv.base_url != speechkit_server.base_url
    assert httpx.get(srv.base_url + "/v2/transcript").status_code == 401
    headers = {"Authorization": "k"}
    assert httpx.get(srv.base_url + "/v2/transcript", headers=headers).status_code == 429
    assert httpx.get(srv.base_url + "/v2/transcript", headers=headers).status_code == 200
"""


def test_pytest_plugin_fixtures(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["speechkit.testing"]\n')
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TEST))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_cli_serves_until_interrupted() -> None:
    command = [
        sys.executable,
        "-c",
        "import sys; from speechkit.server.cli import main; sys.exit(main())",
        "serve",
        "--engine",
        "fixed",
        "--fixed-text",
        "hi there",
        "--port",
        "0",
        "--api-key",
        "k",
        "--error-rate",
        "lemur=1:503",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("speechkit local server: http://127.0.0.1:"), first
        base = first.split(": ", 1)[1].strip()
        headers = {"Authorization": "k"}
        assert httpx.get(f"{base}/_speechkit/health", headers=headers).json()["engine"] == "fixed"
        lemur = httpx.post(f"{base}/lemur/v3/generate/summary", json={}, headers=headers)
        assert lemur.status_code == 503
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--engine", "pocketsphinx", "--beam-size", "5"], "--beam-size: not an option"),
        (["--engine", "fixed", "--threads", "2"], "--threads: not an option"),
        (["--engine", "nope"], "Unknown engine 'nope'; valid engines are: whisper"),
    ],
)
def test_cli_refuses_engine_options_that_do_not_apply(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from speechkit.server.cli import main

    assert main([*arguments, "--port", "0"]) == 2
    assert message in capsys.readouterr().err


def test_cli_engine_options_reach_the_engine() -> None:
    from speechkit.server.cli import _engine_options, build_parser

    args = build_parser().parse_args(["--engine", "pocketsphinx", "--workers", "3"])
    assert _engine_options(args) == {"workers": 3}
    args = build_parser().parse_args(["--engine", "fixed", "--fixed-text", "hi there"])
    assert _engine_options(args) == {"text": "hi there"}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--workers", "0"])
