"""The local speech server in its own process, so a benchmark measures the client apart from it.

::

    with ServerProcess(engine="fixed", engine_options={"text": "hi"}) as server:
        print(server.base_url, server.pid)

The child runs ``python -m benchmarks._sk_server '<json options>'``: it starts
:class:`speechkit.server.LocalServer` with those options (any ``ServerConfig`` field included),
prints ``READY <base_url>`` and serves until its stdin closes (so it never outlives the parent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """A :class:`~speechkit.server.LocalServer` in a child process (see the module docstring)."""

    def __init__(self, startup_timeout: float = 60.0, **options: Any) -> None:
        self.options = options
        self.startup_timeout = startup_timeout
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def ws_base_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")

    def start(self) -> Self:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._sk_server", json.dumps(self.options)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(self.startup_timeout)
        if not line or not line[0].startswith("READY "):
            self.close()
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        self.base_url = line[0].split()[1]
        return self

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's signal to stop
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _serve(options: dict[str, Any]) -> None:
    from speechkit.server import LocalServer

    with LocalServer(**options) as server:
        print(f"READY {server.base_url}", flush=True)
        sys.stdin.read()  # returns at EOF: the parent closed our stdin or exited


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
