"""Where job audio comes from: the server's own uploads, ``file://`` paths and http(s) URLs.

Uploads live in memory, with a cap per file and a cap on the whole store (oldest uploads are
*not* evicted: a full store answers 413, so an ``upload_url`` never silently stops working).
``upload_url`` is ``{base_url}/upload/{uuid}``, the local twin of
``https://cdn.assemblyai.com/upload/<uuid>``; it can be fetched with a plain GET, and a job whose
``audio_url`` has that path is served from memory without a network round trip, whatever host
name the client used.

Remote fetches use httpx with a timeout and a size cap. ``file://`` URLs are a local-only
extension (the real service cannot read your disk); they can be turned off.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

__all__ = ["UPLOAD_PATH_PREFIX", "AudioSourceError", "UploadStore", "UploadTooLarge", "load_audio"]

UPLOAD_PATH_PREFIX = "/upload/"


class AudioSourceError(Exception):
    """The audio could not be obtained; the message becomes the job's ``error``."""


class UploadTooLarge(Exception):
    """An upload went over the per-file or whole-store cap."""


class UploadStore:
    """In-memory uploads with size caps (thread-safe)."""

    def __init__(self, *, max_file_bytes: int, max_total_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self._lock = threading.Lock()
        self._files: dict[str, bytes] = {}
        self._total = 0

    def put(self, data: bytes) -> str:
        if len(data) > self.max_file_bytes:
            raise UploadTooLarge(f"upload exceeds {self.max_file_bytes} bytes")
        with self._lock:
            if self._total + len(data) > self.max_total_bytes:
                raise UploadTooLarge("the upload store is full")
            upload_id = str(uuid.uuid4())
            self._files[upload_id] = data
            self._total += len(data)
        return upload_id

    def get(self, upload_id: str) -> bytes | None:
        with self._lock:
            return self._files.get(upload_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self._total


def _download_error(url: str) -> AudioSourceError:
    # The wording of the real service's download failure (see transcript.error.SYNTHETIC.json).
    return AudioSourceError(
        f"Download error, unable to download {url}. "
        "Please make sure the file exists and is accessible from the internet."
    )


async def load_audio(
    url: str,
    *,
    uploads: UploadStore,
    max_bytes: int,
    fetch_seconds: float,
    allow_file_urls: bool,
) -> bytes:
    """Return the bytes behind ``url`` or raise :class:`AudioSourceError`."""
    parts = urlsplit(url)
    if parts.path.startswith(UPLOAD_PATH_PREFIX):
        data = uploads.get(parts.path[len(UPLOAD_PATH_PREFIX) :])
        if data is not None:
            return data
    if parts.scheme == "file":
        if not allow_file_urls:
            raise AudioSourceError("file:// audio URLs are disabled on this server")
        return await asyncio.to_thread(_read_file, url, unquote(parts.path), max_bytes)
    if parts.scheme in ("http", "https"):
        try:
            # httpx's timeout is per read; bound the whole download too (a slow trickle).
            async with asyncio.timeout(fetch_seconds):
                return await _fetch(url, max_bytes=max_bytes, fetch_seconds=fetch_seconds)
        except TimeoutError:
            raise _download_error(url) from None
    raise _download_error(url)


def _read_file(url: str, path: str, max_bytes: int) -> bytes:
    try:
        file = Path(path)
        if file.stat().st_size > max_bytes:
            raise AudioSourceError(f"Audio file at {url} is larger than {max_bytes} bytes")
        return file.read_bytes()
    except OSError:
        raise _download_error(url) from None


async def _fetch(url: str, *, max_bytes: int, fetch_seconds: float) -> bytes:
    try:
        async with (
            httpx.AsyncClient(timeout=fetch_seconds, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise _download_error(url)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise AudioSourceError(f"Audio file at {url} is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError:
        raise _download_error(url) from None
