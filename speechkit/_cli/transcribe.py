"""``speechkit transcribe PATH|URL|DIR``: one file or URL to stdout or ``--out``; a folder
is handed to :mod:`speechkit._cli.folder`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from speechkit._cli import folder
from speechkit._cli.exitcodes import INTERRUPTED, OK, USAGE, CLIError
from speechkit._cli.options import Connection, build_config
from speechkit._cli.output import EXTENSIONS, render, write_atomic
from speechkit._core.progress import TranscriptionProgress
from speechkit.progress import NullProgress, ProgressDisplay, TerminalProgress

__all__ = ["is_url", "run"]


def is_url(text: str) -> bool:
    """Whether the input names a remote file the service fetches itself."""
    return urlsplit(text).scheme in ("http", "https")


def _local_file(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise CLIError(f"no such file or folder: {text!r}", USAGE)
    if not path.is_file():
        raise CLIError(f"not a regular file or folder: {text!r}", USAGE)
    try:
        with path.open("rb"):
            pass
    except OSError as err:
        raise CLIError(f"cannot read {text!r}: {err.strerror or err}", USAGE) from err
    return path


def _output_path(out: str, name: str, fmt: str) -> Path:
    path = Path(out)
    if path.is_dir():
        return path / f"{Path(name).stem or 'transcript'}.{EXTENSIONS[fmt]}"
    return path


def run(args: argparse.Namespace, connection: Connection) -> int:
    """Transcribe one input; returns the exit code."""
    target: str = args.input
    if not is_url(target) and Path(target).is_dir():
        return folder.run(args, connection, Path(target))
    audio: str | Path = target if is_url(target) else _local_file(target)
    name = Path(urlsplit(target).path).name if is_url(target) else Path(target).name
    config = build_config(args)
    transcriber = connection.transcriber()
    display: ProgressDisplay = NullProgress()
    if not args.quiet:
        display = TerminalProgress(name or target, stream=sys.stderr)
    job: list[str] = []

    def progress(event: TranscriptionProgress) -> None:
        if event.transcript_id and not job:
            job.append(event.transcript_id)
        display(event)

    try:
        transcript = transcriber.transcribe(
            audio, config, poll_timeout=args.poll_timeout, progress=progress
        )
    except KeyboardInterrupt:
        display.close()
        if job and not connection.local:
            print(
                f"speechkit: interrupted; job {job[0]} keeps running on the server "
                f"(speechkit get {job[0]} fetches it later)",
                file=sys.stderr,
            )
        else:
            print("speechkit: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        display.close()
    text = render(transcriber, transcript, args.format, chars_per_caption=args.chars_per_caption)
    if args.out:
        path = _output_path(args.out, name, args.format)
        write_atomic(path, text)
        if not args.quiet and sys.stderr.isatty():
            print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return OK
