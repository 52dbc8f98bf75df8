"""``speechkit transcribe DIR``: every audio file of a folder, resumable, with an overall bar.

The files run as one group (:mod:`speechkit._core.group`, the same flow as
``transcribe_group``) with a ledger (:mod:`speechkit.ledger`) at
``<out>/.speechkit-ledger.db``: every step is recorded before the next one starts, so a rerun
after a crash, ``kill -9`` or Ctrl-C never pays for a job twice. It skips files whose output
exists, writes outputs of jobs already done from the ledger (no request for the job), waits for
jobs already created, and only creates the rest. An older run's ``.speechkit-run.json`` is
read once into the ledger.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechkit._cli.exitcodes import (
    AUTH,
    FAILED,
    INTERRUPTED,
    NETWORK,
    OK,
    USAGE,
    CLIError,
    exit_code_for,
    one_line,
)
from speechkit._cli.options import Connection, build_config, config_options
from speechkit._cli.output import EXTENSIONS, render, write_atomic
from speechkit._cli.state import LOCAL_SERVICE, STATE_NAME, RunState, options_fingerprint
from speechkit._core.group import GroupHooks
from speechkit._ledger_run import LedgerRun
from speechkit.errors import TranscriptionError
from speechkit.ledger import Ledger, audio_identity
from speechkit.progress import GroupProgress

if TYPE_CHECKING:
    from speechkit._core.rounds import Rounds
    from speechkit.config import TranscriptionConfig
    from speechkit.models import Transcript
    from speechkit.transcriber import Transcriber

__all__ = ["AUDIO_EXTENSIONS", "find_audio", "run"]

#: Files a folder run picks up (case-insensitive).
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".webm"}
    | {".wma", ".amr", ".aif", ".aiff", ".mov", ".mkv"}
)

#: The ledger of a folder run, in the output folder.
LEDGER_NAME = ".speechkit-ledger.db"


def find_audio(root: Path, recursive: bool) -> list[Path]:
    """Audio files under ``root`` (hidden files left out), sorted by path."""
    candidates = root.rglob("*") if recursive else root.iterdir()
    found = [
        path
        for path in candidates
        if path.suffix.lower() in AUDIO_EXTENSIONS
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]
    return sorted(found)


@dataclass(frozen=True)
class _Item:
    key: str  # the path relative to the folder, POSIX style: the state's key
    path: Path
    output: Path
    size: int
    mtime_ns: int


def _items(root: Path, out_dir: Path, fmt: str, recursive: bool) -> list[_Item]:
    files = find_audio(root, recursive)
    if not files:
        raise CLIError(
            f"no audio files in {str(root)!r} (looked for {', '.join(sorted(AUDIO_EXTENSIONS))}"
            + ("" if recursive else "; --recursive looks in subfolders")
            + ")",
            USAGE,
        )
    extension = EXTENSIONS[fmt]
    stems: dict[Path, int] = {}
    for path in files:
        stem = path.relative_to(root).with_suffix("")
        stems[stem] = stems.get(stem, 0) + 1
    items = []
    for path in files:
        relative = path.relative_to(root)
        # a.wav and a.mp3 would both write a.txt: those keep their extension (a.wav.txt).
        base = relative if stems[relative.with_suffix("")] > 1 else relative.with_suffix("")
        stat = path.stat()
        items.append(
            _Item(
                key=relative.as_posix(),
                path=path,
                output=out_dir / f"{base}.{extension}",
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
            )
        )
    return items


class _Outputs(GroupHooks):
    """Writes each file's output as its job completes (in the driving thread) and keeps the
    overall bar and the summary; a fatal error (a rejected key, no network) stops the run."""

    def __init__(self, run: _FolderRun, items: list[_Item]) -> None:
        self.run = run
        self.items = items
        self.rounds: Rounds | None = None

    def finished(self, index: int, outcome: Transcript | BaseException) -> None:
        item = self.items[index]
        if isinstance(outcome, BaseException):
            self.run.failed(item, outcome)
            if exit_code_for(outcome) in (AUTH, NETWORK) and not isinstance(
                outcome, TranscriptionError
            ):
                self.run.fatal = self.run.fatal or outcome
                if self.rounds is not None:
                    self.rounds.stop()  # not this file's fault: create nothing more
        else:
            self.run.write(item, outcome)


class _FolderRun:
    def __init__(
        self,
        args: argparse.Namespace,
        connection: Connection,
        ledger: Ledger,
        options: str,
        config: TranscriptionConfig | None,
        group: GroupProgress,
    ) -> None:
        self.args = args
        self.connection = connection
        self.transcriber: Transcriber = connection.transcriber()
        self.ledger = ledger
        self.options = options
        self.config = config
        self.progress = group
        self.fatal: BaseException | None = None
        self.done = 0
        self.failures = 0

    def report(self, line: str) -> None:
        if self.progress.enabled:
            self.progress.message(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def key(self, item: _Item) -> str:
        return audio_identity(item.path)

    def failed(self, item: _Item, error: BaseException) -> None:
        self.failures += 1
        self.progress.finished(item.key, ok=False)
        if self.fatal is None:
            reason = one_line(error)
            if (
                isinstance(error, TranscriptionError)
                and error.server_message
                and error.transcript_id
            ):
                detail = " ".join(error.server_message.split())
                reason = f"job {error.transcript_id}: {detail}"
            self.report(f"failed   {item.key}: {reason}")

    def write(self, item: _Item, transcript: Transcript) -> None:
        """Write one output; a failure to write is this file's failure, and the job stays
        recorded as done, so a rerun writes it again without paying for a new job."""
        try:
            text = render(
                self.transcriber,
                transcript,
                self.args.format,
                chars_per_caption=self.args.chars_per_caption,
            )
            write_atomic(item.output, text)
        except Exception as err:
            self.failed(item, err)
            return
        self.ledger.written(self.key(item), self.options, [item.output])
        self.done += 1
        self.progress.finished(item.key)
        if self.progress.enabled:
            self.progress.message(f"done     {item.key} -> {item.output}")

    def run(self, items: list[_Item]) -> int:
        todo: list[_Item] = []
        for item in items:
            entry = self.ledger.get(self.key(item), self.options)
            if self.args.overwrite:
                if entry is not None and entry.state in ("done", "written"):
                    self.ledger.forget(self.key(item), self.options)  # transcribe it again
                todo.append(item)
            elif item.output.is_file() and (entry is None or entry.state in ("done", "written")):
                self.progress.skipped(item.key)
            else:
                todo.append(item)
        if todo:
            try:
                self._transcribe(todo)
            except KeyboardInterrupt:
                return self._interrupted()
            finally:
                self.ledger.release_all()
        self.progress.close()
        if self.fatal is not None:
            raise self.fatal
        return self._summary(items)

    def _transcribe(self, todo: list[_Item]) -> None:
        hooks = _Outputs(self, todo)
        run = LedgerRun(
            self.transcriber,
            [item.path for item in todo],
            self.config,
            self.ledger,
            None,
            self.args.concurrency,
            "auto",
            options=self.options,
            extra=hooks,
        )
        shell = self.transcriber._shell
        hooks.rounds = rounds = run.group_run().rounds
        shell.run_group(
            rounds, max_workers=max(self.args.concurrency, 4), thread_name_prefix="speechkit-cli"
        )

    def _interrupted(self) -> int:
        self.progress.close()
        running = self.ledger.counts(self.options).get("running", 0)
        if self.connection.local:
            detail = "the local server stopped with it"
        else:
            detail = f"{running} job(s) keep running on the server"
        print(
            f"speechkit: interrupted; {detail}. Run the same command again to resume "
            f"(ledger: {self.ledger.path})",
            file=sys.stderr,
        )
        return INTERRUPTED

    def _summary(self, items: list[_Item]) -> int:
        skipped = len(items) - self.done - self.failures
        if not self.args.quiet:
            out_dir = self.args.out or items[0].path.parent
            print(
                f"speechkit: {self.done} transcribed, {skipped} already done, "
                f"{self.failures} failed; outputs in {out_dir}",
                file=sys.stderr,
            )
        return FAILED if self.failures else OK


def _open_ledger(
    out_dir: Path, items: list[_Item], *, service: str, options: str, restart: bool
) -> Ledger:
    """The run's ledger; on first use, the records of an older run's JSON state, read once."""
    path = out_dir / LEDGER_NAME
    legacy = out_dir / STATE_NAME
    if restart:
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), legacy):
            name.unlink(missing_ok=True)
    ledger = Ledger(path)
    recorded = ledger.get_meta("run")
    run_label = f"{service}\n{options}"
    if recorded is None:
        if legacy.exists():
            _import_state(ledger, legacy, items, service=service, options=options)
        ledger.set_meta("run", run_label)
    elif recorded != run_label:
        recorded_service = recorded.split("\n")[0]
        if recorded_service != service:
            raise CLIError(
                f"{str(path)!r} records a run against {recorded_service!r}, not {service!r}; "
                "rerun with the same --provider/--base-url to resume it, or pass --restart",
                USAGE,
            )
        raise CLIError(
            f"{str(path)!r} records a run with other transcription options; rerun with the "
            "same options to resume it, or pass --restart to start over",
            USAGE,
        )
    if service == LOCAL_SERVICE:
        ledger.forget_unfinished()  # the embedded server that ran those jobs is gone
    return ledger


_LEGACY_STATES = {
    "uploaded": "uploaded",
    "creating": "creating",
    "submitted": "running",
    "done": "written",
    "failed": "failed",
}


def _import_state(
    ledger: Ledger, legacy: Path, items: list[_Item], *, service: str, options: str
) -> None:
    state = RunState.load(legacy, service=service, options=options, restart=False)
    for item in items:
        entry: dict[str, Any] | None = state.get(item.key, item.size, item.mtime_ns)
        status = _LEGACY_STATES.get(str((entry or {}).get("status")))
        if entry is None or status is None:
            continue
        if status == "running" and not entry.get("transcript_id"):
            continue
        ledger.record(
            audio_identity(item.path),
            options,
            status,
            upload_url=entry.get("upload_url"),
            transcript_id=entry.get("transcript_id"),
            error=entry.get("error"),
        )
    legacy.replace(legacy.with_name(legacy.name + ".imported"))


def run(args: argparse.Namespace, connection: Connection, root: Path) -> int:
    """Transcribe every audio file in ``root``; returns the exit code."""
    out_dir = Path(args.out) if args.out else root
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {args.out!r} is a file; a folder run needs a folder", USAGE)
    items = _items(root, out_dir, args.format, args.recursive)
    config = build_config(args)
    service = LOCAL_SERVICE if connection.local else connection.server_label
    options = options_fingerprint(config_options(args))
    ledger = _open_ledger(out_dir, items, service=service, options=options, restart=args.restart)
    group = GroupProgress(
        len(items), label=root.name or str(root), display="none" if args.quiet else "auto"
    )
    return _FolderRun(args, connection, ledger, options, config, group).run(items)
