"""When to retry an HTTP request, and how long to wait first. Pure: no I/O, no clock, no randomness
of its own (the caller passes ``random`` so tests are deterministic).

The rules (design.md, principle 5) never duplicate billed work:

* A connect failure means nothing was sent: always retried.
* 429 and 503 mean the server processed nothing: always retried, honouring ``Retry-After``.
* Other 5xx, 408, 409, read/write timeouts and dropped connections may follow a request the
  server already acted on: retried only for idempotent methods (GET, DELETE, ...). A POST that
  creates a job is therefore never sent twice once its bytes may have reached the server.
* A body that cannot be rewound (an unseekable stream already read) is never resent.

Backoff follows the openai/anthropic SDKs: 0.5 s doubling to 8 s, minus up to 25 % jitter.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from speechkit._core.http import Request
from speechkit.errors import APIStatusError, ConnectError, SpeechkitError, TransportError

__all__ = ["RetryPolicy", "backoff_delay", "parse_retry_after"]

#: Statuses that say nothing was processed, so even a job-creating POST may be sent again.
ALWAYS_RETRYABLE_STATUSES = frozenset({429, 503})
#: Statuses worth retrying when repeating the request is harmless.
IDEMPOTENT_RETRYABLE_STATUSES = frozenset({408, 409, 500, 502, 504})


def parse_retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``Retry-After`` seconds or date).

    ``now`` is the current Unix time, used only for the HTTP-date form. ``headers`` keys are
    lower-case. Returns ``None`` when there is no usable hint.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    jitter: float = 0.25,
    rng: Callable[[], float],
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): ``initial`` doubling per attempt
    up to ``maximum``, minus up to ``jitter`` (a fraction) of it, drawn from ``rng()`` in [0, 1).

    The one backoff of speechkit: HTTP retries (:meth:`RetryPolicy.backoff`), realtime reconnects
    and token fetches all use it."""
    base = min(maximum, initial * 2.0 ** max(attempt - 1, 0))
    return max(0.0, base * (1.0 - jitter * rng()))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry decisions for one client.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        initial_delay: Seconds before the first retry.
        max_delay: Cap of the exponential backoff, in seconds.
        max_retry_after: The longest ``Retry-After`` honoured, in seconds; a longer hint falls
            back to the normal backoff instead of stalling the caller.
    """

    max_retries: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def backoff(self, retry_number: int, random: Callable[[], float]) -> float:
        """Delay before retry ``retry_number`` (1-based): exponential, minus up to 25 % jitter."""
        return backoff_delay(
            retry_number, initial=self.initial_delay, maximum=self.max_delay, rng=random
        )

    def may_retry(self, request: Request, error: SpeechkitError, *, body_rewindable: bool) -> bool:
        """Whether ``error`` from sending ``request`` may be retried at all (ignoring the count)."""
        if isinstance(error, ConnectError):
            # Nothing reached the server; the body was not consumed.
            return True
        if not body_rewindable:
            return False
        if isinstance(error, APIStatusError):
            if error.status_code in ALWAYS_RETRYABLE_STATUSES:
                return True
            return request.idempotent and error.status_code in IDEMPOTENT_RETRYABLE_STATUSES
        if isinstance(error, TransportError):
            # A timeout or a dropped connection after sending: the server may have acted on it.
            return request.idempotent
        return False

    def next_delay(
        self,
        request: Request,
        error: SpeechkitError,
        *,
        attempt: int,
        body_rewindable: bool,
        now: float,
        random: Callable[[], float],
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up and raise.

        ``attempt`` counts attempts made so far (1 after the first). ``now`` is Unix time.
        """
        if attempt > self.max_retries:
            return None
        if not self.may_retry(request, error, body_rewindable=body_rewindable):
            return None
        if isinstance(error, APIStatusError) and error.response is not None:
            hint = parse_retry_after(error.response.headers, now=now)
            if hint is not None and hint <= self.max_retry_after:
                return hint
        return self.backoff(attempt, random)
