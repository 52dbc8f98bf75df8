"""A small misbehaving HTTP server on loopback, for tests of what speechkit does when a server
(or a web page, or the network) is hostile: it answers slowly, with bombs, redirects, echoes.

``HostileServer(handler)`` accepts connections on ``127.0.0.1`` in a daemon thread; for every
request it reads the head (and a ``Content-Length`` body) and calls ``handler(exchange)``, which
writes whatever bytes it likes. ``close()`` stops it and closes every connection, so a test that
ends early leaves nothing running.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self


@dataclass
class Exchange:
    """One received request and the socket to answer it on."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    sock: socket.socket
    server: HostileServer

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self,
        status: int = 200,
        body: bytes | str | Any = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        """A whole, well-formed answer (JSON-encodes a non-bytes, non-str body)."""
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        data = body.encode() if isinstance(body, str) else body
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(data)}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        self.send(head.encode() + b"\r\n" + data)

    def trickle(self, data: bytes, interval: float) -> None:
        """Send ``data`` one byte at a time, ``interval`` seconds apart (stops when closed)."""
        for i in range(len(data)):
            if self.server.stopped.wait(interval):
                return
            self.send(data[i : i + 1])


@dataclass
class HostileServer:
    handler: Callable[[Exchange], None]
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            with self._lock:
                self._socks.append(sock)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        buffer = b""
        with contextlib.suppress(OSError):
            while not self.stopped.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                with self._lock:
                    self.requests.append((method, path, headers))
                self.handler(Exchange(method, path, headers, body, sock, self))

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        with self._lock:
            return sum(
                1
                for m, p, _ in self.requests
                if (method is None or m == method) and p.startswith(path_prefix)
            )

    def close(self) -> None:
        self.stopped.set()
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._listener.close()
        self._accepting.join(5)
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until true (a generous bound: never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
