"""Walking the job list, written once: listing, iterating, searching and sweeping all page here.

A list page links to older jobs (``page_details.prev_url``) and to newer ones (``next_url``).
:class:`Pages` follows one of those links page after page, as a sans-I/O flow per page, so the
sync and async ``iter_transcripts``, the search for a lost create's job
(:func:`~speechkit._core.operations.find_jobs`) and a group's sweep share one walk.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from speechkit._core.flow import Flow, FlowContext, send
from speechkit._core.recovery import ListWitness
from speechkit.providers.base import Provider

if TYPE_CHECKING:
    from speechkit.models import TranscriptList

__all__ = ["Direction", "Pages", "list_page"]


class Direction(enum.Enum):
    """Which ``page_details`` link a walk follows."""

    OLDER = "prev_url"
    NEWER = "next_url"


def list_page(
    ctx: FlowContext,
    provider: Provider,
    params: Mapping[str, Any] | None,
    page_url: str | None,
    observe: ListWitness | None = None,
) -> Flow[TranscriptList]:
    """One page: the first one for ``params``, or the one a ``page_details`` URL names.

    ``observe`` is told when the request goes and shown its answer (to judge how fresh the
    list is after a lost create)."""
    request = provider.build_list_page(page_url) if page_url else provider.build_list(params or {})
    if observe is not None:
        observe.asking()
    response = yield from send(ctx, request)
    page = provider.parse_list(response)
    if observe is not None:
        observe.saw(response, page)
    return page


@dataclass
class Pages:
    """A walk over the job list from the first page for ``params``, following ``direction``.

    It ends after a page with no link onward, an empty page, or once ``max_items`` jobs have
    been seen. ``observe`` sees the first page only.
    """

    ctx: FlowContext
    provider: Provider
    params: Mapping[str, Any]
    direction: Direction = Direction.OLDER
    max_items: int | None = None
    observe: ListWitness | None = None
    _url: str | None = None
    _pages: int = 0
    _seen: int = 0
    _done: bool = False

    def next(self) -> Flow[TranscriptList | None]:
        """The next page, or None once the walk is over (then no request is sent)."""
        if self._done:
            return None
        observe = self.observe if self._pages == 0 else None
        params = None if self._pages else self.params
        page = yield from list_page(self.ctx, self.provider, params, self._url, observe)
        self._pages += 1
        self._seen += len(page.transcripts)
        details = page.page_details
        self._url = getattr(details, self.direction.value, None) if details is not None else None
        full = self.max_items is not None and self._seen >= self.max_items
        self._done = not self._url or not page.transcripts or full
        return page
