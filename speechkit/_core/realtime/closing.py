"""How long closing a session may take: while the server makes progress, within a budget.

A file is sent faster than real time, so at ``close()`` the server may still have minutes of
audio to transcribe; a fixed wait cut that off. The rule: with no explicit timeout, wait while
messages keep coming (give up after ``terminate_timeout`` seconds without one, counted only while
connected), and at most ``terminate_timeout`` + :data:`CLOSE_PROCESSING_FACTOR` x the audio not yet
confirmed. An explicit timeout is a plain deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLOSE_PROCESSING_FACTOR", "Closing"]

#: By default close() may wait this many times the outstanding audio's duration (on top of
#: ``terminate_timeout``): a server transcribes at about real time, and a file sent unpaced
#: leaves it that much work. Progress (any message) is what keeps close() waiting; this bounds it.
CLOSE_PROCESSING_FACTOR = 3.0


def close_budget(timeout: float | None, *, terminate_timeout: float, outstanding_s: float) -> float:
    """The longest closing may take, in seconds."""
    if timeout is not None:
        return max(timeout, 0.0)
    return terminate_timeout + CLOSE_PROCESSING_FACTOR * outstanding_s


@dataclass(slots=True)
class Closing:
    """The close request of a session (``requested`` False until ``close()``)."""

    requested: bool = False
    deadline: float | None = None  # the hard limit
    stall: float | None = None  # give up after this long without progress (None: no such rule)
    last_progress: float = 0.0

    def begin(self, now: float, budget: float, stall: float | None) -> None:
        self.requested = True
        self.deadline = now + budget
        self.stall = stall
        self.last_progress = now

    def due(self, *, connected: bool) -> float | None:
        """When closing gives up; the stall clock runs only while connected (a reconnect's
        backoff is not the server stalling)."""
        if self.deadline is None or self.stall is None or not connected:
            return self.deadline
        return min(self.deadline, self.last_progress + self.stall)

    def why(self, due: float) -> str:
        if self.deadline is not None and due < self.deadline:
            return f"the server sent nothing for {self.stall:g} s"
        return "the close timeout ran out"
