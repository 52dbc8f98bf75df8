"""The docs stay correct: their Python compiles, the runnable examples run, the site builds.

The convention, for ``docs/*.md``: a Python code block directly preceded by the HTML comment

    <!-- test: run; expect: some output | other output -->

is self-contained (it starts the local server itself and reads audio from ``examples/audio``),
and this test executes it from the repository root and checks that its standard output contains
each ``|``-separated expectation. Every other Python block must at least compile (top-level
``await`` allowed, as in a notebook). The comment is invisible on the rendered site.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
_MARKER = re.compile(r"<!--\s*test:\s*run(?:;\s*expect:\s*(?P<expect>.*?))?\s*-->\s*\n$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    code: str
    runnable: bool
    expect: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def _blocks() -> list[Block]:
    blocks = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text()
        for match in _FENCE.finditer(text):
            before = text[: match.start()]
            marker = _MARKER.search(before[-300:])
            expect = marker.group("expect") if marker else None
            blocks.append(
                Block(
                    page=str(path.relative_to(DOCS)),
                    line=before.count("\n") + 1,
                    code=match.group(1),
                    runnable=marker is not None,
                    expect=tuple(e.strip() for e in expect.split("|")) if expect else (),
                )
            )
    return blocks


BLOCKS = _blocks()
RUNNABLE = [block for block in BLOCKS if block.runnable]


def test_the_docs_have_runnable_examples() -> None:
    assert len(RUNNABLE) >= 10
    assert all(block.expect for block in RUNNABLE), [b.name for b in RUNNABLE if not b.expect]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.name)
def test_python_block_compiles(block: Block) -> None:
    compile(block.code, block.name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.name)
def test_runnable_block_runs(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvicorn", reason="runnable docs use the local server (server extra)")
    monkeypatch.chdir(ROOT)
    output = io.StringIO()
    namespace = {"__name__": "__main__"}
    with contextlib.redirect_stdout(output):
        exec(compile(block.code, block.name, "exec"), namespace)
    missing = [text for text in block.expect if text not in output.getvalue()]
    assert not missing, f"{block.name} did not print {missing}:\n{output.getvalue()}"


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="needs the docs extra")
    pytest.importorskip("mkdocstrings")
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    assert mkdocs is not None
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "reference" / "transcriber" / "index.html").is_file()
