"""Webhooks: let the service say when a job ends, instead of asking.

A :class:`WebhookReceiver` is a small ASGI app. Mount it in your web app (any ASGI server:
uvicorn, hypercorn, Starlette/FastAPI ``app.mount("/speechkit-hook", receiver)``) or start it on
its own (:meth:`WebhookReceiver.start`, needs ``speechkit-stt[server]``), then pass it to a group::

    receiver = WebhookReceiver("https://example.com/speechkit-hook", secret="...")
    app.mount("/speechkit-hook", receiver)
    group = transcriber.transcribe_group(files, webhook=receiver)

Each job is created with ``webhook_url`` and an auth header; the service POSTs
``{"transcript_id": ..., "status": ...}`` when it ends. The receiver answers 401 to a request
without the right header, ignores deliveries it has already seen, and wakes the group, which
fetches each finished job once: no polling. In case a delivery is lost, the group still sweeps
the job list now and then (every ``fallback_interval`` seconds).

Thread-safe: deliveries may arrive on any thread or event loop while groups wait on others.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from speechkit.errors import InvalidInputError

__all__ = ["DEFAULT_HEADER", "WebhookReceiver"]

#: The auth header the service is asked to send with each delivery.
DEFAULT_HEADER = "X-Speechkit-Webhook-Token"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Largest delivery body accepted, in bytes (a delivery is a few dozen).
MAX_BODY = 64 * 1024


class WebhookReceiver:
    """Receives job-ended deliveries and hands them to the groups waiting for them.

    Args:
        url: The public URL the service will POST to (where this app is reachable).
        secret: The auth header's value; a random one by default. Never shown in ``repr``.
        header_name: The auth header's name.
        fallback_interval: Seconds between list sweeps of a waiting group, in case a delivery
            is lost.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        secret: str | None = None,
        header_name: str = DEFAULT_HEADER,
        fallback_interval: float = 30.0,
    ) -> None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise InvalidInputError(f"url must be an http(s) URL the service can reach: {url!r}")
        if fallback_interval <= 0:
            raise InvalidInputError(f"fallback_interval must be > 0, got {fallback_interval}.")
        self.url = url
        self.header_name = header_name
        self._secret = secret or secrets.token_urlsafe(24)
        self.fallback_interval = fallback_interval
        self._lock = threading.Lock()
        self._ended: dict[str, str] = {}  # transcript id -> status, not yet taken by a group
        self._seen: set[tuple[str, str]] = set()
        self.deliveries = 0
        """Deliveries accepted (duplicates and rejected ones not counted)."""
        self.duplicates = 0
        """Deliveries ignored because the same one was accepted before."""
        self.rejected = 0
        """Requests refused (wrong or missing auth header, not a delivery)."""
        self._server: Any = None

    def __repr__(self) -> str:
        return f"WebhookReceiver(url={self.url!r}, header_name={self.header_name!r})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(
            "a WebhookReceiver lives in the process that serves it and cannot be pickled; "
            "use webhooks where that process runs its groups"
        )

    # -- what a group uses -------------------------------------------------------------------
    def config_fields(self) -> dict[str, str]:
        """The job options that make the service deliver here."""
        if self.url is None:
            raise InvalidInputError(
                "the WebhookReceiver has no url: pass the public URL it is reachable at, or "
                "start() it"
            )
        return {
            "webhook_url": self.url,
            "webhook_auth_header_name": self.header_name,
            "webhook_auth_header_value": self._secret,
        }

    def take(self, transcript_ids: set[str]) -> dict[str, str]:
        """Remove and return the ended jobs among ``transcript_ids`` (id -> status)."""
        with self._lock:
            return {tid: self._ended.pop(tid) for tid in transcript_ids if tid in self._ended}

    def record(self, transcript_id: str, status: str) -> bool:
        """Note one delivery; False when it was a duplicate (ignored)."""
        with self._lock:
            if (transcript_id, status) in self._seen:
                self.duplicates += 1
                return False
            self._seen.add((transcript_id, status))
            self.deliveries += 1
            if status in ("completed", "error"):
                self._ended[transcript_id] = status
            return True

    # -- ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope.get("method") != "POST":
            await _answer(send, 405, {"error": "POST a delivery here"})
            return
        wanted = self.header_name.lower().encode("latin-1")
        token = dict(scope.get("headers") or []).get(wanted, b"")
        if not hmac.compare_digest(token, self._secret.encode("latin-1")):
            with self._lock:
                self.rejected += 1
            await _answer(send, 401, {"error": "missing or wrong auth header"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _answer(send, 413, {"error": "delivery too large"})
                return
            if not message.get("more_body"):
                break
        try:
            data = json.loads(body)
            transcript_id, status = str(data["transcript_id"]), str(data["status"])
        except (ValueError, KeyError, TypeError):
            with self._lock:
                self.rejected += 1
            await _answer(send, 400, {"error": "expected {transcript_id, status}"})
            return
        fresh = self.record(transcript_id, status)
        await _answer(send, 200, {"ok": True, "duplicate": not fresh})

    # -- serving it on its own ---------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve this receiver on its own (a uvicorn server in a daemon thread); returns the URL
        (also set as :attr:`url` unless one was given). Needs ``speechkit-stt[server]``."""
        try:
            import uvicorn
        except ImportError as err:  # pragma: no cover - the extra is installed in tests
            raise InvalidInputError(
                'WebhookReceiver.start() needs uvicorn: pip install "speechkit-stt[server]"'
            ) from err
        # Bound here, so a port in use is a clear error in the caller's thread, not a uvicorn
        # log line and a dead thread.
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except OSError as err:
            sock.close()
            raise InvalidInputError(
                f"The webhook receiver cannot listen on {host}:{port}: {err.strerror or err}. "
                "Pass another port=, or port=0 to let the system pick a free one."
            ) from err
        config = uvicorn.Config(self, host=host, port=port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="speechkit-webhooks", daemon=True
        )
        thread.start()
        while not server.started:
            if not thread.is_alive():
                sock.close()
                raise InvalidInputError(f"The webhook receiver could not start on {host}:{port}.")
            threading.Event().wait(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        self._server = (server, thread)
        address = f"http://{host}:{bound}/"
        if self.url is None:
            self.url = address
        return address

    def stop(self) -> None:
        """Stop a receiver started with :meth:`start`; idempotent."""
        running, self._server = self._server, None
        if running is not None:
            server, thread = running
            server.should_exit = True
            thread.join(5)

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
