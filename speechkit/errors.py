"""Every exception speechkit raises.

No httpx or websockets exception escapes the SDK: transport failures are wrapped, server answers
become status errors, and bad input is reported before anything is sent. The tree::

    SpeechkitError
    ├── ConfigurationError            missing key, bad base URL, bad setting
    ├── InvalidInputError (ValueError) a bad argument; the message names it and the fix
    ├── NotSupportedError             the chosen provider cannot do this
    ├── ClientClosedError             the Transcriber was closed
    ├── EventLoopError (RuntimeError) an asyncio client used from a second event loop
    ├── APIError                      something went wrong talking to the service
    │   ├── TransportError            no usable HTTP answer
    │   │   ├── ConnectError          could not connect (nothing was sent)
    │   │   ├── RequestTimeoutError   connected, but no answer in time (or past the deadline)
    │   │   └── ResponseTooLargeError an answer over the size cap (decompressed size counted)
    │   └── APIStatusError            the service answered with a 4xx/5xx status
    │       ├── BadRequestError       400
    │       ├── AuthenticationError   401
    │       ├── PermissionDeniedError 403
    │       ├── NotFoundError         404
    │       ├── RateLimitError        429
    │       ├── ServerError           5xx
    │       └── RedactedAudioExpiredError  400 from redacted-audio: expired or never made
    ├── TranscriptionError            a job ended in status: error (carries the job id)
    │   ├── TranscriptionTimeoutError waiting gave up; the job keeps running on the server
    │   └── TranscriptionCancelledError  waiting was stopped by close() or cancellation
    ├── TranscriptionGroupError       some jobs of a group failed (all results attached)
    ├── RedactedAudioNotReadyError    redacted audio is still being made (HTTP 202)
    └── RealtimeError                 a streaming session failed (close code, retryable)
        ├── RealtimeConnectionError   connect() could not open a session
        ├── RealtimeAudioLostError    audio that could not be transcribed (never silent)
        └── RealtimeCallbackError     a user callback raised; the session carried on

Every error is chained to its cause with ``raise ... from err``.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from speechkit._core.http import Request, Response

__all__ = [
    "APIError",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectError",
    "EventLoopError",
    "InvalidInputError",
    "NotFoundError",
    "NotSupportedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealtimeAudioLostError",
    "RealtimeCallbackError",
    "RealtimeConnectionError",
    "RealtimeError",
    "RedactedAudioExpiredError",
    "RedactedAudioNotReadyError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ServerError",
    "SpeechkitError",
    "TranscriptionCancelledError",
    "TranscriptionError",
    "TranscriptionGroupError",
    "TranscriptionTimeoutError",
    "TransportError",
    "status_error_class",
]


def _portable(value: Any) -> Any:
    """``value`` if it pickles; a request without its body (audio, callbacks) if it is one;
    otherwise ``None``. An error must cross a process boundary even when what it carries
    (an open file being uploaded, a progress callback) cannot."""
    from speechkit._core.http import Request

    if isinstance(value, Request):
        value = dataclasses.replace(value, body=None, files=(), on_body_sent=None)
    try:
        pickle.dumps(value)
    except Exception:
        return None
    return value


def _rebuild(cls: type[SpeechkitError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class SpeechkitError(Exception):
    """Root of every exception raised by speechkit.

    Every speechkit error survives a pickle round trip (``ProcessPoolExecutor``, Dask, Ray): its
    class, message and attributes arrive intact; an attribute that cannot be pickled (an open
    file inside a request) arrives as ``None``. The cause chain is not carried.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds with ``cls(*args)``, which fails for keyword-only attributes.
        state = {key: _portable(value) for key, value in self.__dict__.items()}
        return (_rebuild, (type(self), self.args, state))


class ConfigurationError(SpeechkitError):
    """The client is not configured well enough to make a request (for example, no API key)."""


class InvalidInputError(SpeechkitError, ValueError):
    """An argument is invalid. The message names the argument and how to fix it."""


class NotSupportedError(SpeechkitError):
    """The chosen provider does not offer this operation (for example, listing on AIML)."""


class ClientClosedError(SpeechkitError):
    """The client was closed; create a new one to make more requests."""


class EventLoopError(SpeechkitError, RuntimeError):
    """An asyncio client was used from an event loop other than the one it first ran on.

    Its connections (and waits) belong to that loop; each ``asyncio.run()`` starts a new one.
    Create the client inside the coroutine that uses it, or make every call from one loop.
    """


class APIError(SpeechkitError):
    """A request to the service failed.

    Attributes:
        request: The neutral description of the request that failed (method, URL; never the key).
    """

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class TransportError(APIError):
    """No usable HTTP answer arrived: connection refused or reset, TLS failure, or a timeout.

    Attributes:
        retryable: Whether repeating the request is safe and may help (speechkit's one retry
            classifier, ``speechkit._core.retry``: true after a connect failure, and after a
            timeout or a dropped connection only for a request that may be repeated, never for
            one that creates a job). speechkit has already retried where that was safe, so
            seeing this error means the retries ran out or the request could not be repeated
            without risking a duplicate job.
    """

    @property
    def retryable(self) -> bool:
        from speechkit._core.retry import error_retryable

        return error_retryable(self, self.request)


class ConnectError(TransportError):
    """The connection could not be made, so the request never reached the server."""


class RequestTimeoutError(TransportError):
    """The server did not answer in time. The request may or may not have been processed."""


class ResponseTooLargeError(TransportError):
    """The answer's body (after decompression) was over the client's cap; it was not read."""


class APIStatusError(APIError):
    """The service answered with an error status.

    Attributes:
        status_code: The HTTP status code.
        body: The parsed JSON body, or the text when it is not JSON (``None`` when empty).
        request_id: The server's request id header, when it sent one; quote it to support.
        retryable: Whether trying the request again is safe and may work, from the same
            classifier the retry loop uses: the server's ``x-should-retry`` header when it sent
            one; else 425, 429 and 503 always, and 408, 409 and the transient 5xx (not 501,
            505, 506, 508, 510, 511) only for a request that may be repeated (never a
            job-creating POST). An error made without a request is judged as a repeatable one.
        response: The neutral response (status, headers, content) for debugging.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        request: Request | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(message, request=request)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.response = response

    @property
    def retryable(self) -> bool:
        from speechkit._core.retry import error_retryable

        return error_retryable(self, self.request)


class BadRequestError(APIStatusError):
    """400: the service rejected the request as invalid."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (for example, an upload made by another project)."""


class NotFoundError(APIStatusError):
    """404: no such resource (or, on AIML, a result older than its one-hour retention)."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` holds the server's hint in seconds, if any."""

    retry_after: float | None = None


class ServerError(APIStatusError):
    """5xx: the service failed."""


class RedactedAudioExpiredError(BadRequestError):
    """The redacted audio is gone (kept 24 hours) or was never requested (``redact_pii_audio``)."""

    @classmethod
    def from_status_error(cls, err: APIStatusError, message: str) -> RedactedAudioExpiredError:
        return cls(
            message,
            status_code=err.status_code,
            body=err.body,
            request_id=err.request_id,
            request=err.request,
            response=err.response,
        )


class RedactedAudioNotReadyError(SpeechkitError):
    """The redacted audio is still being made (the API answered 202); ask again shortly."""

    def __init__(self, message: str, *, transcript_id: str) -> None:
        super().__init__(message)
        self.transcript_id = transcript_id


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """Return the most specific :class:`APIStatusError` subclass for ``status_code``."""
    if status_code >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


class TranscriptionError(SpeechkitError):
    """A transcription job failed on the server.

    Attributes:
        transcript_id: The job's id on the server.
        server_message: The service's own explanation, when it gave one.
        transcript: The last state of the job, when it was fetched.
    """

    def __init__(
        self,
        message: str,
        *,
        transcript_id: str | None,
        server_message: str | None = None,
        transcript: Any = None,
    ) -> None:
        super().__init__(message)
        self.transcript_id = transcript_id
        self.server_message = server_message
        self.transcript = transcript


class TranscriptionTimeoutError(TranscriptionError):
    """Waiting for the job gave up. The job keeps running on the server: fetch it later by id."""


class TranscriptionCancelledError(TranscriptionError):
    """Waiting was stopped (``close()`` or cancellation). The job keeps running on the server."""


class TranscriptionGroupError(SpeechkitError):
    """Some jobs of ``transcribe_group`` failed. Nothing is lost: ``group`` holds every result.

    Attributes:
        group: The :class:`~speechkit.TranscriptGroup` with the transcripts that succeeded and
            the failures, in input order.
    """

    def __init__(self, message: str, *, group: Any) -> None:
        super().__init__(message)
        self.group = group


class RealtimeError(SpeechkitError):
    """A realtime session failed.

    Attributes:
        code: The websocket close code or the server's error code, when there is one.
        retryable: Whether reconnecting may help (a dropped network) or not (a bad key).
    """

    def __init__(self, message: str, *, code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class RealtimeConnectionError(RealtimeError):
    """A realtime session could not be opened (after any retries)."""


class RealtimeAudioLostError(RealtimeError):
    """Audio could not be transcribed: the replay buffer overflowed during a disconnect, or the
    session ended before the server confirmed it.

    Attributes:
        lost_ms: Milliseconds of audio affected.
        start_ms: Where that audio starts on the session timeline (milliseconds).
    """

    def __init__(self, message: str, *, lost_ms: int, start_ms: int) -> None:
        super().__init__(message, retryable=False)
        self.lost_ms = lost_ms
        self.start_ms = start_ms


class RealtimeCallbackError(RealtimeError):
    """A user callback raised; the session carried on. The exception is chained as the cause.

    Attributes:
        callback: The callback's option name (``"on_data"``...).
    """

    def __init__(self, callback: str, exc: BaseException) -> None:
        super().__init__(f"The {callback} callback raised {type(exc).__name__}: {exc}")
        self.callback = callback
