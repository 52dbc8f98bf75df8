"""Run the local server in a background thread: :class:`LocalServer` and :func:`local_server`.

::

    with local_server(engine="fixed", api_key="test-key") as server:
        print(server.base_url)          # http://127.0.0.1:54321
        server.faults.add_error("transcript.create", 503, times=1)
        ...
        assert server.jobs_created == 1

uvicorn serves the app on its own event loop in a daemon thread, on a loopback port picked by the
OS (``port=0``). ``start()`` returns once the port accepts connections; ``close()`` stops accepting,
closes open websockets (1012), cancels running jobs, closes the engine if the server created it,
and joins the thread, all within ``shutdown_timeout`` seconds (a stuck shutdown is forced).

The uvicorn HTTP and websocket protocol classes are subclassed to put the connection's asyncio
transport into the ASGI scope, which connection-reset faults need, and to set ``TCP_NODELAY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from speechkit._core.redact import Redactor
from speechkit.engines.base import Engine
from speechkit.errors import InvalidInputError
from speechkit.server._middleware import TRANSPORT_SCOPE_KEY
from speechkit.server.app import create_app
from speechkit.server.faults import FaultConfig
from speechkit.server.state import ServerConfig, ServerState
from speechkit.server.stats import RequestRecord

__all__ = ["LocalServer", "PortInUseError", "local_server"]


class PortInUseError(InvalidInputError):
    """The port asked for could not be listened on: another program holds it (or, for ports
    below 1024, the user may not). ``str()`` names the ``port=`` argument;
    ``speechkit serve`` names its ``--port`` flag instead.

    Attributes:
        host: The address asked for.
        port: The port asked for.
    """

    def __init__(self, host: str, port: int, reason: str = "already in use") -> None:
        super().__init__(
            f"Cannot listen on {host}:{port}: the port is {reason}. Pass another port=, or "
            "port=0 to let the system pick a free one."
        )
        self.host = host
        self.port = port
        self.reason = reason


def _bind_error(err: OSError, host: str, port: int) -> OSError | PortInUseError:
    """A port in use (or not ours to take) as a :class:`PortInUseError`; anything else as is."""
    if err.errno == errno.EADDRINUSE:
        return PortInUseError(host, port)
    if err.errno == errno.EACCES:
        return PortInUseError(host, port, "not allowed for this user (ports below 1024 usually)")
    return err


logger = logging.getLogger("speechkit.server")


def _inject_transport(protocol: Any) -> None:
    inner = protocol.app

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope[TRANSPORT_SCOPE_KEY] = protocol.transport
        await inner(scope, receive, send)

    protocol.app = app


class _HTTPProtocol(H11Protocol):
    #: Seconds a connection may take to send a request's head; None: no limit.
    head_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _inject_transport(self)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        # uvicorn writes a response's head and body separately; without TCP_NODELAY, Nagle's
        # algorithm holds the body until the client's delayed ACK: 40 ms per request.
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._arm_head_timer()

    # uvicorn times out idle keep-alive connections but not a request head sent one byte at a
    # time (each byte cancels the keep-alive timer): a head must be complete within
    # ``head_timeout`` seconds of the connection opening or of its first byte.
    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self.head_timeout is not None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            logger.info("closing a connection that did not send a request head in time")
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()
        super().data_received(data)
        if self._head_timer is not None and self.conn.their_state is not h11.IDLE:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


class _SecretLogFilter(logging.Filter):
    """Masks the server key, tokens and auth header values in uvicorn's and websockets' logs
    (at debug level they print request heads)."""

    def __init__(self, api_key: str | None) -> None:
        super().__init__()
        self._redactor = Redactor([api_key])

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redactor.text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


#: Loggers that may print request heads (``authorization``, ``?token=``) at debug level.
_HEAD_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "websockets",
    "websockets.server",
    "websockets.protocol",
    "speechkit.server",
)


class _WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _inject_transport(self)


class LocalServer:
    """The local speech server on a loopback port, run by uvicorn in a daemon thread.

    Args:
        host: interface to bind (loopback by default).
        port: port to bind; 0 lets the OS choose a free one.
        engine: an engine name for :func:`speechkit.engines.create_engine` (``"offline"``, the
            default: Whisper when ``speechkit-stt[whisper]`` is installed, else pocketsphinx;
            ``"whisper"``, ``"pocketsphinx"``, ``"fixed"``), or an
            :class:`~speechkit.engines.base.Engine`. A server
            closes engines it created; an engine you pass in stays yours to close.
        engine_options: keyword arguments for ``create_engine`` (e.g. ``{"text": "hi"}``).
        api_key: key clients must send on every endpoint (control and downloads included);
            None leaves the server open. An empty key is refused (ValueError).
        faults: a :class:`FaultConfig` (kept live) or a dict of its fields.
        close_engine: close the engine on shutdown; by default only an engine the server created.
        startup_timeout: seconds ``start()`` waits for the port to accept connections.
        shutdown_timeout: seconds ``close()`` waits before forcing the shutdown.
        log_level: uvicorn's log level.
        **config_options: other :class:`~speechkit.server.state.ServerConfig` fields
            (``max_upload_bytes``, ``aiml_retention``, ``max_concurrent_jobs``, and the safety
            settings ``allow_private_urls``, ``allow_file_urls``/``file_url_roots``,
            ``allowed_hosts``, ``allowed_origins``, ...; see docs/local-server.md). The host
            the server binds is added to ``allowed_hosts``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        engine: str | Engine = "offline",
        engine_options: dict[str, Any] | None = None,
        api_key: str | None = None,
        faults: FaultConfig | dict[str, Any] | None = None,
        close_engine: bool | None = None,
        startup_timeout: float = 30.0,
        shutdown_timeout: float = 10.0,
        log_level: str = "warning",
        **config_options: Any,
    ) -> None:
        if api_key is not None and not api_key.strip():
            raise ValueError("api_key is empty: pass a non-empty key, or None for an open server")
        self.host = host
        self._requested_port = port
        self._engine_spec = engine
        self._engine_options = dict(engine_options or {})
        self.api_key = api_key
        if isinstance(faults, FaultConfig):
            self.faults = faults
        else:
            self.faults = FaultConfig()
            if faults:
                self.faults.update(faults)
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self.log_level = log_level
        self._config_options = config_options
        self._close_engine = close_engine
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._state: ServerState | None = None
        self._port: int | None = None
        self._log_filter: logging.Filter | None = None
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving; returns once connections are accepted. Idempotent."""
        with self._lock:
            if self._thread is not None:
                return self
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.host, self._requested_port))
                except OSError as err:
                    problem = _bind_error(err, self.host, self._requested_port)
                    if problem is err:
                        raise
                    raise problem from err
                engine, owned = self._make_engine()
            except BaseException:
                sock.close()
                raise
            self._port = sock.getsockname()[1]
            options = dict(self._config_options)
            if self.host not in ("0.0.0.0", "::", ""):  # the address it was started on
                options["allowed_hosts"] = (*options.get("allowed_hosts", ()), self.host)
            # Its own address: an audio_url on this server (an upload URL) may be fetched.
            own = f"{self.host.strip('[]')}:{self._port}"
            options["allowed_url_hosts"] = (*options.get("allowed_url_hosts", ()), own)
            try:
                config = ServerConfig(
                    engine=engine,
                    api_key=self.api_key,
                    faults=self.faults,
                    close_engine=owned if self._close_engine is None else self._close_engine,
                    **options,
                )
            except (TypeError, ValueError):  # an unknown option or a bad value
                sock.close()
                if owned:
                    asyncio.run(engine.aclose())
                raise
            app = create_app(config)
            self._state = app.state.speechkit
            http_protocol = type(
                "_HTTPProtocol", (_HTTPProtocol,), {"head_timeout": config.request_head_timeout}
            )
            self._log_filter = _SecretLogFilter(self.api_key)
            for name in _HEAD_LOGGERS:
                logging.getLogger(name).addFilter(self._log_filter)
            uv_config = uvicorn.Config(
                app,
                http=http_protocol,
                ws=_WebSocketProtocol,
                lifespan="on",
                log_config=None,
                log_level=self.log_level,
                access_log=False,
                timeout_graceful_shutdown=max(1, int(self.shutdown_timeout / 2)),
            )
            server = uvicorn.Server(uv_config)
            self._server = server
            thread = threading.Thread(
                target=self._serve, args=(server, sock), name="speechkit-local-server", daemon=True
            )
            self._thread = thread
            thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(
                    f"the local speech server did not start within {self.startup_timeout} s"
                )
            time.sleep(0.01)
        return self

    @staticmethod
    def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException:  # SystemExit on startup failure included
            logger.exception("the local speech server stopped with an error")
        finally:
            sock.close()

    def _make_engine(self) -> tuple[Engine, bool]:
        if isinstance(self._engine_spec, Engine):
            return self._engine_spec, False
        from speechkit.engines import create_engine

        return create_engine(self._engine_spec, **self._engine_options), True

    def close(self) -> None:
        """Stop the server (bounded by ``shutdown_timeout``). Idempotent."""
        with self._lock:
            server, thread, state = self._server, self._thread, self._state
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        if self._log_filter is not None:
            for name in _HEAD_LOGGERS:
                logging.getLogger(name).removeFilter(self._log_filter)
        thread.join(self.shutdown_timeout)
        if thread.is_alive():
            logger.warning("forcing the local speech server to stop")
            server.force_exit = True
            thread.join(5.0)
        if state is not None and not state.closed and state.config.close_engine:
            # A forced shutdown skips the app's lifespan shutdown: close the engine here.
            with contextlib.suppress(Exception):
                asyncio.run(state.engine.aclose())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)

    # -- addresses ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def _host_for_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL for AssemblyAI and AIML clients."""
        return f"http://{self._host_for_url}:{self.port}"

    @property
    def ws_base_url(self) -> str:
        """``ws://127.0.0.1:PORT``: realtime v2 is at ``/v2/realtime/ws``, v3 at ``/v3/ws``."""
        return f"ws://{self._host_for_url}:{self.port}"

    # -- inspection -----------------------------------------------------------------------------

    @property
    def state(self) -> ServerState:
        """The app's shared state (jobs, uploads, tokens, stats)."""
        if self._state is None:
            raise RuntimeError("the server has not been started")
        return self._state

    @property
    def engine(self) -> Engine:
        return self.state.engine

    @property
    def jobs_created(self) -> int:
        """Jobs ever created (AssemblyAI transcripts and AIML generations)."""
        return self.state.jobs.created()

    def job_ids(self, api: str | None = None) -> list[str]:
        """Ids of stored jobs in creation order; ``api`` is ``"assemblyai"`` or ``"aiml"``."""
        return self.state.jobs.ids(api)

    def request_count(self, endpoint: str | None = None) -> int:
        """Requests received for an endpoint name (e.g. ``"transcript.create"``), or all."""
        return self.state.stats.count(endpoint)

    def requests(self) -> list[RequestRecord]:
        """The most recent requests (up to 10 000), oldest first."""
        return self.state.stats.log()

    def wait_for_jobs(self, timeout: float = 30.0) -> bool:
        """Wait until no job is running; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.state.pending_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<LocalServer {where} engine={self._engine_spec!r}>"


def local_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    engine: str | Engine = "offline",
    api_key: str | None = None,
    faults: FaultConfig | dict[str, Any] | None = None,
    **options: Any,
) -> LocalServer:
    """A :class:`LocalServer`, not yet started: use it as ``with local_server() as server:``
    (or ``async with``), or call ``start()`` and later ``close()``. See :class:`LocalServer`."""
    return LocalServer(
        host=host, port=port, engine=engine, api_key=api_key, faults=faults, **options
    )
