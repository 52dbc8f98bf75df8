"""The local server's configuration and its shared in-memory state."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.requests import HTTPConnection

from speechkit.engines.base import Engine
from speechkit.server.auth import TokenStore
from speechkit.server.faults import FaultConfig
from speechkit.server.jobs import Job, JobContext, JobStore, run_job
from speechkit.server.security import OutboundPolicy
from speechkit.server.stats import SendLog, ServerStats
from speechkit.server.uploads import UploadStore

__all__ = ["ServerConfig", "ServerState", "get_state"]

logger = logging.getLogger("speechkit.server")

MiB = 1024 * 1024
_SEND_LOGS_KEPT = 64


@dataclass
class ServerConfig:
    """Everything :func:`speechkit.server.app.create_app` needs.

    Attributes:
        engine: the recognizer jobs and streams use.
        api_key: the key clients must send; ``None`` leaves the server open.
        faults: live fault-injection settings (see :mod:`speechkit.server.faults`).
        close_engine: call ``engine.aclose()`` when the app shuts down.
        max_upload_bytes: cap for one ``POST /v2/upload`` body (413 above it).
        max_upload_store_bytes: cap for all uploads kept, in memory and spooled (413 once full).
        upload_spool_bytes: uploads bigger than this are written to a temporary file instead of
            being kept in memory.
        max_fetch_bytes: cap for audio fetched from an ``audio_url``.
        fetch_timeout: seconds allowed to fetch one remote ``audio_url``.
        allow_file_urls: accept ``file://`` audio URLs (a local-only extension; off by default).
            Only regular files under ``file_url_roots`` are read.
        file_url_roots: folders ``file://`` audio URLs may read from (with ``allow_file_urls``).
        allow_private_urls: let ``audio_url`` and ``webhook_url`` reach loopback, private and
            link-local addresses (off: the server cannot be used to probe the local network).
        allowed_url_hosts: hosts (``name`` or ``name:port``) ``audio_url``/``webhook_url`` may
            reach even when they are not public.
        allowed_hosts: ``Host`` names answered besides the loopback names (``"*"``: any).
        allowed_origins: browser origins (``http://localhost:3000``) allowed to call the server
            (``"*"``: any); other requests with an ``Origin`` header get 403.
        max_json_bytes: cap for a JSON request body (413 above it).
        max_json_depth: deepest nesting accepted in a JSON body (400 above it).
        max_jobs: jobs kept; past it the oldest finished jobs are forgotten.
        max_uploads: uploads kept; past it the oldest uploads are forgotten.
        realtime_v3_idle_timeout: seconds a v3 session may go without audio when the client set
            no ``inactivity_timeout``; it then ends like an inactivity timeout.
        request_head_timeout: seconds a connection may take to send a request's head (line and
            headers); slower connections are closed.
        max_concurrent_jobs: jobs recognized at once (others stay ``queued``); None: no limit.
        aiml_retention: seconds an AIML result stays readable (the service keeps them 1 h).
        redacted_audio_retention: seconds redacted audio stays available (the service: 24 h).
        realtime_max_session_seconds: v2/v3 session cap (3 h, like the service).
        realtime_idle_timeout: v2 closes with 4031 when no audio arrives for this long.
        realtime_token_max_expires_in: largest v2 ``expires_in`` accepted.
        webhook_timeout: seconds allowed for one webhook delivery.
        realtime_send_log: record when (``time.time()``, Unix seconds) each realtime session sent
            each message, for ``GET /_speechkit/realtime/{session_id}/sends`` (latency
            measurements; the last 64 sessions are kept).
        warm_up: at startup, await the engine's optional ``start()`` (loads models up front, so
            the first job or stream does not wait); a failure there is logged, not fatal.
    """

    engine: Engine
    api_key: str | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    close_engine: bool = False
    max_upload_bytes: int = 256 * MiB
    max_upload_store_bytes: int = 1024 * MiB
    upload_spool_bytes: int = 16 * MiB
    max_fetch_bytes: int = 256 * MiB
    fetch_timeout: float = 30.0
    allow_file_urls: bool = False
    file_url_roots: tuple[str, ...] = ()
    allow_private_urls: bool = False
    allowed_url_hosts: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_json_bytes: int = 8 * MiB
    max_json_depth: int = 400
    max_jobs: int = 10_000
    max_uploads: int = 1_000
    realtime_v3_idle_timeout: float = 600.0
    request_head_timeout: float = 10.0
    max_concurrent_jobs: int | None = None
    aiml_retention: float = 3600.0
    redacted_audio_retention: float = 24 * 3600.0
    realtime_max_session_seconds: float = 3 * 3600.0
    realtime_idle_timeout: float = 60.0
    realtime_token_max_expires_in: int = 360_000
    webhook_timeout: float = 10.0
    realtime_send_log: bool = False
    warm_up: bool = True

    def __post_init__(self) -> None:
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError(
                "api_key is empty: pass a non-empty key, or None to leave the server open"
            )
        for name in ("max_jobs", "max_uploads", "max_json_bytes", "max_json_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        self.file_url_roots = tuple(str(root) for root in self.file_url_roots)
        self.allowed_url_hosts = tuple(h.lower() for h in self.allowed_url_hosts)
        self.allowed_hosts = tuple(self.allowed_hosts)
        self.allowed_origins = tuple(self.allowed_origins)

    @property
    def outbound_policy(self) -> OutboundPolicy:
        """Where ``audio_url`` fetches and webhooks may go (see :mod:`.security`)."""
        return OutboundPolicy(self.allow_private_urls, frozenset(self.allowed_url_hosts))


class ServerState:
    """Shared state of one app: jobs, uploads, tokens, stats and background tasks."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.engine = config.engine
        self.faults = config.faults
        self.jobs = JobStore(max_jobs=config.max_jobs)
        self.uploads = UploadStore(
            max_file_bytes=config.max_upload_bytes,
            max_total_bytes=config.max_upload_store_bytes,
            spool_bytes=config.upload_spool_bytes,
            max_uploads=config.max_uploads,
        )
        self.tokens = TokenStore()
        self.stats = ServerStats()
        self.lemur: dict[str, dict[str, Any]] = {}
        self.realtime_sessions = 0
        self.send_logs: OrderedDict[str, SendLog] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self.closed = False

    def job_context(self, on_done: Callable[[Job], Awaitable[None]] | None = None) -> JobContext:
        """What a new job needs; ``on_done`` runs after it finished (webhooks)."""
        if self._slots is None and self.config.max_concurrent_jobs:
            self._slots = asyncio.Semaphore(self.config.max_concurrent_jobs)
        return JobContext(
            engine=self.engine,
            uploads=self.uploads,
            faults=self.faults,
            max_fetch_bytes=self.config.max_fetch_bytes,
            fetch_timeout=self.config.fetch_timeout,
            allow_file_urls=self.config.allow_file_urls,
            file_url_roots=self.config.file_url_roots,
            outbound=self.config.outbound_policy,
            slots=self._slots,
            on_done=on_done,
        )

    def start_job(self, job: Job, ctx: JobContext) -> None:
        """Store ``job`` and run it in the background on the current loop."""
        self.jobs.add(job)
        self.spawn(run_job(job, ctx))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def warm_up(self) -> None:
        """Await the engine's optional ``start()`` coroutine, if it has one."""
        start = getattr(self.engine, "start", None)
        if not self.config.warm_up or not inspect.iscoroutinefunction(start):
            return
        try:
            await start()
        except Exception:
            logger.exception("engine warm-up failed; the engine will start on first use")

    def new_send_log(self, session_id: str) -> SendLog | None:
        """A :class:`SendLog` for a new realtime session, if ``realtime_send_log`` is on."""
        if not self.config.realtime_send_log:
            return None
        log = SendLog()
        self.send_logs[session_id] = log
        while len(self.send_logs) > _SEND_LOGS_KEPT:
            self.send_logs.popitem(last=False)
        return log

    @property
    def pending_tasks(self) -> int:
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel background jobs, then close the engine if this app owns it."""
        if self.closed:
            return
        self.closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(self.uploads.close)
        if self.config.close_engine:
            try:
                await self.engine.aclose()
            except Exception:
                logger.exception("engine.aclose() failed")


def get_state(conn: HTTPConnection) -> ServerState:
    """The :class:`ServerState` of the app serving ``conn``."""
    return cast(ServerState, conn.app.state.speechkit)
