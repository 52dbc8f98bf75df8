"""Every example runs, offline, against the local server, and prints what it promises.

Each ``examples/*.py`` runs as a subprocess (as a user would run it) and must exit 0 with
meaningful output: the words of the reference texts, the failure it demonstrates, and so on.
The notebook is executed with nbclient on the venv's ``python3`` kernel. A new example fails
``test_every_example_is_covered`` until it gets a check here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from speechkit.engines.wer import word_error_rate

pytest.importorskip("uvicorn", reason="the examples need the server extra")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TWO_TURNS = (EXAMPLES / "audio" / "two_turns.txt").read_text().strip()

#: For each example: its arguments, and strings its standard output must contain.
EXPECTED: dict[str, tuple[list[str], list[str]]] = {
    "quickstart.py": (
        [],
        [
            "AssemblyAI-style batch",
            "AIML-style batch (provider=aiml)",
            "The weather is nice today and we will go for a walk in the park.",
            "Realtime v3 stream:",
            "turn off the lights before you leave the house",
        ],
    ),
    "switch_provider.py": (
        ["local", str(EXAMPLES / "audio" / "sample.wav")],
        ["[assemblyai] transcript", "Please call me back when you get home tonight.", "-->"],
    ),
    "futures_server.py": (
        [],
        [
            '"state": "done"',
            "I would like a cup of coffee with a little",
            "The weather is nice today",
            '"state": "failed"',
            "no such file",
        ],
    ),
    "asyncio_app.py": (
        [],
        [
            "1. TaskGroup:",
            "file object: I would like a cup of coffee",
            "2. Group: 1 transcribed, 1 failed",
            "is still running on the server",
            "later it was completed",
        ],
    ),
    "batch_folder.py": (
        [],
        [
            "FAILED broken.wav (job ",
            "ok     two_turns.wav: I would like a cup of coffee with a little",
            "1 transcribed, 1 failed",
            "two_turns.srt",
        ],
    ),
    "realtime_callbacks.py": (
        [],
        [
            "reconnected (attempt 1)",
            "2 turns:",
            "  i would like a cup of coffee with a little",
            "  thank you for your help and have a good day",
        ],
    ),
    "realtime_asyncio.py": (
        [],
        ["session ", "i would like a cup of coffee with a little", "closed after "],
    ),
}


def _run(script: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSEMBLYAI_", "AIML"))}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script: str) -> None:
    args, expected = EXPECTED[script]
    result = _run(script, args)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    missing = [text for text in expected if text not in result.stdout]
    assert not missing, f"{script} did not print {missing}:\n{result.stdout}"
    if script == "realtime_callbacks.py":
        # The server dropped the connection mid-stream: the replayed audio must not repeat a
        # final, so each of the two turns is printed exactly once, in order.
        finals = [line for line in result.stdout.splitlines() if line.startswith("[")]
        assert len(finals) == 2, result.stdout
        assert finals[1].endswith("thank you for your help and have a good day")


def test_notebook_runs_and_renders_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells), (
        "commit the notebook with its outputs cleared"
    )

    # ipykernel installs the "python3" kernelspec into the venv; jupyter_client runs it with
    # this interpreter, so the kernel sees the same speechkit. Connection files go to a
    # temporary folder, so a CI user without a writable home still works.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    client = nbclient.NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": EXAMPLES}}
    )
    client.execute()

    outputs = [output for cell in code_cells for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "I would like a cup of coffee with a little" in html  # the transcript's table
    assert "not audio" in html or "failed" in html  # the group's table shows the failure
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # The offline engine (Whisper or pocketsphinx) hears the recording nearly word for word.
    assert word_error_rate(TWO_TURNS, text.splitlines()[0]) <= 0.1
    assert "-->" in text  # the SRT subtitles
