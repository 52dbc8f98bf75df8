"""The benchmark scenarios, in the order they run and appear in RESULTS.md.

Each scenario is a module here exposing:

* ``NAME: str``: its registry name (the ``--only`` argument);
* ``TITLE: str``: a short human title for the table;
* ``run(quick: bool, runs: int) -> list[Figure]``: measure speechkit and the peer, alternating
  them run by run, and return medians (:class:`benchmarks._figures.Figure`). In quick mode: tiny
  sizes, one run, ``met=None``, but raise when the scenario does not work (failed jobs,
  duplicates, wrong results);
* optionally ``SETTINGS: str``: Markdown saying what each side runs with (concurrency, polling,
  sizes), written to RESULTS.md.

Modules are imported on first use, so ``--only import`` needs nothing the others need.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MODULES", "NAMES", "load"]

#: Registry name -> module, in running order (the issue's scenario numbers 1-8).
MODULES: dict[str, str] = {
    "import": "import_time",
    "latency": "latency",
    "throughput": "throughput",
    "upload": "upload",
    "large_transcript": "large_transcript",
    "realtime": "realtime",
    "engine": "engine",
    "faults": "faults",
    "scale": "scale",
}
NAMES: list[str] = list(MODULES)


def load(name: str) -> ModuleType:
    """Import the scenario module registered as ``name``.

    Raises:
        KeyError: ``name`` is not a registered scenario.
    """
    return importlib.import_module(f"{__name__}.{MODULES[name]}")
