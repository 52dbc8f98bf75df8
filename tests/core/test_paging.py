"""One walk over the job list (``speechkit._core.paging``), driven without any I/O."""

from __future__ import annotations

from typing import Any

from speechkit._core import operations as ops
from speechkit._core.http import Request
from speechkit._core.paging import Direction, Pages
from tests.core.test_operations import PROVIDER, Driver, ok


def page(ids: list[str], prev: str | None = None, nxt: str | None = None) -> dict[str, Any]:
    return {
        "transcripts": [
            {"id": i, "status": "completed", "audio_url": f"https://cdn.test/{i}"} for i in ids
        ],
        "page_details": {
            "limit": len(ids),
            "result_count": len(ids),
            "prev_url": prev,
            "next_url": nxt,
            "current_url": "x",
        },
    }


BOOK = {  # a list of 7 jobs, newest first, 3 to a page, linked both ways
    "first": page(["j7", "j6", "j5"], prev="https://api.test/v2/transcript?p=2"),
    "p=2": page(
        ["j4", "j3", "j2"],
        prev="https://api.test/v2/transcript?p=3",
        nxt="https://api.test/v2/transcript?p=n",
    ),
    "p=3": page(["j1"], prev="https://api.test/v2/transcript?p=4"),
    "p=4": page([]),
    "p=n": page(["j9", "j8"]),
}


def answer(request: Request) -> Any:
    query = request.path.split("?", 1)[1] if "?" in request.path else ""
    return ok(BOOK[query or "first"])


def walk(pages: Pages, driver: Driver) -> list[str]:
    ids = []
    while (found := driver.run(pages.next())) is not None:
        ids.extend(item.id for item in found.transcripts)
    return ids


def test_older_walk_ends_at_an_empty_page_and_then_sends_nothing() -> None:
    driver = Driver(answer)
    pages = Pages(driver.ctx(), PROVIDER, {"limit": 3})
    assert walk(pages, driver) == ["j7", "j6", "j5", "j4", "j3", "j2", "j1"]
    assert len(driver.sent) == 4  # the last page is empty
    assert driver.run(pages.next()) is None
    assert len(driver.sent) == 4


def test_max_items_stops_the_walk_and_newer_follows_next_url() -> None:
    driver = Driver(answer)
    assert walk(Pages(driver.ctx(), PROVIDER, {"limit": 3}, max_items=4), driver) == [
        "j7",
        "j6",
        "j5",
        "j4",
        "j3",
        "j2",
    ]
    assert len(driver.sent) == 2
    newer = Driver(answer)
    pages = Pages(newer.ctx(), PROVIDER, {"limit": 3}, Direction.NEWER)
    # The first page has no next_url: a forward walk stops there.
    assert walk(pages, newer) == ["j7", "j6", "j5"]


def test_find_jobs_pages_until_every_url_is_found() -> None:
    driver = Driver(answer)
    urls = ["https://cdn.test/j6", "https://cdn.test/j3"]
    found = driver.run(ops.find_jobs(driver.ctx(), PROVIDER, urls, 500))
    assert found == {"https://cdn.test/j6": "j6", "https://cdn.test/j3": "j3"}
    assert len(driver.sent) == 2  # stopped once both were found
