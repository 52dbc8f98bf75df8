"""Telling whether a job list has caught up with a create whose answer was lost. Pure.

A job list may lag behind creates, so a job missing from it proves nothing by itself. It proves
something once the list shows a job the server created *after* the lost create failed: a list
that has caught up that far would show a job the create made too. The server's clock is read
from its ``Date`` header and the jobs' ``created`` times, so client/server clock offsets cancel
out; only the one-second resolution of ``Date`` and :data:`CLOCK_SLACK` are allowed for.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from speechkit._core.http import Response

if TYPE_CHECKING:
    from speechkit.models import TranscriptList

__all__ = ["CLOCK_SLACK", "ListWitness"]

#: Seconds of slack when comparing the server's job times with its ``Date`` header.
CLOCK_SLACK = 1.0


def _server_time(value: str | None) -> float | None:
    """A job's ``created`` (ISO 8601; UTC when it has no zone, as the service writes it) or an
    HTTP ``Date`` header, as Unix time; None when absent or unreadable."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@dataclass
class ListWitness:
    """Whether a search of the job list saw a job the server created after ``failed_at``
    (client Unix time): then the list has caught up past the lost create, and a job made by it
    would be listed too."""

    failed_at: float
    wall: Callable[[], float]
    fresh: bool = False
    _asked_at: float = 0.0

    def asking(self) -> None:
        self._asked_at = self.wall()

    def saw(self, response: Response, page: TranscriptList) -> None:
        served = _server_time(response.headers.get("date"))
        if served is None:
            return
        # The server's clock when the create failed, at the latest (Date is whole seconds).
        failed_server = served + 1.0 - (self._asked_at - self.failed_at)
        for item in page.transcripts:
            created = _server_time(getattr(item, "created", None))
            if created is not None and created > failed_server + CLOCK_SLACK:
                self.fresh = True
                return
