"""Output formats of a transcript, and writing files so a half-written one never appears."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from speechkit._cli.exitcodes import FAILED, CLIError

if TYPE_CHECKING:
    from speechkit.models import Transcript
    from speechkit.transcriber import Transcriber

__all__ = ["EXTENSIONS", "FORMATS", "render", "write_atomic"]

FORMATS = ("text", "json", "srt", "vtt")

#: File extension of each format in folder runs and for ``--out DIR``.
EXTENSIONS = {"text": "txt", "json": "json", "srt": "srt", "vtt": "vtt"}


def render(
    transcriber: Transcriber,
    transcript: Transcript,
    fmt: str,
    *,
    chars_per_caption: int | None = None,
) -> str:
    """The transcript in ``fmt``, ending with a newline.

    ``text`` is the transcript's text; ``json`` the unified transcript (AssemblyAI's shape,
    null fields left out); ``srt`` and ``vtt`` come from the transcriber's subtitle export (the
    provider's own where it has one, else built from the word timings).
    """
    if fmt == "text":
        return (transcript.text or "") + "\n"
    if fmt == "json":
        data = transcript.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "srt":
        text = transcriber.export_subtitles_srt(transcript, chars_per_caption=chars_per_caption)
    elif fmt == "vtt":
        text = transcriber.export_subtitles_vtt(transcript, chars_per_caption=chars_per_caption)
    else:  # argparse restricts the choices
        raise CLIError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return text if text.endswith("\n") else text + "\n"


def write_atomic(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it and ``os.replace``, so
    readers (and a rerun after a crash) see the old file or the new one, never a torn one.

    Args:
        path: The file to write; its folder is created if needed.
        text: The content (UTF-8).
        durable: Also ``fsync`` before the rename (for the run state).

    Raises:
        CLIError: The file cannot be written (exit code 1), naming the path and the reason.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Mode "x" with the usual permissions (the umask applies, unlike mkstemp's 0600).
            with temporary.open("x", encoding="utf-8", newline="") as handle:
                handle.write(text)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
    except OSError as err:
        raise CLIError(f"cannot write {str(path)!r}: {err.strerror or err}", FAILED) from err
