"""The local speechkit server in its own process, driven through its control endpoints.

Every scenario talks to a server started here, never to one in the measuring process, so the
client's CPU, RSS and threads are measured apart from the server's::

    with ServerProcess(engine="fixed", realtime_send_log=True) as server:
        server.set_faults(processing_delay=0.5, processing_jitter=1.5, seed=1)
        ...  # clients use server.base_url / server.ws_base_url
        created = server.jobs_created()

The child runs ``python -m benchmarks._server '<json options>'``: a
:class:`speechkit.server.LocalServer` with those options (the engine, ``engine_options`` and any
``ServerConfig`` field) on a free loopback port. It prints ``READY <base_url>`` and serves until
its stdin closes, so it never outlives the parent. Faults and counters go through
``/_speechkit/faults`` and ``/_speechkit/stats``, which are never subject to faults or latency.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

__all__ = ["REPO_ROOT", "ServerProcess"]

REPO_ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """A :class:`~speechkit.server.LocalServer` in a child process on a free loopback port.

    Args:
        engine: The engine name (``"fixed"`` answers at once with ``fixed_text``).
        fixed_text: The text the fixed engine recognizes, unless ``engine_options`` is given.
        startup_timeout: Seconds to wait for the server to report its URL.
        options: More ``LocalServer`` arguments: ``engine_options`` and ``ServerConfig`` fields
            such as ``max_upload_bytes`` or ``realtime_send_log`` (JSON values).

    Use it as a context manager, or call :meth:`start` and :meth:`close`.
    """

    def __init__(
        self,
        *,
        engine: str = "fixed",
        fixed_text: str | None = "hello world",
        startup_timeout: float = 60.0,
        **options: Any,
    ) -> None:
        if "engine_options" not in options and engine == "fixed" and fixed_text is not None:
            options["engine_options"] = {"text": fixed_text}
        self.options = {"engine": engine, **options}
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._log: Any = None
        self._base_url: str | None = None
        self._control: httpx.Client | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the server and wait until it reports its URL (then it accepts connections).

        Raises:
            RuntimeError: The server exited or did not start in time; the message holds its log.
        """
        # Kept open for the life of the server: it receives the server's stderr.
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        process = self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server", json.dumps(self.options)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdout is not None
        stdout = process.stdout
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        if not line or not line[0].startswith("READY "):
            log = self.server_log()
            self.close()
            raise RuntimeError(f"the local server did not start ({self.options}):\n{log}")
        self._base_url = line[0].split()[1]
        self._control = httpx.Client(base_url=self._base_url, timeout=30.0)
        return self

    def close(self) -> None:
        """Stop the server (stdin closed, then SIGKILL after 15 s). Idempotent."""
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # the child's signal to stop
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL for speechkit and for ``aai.settings``."""
        if self._base_url is None:
            raise RuntimeError("the server has not been started")
        return self._base_url

    @property
    def ws_base_url(self) -> str:
        """``ws://127.0.0.1:PORT``: realtime v2 at ``/v2/realtime/ws``, v3 at ``/v3/ws``."""
        return "ws://" + self.base_url.removeprefix("http://")

    @property
    def pid(self) -> int:
        """The server's process id (for psutil, e.g. its CPU time)."""
        if self._process is None:
            raise RuntimeError("the server has not been started")
        return self._process.pid

    def server_log(self) -> str:
        """What the server wrote to stderr so far (warnings, tracebacks)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        text: str = self._log.read()
        return text

    # -- control endpoints ---------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._control is None:
            raise RuntimeError("the server has not been started")
        response = self._control.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def set_faults(self, **values: Any) -> dict[str, Any]:
        """Change the live fault settings (fields of ``speechkit.server.faults.FaultConfig``).

        Example: ``set_faults(processing_delay=0.5, processing_jitter=1.5, seed=7)``, or
        ``set_faults(endpoint_faults=[{"endpoint": "*", "status": 503, "rate": 0.05}])``.
        Fields not given keep their values. Returns the settings now in force.
        """
        result: dict[str, Any] = self._call("PUT", "/_speechkit/faults", json=values)
        return result

    def clear_faults(self) -> None:
        """Remove every fault: no latency, no errors, no slow processing."""
        self._call("DELETE", "/_speechkit/faults")

    def stats(self, log: int = 0) -> dict[str, Any]:
        """``GET /_speechkit/stats``: ``requests`` and ``faults_injected`` per endpoint name,
        the newest ``log`` request records, ``jobs`` (``created`` per API, ``ids``, ``running``)."""
        result: dict[str, Any] = self._call("GET", "/_speechkit/stats", params={"log": log})
        return result

    def reset_stats(self) -> None:
        """Clear the request and fault counters (job counters are never reset)."""
        self._call("DELETE", "/_speechkit/stats", params={"log": 0})

    def request_counts(self) -> dict[str, int]:
        """Requests received per endpoint name (``upload``, ``transcript.create``, ...)."""
        counts: dict[str, int] = self.stats()["requests"]
        return {k: v for k, v in counts.items() if not k.startswith("control")}

    def faults_injected(self) -> dict[str, int]:
        """Faults injected per endpoint name since the last :meth:`reset_stats`."""
        result: dict[str, int] = self.stats()["faults_injected"]
        return result

    def jobs_created(self) -> int:
        """Jobs ever created on this server (AssemblyAI transcripts plus AIML jobs)."""
        created = self.stats()["jobs"]["created"]
        return int(sum(created.values()))

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no job is running on the server; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.stats()["jobs"]["running"]:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


def request_counts_at(base_url: str) -> dict[str, int]:
    """Requests the server at ``base_url`` received per endpoint name, read from a client
    process that has only the URL (``ServerProcess.request_counts`` is the parent's view)."""
    response = httpx.get(f"{base_url}/_speechkit/stats", params={"log": 0}, timeout=30)
    response.raise_for_status()
    counts: dict[str, int] = response.json()["requests"]
    return counts


def _serve(options: dict[str, Any]) -> None:
    from speechkit.server import LocalServer

    with LocalServer(**options) as server:
        print(f"READY {server.base_url}", flush=True)
        sys.stdin.read()  # returns at EOF: the parent closed our stdin or exited


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
