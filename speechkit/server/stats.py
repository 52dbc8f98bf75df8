"""What the local server received: request counts per endpoint, a bounded request log, and the
faults it injected, and (:class:`SendLog`) when realtime sessions sent their messages. Read from
any thread (the test thread) while the server thread writes.

Job creation is counted by the job store (:mod:`speechkit.server.jobs`); together they let a test
prove "zero duplicate jobs created" (``server.jobs_created == 1`` after a retried submit).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RequestRecord", "SendLog", "ServerStats"]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the server saw it. ``fault`` is ``"error:503"``, ``"reset"`` or None."""

    time: float
    method: str
    path: str
    endpoint: str
    status: int | None
    fault: str | None


class ServerStats:
    """Thread-safe counters and a bounded log (the newest ``max_log`` requests)."""

    def __init__(self, max_log: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._received: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._log: deque[RequestRecord] = deque(maxlen=max_log)

    def arrived(self, endpoint: str) -> None:
        """Count a request as soon as it arrives (before any answer is sent)."""
        with self._lock:
            self._received[endpoint] += 1

    def fault_injected(self, endpoint: str) -> None:
        with self._lock:
            self._faults[endpoint] += 1

    def record(
        self,
        *,
        method: str,
        path: str,
        endpoint: str,
        status: int | None,
        fault: str | None = None,
    ) -> None:
        """Log a handled request (counters are kept by :meth:`arrived`)."""
        rec = RequestRecord(time.time(), method, path, endpoint, status, fault)
        with self._lock:
            self._log.append(rec)

    def count(self, endpoint: str | None = None) -> int:
        """Requests received for ``endpoint`` (exact name), or in total."""
        with self._lock:
            if endpoint is None:
                return sum(self._received.values())
            return self._received[endpoint]

    def faults_injected(self, endpoint: str | None = None) -> int:
        with self._lock:
            if endpoint is None:
                return sum(self._faults.values())
            return self._faults[endpoint]

    def log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        with self._lock:
            self._received.clear()
            self._faults.clear()
            self._log.clear()

    def to_json(self, *, log_limit: int = 200) -> dict[str, Any]:
        with self._lock:
            log = list(self._log)[-log_limit:] if log_limit > 0 else []
            return {
                "requests": dict(self._received),
                "faults_injected": dict(self._faults),
                "log": [asdict(r) for r in log],
            }


class SendLog:
    """When a realtime session sent each JSON message: ``time.time()`` (Unix seconds, taken just
    before the message is encoded and written) and the message's type, in send order."""

    def __init__(self) -> None:
        self.sent_at: list[float] = []
        self.types: list[str] = []

    def record(self, data: dict[str, Any]) -> None:
        self.sent_at.append(time.time())
        self.types.append(str(data.get("type") or data.get("message_type") or ""))

    def to_json(self) -> dict[str, Any]:
        return {"sent_at": self.sent_at, "types": self.types}
