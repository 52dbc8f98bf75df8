"""``speechkit transcribe FILE|URL``: every format, --out, options, piped vs terminal output."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest

from speechkit import Transcriber
from speechkit.cli import main
from speechkit.server import LocalServer
from tests.cli.conftest import (
    KEY,
    TEXT,
    connection_args,
    run_cli,
    run_on_terminal,
    start_cli,
)


def test_text_to_stdout_when_piped_has_no_progress(server: LocalServer, wav: Path) -> None:
    result = run_cli([*connection_args(server), "transcribe", str(wav)])
    assert result.returncode == 0, result.stderr
    assert result.stdout == TEXT.capitalize() + ".\n"
    assert result.stderr == ""  # no progress, no summary, no escape codes on a pipe


def test_every_format(server: LocalServer, wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = {}
    for fmt in ("text", "json", "srt", "vtt"):
        code = main([*connection_args(server), "transcribe", str(wav), "--format", fmt])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        outputs[fmt] = captured.out
    assert TEXT.split()[-1] in outputs["text"].lower()
    document = json.loads(outputs["json"])
    assert document["status"] == "completed"
    assert document["id"]
    assert len(document["words"]) == len(TEXT.split())
    assert re.match(r"1\n00:00:00,000 --> 00:00:0\d,\d{3}\n", outputs["srt"])
    assert outputs["vtt"].startswith("WEBVTT")
    assert "\n00:00.000 --> 00:02.000\n" in outputs["vtt"]


def test_out_file_and_out_folder(server: LocalServer, wav: Path, tmp_path: Path) -> None:
    target = tmp_path / "result.srt"
    code = main([*connection_args(server), "transcribe", str(wav), "-f", "srt", "-o", str(target)])
    assert code == 0
    assert target.read_text().startswith("1\n00:00:00,000")
    out_dir = tmp_path / "outputs"
    out_dir.mkdir()
    code = main(
        [*connection_args(server), "transcribe", str(wav), "-f", "json", "-o", str(out_dir)]
    )
    assert code == 0
    assert json.loads((out_dir / "speech.json").read_text())["status"] == "completed"


def test_url_input_is_not_uploaded_again(
    server: LocalServer, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Transcriber(api_key=KEY, base_url=server.base_url) as transcriber:
        url = transcriber.upload_file(wav)
    uploads = server.request_count("upload")
    assert main([*connection_args(server), "transcribe", url]) == 0
    assert TEXT.split()[0] in capsys.readouterr().out.lower()
    assert server.request_count("upload") == uploads


def test_transcription_options_reach_the_job(
    server: LocalServer, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            *connection_args(server),
            "transcribe",
            str(wav),
            "-f",
            "json",
            "--language",
            "en_us",
            "--speakers-expected",
            "2",
            "--no-punctuate",
            "--config",
            "filter_profanity=true",
            "--config-json",
            '{"keyterms_prompt": ["speechkit"]}',
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    job = json.loads(captured.out)
    assert job["language_code"] == "en_us"
    assert job["speaker_labels"] is True  # implied by --speakers-expected
    assert job["speakers_expected"] == 2
    assert job["punctuate"] is False
    assert job["filter_profanity"] is True
    assert job["keyterms_prompt"] == ["speechkit"]


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--config", "speaker_label=true"], "'speaker_label' (did you mean 'speaker_labels'?)"),
        (["--config", "speakers_expected=0"], "speakers_expected"),
        (["--config-json", "[1, 2]"], "expected a JSON object"),
        (["--config", "novalue"], "KEY=VALUE"),
        # Checked against the option table before anything is uploaded.
        (["--language", "english"], "'english' is not a value speechkit knows"),
        (["--language", "english"], "Did you mean 'en'"),
        (["--redact-pii", "bogus_policy"], "redact_pii_policies: 'bogus_policy'"),
        (["--speech-model", "best2"], "Did you mean 'best'"),
        (["--config-json", '{"speaker_label": true}'], "did you mean 'speaker_labels'"),
    ],
)
def test_bad_options_are_one_line_usage_errors(
    server: LocalServer,
    wav: Path,
    option: list[str],
    named: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = server.jobs_created
    assert main([*connection_args(server), "transcribe", str(wav), *option]) == 2
    err = capsys.readouterr().err
    assert err.startswith("speechkit: error: ")
    assert named in err
    assert err.count("\n") == 1
    assert server.jobs_created == jobs


def test_terminal_shows_progress_then_the_transcript(server: LocalServer, wav: Path) -> None:
    run = run_on_terminal([*connection_args(server), "transcribe", str(wav)])
    assert run.returncode == 0, run.output
    assert "\rspeech.wav  uploading [" in run.output
    assert re.search(r"\rspeech\.wav  (queued|processing|submitted) \(job [0-9a-f-]+\)", run.output)
    assert re.search(r"speech\.wav  completed after \d+\.\ds \(job [0-9a-f-]+\)\r?\n", run.output)
    transcript_line = run.output.rstrip().splitlines()[-1]
    assert TEXT.split()[0] in transcript_line.lower()


def test_quiet_terminal_has_no_progress(server: LocalServer, wav: Path) -> None:
    run = run_on_terminal([*connection_args(server), "transcribe", str(wav), "--quiet"])
    assert run.returncode == 0, run.output
    assert "\r" not in run.output.replace("\r\n", "\n")
    assert run.output.strip().lower().startswith(TEXT.split()[0])


def test_ctrl_c_while_waiting_names_the_running_job(slow_server: LocalServer, wav: Path) -> None:
    process = start_cli([*connection_args(slow_server), "transcribe", str(wav)])
    try:
        deadline = time.monotonic() + 15
        while slow_server.jobs_created < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert out == ""
    job_id = slow_server.job_ids()[-1]
    assert err == (
        f"speechkit: interrupted; job {job_id} keeps running on the server "
        f"(speechkit get {job_id} fetches it later)\n"
    )
