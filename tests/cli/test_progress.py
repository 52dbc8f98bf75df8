"""speechkit.progress: the terminal bar, the Jupyter display, the chooser and the group bar."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from speechkit import Transcriber, TranscriptionProgress
from speechkit import progress as sk_progress
from speechkit.progress import (
    GroupProgress,
    JupyterProgress,
    NullProgress,
    TerminalProgress,
    auto,
)
from speechkit.server import LocalServer
from tests.cli.conftest import KEY


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool = True) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeHandle:
    def __init__(self, bundles: list[dict[str, str]]) -> None:
        self.bundles = bundles

    def update(self, bundle: dict[str, str], raw: bool = False) -> None:
        assert raw
        self.bundles.append(bundle)


class FakeDisplay:
    """Stands in for IPython.display.display: records what is shown and updated."""

    def __init__(self) -> None:
        self.created: list[dict[str, str]] = []
        self.updates: list[dict[str, str]] = []
        self.plain: list[dict[str, str]] = []

    def __call__(self, bundle: dict[str, str], raw: bool = False, display_id: Any = None) -> Any:
        assert raw
        if display_id:
            self.created.append(bundle)
            return FakeHandle(self.updates)
        self.plain.append(bundle)
        return None


def upload(sent: int, total: int | None = 1000, elapsed: float = 0.0) -> TranscriptionProgress:
    return TranscriptionProgress("upload", elapsed, bytes_sent=sent, bytes_total=total)


def job(stage: str, status: str, elapsed: float = 1.0) -> TranscriptionProgress:
    return TranscriptionProgress(stage, elapsed, transcript_id="abc", status=status)  # type: ignore[arg-type]


def test_terminal_bar_redraws_one_line_and_ends_it() -> None:
    stream, clock = FakeTerminal(), Clock()
    bar = TerminalProgress("a.wav", stream=stream, clock=clock, min_interval=0)
    bar(upload(0))
    bar(upload(500))
    clock.now += 2
    bar(job("waiting", "processing", elapsed=0.1))
    bar(job("done", "completed", elapsed=0.2))
    out = stream.getvalue()
    assert out.count("\n") == 1
    assert out.endswith("\n")
    frames = out.rstrip("\n").split("\r")[1:]
    assert frames[0].startswith("a.wav  uploading [--------------------]   0% 0 B/1.0 KB")
    assert frames[1].startswith("a.wav  uploading [##########----------]  50% 500 B/1.0 KB")
    assert frames[2].rstrip() == "a.wav  processing (job abc)  2.0s"
    assert len(frames[2]) == len(frames[1])  # padded over the longer line before it
    assert frames[3].startswith("a.wav  completed after 2.0s (job abc)")


def test_terminal_bar_writes_nothing_on_a_pipe() -> None:
    stream = FakeTerminal(tty=False)
    bar = TerminalProgress("a.wav", stream=stream)
    bar(upload(10))
    bar(job("done", "completed"))
    bar.refresh()
    bar.close()
    assert stream.getvalue() == ""
    assert not bar.enabled


def test_terminal_bar_is_throttled_but_never_drops_a_stage() -> None:
    stream, clock = FakeTerminal(), Clock()
    bar = TerminalProgress(stream=stream, clock=clock, min_interval=1.0)
    for sent in range(0, 1000, 10):
        bar(upload(sent))
    bar(job("submitted", "queued"))
    assert stream.getvalue().count("\r") == 2  # the first upload event and the new stage
    clock.now += 5
    bar.refresh()  # elapsed keeps ticking between events
    assert stream.getvalue().endswith("submitted (job abc)  5.0s")


def test_terminal_bar_leave_false_erases_the_line() -> None:
    stream = FakeTerminal()
    bar = TerminalProgress("x", stream=stream, leave=False, min_interval=0)
    bar(upload(1))
    bar(job("done", "completed"))
    assert stream.getvalue().endswith("\r" + " " * len(stream.getvalue().split("\r")[1]) + "\r")
    assert "\n" not in stream.getvalue()


def test_jupyter_display_updates_one_output_in_place() -> None:
    display, clock = FakeDisplay(), Clock()
    bar = JupyterProgress("a.wav", display=display, clock=clock, min_interval=0)
    bar(upload(250))
    bar(job("waiting", "processing"))
    bar(job("done", "completed"))
    assert len(display.created) == 1
    assert len(display.updates) == 2
    first = display.created[0]
    assert 'value="0.2500"' in first["text/html"]
    assert first["text/plain"].startswith("a.wav  uploading [#####")
    assert "<progress " in display.updates[0]["text/html"]  # indeterminate while waiting
    assert 'value="1" max="1"' in display.updates[1]["text/html"]
    assert "completed after" in display.updates[1]["text/plain"]


def test_jupyter_display_escapes_html() -> None:
    display = FakeDisplay()
    bar = JupyterProgress("<b>&.wav", display=display)
    bar(upload(1))
    assert "&lt;b&gt;&amp;.wav" in display.created[0]["text/html"]


def test_auto_chooses_by_where_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(auto(stream=FakeTerminal(tty=False)), NullProgress)
    assert isinstance(auto(stream=FakeTerminal(tty=True)), TerminalProgress)
    shell = types.SimpleNamespace(kernel=object())
    fake_ipython = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    assert sk_progress.in_notebook()
    assert isinstance(auto(stream=FakeTerminal(tty=True)), JupyterProgress)
    shell.kernel = None  # a terminal IPython is not a notebook
    assert not sk_progress.in_notebook()


def test_group_progress_counts_jobs_across_threads() -> None:
    stream, clock = FakeTerminal(), Clock()
    group = GroupProgress(40, label="folder", display="terminal", stream=stream, clock=clock)

    def work(index: int) -> None:
        callback = group.job(f"f{index}")
        callback(upload(100))
        callback(job("submitted", "queued"))
        callback(job("waiting", "processing"))
        callback(job("done", "error" if index % 10 == 0 else "completed"))
        if index % 10 == 1:
            group.finished(f"f{index}", ok=False)  # e.g. writing its output failed

    threads = [threading.Thread(target=work, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert group.counts() == {"done": 32, "failed": 8, "skipped": 0, "uploading": 0, "waiting": 0}
    clock.now += 3
    group.close()
    out = stream.getvalue()
    assert out.endswith("folder  [####################] 40/40, 8 failed  3.0s\n")
    for frame in out.rstrip("\n").split("\r")[1:]:
        assert frame.startswith("folder  [")  # whole frames: writes never interleaved


def test_group_progress_message_goes_above_the_bar() -> None:
    stream = FakeTerminal()
    group = GroupProgress(2, display="terminal", stream=stream, clock=Clock())
    group.skipped("a")
    group.message("done a")
    lines = stream.getvalue().split("\n")
    assert lines[0].endswith("\rdone a")
    assert lines[1] == "\r[##########----------] 1/2, 1 skipped  0.0s"


def test_group_progress_in_a_notebook() -> None:
    display = FakeDisplay()
    group = GroupProgress(2, display="jupyter", jupyter_display=display, clock=Clock())
    group.job("a")(upload(10))
    group.finished("a")
    group.message("a done")
    group.close()
    assert len(display.created) == 1
    assert 'value="1" max="2"' in display.updates[-1]["text/html"]
    assert display.plain == [{"text/plain": "a done"}]


def test_bad_display_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="display must be"):
        GroupProgress(1, display="fancy")  # type: ignore[arg-type]


def test_terminal_bar_as_progress_for_a_real_transcription(server: LocalServer, wav: Path) -> None:
    stream = FakeTerminal()
    with Transcriber(api_key=KEY, base_url=server.base_url) as transcriber:
        with TerminalProgress("speech.wav", stream=stream) as bar:
            transcript = transcriber.transcribe(wav, progress=bar)
    out = stream.getvalue()
    assert "\rspeech.wav  uploading [" in out
    assert "completed after " in out
    assert f"(job {transcript.id})\n" in out
    assert bar.last_event is not None
    assert bar.last_event.stage == "done"


def test_import_speechkit_loads_neither_the_cli_nor_the_displays() -> None:
    code = (
        "import sys, speechkit; "
        "print(sorted(m for m in sys.modules if m.startswith(('speechkit.cli', 'speechkit._cli', "
        "'speechkit.progress', 'argparse'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
