"""Progress displays for batch transcription: a terminal bar, a Jupyter display, and a chooser.

Each display is a callable that takes :class:`~speechkit.TranscriptionProgress` events, so it
can be passed as ``progress=`` to ``upload_file``, ``submit``, ``transcribe`` and
``wait_for_completion`` (and their ``*_async`` and asyncio forms)::

    import speechkit
    from speechkit import progress

    with speechkit.Transcriber() as transcriber:
        transcript = transcriber.transcribe("meeting.mp3", progress=progress.auto("meeting"))

* :func:`auto` picks :class:`JupyterProgress` inside a notebook, :class:`TerminalProgress` when
  standard error is a terminal, and :class:`NullProgress` otherwise (piped output stays clean).
* :class:`TerminalProgress` redraws one line of a terminal stream with ``\\r``; it writes nothing
  at all when the stream is not a terminal.
* :class:`JupyterProgress` shows an HTML ``<progress>`` bar (with a plain-text fallback) and
  updates it in place through an IPython display handle. IPython is imported only when the
  display first draws; there is no ipywidgets dependency.
* :class:`GroupProgress` is one overall bar for many jobs (the ``speechkit transcribe DIR``
  folder run uses it): ``progress=group.job(name)`` per job, :meth:`GroupProgress.finished`
  when a job's result is handled.

Every display is thread-safe: futures call ``progress`` from pool threads, possibly several at a
time. Drawing is throttled (``min_interval`` seconds between redraws, except when the stage
changes), because polls and upload chunks can arrive faster than a screen is worth updating.
Events only arrive when something happens (an upload chunk, a poll); call :meth:`refresh` from
an idle loop to keep the elapsed time ticking between them.
"""

from __future__ import annotations

import html
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TextIO

from speechkit._core.progress import ProgressCallback, TranscriptionProgress

__all__ = [
    "GroupProgress",
    "JupyterProgress",
    "NullProgress",
    "ProgressDisplay",
    "TerminalProgress",
    "auto",
    "in_notebook",
]

#: Width of the bar drawn between brackets, in characters.
BAR_WIDTH = 20

DisplayKind = Literal["auto", "terminal", "jupyter", "none"]


# --- formatting (pure) -----------------------------------------------------------------------


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(fraction, 1.0)) * width)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _fraction(event: TranscriptionProgress) -> float | None:
    if event.stage == "upload" and event.bytes_total:
        return event.bytes_sent / event.bytes_total
    return None


def describe(event: TranscriptionProgress, elapsed: float, label: str | None = None) -> str:
    """One line of plain text for an event (what the terminal bar shows).

    Args:
        event: The latest event of the job.
        elapsed: Seconds to show (the display's own clock, which keeps ticking between events).
        label: A name for the job (a file name), shown first.

    Returns:
        For example ``"a.wav  uploading [####----] 40% 1.2 MB/3.0 MB  0.8s"``.
    """
    head = f"{label}  " if label else ""
    job = f" (job {event.transcript_id})" if event.transcript_id else ""
    if event.stage == "upload":
        fraction = _fraction(event)
        if fraction is not None and event.bytes_total is not None:
            amount = f"{_bar(fraction)} {fraction:4.0%} {_size(event.bytes_sent)}/"
            amount += _size(event.bytes_total)
        else:
            amount = _size(event.bytes_sent)
        return f"{head}uploading {amount}  {_duration(elapsed)}"
    if event.stage == "submitted":
        return f"{head}submitted{job}  {_duration(elapsed)}"
    if event.stage == "waiting":
        return f"{head}{event.status or 'waiting'}{job}  {_duration(elapsed)}"
    outcome = "failed" if event.status == "error" else (event.status or "done")
    return f"{head}{outcome} after {_duration(elapsed)}{job}"


def _describe_html(event: TranscriptionProgress, elapsed: float, label: str | None) -> str:
    fraction = _fraction(event)
    if event.stage == "done":
        value = ' value="1" max="1"'
    elif fraction is not None:
        value = f' value="{fraction:.4f}" max="1"'
    else:
        value = ""  # an indeterminate bar: no value attribute
    text = html.escape(describe(event, elapsed, label))
    return f'<div><progress{value} style="width: 16em"></progress> <code>{text}</code></div>'


# --- where a display draws ---------------------------------------------------------------------


class _Sink(Protocol):
    enabled: bool

    def show(self, text: str, html_text: str, *, final: bool) -> None: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...


class _NullSink:
    enabled = False

    def show(self, text: str, html_text: str, *, final: bool) -> None:
        return None

    def message(self, text: str) -> None:
        return None

    def close(self) -> None:
        return None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class _TerminalSink:
    """Redraws one line of ``stream`` with ``\\r``; draws nothing unless it is a terminal."""

    def __init__(self, stream: TextIO | None, *, leave: bool) -> None:
        self._stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(self._stream)
        self._leave = leave
        self._shown = 0  # characters of the line currently on screen
        self._drawn = ""  # that line
        self._line = ""  # the line to restore after a message (empty once final)

    def _width(self) -> int:
        return max(shutil.get_terminal_size(fallback=(80, 24)).columns - 1, 20)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away; stop drawing
            self.enabled = False

    def _draw(self, line: str) -> str:
        line = line[: self._width()]
        padding = " " * max(self._shown - len(line), 0)
        self._shown = len(line)
        self._drawn = line
        return "\r" + line + padding

    def show(self, text: str, html_text: str, *, final: bool) -> None:
        if not self.enabled:
            return
        self._line = "" if final else text
        if final and not self._leave:
            self._write("\r" + " " * self._shown + "\r")
            self._shown, self._drawn = 0, ""
        elif final:
            self._write(self._draw(text) + "\n")
            self._shown, self._drawn = 0, ""
        elif text[: self._width()] != self._drawn:  # an unchanged line is not redrawn
            self._write(self._draw(text))

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        clear = "\r" + " " * self._shown + "\r" if self._shown else ""
        self._shown, self._drawn = 0, ""
        self._write(clear + text + "\n" + (self._draw(self._line) if self._line else ""))

    def close(self) -> None:
        if self.enabled and self._shown:
            self._write("\n" if self._leave else "\r" + " " * self._shown + "\r")
        self._shown, self._drawn, self._line = 0, "", ""


DisplayFunction = Callable[..., Any]


class _JupyterSink:
    """Updates one output of the running notebook cell in place (an IPython display handle)."""

    enabled = True

    def __init__(self, display: DisplayFunction | None) -> None:
        self._display = display
        self._handle: Any = None

    def _bundle(self, text: str, html_text: str) -> Mapping[str, str]:
        return {"text/plain": text, "text/html": html_text}

    def _display_function(self) -> DisplayFunction:
        if self._display is None:
            import importlib

            # Imported only here, on the first draw in a notebook (IPython is loaded there).
            self._display = importlib.import_module("IPython.display").display
        return self._display

    def show(self, text: str, html_text: str, *, final: bool) -> None:
        bundle = self._bundle(text, html_text)
        if self._handle is None:
            self._handle = self._display_function()(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def message(self, text: str) -> None:
        # A separate output, below the bar; the bar keeps updating in place.
        self._display_function()({"text/plain": text}, raw=True)

    def close(self) -> None:
        return None


def in_notebook() -> bool:
    """Whether this code runs inside a Jupyter kernel (IPython with a kernel attached).

    Never imports IPython: in a notebook it is already loaded.
    """
    module = sys.modules.get("IPython")
    get_ipython = getattr(module, "get_ipython", None)
    if get_ipython is None:
        return False
    try:
        shell = get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _sink_for(
    kind: DisplayKind, stream: TextIO | None, leave: bool, display: DisplayFunction | None
) -> _Sink:
    if kind == "auto":
        if in_notebook():
            kind = "jupyter"
        else:
            kind = "terminal" if _is_terminal(sys.stderr if stream is None else stream) else "none"
    if kind == "terminal":
        return _TerminalSink(stream, leave=leave)
    if kind == "jupyter":
        return _JupyterSink(display)
    if kind == "none":
        return _NullSink()
    from speechkit.errors import InvalidInputError

    raise InvalidInputError(
        f"display must be 'auto', 'terminal', 'jupyter' or 'none', got {kind!r}."
    )


# --- one job ---------------------------------------------------------------------------------


class ProgressDisplay:
    """A display for one job: call it with each event (pass it as ``progress=``).

    The elapsed time shown runs on the display's own clock from the first event it received, so
    one display can follow ``upload_file``, ``submit`` and ``wait_for_completion`` in turn. Use
    :class:`TerminalProgress`, :class:`JupyterProgress`, :class:`NullProgress` or :func:`auto`
    rather than this base class directly.

    Thread-safe: events may come from any thread.
    """

    def __init__(
        self,
        sink: _Sink,
        label: str | None = None,
        *,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self._sink = sink
        self._min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._event: TranscriptionProgress | None = None
        self._started: float | None = None
        self._last_draw: float | None = None
        self._finished = False

    @property
    def enabled(self) -> bool:
        """Whether this display draws anything (``False`` for a terminal bar on a pipe)."""
        return self._sink.enabled

    @property
    def last_event(self) -> TranscriptionProgress | None:
        """The latest event received, or ``None``."""
        return self._event

    def __call__(self, event: TranscriptionProgress) -> None:
        """Take one event and redraw (throttled, except for stage changes and the end)."""
        with self._lock:
            now = self._clock()
            if self._started is None:
                self._started = now - event.elapsed
            previous, self._event = self._event, event
            self._finished = event.stage == "done"
            urgent = previous is None or previous.stage != event.stage or self._finished
            recent = self._last_draw is not None and now - self._last_draw < self._min_interval
            if recent and not urgent:
                return
            self._draw(now)

    def refresh(self) -> None:
        """Redraw with the elapsed time brought up to now (no-op before the first event)."""
        with self._lock:
            if self._event is not None and not self._finished:
                self._draw(self._clock())

    def _draw(self, now: float) -> None:
        event = self._event
        if event is None or not self._sink.enabled:
            return
        elapsed = now - (self._started if self._started is not None else now)
        self._last_draw = now
        self._sink.show(
            describe(event, elapsed, self.label),
            _describe_html(event, elapsed, self.label),
            final=event.stage == "done",
        )

    def close(self) -> None:
        """End the display (a terminal bar moves to a new line); idempotent."""
        with self._lock:
            self._sink.close()

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class TerminalProgress(ProgressDisplay):
    """One line on a terminal stream, redrawn in place with ``\\r``.

    Writes nothing when the stream is not a terminal (``isatty()`` is false), so piped output
    and log files stay clean.

    Args:
        label: A name for the job, shown first (for example the file name).
        stream: Where to draw; default ``sys.stderr`` (stdout stays free for results).
        leave: Keep the last line (``"completed after 4.1s"``) when the job ends; ``False``
            erases it.
        min_interval: Seconds between redraws of the same stage.
    """

    def __init__(
        self,
        label: str | None = None,
        *,
        stream: TextIO | None = None,
        leave: bool = True,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            _TerminalSink(stream, leave=leave), label, min_interval=min_interval, clock=clock
        )


class JupyterProgress(ProgressDisplay):
    """An HTML progress bar in the running notebook cell, updated in place.

    Uses ``IPython.display.display(..., display_id=True)`` and updates that output, with a
    plain-text version for frontends without HTML. IPython is imported on the first draw.

    Args:
        label: A name for the job, shown with the bar.
        display: The display function to use (default ``IPython.display.display``).
        min_interval: Seconds between updates of the same stage (each is a kernel message).
    """

    def __init__(
        self,
        label: str | None = None,
        *,
        display: DisplayFunction | None = None,
        min_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(_JupyterSink(display), label, min_interval=min_interval, clock=clock)


class NullProgress(ProgressDisplay):
    """Takes events and shows nothing (what :func:`auto` returns when output is piped)."""

    def __init__(self, label: str | None = None) -> None:
        super().__init__(_NullSink(), label)


def auto(label: str | None = None, *, stream: TextIO | None = None) -> ProgressDisplay:
    """The right display for where the code runs.

    Args:
        label: A name for the job, shown with the bar.
        stream: The terminal stream to draw on (default ``sys.stderr``).

    Returns:
        :class:`JupyterProgress` in a notebook, :class:`TerminalProgress` when ``stream`` is a
        terminal, else :class:`NullProgress`.
    """
    if in_notebook():
        return JupyterProgress(label)
    if _is_terminal(sys.stderr if stream is None else stream):
        return TerminalProgress(label, stream=stream)
    return NullProgress(label)


# --- many jobs -------------------------------------------------------------------------------


class GroupProgress:
    """One overall bar for many jobs: how many finished, failed, are uploading or waiting.

    ::

        group = GroupProgress(len(paths))
        futures = [
            transcriber.transcribe_async(path, progress=group.job(str(path))) for path in paths
        ]
        for path, future in zip(paths, futures):
            try:
                future.result()
                group.finished(str(path))
            except speechkit.SpeechkitError:
                group.finished(str(path), ok=False)
        group.close()

    A job's ``done`` event counts it as finished (failed when its status is ``error``);
    :meth:`finished` overrides that, for work after the job (writing its output) that can fail.

    Args:
        total: How many jobs there are.
        label: Shown before the counts.
        display: ``"auto"`` (the :func:`auto` choice), ``"terminal"``, ``"jupyter"`` or
            ``"none"``.
        stream: The terminal stream (default ``sys.stderr``).
        min_interval: Seconds between redraws.

    Thread-safe: every method may be called from any thread.
    """

    def __init__(
        self,
        total: int,
        *,
        label: str | None = None,
        display: DisplayKind = "auto",
        stream: TextIO | None = None,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        jupyter_display: DisplayFunction | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self._sink = _sink_for(display, stream, True, jupyter_display)
        self._min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._last_draw: float | None = None
        self._jobs: dict[str, TranscriptionProgress] = {}
        self._outcomes: dict[str, Literal["ok", "failed", "skipped"]] = {}
        self._closed = False

    @property
    def enabled(self) -> bool:
        """Whether this display draws anything."""
        return self._sink.enabled

    def job(self, name: str) -> ProgressCallback:
        """The ``progress=`` callback for one job; ``name`` must be unique within the group."""

        def callback(event: TranscriptionProgress) -> None:
            with self._lock:
                previous = self._jobs.get(name)
                self._jobs[name] = event
                if event.stage == "done" and name not in self._outcomes:
                    self._outcomes[name] = "failed" if event.status == "error" else "ok"
                urgent = previous is None or previous.stage != event.stage
                self._draw(force=urgent)

        return callback

    def finished(self, name: str, *, ok: bool = True) -> None:
        """Count a job as finished (``ok=False``: failed)."""
        with self._lock:
            self._outcomes[name] = "ok" if ok else "failed"
            self._draw(force=True)

    def skipped(self, name: str) -> None:
        """Count a job as skipped (already done before, for example)."""
        with self._lock:
            self._outcomes[name] = "skipped"
            self._draw(force=True)

    def message(self, text: str) -> None:
        """Show a line of text above the bar (terminal) or below it (notebook)."""
        with self._lock:
            self._sink.message(text)

    def counts(self) -> dict[str, int]:
        """How many jobs are ``done``, ``failed``, ``skipped``, ``uploading``, ``waiting``."""
        with self._lock:
            return self._counts()

    def _counts(self) -> dict[str, int]:
        outcomes = list(self._outcomes.values())
        running = [e for n, e in self._jobs.items() if n not in self._outcomes]
        return {
            "done": outcomes.count("ok"),
            "failed": outcomes.count("failed"),
            "skipped": outcomes.count("skipped"),
            "uploading": sum(1 for e in running if e.stage == "upload"),
            "waiting": sum(1 for e in running if e.stage != "upload"),
        }

    def describe(self) -> str:
        """The overall line as plain text (what the terminal shows)."""
        with self._lock:
            return self._describe(self._clock())

    def _describe(self, now: float) -> str:
        counts = self._counts()
        finished = counts["done"] + counts["failed"] + counts["skipped"]
        fraction = finished / self.total if self.total else 1.0
        parts = [f"{finished}/{self.total}"]
        if counts["failed"]:
            parts.append(f"{counts['failed']} failed")
        if counts["skipped"]:
            parts.append(f"{counts['skipped']} skipped")
        if counts["uploading"]:
            sent = sum(
                e.bytes_sent
                for n, e in self._jobs.items()
                if n not in self._outcomes and e.stage == "upload"
            )
            parts.append(f"{counts['uploading']} uploading ({_size(sent)})")
        if counts["waiting"]:
            parts.append(f"{counts['waiting']} transcribing")
        head = f"{self.label}  " if self.label else ""
        return f"{head}{_bar(fraction)} {', '.join(parts)}  {_duration(now - self._started)}"

    def _draw(self, *, force: bool) -> None:
        if not self._sink.enabled or self._closed:
            return
        now = self._clock()
        recent = self._last_draw is not None and now - self._last_draw < self._min_interval
        if recent and not force:
            return
        self._last_draw = now
        text = self._describe(now)
        finished = sum(1 for o in self._outcomes.values())
        value = f' value="{finished}" max="{max(self.total, 1)}"'
        html_text = (
            f'<div><progress{value} style="width: 16em"></progress> '
            f"<code>{html.escape(text)}</code></div>"
        )
        self._sink.show(text, html_text, final=False)

    def refresh(self) -> None:
        """Redraw now, with the elapsed time brought up to date."""
        with self._lock:
            self._draw(force=True)

    def close(self) -> None:
        """Draw the final state and end the display (the terminal line stays); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._draw(force=True)
            self._closed = True
            self._sink.close()

    def __enter__(self) -> GroupProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
