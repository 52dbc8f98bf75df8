"""The pure policy functions of speechkit.server.security."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from speechkit.server.security import (
    OutboundPolicy,
    UrlRefused,
    check_outbound_url,
    host_allowed,
    json_too_deep,
    origin_allowed,
    read_file_url,
)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:8765", True),
        ("app.localhost", True),
        ("127.0.0.1:80", True),
        ("127.1.2.3", True),
        ("[::1]:8765", True),
        ("evil.example", False),
        ("localhost.evil.example", False),
        ("10.0.0.5:8765", False),
        (None, True),
    ],
)
def test_host_check(host: str | None, allowed: bool) -> None:
    assert host_allowed(host, ()) is allowed


def test_allowed_hosts_and_wildcard() -> None:
    assert host_allowed("speech.lan:80", ("speech.lan",))
    assert host_allowed("anything.example", ("*",))


def test_origin_check() -> None:
    assert origin_allowed(None, "localhost:8765", ())
    assert origin_allowed("http://localhost:8765", "localhost:8765", ())
    assert not origin_allowed("http://localhost:3000", "localhost:8765", ())
    assert not origin_allowed("null", "localhost:8765", ())
    assert origin_allowed("http://localhost:3000/", "localhost:8765", ("http://localhost:3000",))


def test_json_depth_counts_only_structure() -> None:
    assert json_too_deep(b"[" * 401 + b"]" * 401, 400)
    assert not json_too_deep(b"[" * 400 + b"]" * 400, 400)
    assert not json_too_deep(b'{"a": "' + b"[" * 5000 + b'"}', 400)
    assert not json_too_deep(b'["\\"[[[[", ' + b"[]," * 1000 + b"1]", 3)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:9/x",
        "http://10.1.2.3/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
    ],
)
async def test_private_and_loopback_addresses_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused, match="loopback or private"):
        await check_outbound_url(url, OutboundPolicy(), what="audio_url")
    await check_outbound_url(url, OutboundPolicy(allow_private=True), what="audio_url")


async def test_listed_hosts_and_schemes() -> None:
    listed = OutboundPolicy(allowed_hosts=frozenset({"127.0.0.1:8080"}))
    await check_outbound_url("http://127.0.0.1:8080/a", listed, what="audio_url")
    with pytest.raises(UrlRefused):
        await check_outbound_url("http://127.0.0.1:8081/a", listed, what="audio_url")
    await check_outbound_url("https://93.184.216.34/a.wav", OutboundPolicy(), what="audio_url")
    for url in ("ftp://93.184.216.34/a", "gopher://x", "http:///nohost"):
        with pytest.raises(UrlRefused, match="http"):
            await check_outbound_url(url, OutboundPolicy(), what="audio_url")


def test_file_urls_read_only_regular_files_under_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.wav").write_bytes(b"RIFF1234")
    assert read_file_url((root / "a.wav").as_uri(), [root], 100) == b"RIFF1234"
    with pytest.raises(UrlRefused, match="larger than 4"):
        read_file_url((root / "a.wav").as_uri(), [root], 4)
    fifo = root / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UrlRefused, match="regular file"):
        read_file_url(fifo.as_uri(), [root], 100)  # returns at once: never waits for a writer
    with pytest.raises(UrlRefused, match="regular file"):
        read_file_url("file:///dev/zero", ["/dev"], 100)
    with pytest.raises(UrlRefused, match="regular file"):
        read_file_url((root / ".." / "root" / ".." / "x").as_uri(), [root], 100)
