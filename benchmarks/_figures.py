"""The one record every benchmark scenario returns, so the runner can print and write them alike."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One measured quantity for speechkit and, where the peer can do the same work, the peer.

    ``speechkit`` and ``peer`` are medians over ``runs`` alternating runs (see :func:`median`).
    ``target`` is the goal in words (for example ``"ratio <= 0.35"`` or ``"<= 1.25 s"``) and
    ``met`` whether speechkit reached it (``None`` when nothing is targeted, e.g. a reported
    figure, or in quick mode when timings mean nothing). ``notes`` says how it was measured or
    why a target was missed; ``profile`` holds profiler output (plain text) that shows why, and
    RESULTS.md prints both under "Missed targets". ``compare=False`` marks a figure where a
    ratio means nothing (a count of failed jobs, say): no ratio is shown.
    """

    scenario: str
    metric: str
    unit: str
    speechkit: float | None
    peer: float | None = None
    target: str = ""
    met: bool | None = None
    runs: int = 1
    notes: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)
    profile: str = ""
    compare: bool = True  # False where speechkit / peer means nothing (a count of failures)

    @property
    def ratio(self) -> float | None:
        """speechkit / peer (lower is better); None when either side is missing or the figure
        is not a comparison (``compare=False``)."""
        if not self.compare or self.speechkit is None or not self.peer:
            return None
        return self.speechkit / self.peer


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(values))
