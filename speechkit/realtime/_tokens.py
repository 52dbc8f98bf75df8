"""Temporary streaming tokens: short-lived credentials to hand to a browser or device instead of
the API key.

- v3: ``GET {streaming host}/v3/token?expires_in_seconds=1..600[&max_session_duration_seconds=
  60..10800]`` (streaming-token.yml) answers ``{token, expires_in_seconds}``.
- v2: ``POST {api host}/v2/realtime/token {"expires_in": >= 60}`` answers ``{token}``.

The request is described and the answer parsed by pure functions; two small shells send it with
httpx (sync and async). Errors become speechkit errors; the key is sent in a header only.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from speechkit._core.error_text import body_detail
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
from speechkit.models.realtime import TemporaryToken, TokenError

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


def _parse_response(request: _TokenRequest, response: httpx.Response) -> TemporaryToken:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = response.text or None
    if response.status_code >= 400:
        message = data.get("error") if isinstance(data, dict) else data
        if isinstance(data, dict):
            TokenError.from_json_data(data)  # validates the documented error shape
        headers = {k.lower(): v for k, v in response.headers.items()}
        url = Redactor().url(request.url)
        detail = body_detail(
            message if isinstance(message, str) else None,
            data,
            headers.get("content-type", ""),
            len(response.content),
        )
        cls = status_error_class(response.status_code)
        raise cls(
            f"Creating a temporary {request.protocol} token ({request.method} {url}) failed "
            f"with HTTP {response.status_code}: {detail or 'no details'}",
            status_code=response.status_code,
            body=data,
            request_id=response.headers.get("x-request-id"),
            # A token starts no billed work: asking again is always safe, so the status (and a
            # server's x-should-retry) alone decide error.retryable.
            request=Request(request.method, url, repeatable=True),
            response=Response(response.status_code, headers, b"", url),
        )
    if not isinstance(data, dict) or not isinstance(data.get("token"), str):
        raise TransportError("The token endpoint answered without a token.")
    return TemporaryToken(
        token=data["token"],
        expires_in_seconds=data.get("expires_in_seconds"),
        protocol=request.protocol,
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
        AuthenticationError, BadRequestError, RateLimitError, ServerError: The service refused.
        ConnectError, RequestTimeoutError: No answer. Not retried: each request makes a token.
    """
    request = _build_request(
        protocol, expires_in_seconds, max_session_duration_seconds, api_key, base_url
    )
    client = http_client or httpx.Client(timeout=timeout)
    try:
        response = client.request(
            request.method, request.url, headers=request.headers, json=request.json_body
        )
    except httpx.TransportError as err:
        raise _transport_error(err) from err
    finally:
        if http_client is None:
            client.close()
    return _parse_response(request, response)


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
        response = await client.request(
            request.method, request.url, headers=request.headers, json=request.json_body
        )
    except httpx.TransportError as err:
        raise _transport_error(err) from err
    finally:
        if http_client is None:
            await client.aclose()
    return _parse_response(request, response)
