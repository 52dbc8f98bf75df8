"""The ASGI middleware in front of every endpoint: it checks ``Host`` and ``Origin`` (see
:mod:`speechkit.server.security`), names the endpoint, records the request, adds latency, injects
faults (see :mod:`speechkit.server.faults`), checks HTTP auth with the scheme and error body of the
endpoint's API family (every HTTP endpoint, control and download ones included, when the server
has a key), and reads JSON bodies under a size and depth cap before the endpoint sees them.
Websocket auth is left to the websocket handlers, which must answer with protocol close codes;
idle v3 sessions are closed by the v3 handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from speechkit.server.auth import bearer_key_ok, raw_key_ok
from speechkit.server.faults import EndpointFault
from speechkit.server.security import (
    host_allowed,
    is_json_content_type,
    json_too_deep,
    origin_allowed,
)
from speechkit.server.state import ServerState

__all__ = ["TRANSPORT_SCOPE_KEY", "SpeechkitMiddleware", "classify", "family_error"]

TRANSPORT_SCOPE_KEY = "speechkit.transport"
"""Scope key under which :mod:`speechkit.server.runner`'s protocols put the asyncio transport."""

_T = r"/v2/transcript/[^/]+"
_ENDPOINTS: list[tuple[str, re.Pattern[str], str, str]] = [
    (m, re.compile(p), name, family)
    for m, p, name, family in [
        ("POST", r"/v2/upload", "upload", "aai"),
        ("GET", r"/upload/[^/]+", "upload.download", "open"),
        ("POST", r"/v2/transcript", "transcript.create", "aai"),
        ("GET", r"/v2/transcript", "transcript.list", "aai"),
        ("GET", _T, "transcript.get", "aai"),
        ("DELETE", _T, "transcript.delete", "aai"),
        ("GET", _T + r"/(srt|vtt)", "transcript.subtitles", "aai"),
        ("GET", _T + r"/sentences", "transcript.sentences", "aai"),
        ("GET", _T + r"/paragraphs", "transcript.paragraphs", "aai"),
        ("GET", _T + r"/word-search", "transcript.word_search", "aai"),
        ("GET", _T + r"/redacted-audio", "transcript.redacted_audio", "aai"),
        ("GET", r"/v2/redacted-audio/[^/]+", "redacted_audio.download", "open"),
        ("POST", r"/lemur/v3/generate/task", "lemur.task", "aai"),
        ("POST", r"/lemur/v3/generate/summary", "lemur.summary", "aai"),
        ("POST", r"/lemur/v3/generate/question-answer", "lemur.question_answer", "aai"),
        ("POST", r"/lemur/v3/generate/action-items", "lemur.action_items", "aai"),
        ("GET", r"/lemur/v3/[^/]+", "lemur.get", "aai"),
        ("DELETE", r"/lemur/v3/[^/]+", "lemur.purge", "aai"),
        ("POST", r"/v2/realtime/token", "realtime.token", "aai"),
        ("WS", r"/v2/realtime/ws", "realtime.ws", "ws"),
        ("GET", r"/v3/token", "streaming.token", "aai"),
        ("WS", r"/v3/ws", "streaming.ws", "ws"),
        ("POST", r"/v1/stt/create", "aiml.create", "aiml"),
        ("GET", r"/v1/stt/[^/]+", "aiml.get", "aiml"),
    ]
]


#: Endpoints whose body is JSON (``aiml.create`` also takes multipart).
_JSON_ENDPOINTS = frozenset(
    {
        "transcript.create",
        "lemur.task",
        "lemur.summary",
        "lemur.question_answer",
        "lemur.action_items",
        "realtime.token",
        "aiml.create",
        "control.faults",
    }
)


def classify(method: str, path: str) -> tuple[str, str]:
    """``(endpoint name, API family)``; family is ``aai``, ``aiml``, ``ws``, ``open`` or
    ``control``."""
    for m, pattern, name, family in _ENDPOINTS:
        if m == method and pattern.fullmatch(path):
            return name, family
    if path.startswith("/_speechkit/"):
        return "control." + path.removeprefix("/_speechkit/").replace("/", "."), "control"
    if path.startswith("/v1/"):
        return "aiml.other", "aiml"
    if path.startswith("/lemur/"):
        return "lemur.other", "aai"
    return "other", "aai"


def family_error(
    family: str, status: int, message: str, path: str, headers: dict[str, str] | None = None
) -> Response:
    """An error response in the API family's documented body shape."""
    if family == "aiml":
        from speechkit.server.aiml import aiml_error

        response: Response = aiml_error(status, message, path)
        if headers:
            response.headers.update(headers)
        return response
    if status in (502, 503, 504):
        # The AssemblyAI spec gives 503/504 no body: they come from the load balancer.
        return PlainTextResponse(message, status_code=status, headers=headers)
    return JSONResponse({"error": message}, status_code=status, headers=headers)


_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    421: "Misdirected Request",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_AUTH_MESSAGES = {
    "aai": "Authentication error, API token missing/invalid",
    "aiml": (
        "This request requires a valid API key. You can create a new API key on the "
        "Billing page: https://aimlapi.com/app/keys"
    ),
    "control": "Authentication error, API token missing/invalid",
}


def _abort(scope: Scope) -> bool:
    """Reset the TCP connection (RST, no response). False when the transport is unknown."""
    transport = scope.get(TRANSPORT_SCOPE_KEY)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


async def _drain_until_disconnect(receive: Receive) -> None:
    # Wait for the server to notice the closed socket, so it does not try to answer.
    with contextlib.suppress(TimeoutError, OSError, RuntimeError):
        async with asyncio.timeout(2.0):
            while (await receive())["type"] not in ("http.disconnect", "websocket.disconnect"):
                pass


class SpeechkitMiddleware:
    """Stats, latency, faults and HTTP auth (see module docstring)."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _delay(self) -> None:
        delay = self.state.faults.latency_for_request()
        if delay > 0:
            await asyncio.sleep(delay)

    def _authorized(self, family: str, headers: Headers) -> bool:
        key = self.state.config.api_key
        header = headers.get("authorization")
        if family == "aai":
            return raw_key_ok(header, key)
        if family == "aiml":
            return bearer_key_ok(header, key)
        # Control endpoints and downloads (uploads, redacted audio) take either scheme.
        return raw_key_ok(header, key) or bearer_key_ok(header, key)

    def _refused_origin(self, headers: Headers) -> str | None:
        """Why a request is refused before anything else (wrong ``Host``, foreign ``Origin``)."""
        config = self.state.config
        host = headers.get("host")
        if not host_allowed(host, config.allowed_hosts):
            return (
                "This server answers only requests addressed to a loopback name "
                "(localhost, 127.0.0.1, ::1); add the host name to allowed_hosts "
                "(--allowed-host) to allow it."
            )
        if not origin_allowed(headers.get("origin"), host, config.allowed_origins):
            return (
                "Cross-origin requests from web pages are refused; add the page's origin to "
                "allowed_origins (--allowed-origin) to allow it."
            )
        return None

    async def _json_body(
        self, name: str, method: str, headers: Headers, receive: Receive
    ) -> tuple[int, str] | Receive | None:
        """For endpoints that take JSON: check the content type, read the body under
        ``max_json_bytes``, refuse nesting deeper than ``max_json_depth``, and return a
        ``receive`` that replays it. ``(status, message)`` when refused; None for other
        endpoints."""
        if method not in ("POST", "PUT", "PATCH") or name not in _JSON_ENDPOINTS:
            return None
        content_type = headers.get("content-type")
        if name == "aiml.create" and (content_type or "").startswith("multipart/form-data"):
            return None  # capped by the endpoint (max_upload_bytes)
        config = self.state.config
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_json_bytes:
            return 413, f"The request body is larger than {config.max_json_bytes} bytes."
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return 400, "The client disconnected."
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > config.max_json_bytes:
                return 413, f"The request body is larger than {config.max_json_bytes} bytes."
        if body and not is_json_content_type(content_type):
            return 415, "Send the body as JSON, with Content-Type: application/json."
        if json_too_deep(bytes(body), config.max_json_depth):
            return 400, f"The JSON body is nested deeper than {config.max_json_depth} levels."
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # http.disconnect, once the client goes
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return replay

    async def _apply_fault(
        self,
        rule: EndpointFault,
        family: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        log: Callable[[int | None, str], None],
    ) -> None:
        """Reset or answer with the rule's status; ``log(status, fault)`` runs just before, so
        the request log never lags behind what the client saw."""
        if rule.reset and scope.get(TRANSPORT_SCOPE_KEY) is not None:
            log(None, "reset")
            _abort(scope)
            await _drain_until_disconnect(receive)
            return
        status = 500 if rule.reset else rule.status
        headers = {"Retry-After": h} if (h := rule.retry_after_header()) is not None else {}
        if rule.reset:
            headers["Connection"] = "close"
        message = _PHRASES.get(status, "Injected fault")
        log(status, f"error:{status}")
        await family_error(family, status, message, scope["path"], headers)(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        name, family = classify(method, path)
        stats = self.state.stats
        stats.arrived(name)

        def log(status: int | None, fault: str | None = None) -> None:
            stats.record(method=method, path=path, endpoint=name, status=status, fault=fault)

        headers = Headers(scope=scope)
        refused = self._refused_origin(headers)
        if refused is not None:
            status = 421 if "loopback" in refused else 403
            log(status)
            await family_error(family, status, refused, path)(scope, receive, send)
            return
        if family != "control":
            await self._delay()
        # Auth first: a rejected request does not use up a fault's ``times``.
        if not self._authorized(family, headers):
            message = _AUTH_MESSAGES.get(family, "Unauthorized")
            log(401)
            await family_error(family, 401, message, path)(scope, receive, send)
            return
        checked = await self._json_body(name, method, headers, receive)
        if isinstance(checked, tuple):
            log(checked[0])
            await family_error(family, checked[0], checked[1], path)(scope, receive, send)
            return
        if checked is not None:
            receive = checked
        if name in ("transcript.create", "aiml.create") and self.state.jobs.full():
            log(429)
            message = "Too many jobs are still running on this server; retry later."
            retry = {"Retry-After": "1"}
            await family_error(family, 429, message, path, retry)(scope, receive, send)
            return
        rule = None if family == "control" else self.state.faults.pick(name)
        if rule is not None:
            stats.fault_injected(name)
            if not rule.after_processing:
                await self._apply_fault(rule, family, scope, receive, send, log)
                return

        async def watch(message: Message) -> None:
            if rule is not None:
                return  # answered, then replaced by the fault below
            if message["type"] == "http.response.start":
                log(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log(500)
            raise
        if rule is not None:
            await self._apply_fault(rule, family, scope, receive, send, log)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        name, _ = classify("WS", path)
        stats = self.state.stats
        stats.arrived(name)
        if self._refused_origin(Headers(scope=scope)) is not None:
            await receive()  # websocket.connect
            stats.record(method="WS", path=path, endpoint=name, status=403)
            await send({"type": "websocket.close", "code": 1008, "reason": "Forbidden origin"})
            return
        await self._delay()
        rule = self.state.faults.pick(name)
        if rule is not None:
            stats.fault_injected(name)
            if rule.reset and _abort(scope):
                await _drain_until_disconnect(receive)
                stats.record(method="WS", path=path, endpoint=name, status=None, fault="reset")
                return
            status = 500 if rule.reset else rule.status
            await receive()  # websocket.connect
            headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
            if (h := rule.retry_after_header()) is not None:
                headers.append((b"retry-after", h.encode()))
            body = json.dumps({"error": _PHRASES.get(status, "Injected fault")}).encode()
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
            stats.record(
                method="WS", path=path, endpoint=name, status=status, fault=f"error:{status}"
            )
            return
        stats.record(method="WS", path=path, endpoint=name, status=101)
        await _WsDropper(self.state, scope).run(self.app, receive, send)


class _WsDropper:
    """Wraps a websocket app to drop the connection after N messages or N seconds."""

    def __init__(self, state: ServerState, scope: Scope) -> None:
        faults = state.faults
        self.scope = scope
        self.after_messages = faults.ws_drop_after_messages
        self.after_seconds = faults.ws_drop_after_seconds
        self.close_code = faults.ws_drop_close_code
        self.stats = state.stats
        self.sent = 0
        self.dropped = False
        self._send: Send | None = None
        self._timer: asyncio.Task[None] | None = None

    async def run(self, app: ASGIApp, receive: Receive, send: Send) -> None:
        if self.after_messages is None and self.after_seconds is None:
            await app(self.scope, receive, send)
            return
        self._send = send
        try:
            await app(self.scope, self._receive(receive), self._wrapped_send)
        finally:
            if self._timer is not None:
                self._timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._timer

    def _receive(self, receive: Receive) -> Callable[[], Awaitable[Message]]:
        async def wrapped() -> Message:
            if self.dropped and self.close_code is None:
                return {"type": "websocket.disconnect", "code": 1006}
            return await receive()

        return wrapped

    async def _drop(self) -> None:
        if self.dropped or self._send is None:
            return
        self.dropped = True
        path = self.scope["path"]
        endpoint = classify("WS", path)[0]
        self.stats.fault_injected(endpoint)
        self.stats.record(method="WS", path=path, endpoint=endpoint, status=None, fault="ws_drop")
        if self.close_code is None and _abort(self.scope):
            return
        code = self.close_code or 1011
        with contextlib.suppress(OSError, RuntimeError):
            await self._send({"type": "websocket.close", "code": code, "reason": "fault injection"})

    async def _timer_body(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._drop()

    async def _wrapped_send(self, message: Message) -> None:
        if self.dropped:
            raise OSError("connection dropped by fault injection")
        assert self._send is not None
        await self._send(message)
        kind: Any = message["type"]
        if kind == "websocket.accept":
            if self.after_seconds is not None:
                self._timer = asyncio.get_running_loop().create_task(
                    self._timer_body(self.after_seconds)
                )
            if self.after_messages == 0:
                await self._drop()
        elif kind == "websocket.send":
            self.sent += 1
            if self.after_messages is not None and self.sent >= self.after_messages:
                await self._drop()
