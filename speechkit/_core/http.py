"""Neutral HTTP request and response values, shared by providers (who build and parse them) and the
I/O shells (who send them). Nothing here does I/O.

A provider describes *what* to send with :class:`Request`; the shell in ``speechkit._http`` decides
*how* (httpx, sync or async, with retries decided by ``speechkit._core.retry``).
"""

from __future__ import annotations

import json as _json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

__all__ = [
    "Body",
    "BytesBody",
    "FileBody",
    "MultipartFile",
    "Request",
    "Response",
    "StreamBody",
    "body_size",
]

#: Size of the chunks a local file or stream is read and sent in.
UPLOAD_CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BytesBody:
    """A body already in memory."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class FileBody:
    """A local file, read in chunks while sending; it is reopened if the request is retried."""

    path: str | os.PathLike[str]
    chunk_size: int = UPLOAD_CHUNK_SIZE


@dataclass(frozen=True, slots=True)
class StreamBody:
    """A binary file object read in chunks while sending.

    A retry rewinds it to where it started when it is seekable; an unseekable stream is sent once.
    """

    stream: IO[bytes]
    chunk_size: int = UPLOAD_CHUNK_SIZE


Body = BytesBody | FileBody | StreamBody


def body_size(body: Body) -> int | None:
    """The number of bytes ``body`` will send, when it can be known without reading it."""
    if isinstance(body, BytesBody):
        return len(body.data)
    try:
        if isinstance(body, FileBody):
            return os.path.getsize(body.path)
        if body.stream.seekable():
            position = body.stream.tell()
            end = body.stream.seek(0, os.SEEK_END)
            body.stream.seek(position)
            return max(end - position, 0)
    except (OSError, ValueError, AttributeError):
        return None
    return None


@dataclass(frozen=True, slots=True)
class MultipartFile:
    """One file part of a ``multipart/form-data`` body."""

    field: str
    filename: str
    body: Body
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Request:
    """What to send, relative to the client's base URL.

    Attributes:
        method: HTTP method.
        path: Path relative to the base URL (``/v2/transcript``), or an absolute URL.
        params: Query parameters; ``None`` values are dropped.
        json: A JSON body.
        body: A raw body (upload), streamed in chunks.
        form: Text fields of a multipart body (with ``files``); a list is sent as repeated
            fields.
        files: File parts of a multipart body.
        headers: Extra headers (the provider's auth headers are added by the shell).
        creates_job: True for a request that starts billed work (create transcript, LeMUR).
            Such a request is never sent again once its bytes may have reached the server.
        repeatable: True for a non-idempotent request that is still safe to send again (an
            upload: a repeat stores the audio twice but starts no work), so it is retried like
            a GET.
        expect: How to read a successful answer.
        ok_statuses: Statuses other than 2xx that are answers, not errors (redacted audio's 202).
        on_body_sent: Called by the shell with the number of ``body`` bytes handed to the
            transport so far, after each chunk (upload progress). It restarts from 0 on a retry.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    body: Body | None = None
    form: Mapping[str, str | Sequence[str]] | None = None
    files: tuple[MultipartFile, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    creates_job: bool = False
    repeatable: bool = False
    expect: Literal["json", "text", "bytes"] = "json"
    ok_statuses: frozenset[int] = frozenset()
    on_body_sent: Callable[[int], None] | None = field(default=None, compare=False)

    @property
    def idempotent(self) -> bool:
        """GET, HEAD, PUT, DELETE and OPTIONS may be repeated safely (RFC 9110, section 9.2.2),
        and so may a request marked ``repeatable``."""
        if self.repeatable and not self.creates_job:
            return True
        return self.method.upper() in {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}

    def describe(self) -> str:
        """``METHOD path`` for messages and logs (never headers, so never the key)."""
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True, slots=True)
class Response:
    """A received answer. ``headers`` keys are lower-case."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: str = ""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Decode the body as JSON (raises ``ValueError`` when it is not JSON)."""
        return _json.loads(self.content)

    def json_or_text(self) -> Any:
        """The JSON body, or the text when it is not JSON, or ``None`` when it is empty."""
        if not self.content:
            return None
        try:
            return self.json()
        except ValueError:
            return self.text

    @property
    def request_id(self) -> str | None:
        for name in ("x-request-id", "x-amzn-requestid", "request-id", "x-amz-cf-id"):
            if name in self.headers:
                return self.headers[name]
        return None

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300
