"""The local server's ASGI app: every wire protocol on one Starlette application.

``create_app(config)`` mounts AssemblyAI REST v2 (:mod:`.assemblyai_rest`), LeMUR
(:mod:`.lemur`), realtime v2 (:mod:`.realtime_v2`), Universal Streaming v3 (:mod:`.realtime_v3`) and
the AIML API (:mod:`.aiml`) on the same host, behind :class:`._middleware.SpeechkitMiddleware`
(request stats, latency, faults, HTTP auth). Point any client's base URL at the server.

Control endpoints for tests and tools (auth: the server key, raw or ``Bearer``, if it has one;
never subject to faults or latency):

* ``GET /_speechkit/health`` → ``{"status": "ok", "engine": ...}``
* ``GET /_speechkit/stats`` → requests per endpoint, injected faults, a request log, jobs created
  per API and their ids, open realtime sessions. ``DELETE`` clears the request counters (job
  counters are never reset).
* ``GET /_speechkit/faults`` → the live fault settings; ``PUT`` (JSON, fields of
  :class:`~speechkit.server.faults.FaultConfig`) changes them; ``DELETE`` clears them.
* ``DELETE /_speechkit/uploads`` → forgets every upload and deletes spooled files (``{"uploads":
  0}``); ``GET`` → ``{"uploads": count, "bytes": total}``.
* ``GET /_speechkit/realtime/{session_id}/sends`` → ``{"session_id", "sent_at": [Unix seconds],
  "types": [...]}``: when the realtime session (v2 ``session_id``, v3 ``Begin`` ``id``) sent each
  message, in order. Needs ``ServerConfig.realtime_send_log``; 404 otherwise or once forgotten.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from speechkit.server import aiml, assemblyai_rest, lemur, realtime_v2, realtime_v3
from speechkit.server._middleware import SpeechkitMiddleware, classify, family_error
from speechkit.server.state import ServerConfig, ServerState, get_state

__all__ = ["ServerConfig", "ServerState", "create_app"]

logger = logging.getLogger("speechkit.server")


async def health(request: Request) -> Response:
    state = get_state(request)
    return JSONResponse({"status": "ok", "engine": state.engine.name})


async def stats(request: Request) -> Response:
    state = get_state(request)
    if request.method == "DELETE":
        state.stats.reset()
    try:
        log_limit = int(request.query_params.get("log", "200"))
    except ValueError:
        log_limit = 200
    body = state.stats.to_json(log_limit=log_limit)
    body["jobs"] = {
        "created": {
            "assemblyai": state.jobs.created("assemblyai"),
            "aiml": state.jobs.created("aiml"),
        },
        "ids": {"assemblyai": state.jobs.ids("assemblyai"), "aiml": state.jobs.ids("aiml")},
        "running": state.pending_tasks,
    }
    body["realtime_sessions"] = state.realtime_sessions
    body["uploads"] = len(state.uploads)
    return JSONResponse(body)


async def faults(request: Request) -> Response:
    state = get_state(request)
    if request.method == "PUT":
        try:
            values = json.loads(await request.body())
            if not isinstance(values, dict):
                raise ValueError("expected a JSON object")
            state.faults.update(values)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": f"invalid fault settings: {exc}"}, status_code=400)
    elif request.method == "DELETE":
        state.faults.clear()
    return JSONResponse(state.faults.to_json())


async def uploads(request: Request) -> Response:
    state = get_state(request)
    if request.method == "DELETE":
        await asyncio.to_thread(state.uploads.clear)
    return JSONResponse({"uploads": len(state.uploads), "bytes": state.uploads.total_bytes})


async def realtime_sends(request: Request) -> Response:
    state = get_state(request)
    session_id = request.path_params["session_id"]
    log = state.send_logs.get(session_id)
    if log is None:
        hint = (
            "" if state.config.realtime_send_log else " (start the server with realtime_send_log)"
        )
        return JSONResponse({"error": f"no send log for session {session_id}{hint}"}, 404)
    return JSONResponse({"session_id": session_id, **log.to_json()})


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    _, family = classify(request.method, request.url.path)
    message = "Not found" if exc.status_code == 404 else str(exc.detail)
    return family_error(family, exc.status_code, message, request.url.path, dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    _, family = classify(request.method, request.url.path)
    return family_error(family, 500, "Internal Server Error", request.url.path)


def create_app(config: ServerConfig) -> Starlette:
    """Build the app. Its state (jobs, uploads, tokens, stats) lives as long as the app does.
    ASGI lifespan: at startup the engine is warmed up (``config.warm_up``); at shutdown background
    jobs are cancelled and the engine is closed if ``config.close_engine``."""
    state = ServerState(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.warm_up()
        try:
            yield
        finally:
            await state.aclose()

    routes: list[BaseRoute] = [
        *assemblyai_rest.routes(),
        *lemur.routes(),
        *realtime_v2.routes(),
        *realtime_v3.routes(),
        *aiml.routes(),
        Route("/_speechkit/health", health, methods=["GET"]),
        Route("/_speechkit/stats", stats, methods=["GET", "DELETE"]),
        Route("/_speechkit/faults", faults, methods=["GET", "PUT", "DELETE"]),
        Route("/_speechkit/uploads", uploads, methods=["GET", "DELETE"]),
        Route("/_speechkit/realtime/{session_id}/sends", realtime_sends, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SpeechkitMiddleware, state=state)],
        exception_handlers={HTTPException: _http_exception, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.speechkit = state
    return app
