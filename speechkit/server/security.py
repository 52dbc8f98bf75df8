"""What keeps a local server safe to leave running on a developer's machine.

A web page open in the developer's browser can send requests to ``http://127.0.0.1:8765``, and a
DNS-rebinding page can even read the answers. So, unless configured otherwise:

* **Host check**: only loopback names (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``)
  and the configured ``allowed_hosts`` are answered (421 otherwise): a rebinding page's requests
  carry its own host name.
* **Origin check**: a request with an ``Origin`` header (browsers send one on every cross-origin
  POST and websocket) is refused (403) unless that origin is the server's own or listed in
  ``allowed_origins``. SDKs and command-line tools send no ``Origin``.
* **JSON only as JSON**: endpoints that take JSON refuse any other ``Content-Type`` (415), so a
  page cannot use a "simple" ``text/plain`` POST that skips the browser's preflight.
* **Bounded JSON**: bodies over ``max_json_bytes`` are refused (413) before they are read whole,
  and nesting deeper than ``max_json_depth`` (400) is refused before parsing.
* **Outbound URL policy** (:func:`check_outbound_url`, :func:`fetch`): ``audio_url`` and
  ``webhook_url`` must be http(s) and resolve to public addresses; loopback, private, link-local
  and other special addresses are refused unless ``allow_private_urls`` or the host is in
  ``allowed_url_hosts``. Redirects are followed by hand and every hop is checked again. Failures
  all read the same, so a job's error never tells whether a port is open.
* **file:// URLs** (:func:`read_file_url`): off by default; when on, only regular files under the
  ``file_url_roots`` folders, read with a size cap (a device such as ``/dev/zero`` is refused).

Everything here is pure policy plus the few awaits the fetches need; the middleware and the job
runner call it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

__all__ = [
    "LOOPBACK_NAMES",
    "OutboundPolicy",
    "UrlRefused",
    "check_outbound_url",
    "fetch",
    "host_allowed",
    "json_too_deep",
    "origin_allowed",
    "read_file_url",
]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})
"""Host names always answered. ``testserver`` is what Starlette's in-process test client sends."""

#: Redirects followed when fetching audio or delivering a webhook (each hop re-checked).
MAX_REDIRECTS = 5


class UrlRefused(Exception):
    """An outbound URL breaks the policy; the message says why and which setting allows it."""


def _split_host(host_header: str) -> str:
    """The host name of a ``Host`` header value, lower-case, without port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_loopback_name(host: str) -> bool:
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(host_header: str | None, allowed_hosts: Iterable[str]) -> bool:
    """Whether a request's ``Host`` names this server: a loopback name or an allowed host.

    ``allowed_hosts`` may hold ``"*"`` (any host; for a server behind a proxy you trust).
    A request without ``Host`` (HTTP/1.0) is allowed: a browser always sends one.
    """
    if host_header is None:
        return True
    allowed = {h.lower() for h in allowed_hosts}
    if "*" in allowed:
        return True
    host = _split_host(host_header)
    return _is_loopback_name(host) or host in allowed


def origin_allowed(
    origin: str | None, host_header: str | None, allowed_origins: Iterable[str]
) -> bool:
    """Whether a request's ``Origin`` may use the server: absent (not a browser), the server's
    own origin (a page it served), or listed in ``allowed_origins`` (``"*"`` allows any)."""
    if origin is None:
        return True
    allowed = {o.rstrip("/").lower() for o in allowed_origins}
    origin = origin.strip().rstrip("/").lower()
    if "*" in allowed or origin in allowed:
        return True
    if host_header is None or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host_header.strip().lower()


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type, parameters ignored."""
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and "+json" in media)


_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def json_too_deep(raw: bytes, limit: int) -> bool:
    """Whether ``raw`` nests arrays/objects deeper than ``limit`` (strings are skipped)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


# -- outbound URLs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Where the server may send requests (audio fetches, webhooks).

    Attributes:
        allow_private: Allow loopback, private, link-local and other non-public addresses.
        allowed_hosts: Hosts (``name`` or ``name:port``) allowed even when not public.
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    def host_listed(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]")
        return host in self.allowed_hosts or f"{host}:{port}" in self.allowed_hosts


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_outbound_url(url: str, policy: OutboundPolicy, *, what: str) -> None:
    """Refuse ``url`` unless it is http(s) and (per ``policy``) points at public addresses.

    The host name is resolved here and every address must be public: a name that resolves to
    ``127.0.0.1`` is as refused as the literal address.

    Raises:
        UrlRefused: The URL is not allowed (the message names the setting that allows it).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(f"{what} must be an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlRefused(f"{what} has an invalid port") from None
    host = parts.hostname
    if policy.allow_private or policy.host_listed(host, port):
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError:
        raise UrlRefused(f"{what}: the host name {host!r} could not be resolved") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise UrlRefused(
            f"{what} points to a loopback or private address, which this server does not "
            "contact (start it with --allow-private-urls, or allowed_url_hosts, to allow it)"
        )


async def fetch(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    policy: OutboundPolicy,
    *,
    what: str,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, following up to :data:`MAX_REDIRECTS` redirects by hand and checking
    every URL against ``policy`` first. The response is streamed (the caller reads and closes it).

    Raises:
        UrlRefused: A URL on the way was not allowed, or there were too many redirects.
        httpx.HTTPError: The request failed.
    """
    for _ in range(MAX_REDIRECTS + 1):
        await check_outbound_url(url, policy, what=what)
        request = client.build_request(method, url, **kwargs)
        response = await client.send(request, stream=True, follow_redirects=False)
        location = response.headers.get("location")
        if not (response.is_redirect and location):
            return response
        await response.aclose()
        url = urljoin(url, location)
        if response.status_code in (301, 302, 303) and method != "GET":
            method, kwargs = "GET", {k: v for k, v in kwargs.items() if k == "headers"}
    raise UrlRefused(f"{what}: too many redirects")


# -- file:// URLs -----------------------------------------------------------------------------


def read_file_url(url: str, roots: Iterable[str | os.PathLike[str]], max_bytes: int) -> bytes:
    """The bytes of the regular file a ``file://`` URL names, if it is under one of ``roots``.

    Symlinks are resolved before the check, devices and FIFOs are refused, and at most
    ``max_bytes`` are read (``st_size`` is not trusted). Every refusal reads the same, so the
    answer does not tell whether a path exists.

    Raises:
        UrlRefused: Not allowed, not a regular file, unreadable, or larger than ``max_bytes``.
    """
    refused = UrlRefused(
        "the file:// audio URL does not name a readable regular file under the folders this "
        "server may read (file_url_roots)"
    )
    try:
        path = Path(unquote(urlsplit(url).path)).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        raise refused from None
    bases = [Path(root).resolve() for root in roots]
    if not any(path == base or base in path.parents for base in bases):
        raise refused
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the mode is checked on the
        # opened descriptor, so a file swapped in after resolve() is checked too.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        raise refused from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refused
        os.set_blocking(fd, True)
        try:
            data = file.read(max_bytes + 1)
        except OSError:
            raise refused from None
    if len(data) > max_bytes:
        raise UrlRefused(f"the audio file is larger than {max_bytes} bytes")
    return data
