"""Request-rate limiting as a pure calculation: how long to wait before the next request.

AssemblyAI allows 20,000 requests per 5 minutes per account. Many jobs polled each on its own
exceed that quickly (200 jobs polled every 3 s already do), after which every worker sharing the
key gets 429s. A :class:`TokenBucket` spreads a group's requests under such a budget; any object
with a ``reserve(now) -> seconds`` method can take its place (a cluster-wide limiter, for one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from speechkit._core.flow import Flow, Sleep
from speechkit._core.http import Request

__all__ = ["DEFAULT_BUDGET", "RateLimiter", "TokenBucket", "limited"]

T = TypeVar("T")


class RateLimiter(Protocol):
    """Reserves a slot for one request; returns the seconds to wait before sending it."""

    def reserve(self, now: float) -> float: ...


class TokenBucket:
    """``rate`` requests per second on average, with bursts of up to ``burst`` at once.

    Any window of ``T`` seconds holds at most ``burst + rate * T`` requests, so
    ``TokenBucket(60, 2000)`` stays under 20,000 per 5 minutes. Reservations are kept in order,
    so callers that wait the returned time never exceed the budget together.

    Not thread-safe on its own: the group driver calls it from one thread. ``initial`` is the
    number of requests allowed at once at the start (default ``burst``).
    """

    def __init__(self, rate: float, burst: int, *, initial: float | None = None) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        # ``initial=0`` for a bucket that takes over a share another one was using (a new
        # batch in a cluster slot): it must not grant the burst a second time.
        self._tokens = float(burst if initial is None else initial)
        self._last: float | None = None

    def reserve(self, now: float) -> float:
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1.0  # may go negative: the debt is the wait
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


#: The service's published budget, 20,000 requests per 5 minutes: 5,000 at once, then 50 per
#: second (5,000 + 50 x 300 = 20,000 in any 5 minutes).
DEFAULT_BUDGET = (50.0, 5000)


def limited(flow: Flow[T], limiter: RateLimiter, now: Callable[[], float]) -> Flow[T]:
    """Run ``flow``, waiting before each request as ``limiter`` says (``now()``: monotonic)."""
    try:
        op = next(flow)
        while True:
            if isinstance(op, Request):
                wait = limiter.reserve(now())
                if wait > 0:
                    try:
                        yield Sleep(wait)
                    except Exception as err:
                        op = flow.throw(err)
                        continue
            try:
                result = yield op
            except Exception as err:
                op = flow.throw(err)
            else:
                op = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()
