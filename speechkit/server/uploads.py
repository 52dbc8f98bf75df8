"""Where job audio comes from: the server's own uploads, ``file://`` paths and http(s) URLs.

Uploads up to ``spool_bytes`` live in memory; bigger ones are streamed to a file in a temporary
directory the store owns (removed by :meth:`UploadStore.close`), so a 1 GiB upload never sits in
the server's memory. There is a cap per file and a cap on the whole store's bytes (a store full
of bytes answers 413, it does not evict; ``DELETE /_speechkit/uploads`` empties it), and a cap on
the number of uploads kept (``max_uploads``): past it the oldest uploads are forgotten, so a
client that never deletes cannot grow the server without bound. ``upload_url`` is
``{base_url}/upload/{uuid}``, the local twin of ``https://cdn.assemblyai.com/upload/<uuid>``; it
can be fetched with a GET (with the server's key, when it has one),
and a job whose ``audio_url`` has that path is served from the store without a network round
trip, whatever host name the client used.

Remote fetches use httpx with a total deadline and a size cap, and only reach the addresses
:mod:`speechkit.server.security` allows (every redirect re-checked). ``file://`` URLs are a
local-only extension (the real service cannot read your disk), off by default; when on, only
regular files under the allowed folders are read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from speechkit.server.security import OutboundPolicy, UrlRefused, fetch, read_file_url

__all__ = [
    "UPLOAD_PATH_PREFIX",
    "AudioSourceError",
    "UploadStore",
    "UploadTooLarge",
    "UploadWriter",
    "load_audio",
]

UPLOAD_PATH_PREFIX = "/upload/"

#: Bytes gathered before one write to a spooled upload's file (one worker-thread hop each).
_WRITE_BATCH = 4 * 1024 * 1024


class AudioSourceError(Exception):
    """The audio could not be obtained; the message becomes the job's ``error``."""


class UploadTooLarge(Exception):
    """An upload went over the per-file cap, or (``store_full``) the whole-store cap."""

    def __init__(self, message: str, *, store_full: bool = False) -> None:
        super().__init__(message)
        self.store_full = store_full


class UploadStore:
    """Uploads by id: small ones in memory, big ones in temporary files (thread-safe).

    Args:
        max_file_bytes: Cap for one upload.
        max_total_bytes: Cap for all uploads kept (memory and files).
        spool_bytes: Uploads bigger than this are written to a file instead of kept in memory.
    """

    def __init__(
        self,
        *,
        max_file_bytes: int,
        max_total_bytes: int,
        spool_bytes: int = 16 * 1024 * 1024,
        max_uploads: int | None = None,
    ) -> None:
        self.max_uploads = max_uploads
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self.spool_bytes = spool_bytes
        self._lock = threading.Lock()
        self._files: dict[str, bytes | Path] = {}
        self._sizes: dict[str, int] = {}
        self._total = 0
        self._reserved = 0  # bytes of uploads still being received
        self._dir: Path | None = None

    def put(self, data: bytes) -> str:
        """Keep ``data`` (in memory) and return its id.

        Raises:
            UploadTooLarge: Over the per-file cap, or the store is full.
        """
        if len(data) > self.max_file_bytes:
            raise UploadTooLarge(f"upload exceeds {self.max_file_bytes} bytes")
        with self._lock:
            self._check_room(len(data))
            upload_id = str(uuid.uuid4())
            self._files[upload_id] = data
            self._sizes[upload_id] = len(data)
            self._total += len(data)
            stale = self._evict()
        _unlink(stale)
        return upload_id

    def _evict(self) -> list[Path]:  # call with the lock held; returns files to delete
        stale: list[Path] = []
        while self.max_uploads is not None and len(self._files) > self.max_uploads:
            upload_id = next(iter(self._files))
            item = self._files.pop(upload_id)
            self._total -= self._sizes.pop(upload_id)
            if isinstance(item, Path):
                stale.append(item)
        return stale

    def writer(self) -> UploadWriter:
        """Start receiving an upload in pieces (see :class:`UploadWriter`)."""
        return UploadWriter(self)

    def get(self, upload_id: str) -> bytes | None:
        """The upload's bytes (read from its file if it was spooled), or None."""
        with self._lock:
            item = self._files.get(upload_id)
        if isinstance(item, Path):
            try:
                return item.read_bytes()
            except OSError:  # cleared meanwhile
                return None
        return item

    def path(self, upload_id: str) -> Path | None:
        """The file holding a spooled upload; None for in-memory or unknown uploads."""
        with self._lock:
            item = self._files.get(upload_id)
        return item if isinstance(item, Path) else None

    def clear(self) -> None:
        """Forget every upload and delete the spooled files (uploads in progress carry on)."""
        with self._lock:
            files = [f for f in self._files.values() if isinstance(f, Path)]
            self._files.clear()
            self._sizes.clear()
            self._total = 0
        for file in files:
            with contextlib.suppress(OSError):
                file.unlink()

    def close(self) -> None:
        """:meth:`clear`, then remove the temporary directory. Idempotent."""
        self.clear()
        with self._lock:
            directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self._total

    # -- for UploadWriter -------------------------------------------------------------------------

    def _check_room(self, size: int) -> None:  # call with the lock held
        if self._total + self._reserved + size > self.max_total_bytes:
            raise UploadTooLarge("the upload store is full", store_full=True)

    def _reserve(self, size: int) -> None:
        with self._lock:
            self._check_room(size)
            self._reserved += size

    def _release(self, size: int) -> None:
        with self._lock:
            self._reserved -= size

    def _new_file(self) -> tuple[str, Path, BinaryIO]:
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="speechkit-uploads-"))
            directory = self._dir
        upload_id = str(uuid.uuid4())
        path = directory / upload_id
        return upload_id, path, open(path, "wb")  # closed by the writer

    def _add(self, upload_id: str, item: bytes | Path, size: int) -> None:
        with self._lock:
            self._reserved -= size
            self._files[upload_id] = item
            self._sizes[upload_id] = size
            self._total += size
            stale = self._evict()
        _unlink(stale)


def _unlink(files: list[Path]) -> None:
    for file in files:
        with contextlib.suppress(OSError):
            file.unlink()


class UploadWriter:
    """One upload received in pieces, on the event loop: ``await write(chunk)`` for each piece,
    then ``await commit()`` for its id (or ``await discard()``).

    The first ``spool_bytes`` are gathered in memory; past that everything goes to a temporary
    file, written in batches from a worker thread while the next batch arrives, so a big upload
    costs the server a few megabytes of memory and the loop never waits on the disk.
    """

    def __init__(self, store: UploadStore) -> None:
        self._store = store
        self._memory = bytearray()
        self._size = 0
        self._reserved = 0
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._upload_id = ""
        self._writing: asyncio.Future[int] | None = None
        self._done = False

    @property
    def size(self) -> int:
        """Bytes received so far."""
        return self._size

    async def write(self, chunk: bytes) -> None:
        """Take the next piece.

        Raises:
            UploadTooLarge: The upload went over the per-file cap or the store is full (the
                writer is discarded).
        """
        if not chunk:
            return
        store = self._store
        self._size += len(chunk)
        try:
            if self._size > store.max_file_bytes:
                raise UploadTooLarge(f"upload exceeds {store.max_file_bytes} bytes")
            # Room is taken as bytes arrive, so a full store answers 413 as soon as it is full.
            store._reserve(len(chunk))
            self._reserved += len(chunk)
        except UploadTooLarge:
            await self.discard()
            raise
        self._memory += chunk
        if self._file is None and len(self._memory) > store.spool_bytes:
            self._upload_id, self._path, self._file = store._new_file()
        if self._file is not None and len(self._memory) >= _WRITE_BATCH:
            await self._flush()

    async def _flush(self) -> None:
        if self._writing is not None:
            await self._writing
            self._writing = None
        if self._memory and self._file is not None:
            batch, self._memory = self._memory, bytearray()
            # Not awaited here: the disk write overlaps receiving the next batch.
            self._writing = asyncio.ensure_future(asyncio.to_thread(self._file.write, batch))

    async def commit(self) -> str:
        """Store the upload; returns its id."""
        store = self._store
        self._done = True
        if self._file is None:
            data = bytes(self._memory)
            self._memory = bytearray()
            upload_id = str(uuid.uuid4())
            store._add(upload_id, data, len(data))
        else:
            await self._flush()
            await self._flush()  # waits for the last batch
            await asyncio.to_thread(self._file.close)
            assert self._path is not None
            upload_id = self._upload_id
            store._add(upload_id, self._path, self._size)
        store._release(self._reserved - self._size)
        return upload_id

    async def discard(self) -> None:
        """Drop what was received (idempotent)."""
        if self._done:
            return
        self._done = True
        self._memory = bytearray()
        if self._writing is not None:
            with contextlib.suppress(OSError):
                await self._writing
        if self._file is not None:
            self._file.close()
            assert self._path is not None
            with contextlib.suppress(OSError):
                os.unlink(self._path)
        self._store._release(self._reserved)


def _download_error(url: str) -> AudioSourceError:
    # The wording of the real service's download failure (see transcript.error.SYNTHETIC.json).
    # The same for every failure (refused, closed port, error status, timeout, too large), so a
    # job's error cannot be used to probe which ports or hosts answer.
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
    file_url_roots: tuple[str, ...] = (),
    outbound: OutboundPolicy | None = None,
) -> bytes:
    """Return the bytes behind ``url`` or raise :class:`AudioSourceError`."""
    parts = urlsplit(url)
    if parts.path.startswith(UPLOAD_PATH_PREFIX):
        upload_id = parts.path[len(UPLOAD_PATH_PREFIX) :]
        spooled = uploads.path(upload_id)
        data = (
            await asyncio.to_thread(uploads.get, upload_id)
            if spooled is not None
            else uploads.get(upload_id)
        )
        if data is not None:
            return data
    if parts.scheme == "file":
        if not allow_file_urls:
            raise AudioSourceError(
                "file:// audio URLs are disabled on this server (start it with "
                "--allow-file-urls DIR to read files under DIR)"
            )
        try:
            return await asyncio.to_thread(read_file_url, url, file_url_roots, max_bytes)
        except UrlRefused as exc:
            raise AudioSourceError(f"Could not read the audio: {exc}.") from None
    if parts.scheme in ("http", "https"):
        try:
            # httpx's timeout is per read; bound the whole download too (a slow trickle).
            async with asyncio.timeout(fetch_seconds):
                return await _fetch(
                    url,
                    max_bytes=max_bytes,
                    fetch_seconds=fetch_seconds,
                    policy=outbound or OutboundPolicy(),
                )
        except TimeoutError:
            raise _download_error(url) from None
        except UrlRefused as exc:
            raise AudioSourceError(f"Download refused: {exc}.") from None
    raise _download_error(url)


async def _fetch(
    url: str, *, max_bytes: int, fetch_seconds: float, policy: OutboundPolicy
) -> bytes:
    try:
        async with httpx.AsyncClient(timeout=fetch_seconds) as client:
            response = await fetch(client, "GET", url, policy, what="audio_url")
            try:
                if response.status_code != 200:
                    raise _download_error(url)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _download_error(url)
                    chunks.append(chunk)
                return b"".join(chunks)
            finally:
                await response.aclose()
    except httpx.HTTPError:
        raise _download_error(url) from None
