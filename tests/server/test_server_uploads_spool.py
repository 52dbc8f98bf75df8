"""Big uploads go to a temporary file, not memory; ``/_speechkit/uploads`` lists and clears them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from speechkit.server.runner import LocalServer


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_big_upload_is_spooled_to_a_file_and_served_back(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    server = make_server(engine="fixed", upload_spool_bytes=1024)
    data = wav(2.0)  # 64 KB: over the spool threshold
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        url = client.post("/v2/upload", content=_chunks(data)).json()["upload_url"]
        upload_id = url.rsplit("/", 1)[1]
        spooled = server.state.uploads.path(upload_id)
        assert spooled is not None
        assert spooled.read_bytes() == data
        assert httpx.get(url).content == data
        job = client.post("/v2/transcript", json={"audio_url": url}).json()
        assert server.wait_for_jobs(10)
        done = client.get(f"/v2/transcript/{job['id']}").json()
        assert (done["status"], done["text"]) == ("completed", "Hello world.")


def test_small_upload_stays_in_memory(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(engine="fixed", upload_spool_bytes=1024)
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        url = client.post("/v2/upload", content=b"x" * 1000).json()["upload_url"]
        assert server.state.uploads.path(url.rsplit("/", 1)[1]) is None
        assert httpx.get(url).content == b"x" * 1000


def test_clearing_uploads_deletes_spooled_files(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(engine="fixed", upload_spool_bytes=10)
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        url = client.post("/v2/upload", content=b"y" * 5000).json()["upload_url"]
        spooled = server.state.uploads.path(url.rsplit("/", 1)[1])
        assert spooled is not None
        assert client.get("/_speechkit/uploads").json() == {"uploads": 1, "bytes": 5000}
        assert client.delete("/_speechkit/uploads").json() == {"uploads": 0, "bytes": 0}
        assert not spooled.exists()
        assert httpx.get(url).status_code == 404


def test_spooled_uploads_count_against_the_store_cap(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server(
        engine="fixed", upload_spool_bytes=10, max_upload_store_bytes=20000, max_upload_bytes=6000
    )
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        too_big = client.post("/v2/upload", content=_chunks(b"z" * 7000, 1000))
        assert too_big.status_code == 413
        assert "limit is 6000 bytes" in too_big.json()["error"]
        for _ in range(3):
            assert client.post("/v2/upload", content=_chunks(b"z" * 5500, 1000)).status_code == 200
        full = client.post("/v2/upload", content=_chunks(b"z" * 5000, 1000))
        assert full.status_code == 413
        assert "store is full" in full.json()["error"]
        # Rejected uploads leave nothing behind: three files, and room for a small upload.
        assert client.get("/_speechkit/uploads").json() == {"uploads": 3, "bytes": 16500}
        assert client.post("/v2/upload", content=b"ok" * 100).status_code == 200


def test_closing_the_server_removes_the_spool_directory(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server(engine="fixed", upload_spool_bytes=10)
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        url = client.post("/v2/upload", content=b"q" * 100).json()["upload_url"]
    spooled = server.state.uploads.path(url.rsplit("/", 1)[1])
    assert spooled is not None
    directory: Path = spooled.parent
    server.close()
    deadline = time.monotonic() + 5
    while directory.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not directory.exists()
