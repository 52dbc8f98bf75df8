"""``speechkit stream`` (partials in place on a terminal, finals only when piped) and
``get`` / ``list`` / ``delete`` against the local server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from speechkit import Transcriber
from speechkit.cli import main
from speechkit.server import LocalServer
from tests.cli.conftest import KEY, TEXT, connection_args, run_cli, run_on_terminal

FINAL = TEXT.capitalize() + "."


def test_stream_piped_prints_only_finals(server: LocalServer, wav: Path) -> None:
    result = run_cli([*connection_args(server), "stream", str(wav)])
    assert result.returncode == 0, result.stderr
    # v3 without format_turns: unformatted turns; 2 s at the engine's 3 words/s is 6 words.
    assert result.stdout.splitlines() == [TEXT, TEXT.split()[0]]
    assert "\r" not in result.stdout
    assert "\x1b" not in result.stdout
    assert result.stderr == ""


def test_stream_json_lines(server: LocalServer, wav: Path) -> None:
    result = run_cli(
        [*connection_args(server), "stream", str(wav), "-f", "json", "--protocol", "v2"]
    )
    assert result.returncode == 0, result.stderr
    finals = [json.loads(line) for line in result.stdout.splitlines()]
    assert {final["message_type"] for final in finals} == {"FinalTranscript"}
    assert finals[0]["text"] == FINAL
    starts = [final["audio_start"] for final in finals]
    assert starts == sorted(starts)


def test_stream_on_a_terminal_redraws_partials_in_place(server: LocalServer, wav: Path) -> None:
    run = run_on_terminal([*connection_args(server), "stream", str(wav)])
    assert run.returncode == 0, run.output
    assert re.search(r"\rhello[^\r\n]*\x1b\[K", run.output)  # a partial, drawn in place
    assert f"\r\x1b[K{TEXT}\r\n" in run.output  # the final replaces it on its own line


def test_stream_needs_an_audio_file(server: LocalServer, tmp_path: Path) -> None:
    mp3 = tmp_path / "a.mp3"
    mp3.write_bytes(b"ID3 not really")
    result = run_cli([*connection_args(server), "stream", str(mp3)])
    assert result.returncode == 2
    assert "could not be decoded as audio" in result.stderr
    missing = run_cli([*connection_args(server), "stream", str(tmp_path / "none.wav")])
    assert missing.returncode == 2
    assert "no such file" in missing.stderr


def test_get_list_delete(
    server: LocalServer, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Transcriber(api_key=KEY, base_url=server.base_url) as transcriber:
        job = transcriber.transcribe(wav)
    assert main([*connection_args(server), "get", job.id]) == 0
    assert capsys.readouterr().out == FINAL + "\n"
    assert main([*connection_args(server), "get", job.id, "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == job.id

    assert main([*connection_args(server), "list", "-n", "200"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert any(row.startswith(f"{job.id}  completed") for row in rows)
    assert main([*connection_args(server), "list", "-f", "json", "-n", "1"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 1
    assert listed[0]["id"] == job.id  # newest first

    assert main([*connection_args(server), "delete", job.id]) == 0
    assert capsys.readouterr().out == f"deleted {job.id}\n"
    with Transcriber(api_key=KEY, base_url=server.base_url) as transcriber:
        assert transcriber.get_transcript(job.id).text != TEXT


def test_get_waits_only_when_asked(
    server: LocalServer, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults.processing_delay = 0.5
    try:
        with Transcriber(api_key=KEY, base_url=server.base_url) as transcriber:
            job = transcriber.submit(wav)
        assert main([*connection_args(server), "get", job.id]) == 1
        assert "pass --wait" in capsys.readouterr().err
        assert main([*connection_args(server), "get", job.id, "--wait"]) == 0
        assert capsys.readouterr().out == FINAL + "\n"
    finally:
        server.faults.processing_delay = 0.0


def test_stream_exits_1_when_audio_was_not_transcribed(wav: Path) -> None:
    """A server that never confirms the end: --timeout bounds the wait, and the incomplete
    transcript is an error (exit 1, the documented code), not a warning with exit 0."""
    from tests.realtime.fakeserver import Behaviour, FakeRealtimeServer

    with FakeRealtimeServer(behaviours=[Behaviour(ignore_terminate=True)]) as fake:
        result = run_cli(
            ["--base-url", fake.base_url, "--api-key", KEY, "stream", str(wav), "--timeout", "0.5"]
        )
    assert result.returncode == 1, result.stderr
    assert "were not transcribed" in result.stderr
    assert result.stderr.count("not transcribed") == 1  # reported once, not per event


def test_stream_timeout_must_be_positive(server: LocalServer, wav: Path) -> None:
    result = run_cli([*connection_args(server), "stream", str(wav), "--timeout", "0"])
    assert result.returncode == 2
    assert "--timeout" in result.stderr


@pytest.mark.slow
def test_local_stream_of_the_sample_prints_its_words() -> None:
    """The newcomer's command: `speechkit --local stream examples/audio/sample.wav`."""
    pytest.importorskip("pocketsphinx")
    from speechkit.engines.wer import word_error_rate

    sample = Path(__file__).resolve().parents[2] / "examples" / "audio" / "sample.wav"
    result = run_cli(["--local", "stream", str(sample)], timeout=180)
    assert result.returncode == 0, result.stderr
    reference = sample.with_suffix(".txt").read_text()
    assert word_error_rate(reference, result.stdout) <= 0.1


def test_stream_takes_any_audio_file(server: LocalServer) -> None:
    pytest.importorskip("soundfile")
    flac = Path(__file__).resolve().parents[2] / "examples" / "audio" / "sample.flac"
    result = run_cli([*connection_args(server), "stream", str(flac)])
    assert result.returncode == 0, result.stderr
    # 21.4 s at the fixed engine's 3 words/s: the text repeated, every final printed.
    words = result.stdout.split()
    assert len(words) >= 60
    assert set(words) <= set(TEXT.split())
