"""The one answer to "may this be retried?", and how long to wait first. Pure: no I/O, no clock,
no randomness of its own (the caller passes ``random`` so tests are deterministic).

Everything that decides whether to try again asks this module: the HTTP retry loop
(:meth:`RetryPolicy.next_delay`), ``error.retryable`` on every speechkit error, polling and
group sweeps (through ``error.retryable``), realtime handshakes (:func:`handshake_retryable`),
realtime close codes (:func:`close_code_retryable`) and token providers
(:func:`exception_retryable`).

The rules never duplicate billed work (design.md, principle 5):

* A server that says ``x-should-retry: true`` or ``false`` is obeyed: it knows whether it did the
  work (the header openai-python honours). A body that cannot be rewound still cannot be resent.
* A connect failure means nothing was sent: always retried.
* 425, 429 and 503 mean the server processed nothing: always retried, honouring ``Retry-After``.
* 408, 409 and the transient 5xx (all but 501, 505, 506, 508, 510 and 511, which say the request
  can never work), read/write timeouts and dropped connections may follow a request the server
  already acted on: retried only for idempotent requests (GET, DELETE, an upload...). A POST
  that creates a job is therefore never sent twice once its bytes may have reached the server.
* A body that cannot be rewound (an unseekable stream already read) is never resent.
* An answer over the size cap is not retried: it would be as large the next time.

Backoff follows the openai/anthropic SDKs: 0.5 s doubling to 8 s, minus up to 25 % jitter.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from speechkit._core.http import Request, StreamBody
from speechkit.errors import (
    APIStatusError,
    ConnectError,
    InvalidInputError,
    ResponseTooLargeError,
    SpeechkitError,
    TransportError,
)

__all__ = [
    "ALWAYS_RETRYABLE_STATUSES",
    "IDEMPOTENT_RETRYABLE_STATUSES",
    "PERMANENT_SERVER_STATUSES",
    "RETRYABLE_CLOSE_CODES",
    "RetryPolicy",
    "backoff_delay",
    "body_rewindable",
    "client_close_retryable",
    "close_code_retryable",
    "connect_failure_retryable",
    "error_retryable",
    "exception_retryable",
    "handshake_retryable",
    "outcome_unknown",
    "parse_retry_after",
    "server_says_retry",
    "status_retryable",
]

#: Statuses that say nothing was processed, so even a job-creating POST may be sent again.
ALWAYS_RETRYABLE_STATUSES = frozenset({425, 429, 503})
#: 5xx statuses that say the request can never work as sent: never retried.
PERMANENT_SERVER_STATUSES = frozenset({501, 505, 506, 508, 510, 511})
#: Statuses worth retrying when repeating the request is harmless (plus every 5xx not above).
IDEMPOTENT_RETRYABLE_STATUSES = frozenset({408, 409})

#: Close codes after which a new connection may work: the server or the network failed, or the
#: session ran out its time (a new connection starts a new session). Sources: realtime_codes.py.
RETRYABLE_CLOSE_CODES = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1014, 3005, 3008, 4008})
#: RFC 6455 codes that say what was sent was wrong: the same thing would fail again.
_FATAL_RFC_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1009, 1010, 1015})


def server_says_retry(headers: Mapping[str, str] | None) -> bool | None:
    """The server's own verdict from ``x-should-retry`` (``True``/``False``), or ``None``.

    Not a standard header, but one API servers (OpenAI's, proxies in front of others) send to
    say whether the failed request did anything. Only the exact values ``true`` and ``false``
    count (case-insensitive); anything else is no verdict."""
    if not headers:
        return None
    value = headers.get("x-should-retry")
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == "x-should-retry"), None)
    verdict = (value or "").strip().lower()
    return True if verdict == "true" else False if verdict == "false" else None


def status_retryable(
    status: int, *, idempotent: bool, headers: Mapping[str, str] | None = None
) -> bool:
    """Whether a request answered with ``status`` may be sent again.

    ``idempotent``: repeating the request is harmless (see :attr:`Request.idempotent`); a
    job-creating POST is not. ``headers``: the answer's headers (``x-should-retry``)."""
    verdict = server_says_retry(headers)
    if verdict is not None:
        return verdict
    if status in ALWAYS_RETRYABLE_STATUSES:
        return True
    if not idempotent:
        return False
    if status in IDEMPOTENT_RETRYABLE_STATUSES:
        return True
    return 500 <= status <= 599 and status not in PERMANENT_SERVER_STATUSES


def handshake_retryable(status: int, headers: Mapping[str, str] | None = None) -> bool:
    """Whether a realtime websocket upgrade refused with HTTP ``status`` may be tried again.

    The upgrade is a GET that starts nothing billable until the session begins, so it follows
    the idempotent rules of :func:`status_retryable` (401/403 never: the key is wrong)."""
    return status_retryable(status, idempotent=True, headers=headers)


def close_code_retryable(code: int | None) -> bool:
    """Whether reconnecting may help after the server closed a realtime connection with ``code``.

    ``None`` (no close frame) counts as 1006. Codes that say the request was wrong (auth, bad
    parameters, audio sent wrongly, quota) are fatal; unknown 3xxx/4xxx codes are
    application-defined and treated as fatal, so an unknown rejection is not retried forever;
    other unknown codes are transport trouble, worth a new connection."""
    if code is None:
        code = 1006
    if code in RETRYABLE_CLOSE_CODES:
        return True
    if code in _FATAL_RFC_CLOSE_CODES:
        return False
    return not 3000 <= code <= 4999


def client_close_retryable() -> bool:
    """Whether reconnecting may help after the *client* closed a realtime connection because the
    server broke the protocol on it (1002 a malformed frame, 1007 invalid UTF-8, 1009 a message
    too big, whatever code the websocket library chose): yes. The fault is in what that
    connection carried, not in what was sent, so a new connection may work; each such drop
    counts toward ``max_retries``, so a server that always does it is given up on. (The same
    codes *received* from a server are fatal: :func:`close_code_retryable`.)"""
    return True


def connect_failure_retryable() -> bool:
    """Whether a realtime websocket that could not be opened (refused, reset or timed out before
    the upgrade was answered; no HTTP status) may be tried again: yes, like a connect error in
    :func:`error_retryable`, nothing started. Attempts are bounded by ``max_retries``."""
    return True


def body_rewindable(request: Request) -> bool:
    """Whether the request's body can be sent again (an unseekable stream cannot)."""
    bodies = [request.body] + [part.body for part in request.files]
    for body in bodies:
        if isinstance(body, StreamBody):
            try:
                if not body.stream.seekable():
                    return False
            except (AttributeError, ValueError, OSError):
                return False
    return True


def error_retryable(
    error: SpeechkitError, request: Request | None, *, rewindable: bool | None = None
) -> bool:
    """Whether sending ``request`` again after ``error`` is safe and may help.

    ``request`` ``None`` (an error made outside a request) is judged as an idempotent one.
    ``rewindable`` defaults to :func:`body_rewindable` of the request."""
    if isinstance(error, ConnectError):
        return True  # nothing reached the server; the body was not consumed
    if rewindable is None:
        rewindable = request is None or body_rewindable(request)
    if not rewindable:
        return False
    idempotent = request is None or request.idempotent
    if isinstance(error, APIStatusError):
        headers = error.response.headers if error.response is not None else None
        return status_retryable(error.status_code, idempotent=idempotent, headers=headers)
    if isinstance(error, ResponseTooLargeError):
        return False
    if isinstance(error, TransportError):
        # A timeout or a dropped connection after sending: the server may have acted on it.
        return idempotent
    return False


def outcome_unknown(error: SpeechkitError) -> bool:
    """Whether a request that is not safe to repeat may or may not have been acted on: its
    answer was lost (a timeout, a dropped connection, an answer too large to read) or the
    server failed midway (the statuses retried only for idempotent requests). Not after a
    connect failure (nothing was sent), a status that says nothing was processed (429, 503) or
    one that refuses the request (4xx)."""
    if isinstance(error, ConnectError):
        return False
    if isinstance(error, TransportError):
        return True
    if isinstance(error, APIStatusError):
        status = error.status_code
        return status not in ALWAYS_RETRYABLE_STATUSES and status_retryable(status, idempotent=True)
    return False


def exception_retryable(error: BaseException) -> bool:
    """Whether any exception (a token provider's, say) is worth another attempt: network
    trouble (``OSError``), or a speechkit error whose ``retryable`` says so."""
    if isinstance(error, OSError):
        return True
    return bool(getattr(error, "retryable", False))


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


def _check_number(name: str, value: object, *, low: float, high: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(f"RetryPolicy {name} must be a number, got {value!r}.")
    if not low <= value <= high:
        bounds = f"between {low:g} and {high:g}" if high != math.inf else f">= {low:g}"
        raise InvalidInputError(f"RetryPolicy {name} must be {bounds}, got {value!r}.")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client retries failed requests: how often and how long it waits in between.

    *What* may be retried is not configurable: that is speechkit's one classifier (see
    docs/errors.md), so a job-creating request is never sent twice once it may have reached the
    server, whatever the policy. Pass it as ``retry=`` to :class:`~speechkit.Transcriber` or
    :class:`~speechkit.AsyncTranscriber`::

        fast = speechkit.RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)
        transcriber = speechkit.Transcriber(retry=fast)

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        initial_delay: Seconds before the first retry; the delay doubles per retry.
        max_delay: Cap of the exponential backoff, in seconds.
        jitter: The fraction (0 to 1) of each delay that may be taken off at random, so many
            clients do not retry in lockstep.
        max_retry_after: The longest ``Retry-After`` honoured, in seconds; a longer hint falls
            back to the normal backoff instead of stalling the caller.

    Raises:
        InvalidInputError: A value is not a number, or out of its range.
    """

    max_retries: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise InvalidInputError(
                f"RetryPolicy max_retries must be a whole number, got {self.max_retries!r}."
            )
        _check_number("max_retries", self.max_retries, low=0)
        _check_number("initial_delay", self.initial_delay, low=0)
        _check_number("max_delay", self.max_delay, low=0)
        _check_number("jitter", self.jitter, low=0, high=1)
        _check_number("max_retry_after", self.max_retry_after, low=0)

    def backoff(self, retry_number: int, random: Callable[[], float]) -> float:
        """Delay before retry ``retry_number`` (1-based): exponential, minus up to ``jitter``."""
        return backoff_delay(
            retry_number,
            initial=self.initial_delay,
            maximum=self.max_delay,
            jitter=self.jitter,
            rng=random,
        )

    def may_retry(self, request: Request, error: SpeechkitError, *, body_rewindable: bool) -> bool:
        """Whether ``error`` from sending ``request`` may be retried at all (ignoring the count):
        :func:`error_retryable`, the same answer as ``error.retryable``."""
        return error_retryable(error, request, rewindable=body_rewindable)

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
