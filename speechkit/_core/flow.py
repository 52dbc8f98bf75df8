"""The contract between sans-I/O flows and the I/O shells that drive them.

Every operation (upload, create, poll, list, ...) is written once as a generator that *yields*
what it needs done and *receives* the outcome, like httpx's auth flows:

* it yields a :class:`~speechkit._core.http.Request`; the shell sends it **once** and sends back
  the :class:`~speechkit._core.http.Response` for a 2xx (or a listed ``ok_statuses``) answer, or
  throws the :class:`~speechkit.errors.SpeechkitError` the attempt ended in (a status error built by
  :func:`status_error`, or a wrapped transport error) into the generator;
* it yields a :class:`Sleep`; the shell waits that long (sync: an event wait; async:
  ``asyncio``) and sends back ``None``, or throws :class:`~speechkit.errors.ClientClosedError`
  into the generator when the client is closed meanwhile;
* its return value is the operation's result.

Retries (:func:`send`) and polling are therefore decided here, once, for both shells.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from speechkit._core.error_text import body_detail, url_hint
from speechkit._core.http import Request, Response
from speechkit._core.redact import Redactor
from speechkit._core.retry import RetryPolicy, body_rewindable, parse_retry_after
from speechkit.errors import (
    APIStatusError,
    ConnectError,
    RateLimitError,
    SpeechkitError,
    TransportError,
    status_error_class,
)

__all__ = ["Flow", "FlowContext", "Op", "Sleep", "send", "server_message", "status_error"]

logger = logging.getLogger("speechkit")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sleep:
    """Ask the shell to wait ``seconds`` before resuming the flow."""

    seconds: float


Op = Request | Sleep
#: A sans-I/O operation returning ``T``.
Flow = Generator[Op, Any, T]


@dataclass(frozen=True, slots=True)
class FlowContext:
    """What flows need besides I/O: injected so tests control time and randomness.

    Attributes:
        retry: Retry decisions.
        monotonic: A monotonic clock in seconds (deadlines).
        wall: Unix time in seconds (``Retry-After`` dates).
        random: A uniform ``[0, 1)`` source (backoff jitter).
    """

    retry: RetryPolicy
    monotonic: Callable[[], float]
    wall: Callable[[], float]
    random: Callable[[], float] = field(default=lambda: 0.5)


class DeadlineReached(Exception):
    """Raised by :func:`send` when its ``deadline`` leaves no time for the next attempt.

    Attributes:
        error: The last attempt's error (None when no attempt could start).
        delay: The wait before the next attempt (a ``Retry-After``), when that is what did not fit.
    """

    def __init__(self, error: SpeechkitError | None = None, delay: float | None = None) -> None:
        super().__init__("deadline reached")
        self.error = error
        self.delay = delay


def send(ctx: FlowContext, request: Request, *, deadline: float | None = None) -> Flow[Response]:
    """Send ``request``, retrying as :class:`RetryPolicy` allows; return the successful response.

    ``deadline`` (``ctx.monotonic()`` time) bounds the whole exchange, retries and their waits
    included: each attempt gets only the time left, and a retry whose wait (``Retry-After``
    included) would end past it is not made: :class:`DeadlineReached` is raised instead.
    """
    attempt = 0
    while True:
        attempt += 1
        if deadline is not None:
            remaining = deadline - ctx.monotonic()
            if remaining <= 0:
                raise DeadlineReached()
            request = dataclasses.replace(request, time_budget=remaining)
        try:
            response: Response = yield request
        except SpeechkitError as err:
            delay = ctx.retry.next_delay(
                request,
                err,
                attempt=attempt,
                body_rewindable=body_rewindable(request),
                now=ctx.wall(),
                random=ctx.random,
            )
            if delay is None:
                if request.creates_job:
                    _note_job_may_exist(err, request)
                raise
            if deadline is not None and ctx.monotonic() + delay >= deadline:
                raise DeadlineReached(err, delay) from err
            logger.info(
                "Retrying %s in %.2f s (attempt %d of %d) after: %s",
                request.describe(),
                delay,
                attempt + 1,
                ctx.retry.max_retries + 1,
                err,
            )
            yield Sleep(delay)
            continue
        return response


def _note_job_may_exist(err: SpeechkitError, request: Request) -> None:
    """A job-creating request whose bytes may have reached the server is not safe to resend:
    say so on the error (``retryable`` false, and what to do) rather than invite a duplicate."""
    if isinstance(err, TransportError) and not isinstance(err, ConnectError):
        if err.request is None:  # so err.retryable judges it as the create it was
            err.request = request.redacted()
        err.message = (
            f"{err.message}. The job may have been created before the connection failed, so "
            "it was not sent again: look for it with find_transcripts([audio_url]) or "
            "list_transcripts() before resubmitting."
        )
        err.args = (err.message,)


def server_message(body: Any) -> str | None:
    """The human message in an error body, whatever the provider's shape.

    Handles AssemblyAI ``{"error": "..."}``, AIML ``{"message": "..."}``, OpenAI-style
    ``{"error": {"message": "..."}}`` and Deepgram ``{"err_msg": "..."}``; falls back to text.
    """
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
        if isinstance(error, dict):
            nested = error.get("message")
            if isinstance(nested, str) and nested:
                return nested
        for key in ("message", "err_msg", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        return None
    if isinstance(body, str) and body.strip():
        text = body.strip()
        return text if len(text) <= 300 else text[:300] + "..."
    return None


_HINTS = {
    401: "Check the API key you passed (or set in the environment).",
    403: "The key is not allowed to do this (an upload from another project, or no credits).",
    429: "Too many requests: speechkit retried with backoff; lower the concurrency or retry later.",
}


def status_error(
    request: Request,
    response: Response,
    *,
    now: float,
    secrets: Sequence[str] = (),
    key_sent: bool = True,
) -> APIStatusError:
    """Build the typed error for a non-2xx ``response``. ``now`` is Unix time. ``key_sent``:
    the request went to the API with its key (not to a storage URL): a 401/403 blames the key.

    ``secrets`` (the API key) are masked wherever the server echoed them (a proxy that echoes
    request headers), and the error keeps a redacted copy of the request: neither ``str(err)``
    nor its attributes nor a pickle of it show a key, a token or a webhook auth value.
    """
    secrets = [*secrets, *request.secret_values()]
    redactor = Redactor(secrets)
    request = request.redacted(secrets)
    response = Response(
        response.status_code,
        redactor.headers(response.headers),
        redactor.text(response.text).encode() if response.content else b"",
        redactor.url(response.url),
    )
    body = redactor.json(response.json_or_text())
    try:
        reason = HTTPStatus(response.status_code).phrase
    except ValueError:
        reason = "HTTP error"
    # The URL that was really requested (base URL + path + query), not the provider's path.
    where = f"{request.method.upper()} {response.url}" if response.url else request.describe()
    message = f"{where} failed with {response.status_code} {reason}"
    detail = body_detail(
        server_message(body),
        body,
        response.headers.get("content-type", ""),
        len(response.content),
    )
    if detail:
        message += f": {detail}"
    hint = (_HINTS.get(response.status_code) if key_sent else None) or url_hint(
        response.url, response.status_code
    )
    if hint:
        message += f" ({hint})"
    if response.request_id:
        message += f" [request id {response.request_id}]"
    cls = status_error_class(response.status_code)
    error = cls(
        message,
        status_code=response.status_code,
        body=body,
        request_id=response.request_id,
        request=request,
        response=response,
    )
    if isinstance(error, RateLimitError):
        error.retry_after = parse_retry_after(response.headers, now=now)
    return error
