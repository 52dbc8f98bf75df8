"""Fixtures for the realtime shell tests: loopback servers and an event recorder."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.realtime.fakeserver import FakeRealtimeServer

API_KEY = "test-key-0123456789"

#: Quick retries and timeouts for loopback servers.
FAST: dict[str, Any] = {
    "api_key": API_KEY,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "connect_timeout": 2.0,
    "terminate_timeout": 2.0,
    "keepalive_interval": None,
}


@pytest.fixture
def server() -> Iterator[FakeRealtimeServer]:
    with FakeRealtimeServer() as fake:
        yield fake


class Recorder:
    """Callbacks that record what they receive, and on which thread."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.threads: set[str] = set()
        self.closed = threading.Event()
        self.reconnected = threading.Event()

    def callbacks(self, *names: str) -> dict[str, Any]:
        names = names or (
            "on_open",
            "on_data",
            "on_final",
            "on_partial",
            "on_error",
            "on_close",
            "on_reconnect",
            "on_extra_session_information",
            "on_turn",
        )
        return {name: self._make(name) for name in names}

    def _make(self, name: str) -> Any:
        def callback(argument: Any) -> None:
            self.threads.add(threading.current_thread().name)
            self.events.append((name, argument))
            if name == "on_close":
                self.closed.set()
            if name == "on_reconnect":
                self.reconnected.set()

        return callback

    def of(self, name: str) -> list[Any]:
        return [argument for event, argument in self.events if event == name]

    def final_words(self) -> list[tuple[str, int, int]]:
        return [(w.text, w.start, w.end) for final in self.of("on_final") for w in final.words]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def wait_for(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())
