"""Temporary streaming tokens: short-lived credentials to hand to a browser or device instead of
the API key.

- v3: ``GET {streaming host}/v3/token?expires_in_seconds=1..600[&max_session_duration_seconds=
  60..10800]`` (streaming-token.yml) answers ``{token, expires_in_seconds}``.
- v2: ``POST {api host}/v2/realtime/token {"expires_in": >= 60}`` answers ``{token}``.

The request is described and the answer parsed by pure functions; two small shells send it with
httpx (sync and async). Errors become speechkit errors; the key is sent in a header only.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from speechkit._core.error_text import body_detail
from speechkit._core.flow import server_message
from speechkit._core.http import Request, Response
from speechkit._core.redact import Redactor
from speechkit._settings import resolve_api_key, settings
from speechkit.errors import (
    ConnectError,
    InvalidInputError,
    RequestTimeoutError,
    TransportError,
    status_error_class,
)
from speechkit.models.realtime import TemporaryToken

from ._common import USER_AGENT, resolve_realtime_base_url

__all__ = ["create_temporary_token", "create_temporary_token_async"]


@dataclass(frozen=True, slots=True)
class _TokenRequest:
    method: Literal["GET", "POST"]
    url: str
    headers: dict[str, str] = field(repr=False)
    json_body: dict[str, Any] | None
    protocol: Literal["v2", "v3"]


def _build_request(
    protocol: Literal["v2", "v3"],
    expires_in_seconds: int,
    max_session_duration_seconds: int | None,
    api_key: str | None,
    base_url: str | None,
) -> _TokenRequest:
    key = resolve_api_key(api_key, default=settings.api_key)
    base = resolve_realtime_base_url(protocol, base_url).rstrip("/")
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise InvalidInputError(f"base_url must be an http(s) URL, got {base_url!r}.")
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    root = urllib.parse.urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    headers = {"Authorization": key, "User-Agent": USER_AGENT}
    if protocol == "v3":
        if not 1 <= expires_in_seconds <= 600:
            raise InvalidInputError("expires_in_seconds must be 1-600 for v3 tokens.")
        query: dict[str, int] = {"expires_in_seconds": expires_in_seconds}
        if max_session_duration_seconds is not None:
            if not 60 <= max_session_duration_seconds <= 10_800:
                raise InvalidInputError("max_session_duration_seconds must be 60-10800.")
            query["max_session_duration_seconds"] = max_session_duration_seconds
        url = f"{root}/v3/token?{urllib.parse.urlencode(query)}"
        return _TokenRequest("GET", url, headers, None, protocol)
    if protocol == "v2":
        if expires_in_seconds < 60:
            raise InvalidInputError("expires_in_seconds must be at least 60 for v2 tokens.")
        if max_session_duration_seconds is not None:
            raise InvalidInputError("max_session_duration_seconds is a v3 option.")
        body = {"expires_in": expires_in_seconds}
        return _TokenRequest("POST", f"{root}/v2/realtime/token", headers, body, protocol)
    raise InvalidInputError(f'protocol must be "v2" or "v3", got {protocol!r}.')


def _read_json(response: httpx.Response, readable: bool) -> Any:
    """The decoded body: JSON, else the text (``None`` when empty or not readable at all)."""
    if not readable:
        return None
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested too deeply
        return response.text or None


def _parse_response(
    request: _TokenRequest, response: httpx.Response, *, readable: bool
) -> TemporaryToken:
    """The token in a response, or a typed error. ``readable`` is false when the body could not
    be decoded (a broken ``Content-Encoding``): the status still decides the error."""
    # A server may echo the key (an error body quoting the request): never shown.
    redactor = Redactor([request.headers.get("Authorization")])
    data = _read_json(response, readable)
    url = redactor.url(request.url)
    # A token starts no billed work: asking again is always safe, so the status (and a server's
    # x-should-retry) alone decide error.retryable.
    neutral = Request(request.method, url, repeatable=True)
    if response.status_code >= 400:
        # {"error": "..."}, and a gateway's {"error": {"message": "..."}} or {"message": ...}.
        message = server_message(data) if isinstance(data, dict) else data
        headers = {k.lower(): v for k, v in response.headers.items()}
        detail = body_detail(
            message if isinstance(message, str) else None,
            data,
            headers.get("content-type", ""),
            len(response.content) if readable else 0,
        )
        if not readable:
            detail = "its body could not be decoded"
        cls = status_error_class(response.status_code)
        raise cls(
            redactor.text(
                f"Creating a temporary {request.protocol} token ({request.method} {url}) "
                f"failed with HTTP {response.status_code}: {detail or 'no details'}"
            ),
            status_code=response.status_code,
            body=redactor.json(data),
            request_id=response.headers.get("x-request-id"),
            request=neutral,
            response=Response(response.status_code, redactor.headers(headers), b"", url),
        )
    problem = None
    if not readable:
        problem = "a body that could not be decoded"
    elif not isinstance(data, dict) or not isinstance(data.get("token"), str):
        problem = "no token"
    else:
        try:
            return TemporaryToken(
                token=data["token"],
                expires_in_seconds=data.get("expires_in_seconds"),
                protocol=request.protocol,
            )
        except ValueError:  # pydantic's ValidationError: e.g. expires_in_seconds "soon"
            problem = "an expires_in_seconds that is not a number of seconds"
    raise TransportError(
        f"The token endpoint ({request.method} {url}) answered HTTP {response.status_code} "
        f"with {problem}, not a valid token.",
        request=neutral,
    )


def _transport_error(err: httpx.TransportError) -> TransportError:
    if isinstance(err, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectError(f"Could not connect to the token endpoint: {err}")
    if isinstance(err, httpx.TimeoutException):
        return RequestTimeoutError(f"The token endpoint did not answer in time: {err}")
    return TransportError(f"The token request failed: {err}")


def create_temporary_token(
    *,
    expires_in_seconds: int = 60,
    max_session_duration_seconds: int | None = None,
    protocol: Literal["v2", "v3"] = "v3",
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 30.0,
    http_client: httpx.Client | None = None,
) -> TemporaryToken:
    """Create a temporary streaming token (blocking).

    Args:
        expires_in_seconds: Seconds the token can be used to *start* a session (v3: 1-600; v2: at
            least 60, and it also bounds the session).
        max_session_duration_seconds: v3: the longest session the token may open, seconds
            (60-10800; the server default is 10800).
        protocol: ``"v3"`` or ``"v2"``; a token only works with its own protocol.
        api_key: The key to authenticate with (default: environment or ``speechkit.settings``).
        base_url: Service root; default: AssemblyAI's streaming host (v3) or API host (v2).
        timeout: Seconds for the whole request.
        http_client: An ``httpx.Client`` to send with (not closed here).

    Raises:
        AuthenticationError, BadRequestError, RateLimitError, ServerError: The service refused
            (``status_code``, ``retryable``; the key is masked wherever the body echoes it).
        ConnectError, RequestTimeoutError: No answer. Not retried: each request makes a token.
        TransportError: A success status without a valid token (or a body that could not be
            decoded).
    """
    request = _build_request(
        protocol, expires_in_seconds, max_session_duration_seconds, api_key, base_url
    )
    client = http_client or httpx.Client(timeout=timeout)
    try:
        outgoing = client.build_request(
            request.method, request.url, headers=request.headers, json=request.json_body
        )
        response = client.send(outgoing, stream=True)
        try:
            response.read()
            readable = True
        except httpx.DecodingError:  # a broken gzip body: the status still tells
            readable = False
        finally:
            response.close()
    except httpx.TransportError as err:
        raise _transport_error(err) from err
    finally:
        if http_client is None:
            client.close()
    return _parse_response(request, response, readable=readable)


async def create_temporary_token_async(
    *,
    expires_in_seconds: int = 60,
    max_session_duration_seconds: int | None = None,
    protocol: Literal["v2", "v3"] = "v3",
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109 - the httpx timeout, as in the sync function
    http_client: httpx.AsyncClient | None = None,
) -> TemporaryToken:
    """Create a temporary streaming token (asyncio); see :func:`create_temporary_token`."""
    request = _build_request(
        protocol, expires_in_seconds, max_session_duration_seconds, api_key, base_url
    )
    client = http_client or httpx.AsyncClient(timeout=timeout)
    try:
        outgoing = client.build_request(
            request.method, request.url, headers=request.headers, json=request.json_body
        )
        response = await client.send(outgoing, stream=True)
        try:
            await response.aread()
            readable = True
        except httpx.DecodingError:  # a broken gzip body: the status still tells
            readable = False
        finally:
            await response.aclose()
    except httpx.TransportError as err:
        raise _transport_error(err) from err
    finally:
        if http_client is None:
            await client.aclose()
    return _parse_response(request, response, readable=readable)
