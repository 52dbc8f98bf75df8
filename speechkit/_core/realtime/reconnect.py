"""The reconnect policy of a realtime session, outside the state machine (like websockets'
``process_exception()`` and ``backoff()`` beside its ``Protocol``): which endpoint to try next,
how many attempts are left, how long to wait, and whether an outcome is worth retrying.

Pure: the clock is a ``now`` argument and the jitter source is injected.

The count: ``max_retries`` attempts in a row may fail, where a failure is a refused or timed out
connection, a token provider error worth retrying, or a connection that ended *before it
delivered anything* (a transcript after the session began, or :data:`STABLE_CONNECTION_SECONDS`
open; errors, warnings and heartbeats do not count). So a server that begins every session and
drops it at once runs out of retries instead of being reconnected to forever; a session that
works is never limited by it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from speechkit._core.realtime_types import ConnectionSettings, EndpointAttempt
from speechkit._core.retry import backoff_delay, exception_retryable, handshake_retryable

__all__ = [
    "STABLE_CONNECTION_SECONDS",
    "Outcome",
    "ReconnectPolicy",
    "handshake_status",
    "redact_secrets",
    "token_error_retryable",
]

#: A connection open this long counts as having worked even if the server sent nothing (long
#: silence), so its drop does not use up ``max_retries``.
STABLE_CONNECTION_SECONDS = 30.0

_MAX_ATTEMPT_RECORDS = 50


def handshake_status(status: int) -> tuple[bool, str]:
    """(retryable, meaning) for an HTTP status that refused the websocket upgrade; whether it is
    retryable is :func:`speechkit._core.retry.handshake_retryable`'s answer."""
    if status in (401, 403):
        return False, "the server rejected the credentials (check the API key or token)"
    if handshake_retryable(status):
        return True, "the server is busy or failing"
    return False, "the server refused the connection request"


def token_error_retryable(error: BaseException) -> bool:
    """Whether a token provider's exception is worth another attempt: network trouble, or a
    speechkit error that says so (429, 5xx, timeouts: ``error.retryable``)."""
    return exception_retryable(error)


def redact_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each secret replaced by ``***`` where it stands as a whole token.

    Whole tokens only: a secret inside a longer word is not a leak of it, and replacing it there
    mangles the text (with the key ``local``, ``localhost`` became ``***host``). The secret
    counts as whole when no letter, digit, ``_`` or ``-`` touches it on either side."""
    for secret in secrets:
        if secret and secret in text:
            text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "***", text)
    return text


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to do after a failure: retry after ``delay`` seconds, or give up (``delay`` None)."""

    delay: float | None
    failures: int

    @property
    def give_up(self) -> bool:
        return self.delay is None


class ReconnectPolicy:
    """Attempts, endpoints and backoff of one session (see the module docstring)."""

    def __init__(self, settings: ConnectionSettings, rng: Callable[[], float]) -> None:
        self.settings = settings
        self._rng = rng
        self.failures = 0  # in a row, see the module docstring
        self.attempts_made = 0  # since the last session began
        self.attempts: list[EndpointAttempt] = []
        self.current_url: str | None = None
        self._endpoint_index = 0
        self._delivered = False
        self._opened_at = 0.0

    # ---- attempts --------------------------------------------------------------------------------

    def begin_attempt(self) -> None:
        self.attempts_made += 1

    def endpoint(self) -> str:
        """The base URL for this attempt (a failed attempt moves to the next: failover)."""
        endpoints = self.settings.endpoints
        return endpoints[self._endpoint_index % len(endpoints)]

    def record(
        self,
        url: str,
        now: float,
        outcome: Literal["pending", "connected", "failed"] = "pending",
        detail: str = "",
    ) -> None:
        """Remember an attempt (the most recent ones are kept for ``connection_info``)."""
        if url != "token provider":
            self.current_url = url
        self.attempts.append(EndpointAttempt(url, now, outcome, detail))
        del self.attempts[:-_MAX_ATTEMPT_RECORDS]

    def update_last(self, outcome: Literal["pending", "connected", "failed"], detail: str) -> None:
        if self.attempts:
            last = self.attempts[-1]
            self.attempts[-1] = EndpointAttempt(last.url, last.at, outcome, detail)

    def attempt_failed(self, *, retryable: bool) -> Outcome:
        """An attempt failed (before a session began). Fails over to the next endpoint."""
        self._endpoint_index += 1
        self.failures += 1
        if not retryable or self.failures > self.settings.max_retries:
            return Outcome(None, self.failures)
        return Outcome(self.backoff(), self.failures)

    # ---- open connections ------------------------------------------------------------------------

    def session_began(self, now: float) -> int:
        """A connection's session began; returns how many attempts it took."""
        attempts, self.attempts_made = self.attempts_made, 0
        self._delivered = False
        self._opened_at = now
        self.update_last("connected", "")
        return attempts

    def delivered(self) -> None:
        """The open connection delivered a transcript after its begin: it works."""
        self._delivered = True

    def dropped(self, now: float) -> Outcome:
        """An open connection ended unexpectedly (a retryable close)."""
        if self._delivered or now - self._opened_at >= STABLE_CONNECTION_SECONDS:
            self.failures = 0  # it did work: this drop starts a new count
        self.failures += 1
        if self.failures > self.settings.max_retries:
            return Outcome(None, self.failures)
        return Outcome(self.backoff(), self.failures)

    def backoff(self) -> float:
        s = self.settings
        return backoff_delay(
            self.failures, initial=s.backoff_initial, maximum=s.backoff_max,
            jitter=s.backoff_jitter, rng=self._rng,
        )  # fmt: skip
