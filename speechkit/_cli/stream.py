"""``speechkit stream [FILE]``: realtime transcription of a WAV file or the microphone.

On a terminal, the partial transcript is redrawn in place on the last line and each final
replaces it on a line of its own. When stdout is not a terminal only finals are printed (one per
line, or one JSON object per line with ``--format json``), so the output pipes cleanly.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from speechkit._cli.exitcodes import FAILED, INTERRUPTED, OK, USAGE, CLIError, one_line
from speechkit._cli.options import Connection, stream_options
from speechkit.errors import RealtimeAudioLostError, RealtimeCallbackError, RealtimeError

__all__ = ["AUDIO_LOST", "Printer", "run"]

#: The exit code when some audio was not transcribed (the server did not confirm it before the
#: close timeout, or a reconnect could not replay it): the printed transcript is incomplete.
AUDIO_LOST = FAILED


class Printer:
    """Writes transcripts to a stream: partials in place on a terminal, finals on their own
    lines. Called from the session's reader thread; the lock keeps lines whole anyway."""

    def __init__(self, stream: Any, fmt: str, *, partials: bool | None = None) -> None:
        self._stream = stream
        self._format = fmt
        try:
            terminal = bool(stream.isatty())
        except (AttributeError, ValueError):
            terminal = False
        self._partials = terminal and fmt == "text" if partials is None else partials
        self._lock = threading.Lock()
        self._partial_shown = ""
        self.closed = threading.Event()  # the reader went away (a broken pipe)

    def _width(self) -> int:
        return max(shutil.get_terminal_size(fallback=(80, 24)).columns - 1, 20)

    def partial(self, event: Any) -> None:
        if not self._partials:
            return
        text = str(getattr(event, "text", "") or "")
        if len(text) > self._width():  # keep one line: show the latest words
            text = "..." + text[-(self._width() - 3) :]
        with self._lock:
            if text != self._partial_shown:  # an unchanged partial is not redrawn
                self._write("\r" + text + "\x1b[K")
                self._partial_shown = text

    def final(self, event: Any) -> None:
        if self._format == "json":
            line = json.dumps(event.model_dump(mode="json", exclude_none=True))
        else:
            line = str(getattr(event, "text", "") or "")
            if not line:
                return
        with self._lock:
            clear = "\r\x1b[K" if self._partial_shown else ""
            self._partial_shown = ""
            self._write(clear + line + "\n")

    def finish(self) -> None:
        with self._lock:
            if self._partial_shown:
                self._write("\r\x1b[K")
                self._partial_shown = ""

    def _write(self, text: str) -> None:
        if self.closed.is_set():
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (BrokenPipeError, ValueError):  # speechkit stream ... | head: stop quietly
            self.closed.set()


def _microphone(sample_rate: int, chunk_ms: int) -> Iterator[bytes]:
    from speechkit.audio import microphone_stream

    return microphone_stream(sample_rate, chunk_ms)


def _until(stop: threading.Event, chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if stop.is_set():
            return
        yield chunk


def run(args: argparse.Namespace, connection: Connection) -> int:
    """Stream a WAV file (or the microphone) and print the transcripts; returns the exit code."""
    if connection.provider != "assemblyai":
        raise CLIError(
            "stream uses AssemblyAI's realtime API; --provider aiml has none (use --local, or "
            "--base-url for a compatible server)",
            USAGE,
        )
    if args.file is None and not args.mic:
        raise CLIError("give a WAV file to stream, or --mic for the microphone", USAGE)
    if args.file is not None and args.mic:
        raise CLIError("give a WAV file or --mic, not both", USAGE)
    if args.file is not None and not Path(args.file).is_file():
        raise CLIError(f"no such file: {args.file!r}", USAGE)
    from speechkit.realtime import RealtimeTranscriber

    printer = Printer(sys.stdout, args.format)
    errors: list[RealtimeError] = []

    def on_error(error: Any) -> None:
        if isinstance(error, RealtimeAudioLostError):
            pass  # close() raises the total; reported once at the end
        elif isinstance(error, RealtimeCallbackError):
            print(f"speechkit: warning: {one_line(error)}", file=sys.stderr, flush=True)
        elif isinstance(error, RealtimeError):
            errors.append(error)
        else:  # a server error message that did not end the session
            print(f"speechkit: server error: {one_line(error)}", file=sys.stderr, flush=True)

    options: dict[str, Any] = stream_options(args)
    if connection.max_retries is not None:
        options["max_retries"] = connection.max_retries
    if connection.http_timeout is not None:
        options["connect_timeout"] = connection.http_timeout
    transcriber = RealtimeTranscriber(
        on_partial=printer.partial,
        on_final=printer.final,
        on_error=on_error,
        sample_rate=args.sample_rate,
        protocol=args.protocol,
        api_key=connection.api_key,
        base_url=connection.base_url,
        **options,
    )
    chunks: Iterator[bytes]
    if args.mic:
        chunks = _microphone(args.sample_rate, transcriber.options.chunk_ms)
    else:
        # Read the first chunk now, so a file that is not a WAV fails before connecting.
        from speechkit.audio import stream_file

        options_now = transcriber.options
        chunks = stream_file(
            args.file,
            options_now.sample_rate,
            options_now.chunk_ms,
            args.realtime,
            options_now.encoding,
        )
        chunks = itertools.chain([next(chunks, b"")], chunks)
    chunks = _until(printer.closed, chunks)
    interrupted = False
    lost: RealtimeAudioLostError | None = None
    transcriber.connect()
    try:
        transcriber.stream(chunks)
    except KeyboardInterrupt:
        interrupted = not args.mic  # Ctrl-C is how a microphone stream ends
    finally:
        try:
            transcriber.close(timeout=getattr(args, "timeout", None))
        except KeyboardInterrupt:
            interrupted = True
        except RealtimeAudioLostError as error:
            lost = error
        printer.finish()
    if printer.closed.is_set():
        raise BrokenPipeError("stdout was closed")
    if interrupted:
        print("speechkit: interrupted", file=sys.stderr)
        return INTERRUPTED
    if errors:
        raise errors[-1]
    if lost is not None:
        # Documented: some audio has no transcript, so the output is incomplete.
        print(f"speechkit: error: {one_line(lost)}", file=sys.stderr, flush=True)
        return AUDIO_LOST
    return OK
