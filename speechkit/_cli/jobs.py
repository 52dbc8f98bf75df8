"""``speechkit get ID``, ``speechkit list`` and ``speechkit delete ID``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from speechkit._cli.exitcodes import FAILED, OK, CLIError
from speechkit._cli.options import Connection
from speechkit._cli.output import render, write_atomic
from speechkit.progress import NullProgress, ProgressDisplay, TerminalProgress

__all__ = ["run_delete", "run_get", "run_list"]


def run_get(args: argparse.Namespace, connection: Connection) -> int:
    """Print a transcript by id (``--wait`` polls until it ends)."""
    transcriber = connection.transcriber()
    if args.wait:
        display: ProgressDisplay = NullProgress()
        if not args.quiet:
            display = TerminalProgress(args.id, stream=sys.stderr)
        with display:
            transcript = transcriber.wait_for_completion(args.id, progress=display)
    else:
        transcript = transcriber.get_transcript(args.id)
    if args.format != "json":
        if transcript.is_error:
            raise CLIError(
                f"transcript {transcript.id} failed: {transcript.error or 'no reason given'}",
                FAILED,
            )
        if not transcript.is_completed:
            raise CLIError(
                f"transcript {transcript.id} is {transcript.status}; pass --wait to wait for "
                "it, or --format json for its current state",
                FAILED,
            )
    text = render(transcriber, transcript, args.format, chars_per_caption=args.chars_per_caption)
    if args.out:
        write_atomic(Path(args.out), text)
    else:
        sys.stdout.write(text)
    return OK


def run_list(args: argparse.Namespace, connection: Connection) -> int:
    """Print your transcripts, newest first."""
    transcriber = connection.transcriber()
    items = []
    for item in transcriber.iter_transcripts(limit=min(args.limit, 200), status=args.status):
        items.append(item)
        if len(items) >= args.limit:
            break
    if args.format == "json":
        data = [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return OK
    rows = [
        (item.id, str(item.status or ""), item.created or "", item.audio_url or "")
        for item in items
    ]
    if sys.stdout.isatty():
        rows.insert(0, ("ID", "STATUS", "CREATED", "AUDIO"))
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        sys.stdout.write("  ".join([*cells, row[3]]).rstrip() + "\n")
    return OK


def run_delete(args: argparse.Namespace, connection: Connection) -> int:
    """Delete transcripts' data on the server."""
    transcriber = connection.transcriber()
    for transcript_id in args.ids:
        transcriber.delete_transcript(transcript_id)
        print(f"deleted {transcript_id}")
    return OK
