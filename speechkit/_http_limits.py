"""Bounds the I/O shells put on every request: a total deadline, a body cap, and a cap on the
requests in flight per client. Used by :mod:`speechkit._http` only.

**Deadlines.** httpx's timeouts are per operation: a server sending one byte every second never
trips a 3 s read timeout. So each attempt gets a :class:`Deadline` of ``http_timeout`` seconds
(less when a ``poll_timeout`` has less left), started when its body has been handed over (an
upload's time is its own) and covering the response's head and body:

* asyncio: ``asyncio.timeout`` around the whole exchange;
* blocking: the connection pool of a client speechkit creates uses :class:`DeadlineBackend`,
  whose sockets never wait past the current thread's deadline (headers trickled byte by byte
  included), and the body loop checks the deadline between chunks (which also covers an
  ``http_client`` you pass in, for the body). No watchdog thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import typing
from collections.abc import Iterable

import httpcore
import httpx

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "Deadline",
    "DeadlineBackend",
    "InFlight",
    "current_deadline",
    "deadline_transport",
]

#: Requests one client sends at once; more wait in speechkit, in order (not in httpcore's pool,
#: whose queue is rescanned on every change: 500 queued requests cost ~8x the CPU per job).
DEFAULT_MAX_IN_FLIGHT = 64

current_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "speechkit_deadline", default=None
)


class Deadline:
    """The total time one attempt may take, armed now or once its body has been sent."""

    def __init__(self, seconds: float, *, armed: bool) -> None:
        self.seconds = max(0.0, seconds)
        self.at: float | None = time.monotonic() + self.seconds if armed else None
        self._timeout: asyncio.Timeout | None = None

    def bind(self, timeout: asyncio.Timeout) -> None:
        """Let :meth:`arm` reschedule this ``asyncio.timeout`` (async shell)."""
        self._timeout = timeout
        if self.at is not None:
            self._reschedule()

    def arm(self) -> None:
        """Start counting (the body has been sent). Idempotent."""
        if self.at is None:
            self.at = time.monotonic() + self.seconds
            self._reschedule()

    def _reschedule(self) -> None:
        if self._timeout is not None and self.at is not None:
            loop = asyncio.get_running_loop()
            self._timeout.reschedule(loop.time() + (self.at - time.monotonic()))

    @property
    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def bound(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to the time left; raises ``httpcore.ReadTimeout`` when none is."""
        if self.at is None:
            return timeout
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the request's total deadline passed")
        return remaining if timeout is None else min(timeout, remaining)


def _bound(timeout: float | None) -> float | None:
    deadline = current_deadline.get()
    return timeout if deadline is None else deadline.bound(timeout)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bound(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _bound(timeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend whose every socket operation ends by the thread's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _bound(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _bound(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(limits: httpx.Limits) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose connections honour :data:`current_deadline`."""
    transport = httpx.HTTPTransport(limits=limits)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=DeadlineBackend(),
    )
    return transport


class InFlight:
    """At most ``limit`` requests of one client in flight; the others wait here (FIFO enough:
    a semaphore), so the HTTP pool never holds a long queue. Works for threads and tasks."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._threads = threading.BoundedSemaphore(limit)
        self._tasks: asyncio.Semaphore | None = None

    def __enter__(self) -> None:
        self._threads.acquire()

    def __exit__(self, *exc: object) -> None:
        self._threads.release()

    async def __aenter__(self) -> None:
        if self._tasks is None:
            self._tasks = asyncio.Semaphore(self.limit)
        await self._tasks.acquire()

    async def __aexit__(self, *exc: object) -> None:
        assert self._tasks is not None
        self._tasks.release()
