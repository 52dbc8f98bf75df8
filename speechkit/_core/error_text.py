"""What an HTTP status error says about the answer: a short detail, never a dumped page. Pure.

A proxy's or gateway's error page (an HTML 502 from a load balancer, a captive portal) and very
long bodies are summarized (the page's ``<title>`` or first words, its content type and size),
so a message stays one readable line; the whole body stays on ``error.body``.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["MAX_DETAIL_CHARS", "body_detail", "url_hint"]

#: The most characters of a server's own message an error message quotes.
MAX_DETAIL_CHARS = 300

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HIDDEN = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_DOUBLED = re.compile(r"/([^/]+)/\1(?=/|$)")


def _shorten(text: str, limit: int) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _size(n: int) -> str:
    return f"{n} bytes" if n < 10_000 else f"{n / 1024:.0f} KiB"


def looks_like_html(text: str, content_type: str) -> bool:
    """Whether an answer is a web page rather than an API's error."""
    if "html" in content_type.lower():
        return True
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html")) or "<body" in head


def html_summary(text: str) -> str:
    """The page's title, or else its first words (tags, scripts and styles removed)."""
    title = _TITLE.search(text)
    if title and title.group(1).strip():
        return _shorten(html.unescape(title.group(1)), 120)
    words = _TAG.sub(" ", _HIDDEN.sub(" ", text))
    return _shorten(html.unescape(words), 120) or "an empty page"


def body_detail(message: str | None, body: Any, content_type: str, size: int) -> str | None:
    """The detail an error message shows for a body.

    ``message`` is the server's own message found in the body (``server_message``), ``body``
    the decoded body, ``content_type`` and ``size`` (bytes) the answer's."""
    if isinstance(body, str) and looks_like_html(body, content_type):
        kind = content_type.split(";")[0].strip() or "text/html"
        return (
            f"{html_summary(body)} (an HTML page, {kind}, {_size(size)}: from a proxy or gateway "
            "rather than the API, most likely; the page is on error.body)"
        )
    if not message:
        return None
    if len(message) <= MAX_DETAIL_CHARS:
        return message
    kind = content_type.split(";")[0].strip() or "unknown type"
    short = _shorten(message, MAX_DETAIL_CHARS)
    return f"{short} ({kind}, {_size(size)}; the whole body is on error.body)"


def url_hint(url: str, status: int) -> str | None:
    """A hint for a 404 whose path repeats a segment (``/v2/v2/upload``): a base URL that
    already ends with the version the paths start with."""
    if status != 404:
        return None
    path = url.split("?", 1)[0].split("://", 1)[-1].partition("/")[2]
    match = _DOUBLED.search("/" + path)
    if match is None:
        return None
    return (
        f"The URL repeats '/{match.group(1)}': the base_url probably ends with it already. "
        f"Pass the base URL without '/{match.group(1)}'."
    )
