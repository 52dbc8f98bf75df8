"""``speechkit transcribe DIR``: one output per file, resumable without duplicate jobs."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from speechkit.ledger import Ledger
from speechkit.server import LocalServer
from tests.cli.conftest import (
    TEXT,
    connection_args,
    run_cli,
    run_on_terminal,
    start_cli,
    write_wav,
)

STATE = ".speechkit-ledger.db"
#: Enough files that a kill after the second create lands before the last one is created
#: (the group creates ahead while earlier jobs are still processing).
FILES_TO_KILL = 12


def _state(out: Path) -> dict[str, dict[str, str]]:
    """Each file's ledger entry, by file name."""
    ledger = Ledger(out / STATE)
    return {
        entry.audio.split(":")[1].rsplit("/", 1)[-1]: {
            "status": entry.state,
            "transcript_id": entry.transcript_id or "",
        }
        for entry in ledger.entries()
    }


def _wait_for(condition, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_folder_writes_one_output_per_file_and_a_rerun_creates_nothing(
    server: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = server.jobs_created
    result = run_cli([*connection_args(server), "transcribe", str(folder), "--out", str(out)])
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert server.jobs_created - before == 4
    for index in range(4):
        assert (out / f"clip{index}.txt").read_text().lower().startswith(TEXT.split()[0])
    assert not (out / "notes.txt").exists()
    assert {entry["status"] for entry in _state(out).values()} == {"written"}
    assert (
        result.stderr == f"speechkit: 4 transcribed, 0 already done, 0 failed; outputs in {out}\n"
    )

    again = run_cli([*connection_args(server), "transcribe", str(folder), "--out", str(out)])
    assert again.returncode == 0, again.stderr
    assert "0 transcribed, 4 already done" in again.stderr
    assert server.jobs_created - before == 4

    # Another format reuses the finished jobs: new files, no new jobs.
    srt = run_cli(
        [*connection_args(server), "transcribe", str(folder), "-o", str(out), "-f", "srt"]
    )
    assert srt.returncode == 0, srt.stderr
    assert all((out / f"clip{index}.srt").read_text().startswith("1\n") for index in range(4))
    assert server.jobs_created - before == 4


def test_outputs_go_beside_the_inputs_by_default(server: LocalServer, tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    write_wav(root / "a.wav")
    write_wav(root / "a.mp3")  # same stem: both keep their extension in the output name
    write_wav(root / "sub" / "b.wav")
    result = run_cli([*connection_args(server), "transcribe", str(root), "-r", "-f", "json"])
    assert result.returncode == 0, result.stderr
    assert json.loads((root / "a.wav.json").read_text())["status"] == "completed"
    assert (root / "a.mp3.json").exists()
    assert (root / "sub" / "b.json").exists()
    assert (root / STATE).exists()  # the ledger of the run


def test_resume_after_kill_creates_no_duplicate_jobs(
    slow_server: LocalServer, tmp_path: Path
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for index in range(FILES_TO_KILL):
        write_wav(root / f"f{index}.wav", tone=index)
    out = tmp_path / "out"
    args = [*connection_args(slow_server), "transcribe", str(root), "-o", str(out), "-j", "2"]
    process = start_cli(args)
    try:
        _wait_for(lambda: slow_server.jobs_created >= 2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    created_before_kill = slow_server.jobs_created
    assert created_before_kill < FILES_TO_KILL
    assert not all((out / f"f{index}.txt").exists() for index in range(FILES_TO_KILL))

    result = run_cli(args)
    assert result.returncode == 0, result.stderr
    assert slow_server.jobs_created == FILES_TO_KILL  # every file once, across both runs
    for index in range(FILES_TO_KILL):
        assert (out / f"f{index}.txt").exists()


def test_a_job_created_just_before_a_crash_is_found_not_created_again(
    server: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = [*connection_args(server), "transcribe", str(folder), "-o", str(out)]
    assert run_cli(args).returncode == 0
    created = server.jobs_created
    # Rewind clip2 to the crash window: upload URL recorded, create sent, its id never recorded.
    ledger = Ledger(out / STATE)
    (entry,) = [e for e in ledger.entries() if e.audio.split(":")[1].endswith("/clip2.wav")]
    options = ledger._db().execute("SELECT options FROM jobs LIMIT 1").fetchone()[0]
    job_id = entry.transcript_id
    ledger._set(entry.audio, options, state="creating", transcript_id=None, transcript=None)
    (out / "clip2.txt").unlink()

    result = run_cli(args)
    assert result.returncode == 0, result.stderr
    assert server.jobs_created == created  # found by its audio_url in the job list
    assert _state(out)["clip2.wav"]["transcript_id"] == job_id
    assert (out / "clip2.txt").exists()


def test_a_failed_output_write_is_written_again_without_a_new_job(
    server: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip1.txt").mkdir()  # the output cannot be written: a folder is in the way
    args = [*connection_args(server), "transcribe", str(folder), "-o", str(out)]
    before = server.jobs_created
    first = run_cli(args)
    assert first.returncode == 1
    assert "failed   clip1.wav" in first.stderr
    assert _state(out)["clip1.wav"]["status"] == "done"  # paid for and kept
    (out / "clip1.txt").rmdir()
    again = run_cli(args)
    assert again.returncode == 0, again.stderr
    assert "1 transcribed, 3 already done" in again.stderr
    assert server.jobs_created - before == 4  # the rerun paid for nothing
    assert (out / "clip1.txt").read_text().lower().startswith(TEXT.split()[0])


def test_an_older_runs_json_state_is_read_once(
    server: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = [*connection_args(server), "transcribe", str(folder), "-o", str(out)]
    assert run_cli(args).returncode == 0
    created = server.jobs_created
    ids = {name: entry["transcript_id"] for name, entry in _state(out).items()}
    service, options = str(Ledger(out / STATE).get_meta("run")).split("\n")
    # What the previous release left: a JSON state and no ledger; clip1's job was still
    # running, clip3's output was never written.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{out / STATE}{suffix}").unlink(missing_ok=True)
    files = {}
    for index in range(4):
        stat = (folder / f"clip{index}.wav").stat()
        status = "submitted" if index == 1 else "done"
        files[f"clip{index}.wav"] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "status": status,
            "transcript_id": ids[f"clip{index}.wav"],
        }
    legacy = out / ".speechkit-run.json"
    legacy.write_text(
        json.dumps({"version": 1, "service": service, "options": options, "files": files})
    )
    (out / "clip1.txt").unlink()
    (out / "clip3.txt").unlink()

    result = run_cli(args)
    assert result.returncode == 0, result.stderr
    assert "2 transcribed, 2 already done" in result.stderr
    assert server.jobs_created == created  # the recorded jobs were used, none made again
    assert (out / "clip1.txt").exists()
    assert (out / "clip3.txt").exists()
    assert not legacy.exists()  # read once: kept aside, the ledger holds it now
    assert (out / ".speechkit-run.json.imported").exists()
    assert {e["status"] for e in _state(out).values()} == {"written"}


def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(
    slow_server: LocalServer, tmp_path: Path
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for index in range(4):
        write_wav(root / f"g{index}.wav", tone=index)
    out = tmp_path / "out"
    args = [*connection_args(slow_server), "transcribe", str(root), "-o", str(out), "-j", "2"]
    process = start_cli(args)
    try:
        _wait_for(lambda: slow_server.jobs_created >= 2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Run the same command again to resume" in stderr
    assert stderr.strip().count("\n") == 0
    recorded = [e for e in _state(out).values() if e.get("transcript_id")]
    creating = [e for e in _state(out).values() if e["status"] == "creating"]
    # Every job whose answer arrived is recorded; a create still on the wire at Ctrl-C (at
    # most -j of them) is left "creating", and the rerun finds its job by its upload URL.
    assert len(recorded) + len(creating) >= slow_server.jobs_created
    assert len(creating) <= 2

    result = run_cli(args)
    assert result.returncode == 0, result.stderr
    assert slow_server.jobs_created == 4


def test_a_failed_file_gives_exit_code_1_and_the_others_finish(
    server: LocalServer, folder: Path, tmp_path: Path
) -> None:
    (folder / "broken.wav").write_bytes(b"this is not audio at all")
    out = tmp_path / "out"
    result = run_cli([*connection_args(server), "transcribe", str(folder), "-o", str(out)])
    assert result.returncode == 1
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failures) == 1
    assert failures[0].startswith("failed   broken.wav: job ")
    assert "4 transcribed, 0 already done, 1 failed" in result.stderr
    assert _state(out)["broken.wav"]["status"] == "failed"
    assert not (out / "broken.txt").exists()
    assert len(list(out.glob("clip*.txt"))) == 4


def test_changed_options_need_restart(server: LocalServer, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = [*connection_args(server), "transcribe", str(folder), "-o", str(out)]
    assert run_cli(base).returncode == 0
    changed = run_cli([*base, "--language", "de"])
    assert changed.returncode == 2
    assert "other transcription options" in changed.stderr
    assert "--restart" in changed.stderr
    created = server.jobs_created
    restarted = run_cli([*base, "--language", "de", "--restart", "--overwrite"])
    assert restarted.returncode == 0, restarted.stderr
    assert server.jobs_created == created + 4


def test_terminal_shows_one_overall_bar(server: LocalServer, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_on_terminal([*connection_args(server), "transcribe", str(folder), "-o", str(out)])
    assert run.returncode == 0, run.output
    assert "\raudio  [####################] 4/4" in run.output
    assert "done     clip0.wav -> " in run.output
    assert "4 transcribed, 0 already done, 0 failed" in run.output


def test_an_empty_folder_is_a_usage_error(server: LocalServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli([*connection_args(server), "transcribe", str(empty)])
    assert result.returncode == 2
    assert result.stderr.startswith("speechkit: error: no audio files in ")
    assert result.stderr.count("\n") == 1
