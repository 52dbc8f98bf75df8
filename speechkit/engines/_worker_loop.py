"""The request loop every engine worker process runs (the parent side is
:mod:`speechkit.engines._workers`).

A worker's first message is its options; it answers ``("ok", pid)`` once its model is loaded.
Then requests are ``(op, argument)`` tuples, each answered by exactly one reply, ``("ok", value)``
or ``("error", message)``; a ``transcribe`` request is followed by the audio as one raw message
(so it is not pickled). The worker exits on ``("close", None)`` or when the parent's end of the
socket closes (the parent exited or closed the engine).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

from speechkit.engines.base import StreamEvent

__all__ = ["Backend", "Recognizer", "run_worker"]


class Recognizer(Protocol):
    """One stream's recognizer inside a worker."""

    def feed(self, pcm: bytes) -> list[StreamEvent]: ...

    def force_endpoint(self) -> list[StreamEvent]: ...

    def update(self, settings: Any) -> None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """A loaded model inside a worker."""

    def transcribe(self, settings: Any, pcm: bytes) -> Any: ...

    def open(self, settings: Any) -> Recognizer: ...


def run_worker(fd: int, load: Callable[[Any], Backend]) -> None:
    """Entry point of a worker process: ``load(options)`` a backend, then serve requests."""
    # Ctrl+C reaches the whole process group; the server decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(fd)
    try:
        _serve(conn, load)
    except (EOFError, OSError):
        pass  # the parent is gone (or closed its end): nobody is left to answer
    finally:
        conn.close()


def _serve(conn: Connection, load: Callable[[Any], Backend]) -> None:
    options = conn.recv()
    try:
        backend = load(options)
    except Exception as err:
        conn.send(("error", f"The speech recognizer could not start: {err}"))
        return
    conn.send(("ok", os.getpid()))
    recognizer: Recognizer | None = None
    while True:
        op, argument = conn.recv()
        if op == "close":
            conn.send(("ok", None))
            return
        value: Any = None
        try:
            if op == "transcribe":
                value = backend.transcribe(argument, conn.recv_bytes())
            elif op == "open":
                if recognizer is not None:
                    recognizer.close()
                recognizer = backend.open(argument)
            elif op == "reset":
                if recognizer is not None:
                    recognizer.close()
                recognizer = None
            elif recognizer is None:
                raise RuntimeError(f"{op!r} before 'open'")
            elif op == "feed":
                value = recognizer.feed(argument)
            elif op == "endpoint":
                value = recognizer.force_endpoint()
            elif op == "settings":
                recognizer.update(argument)
            else:
                raise RuntimeError(f"unknown request {op!r}")
        except (EOFError, OSError):
            raise
        except Exception as err:
            conn.send(("error", f"The speech recognizer failed: {type(err).__name__}: {err}"))
        else:
            conn.send(("ok", value))
