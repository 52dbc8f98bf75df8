"""Scenario 1: the wall time of ``python -c "import speechkit"`` beside ``import assemblyai``.

Each sample is one fresh interpreter, timed from spawn to exit, so interpreter startup is in both
figures (as a user sees it); a third figure, measured inside the interpreter, shows the import
alone. speechkit and the peer alternate sample by sample, after one discarded warm-up pair that
fills the file cache.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks._figures import Figure, median
from benchmarks._server import REPO_ROOT

NAME = "import"
TITLE = "Import"
SETTINGS = (
    'Each sample is a fresh `python -c "import speechkit"` (or `import assemblyai`), timed from '
    "spawn to exit with the same interpreter and flags; `python -c pass` is measured alongside "
    "for reference, and so is importing then creating a blocking transcriber (the lazy imports' "
    "cost). 5 samples per side per run (`--runs`), alternating, after one discarded "
    "warm-up pair."
)
TARGET_RATIO = 0.35

#: Import, then build a blocking transcriber: what the first real use costs (lazy imports included).
_FIRST_USE = {
    "speechkit": "import speechkit; speechkit.Transcriber(api_key='k', base_url='http://127.0.0.1:9')",
    "peer": "import assemblyai as aai; aai.Transcriber(api_key='k')",
}
_IN_PROCESS = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)


def _wall(code: str) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed:\n{completed.stderr}")
    return elapsed


def _inside(module: str) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", _IN_PROCESS.format(module=module)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout.strip())


def run(quick: bool, runs: int) -> list[Figure]:
    """Time the imports; quick mode takes one sample per side and only checks both import."""
    samples = 1 if quick else 5 * runs
    _wall("import speechkit")  # warm-up pair: file cache, .pyc files
    _wall("import assemblyai")
    walls: dict[str, list[float]] = {"speechkit": [], "peer": [], "bare": []}
    inside: dict[str, list[float]] = {"speechkit": [], "peer": []}
    first_use: dict[str, list[float]] = {"speechkit": [], "peer": []}
    for index in range(samples):
        order = ("speechkit", "peer") if index % 2 == 0 else ("peer", "speechkit")
        for side in order:
            module = "speechkit" if side == "speechkit" else "assemblyai"
            walls[side].append(_wall(f"import {module}"))
            inside[side].append(_inside(module))
            first_use[side].append(_wall(_FIRST_USE[side]))
        walls["bare"].append(_wall("pass"))

    sk, peer = median(walls["speechkit"]), median(walls["peer"])
    wall = Figure(
        scenario=NAME,
        metric='`python -c "import ..."` wall time',
        unit="s",
        speechkit=sk,
        peer=peer,
        target=f"ratio <= {TARGET_RATIO}",
        met=None if quick else sk / peer <= TARGET_RATIO,
        runs=samples,
        notes=f"`python -c pass` alone takes {median(walls['bare']):.3f} s here.",
        samples={"speechkit": walls["speechkit"], "peer": walls["peer"]},
    )
    alone = Figure(
        scenario=NAME,
        metric="import alone (timed inside the interpreter)",
        unit="s",
        speechkit=median(inside["speechkit"]),
        peer=median(inside["peer"]),
        runs=samples,
        samples=inside,
    )
    first = Figure(
        scenario=NAME,
        metric="import + create a Transcriber, wall time",
        unit="s",
        speechkit=median(first_use["speechkit"]),
        peer=median(first_use["peer"]),
        runs=samples,
        notes="Reported, not targeted: `import speechkit` defers httpx, pydantic and the models "
        "to first use, so the first transcriber pays for them.",
        samples=first_use,
    )
    return [wall, first, alone]
