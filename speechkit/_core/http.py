"""Neutral HTTP request and response values, shared by providers (who build and parse them) and the
I/O shells (who send them). Nothing here does I/O.

A provider describes *what* to send with :class:`Request`; the shell in ``speechkit._http`` decides
*how* (httpx, sync or async, with retries decided by ``speechkit._core.retry``).
"""

from __future__ import annotations

import dataclasses
import json as _json
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from speechkit._core.redact import SENSITIVE_JSON_FIELDS, Redactor

__all__ = [
    "ACCEPT_ENCODING",
    "MAX_RESPONSE_BYTES",
    "Body",
    "BodyTooLarge",
    "BytesBody",
    "FileBody",
    "MultipartFile",
    "Request",
    "Response",
    "ResponseBody",
    "StreamBody",
    "UnreadableBody",
    "UnsupportedEncoding",
    "body_size",
]

#: Size of the chunks a local file or stream is read and sent in.
UPLOAD_CHUNK_SIZE = 1024 * 1024
#: The largest response body read into memory, after decompression (bigger ones are refused).
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: Content codings speechkit asks for and decodes itself, under the size cap.
ACCEPT_ENCODING = "gzip, deflate"


_INFLATE_STEP = 1024 * 1024


class BodyTooLarge(ValueError):
    """A response body went over its cap (counted after decompression)."""


class UnreadableBody(ValueError):
    """A response body could not be decoded (corrupt compressed data, an unknown coding)."""


class UnsupportedEncoding(UnreadableBody):
    """A response used a content coding speechkit did not ask for."""


class ResponseBody:
    """Collects a response body as raw chunks arrive, decoding ``gzip``/``deflate`` in bounded
    steps, so neither the wire size nor the decompressed size can exceed ``limit`` in memory
    (a 0.25 MB gzip bomb stops at the cap instead of inflating to gigabytes).

    Call :meth:`feed` with each raw chunk, then :meth:`finish` for the bytes.
    """

    def __init__(self, content_encoding: str | None, limit: int = MAX_RESPONSE_BYTES) -> None:
        self.limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        self._coding = codings[0] if codings else None
        if len(codings) > 1 or self._coding not in (None, "gzip", "x-gzip", "deflate"):
            raise UnsupportedEncoding(
                f"the response uses Content-Encoding {content_encoding!r}, which speechkit did "
                f"not ask for (it accepts {ACCEPT_ENCODING})"
            )
        self._inflate: zlib._Decompress | None = None
        self._deflate_probe = b""
        if self._coding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)

    @property
    def size(self) -> int:
        """Decoded bytes collected so far."""
        return self._size

    def _add(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self._size > self.limit:
            raise BodyTooLarge(f"the response body is larger than {self.limit} bytes")
        self._parts.append(data)

    def feed(self, raw: bytes) -> None:
        """Take the next raw chunk. Raises :class:`BodyTooLarge` past the cap, ``ValueError``
        on corrupt compressed data."""
        if self._coding is None:
            self._add(raw)
            return
        if self._inflate is None:  # deflate: zlib-wrapped as the RFC says, or raw as some send
            self._deflate_probe += raw
            if len(self._deflate_probe) < 2:
                return
            wrapped = (self._deflate_probe[0] & 0x0F) == 8 and (
                int.from_bytes(self._deflate_probe[:2], "big") % 31 == 0
            )
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            raw, self._deflate_probe = self._deflate_probe, b""
        self._inflate_bounded(raw)

    def _inflate_bounded(self, raw: bytes) -> None:
        assert self._inflate is not None
        try:
            while raw:
                # Small steps, never past the cap by more than a byte: zlib's growing output
                # buffer would otherwise briefly need twice the step.
                step = min(self.limit - self._size + 1, _INFLATE_STEP)
                self._add(self._inflate.decompress(raw, step))
                raw = self._inflate.unconsumed_tail
        except zlib.error as err:
            raise UnreadableBody(
                f"the response body is not valid {self._coding} data: {err}"
            ) from None

    def finish(self) -> bytes:
        """The whole decoded body."""
        if self._deflate_probe:
            self._inflate = self._inflate or zlib.decompressobj(zlib.MAX_WBITS)
            probe, self._deflate_probe = self._deflate_probe, b""
            self._inflate_bounded(probe)
        if self._inflate is not None:
            self._add(self._inflate.flush())
        return b"".join(self._parts)


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


@dataclass(frozen=True, slots=True, repr=False)
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
        time_budget: Seconds this attempt may take at most, when less than the client's own
            request deadline (the time left of a ``poll_timeout``).

    Its ``repr`` masks secrets (webhook auth values, auth headers); :meth:`redacted` is the copy
    errors keep.
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
    time_budget: float | None = field(default=None, compare=False)

    def secret_values(self) -> list[str]:
        """The secrets this request carries in its JSON (a webhook auth value), to be masked
        wherever a server echoes them."""
        if not isinstance(self.json, Mapping):
            return []
        return [
            value
            for key, value in self.json.items()
            if key in SENSITIVE_JSON_FIELDS and isinstance(value, str) and value
        ]

    def redacted(self, secrets: Sequence[str | None] = ()) -> Request:
        """A copy safe to keep on an error: secret JSON fields, auth headers, credentials in an
        absolute URL (a signed URL's signature) and the given ``secrets`` masked, and no
        progress callback."""
        redactor = Redactor(secrets)
        absolute = self.path.startswith(("http://", "https://"))  # a signed URL, say
        return dataclasses.replace(
            self,
            path=redactor.url(self.path) if absolute else self.path,
            json=redactor.json(self.json) if self.json is not None else None,
            headers=redactor.headers(self.headers),
            on_body_sent=None,
        )

    def __repr__(self) -> str:
        redactor = Redactor()
        parts = [f"method={self.method!r}", f"path={self.path!r}"]
        if self.params:
            parts.append(f"params={redactor.json(dict(self.params))!r}")
        if self.json is not None:
            parts.append(f"json={redactor.json(self.json)!r}")
        if self.headers:
            parts.append(f"headers={redactor.headers(self.headers)!r}")
        if self.body is not None:
            parts.append(f"body={type(self.body).__name__}")
        if self.files:
            parts.append(f"files={[part.filename for part in self.files]!r}")
        if self.creates_job:
            parts.append("creates_job=True")
        return f"Request({', '.join(parts)})"

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
