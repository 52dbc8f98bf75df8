"""``speechkit transcribe DIR``: every audio file of a folder, resumable, with an overall bar.

Each file goes through upload -> create -> wait -> write, on a small thread pool. Every step is
recorded in the run state (:mod:`speechkit._cli.state`) before the next one starts, so a rerun
after a crash, ``kill -9`` or Ctrl-C never pays for a job twice: it skips files whose output
exists, waits for jobs already created, and only creates the rest.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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
from speechkit.errors import BadRequestError, NotFoundError, NotSupportedError
from speechkit.progress import GroupProgress

if TYPE_CHECKING:
    from speechkit.config import TranscriptionConfig
    from speechkit.models import Transcript
    from speechkit.transcriber import Transcriber

__all__ = ["AUDIO_EXTENSIONS", "find_audio", "run"]

#: Files a folder run picks up (case-insensitive).
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".webm"}
    | {".wma", ".amr", ".aif", ".aiff", ".mov", ".mkv"}
)

#: Newest jobs searched for a job created just before a crash, before the run creates it again.
RECOVERY_LIMIT = 1000

Outcome = Literal["done", "failed", "interrupted"]


class _Interrupted(Exception):
    """The run was interrupted before this step (nothing was sent for it)."""


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


class _FolderRun:
    def __init__(
        self,
        args: argparse.Namespace,
        connection: Connection,
        state: RunState,
        config: TranscriptionConfig | None,
        group: GroupProgress,
    ) -> None:
        self.args = args
        self.connection = connection
        self.transcriber: Transcriber = connection.transcriber()
        self.state = state
        self.config = config
        self.group = group
        self.stop = threading.Event()
        self.fatal: BaseException | None = None
        self._lock = threading.Lock()
        self.uploads_first = self.transcriber.provider.uploads_local_audio

    def report(self, line: str) -> None:
        if self.group.enabled:
            self.group.message(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def _check(self) -> None:
        if self.stop.is_set():
            raise _Interrupted

    # -- one file ---------------------------------------------------------------------------

    def process(self, item: _Item) -> Outcome:
        try:
            return self._process(item)
        except _Interrupted:
            return "interrupted"
        except Exception as err:
            if self.stop.is_set():
                return "interrupted"  # close() ended the wait; the job keeps running
            if exit_code_for(err) in (AUTH, NETWORK):
                # Not this file's fault (a rejected key, an unreachable server): stop the run;
                # the state keeps what was done, so a rerun resumes.
                with self._lock:
                    self.fatal = self.fatal or err
                self.stop.set()
                return "interrupted"
            self.state.update(
                item.key, item.size, item.mtime_ns, status="failed", error=one_line(err)
            )
            self.report(f"failed   {item.key}: {one_line(err)}")
            return "failed"

    def _record(self, item: _Item, **fields: str | None) -> None:
        self.state.update(item.key, item.size, item.mtime_ns, **fields)

    def _process(self, item: _Item) -> Outcome:
        entry = self.state.get(item.key, item.size, item.mtime_ns) or {}
        progress = self.group.job(item.key)
        transcript_id = entry.get("transcript_id")
        if entry.get("status") == "failed":
            self.state.reset(item.key)  # a failed job is transcribed again
            entry, transcript_id = {}, None
        if transcript_id is None:
            transcript_id = self._create(item, entry, progress)
        transcript = self.transcriber.wait_for_completion(transcript_id, progress=progress)
        if transcript.is_error:
            message = transcript.error or "the job failed"
            self._record(item, status="failed", error=f"job {transcript.id}: {message}")
            self.report(f"failed   {item.key}: job {transcript.id}: {message}")
            return "failed"
        self._write(item, transcript)
        return "done"

    def _create(self, item: _Item, entry: dict[str, str], progress: Callable[..., None]) -> str:
        if not self.uploads_first:
            # The provider takes the audio inside the create request (AIML): nothing to record
            # before it, and no job list to search after a crash.
            if entry.get("status") == "creating":
                self.report(
                    f"warning  {item.key}: a previous run may have created this job already; "
                    "this provider cannot list jobs, so it is created again"
                )
            self._check()
            self._record(item, status="creating")
            transcript = self.transcriber.submit(item.path, self.config, progress=progress)
            self._record(item, transcript_id=transcript.id, status="submitted")
            return transcript.id
        upload_url = entry.get("upload_url")
        if upload_url is None:
            self._check()
            upload_url = self.transcriber.upload_file(item.path, progress=progress)
            self._record(item, upload_url=upload_url, status="uploaded")
        self._check()
        self._record(item, status="creating")
        try:
            transcript = self.transcriber.submit(upload_url, self.config, progress=progress)
        except (BadRequestError, NotFoundError):
            if "upload_url" not in entry:
                raise
            # An upload URL from an earlier run may have expired: upload again, once.
            self._check()
            upload_url = self.transcriber.upload_file(item.path, progress=progress)
            self._record(item, upload_url=upload_url, status="creating")
            transcript = self.transcriber.submit(upload_url, self.config, progress=progress)
        self._record(item, transcript_id=transcript.id, status="submitted")
        return transcript.id

    def _write(self, item: _Item, transcript: Transcript) -> None:
        text = render(
            self.transcriber,
            transcript,
            self.args.format,
            chars_per_caption=self.args.chars_per_caption,
        )
        write_atomic(item.output, text)
        self._record(item, transcript_id=transcript.id, status="done", error=None)
        self.group.finished(item.key)
        if self.group.enabled:
            self.group.message(f"done     {item.key} -> {item.output}")

    # -- recovery ---------------------------------------------------------------------------

    def recover_created_jobs(self, items: list[_Item]) -> None:
        """Find jobs a crashed run created but did not record (upload URL, no id)."""
        wanted: dict[str, _Item] = {}
        for item in items:
            entry = self.state.get(item.key, item.size, item.mtime_ns) or {}
            url = entry.get("upload_url")
            if url and not entry.get("transcript_id") and entry.get("status") == "creating":
                wanted[url] = item
        if not wanted or not self.uploads_first:
            return
        try:
            found = self.transcriber.find_transcripts(list(wanted), search_limit=RECOVERY_LIMIT)
        except NotSupportedError:
            return
        for url, transcript_id in found.items():
            self._record(wanted[url], transcript_id=transcript_id, status="submitted")

    # -- the whole folder -------------------------------------------------------------------

    def run(self, items: list[_Item]) -> int:
        todo: list[_Item] = []
        for item in items:
            entry = self.state.get(item.key, item.size, item.mtime_ns) or {}
            done = entry.get("status") == "done" or (not entry and not self.args.overwrite)
            if done and item.output.exists() and not self.args.overwrite:
                self.group.skipped(item.key)
            else:
                todo.append(item)
        if self.args.overwrite:
            for item in todo:
                entry = self.state.get(item.key, item.size, item.mtime_ns) or {}
                if entry.get("status") == "done":
                    self.state.reset(item.key)
        self.recover_created_jobs(todo)
        outcomes: dict[str, Outcome] = {}
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.args.concurrency, thread_name_prefix="speechkit-cli"
        )
        futures = {pool.submit(self.process, item): item for item in todo}
        pending = set(futures)
        closed = False
        try:
            while pending:
                finished, pending = concurrent.futures.wait(pending, timeout=0.25)
                for future in finished:
                    outcome = future.result()
                    outcomes[futures[future].key] = outcome
                    if outcome == "failed":
                        self.group.finished(futures[future].key, ok=False)
                if self.fatal is not None and not closed:
                    closed = True
                    self.transcriber.close()  # end the other waits now; the jobs keep running
                self.group.refresh()
        except KeyboardInterrupt:
            return self._interrupted(pool)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        self.group.close()
        if self.fatal is not None:
            raise self.fatal
        return self._summary(items, outcomes)

    def _interrupted(self, pool: concurrent.futures.ThreadPoolExecutor) -> int:
        # Stop creating jobs, end the waits (jobs keep running on the server), let the threads
        # finish the step they are in so the state stays consistent.
        self.stop.set()
        self.transcriber.close()
        pool.shutdown(wait=True, cancel_futures=True)
        self.group.close()
        running = sum(
            1 for entry in self.state.entries().values() if entry.get("status") == "submitted"
        )
        if self.connection.local:
            detail = "the local server stopped with it"
        else:
            detail = f"{running} job(s) keep running on the server"
        print(
            f"speechkit: interrupted; {detail}. Run the same command again to resume "
            f"(state: {self.state.path})",
            file=sys.stderr,
        )
        return INTERRUPTED

    def _summary(self, items: list[_Item], outcomes: dict[str, Outcome]) -> int:
        done = sum(1 for o in outcomes.values() if o == "done")
        failed = sum(1 for o in outcomes.values() if o == "failed")
        skipped = len(items) - len(outcomes)
        if not self.args.quiet:
            out_dir = self.args.out or items[0].path.parent
            print(
                f"speechkit: {done} transcribed, {skipped} already done, {failed} failed; "
                f"outputs in {out_dir}",
                file=sys.stderr,
            )
        return FAILED if failed else OK


def run(args: argparse.Namespace, connection: Connection, root: Path) -> int:
    """Transcribe every audio file in ``root``; returns the exit code."""
    out_dir = Path(args.out) if args.out else root
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {args.out!r} is a file; a folder run needs a folder", USAGE)
    items = _items(root, out_dir, args.format, args.recursive)
    config = build_config(args)
    service = LOCAL_SERVICE if connection.local else connection.server_label
    state = RunState.load(
        out_dir / STATE_NAME,
        service=service,
        options=options_fingerprint(config_options(args)),
        restart=args.restart,
    )
    group = GroupProgress(
        len(items), label=root.name or str(root), display="none" if args.quiet else "auto"
    )
    state.save()
    return _FolderRun(args, connection, state, config, group).run(items)
