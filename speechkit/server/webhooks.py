"""Webhook delivery of the local server: when a job with ``webhook_url`` ends, one POST of
``{"transcript_id", "status"}`` to that URL, with the job's auth header when it set one.

Departures from the real service: one attempt, no retries; the status code (or ``None`` when the
delivery failed) is reported as the job's ``webhook_status_code``. Every delivery goes through
:func:`deliver`, the one place a policy on outbound URLs belongs.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

import httpx

from speechkit.server.security import OutboundPolicy, UrlRefused, fetch

__all__ = ["deliver"]

logger = logging.getLogger("speechkit.server")

#: One client per event loop, so thousands of deliveries share connections (a client per
#: delivery costs a TLS context each, enough to slow a busy server).
_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _CLIENTS.get(loop)
    if client is None:
        client = _CLIENTS[loop] = httpx.AsyncClient()
    return client


async def deliver(
    url: str,
    *,
    transcript_id: str,
    status: str,
    header: tuple[str, str] | None,
    http_timeout: float,
    policy: OutboundPolicy,
) -> int | None:
    """POST one delivery; return the receiver's status code, or ``None`` if it failed.

    ``http_timeout`` is a total deadline for the delivery; the URL (and every redirect) must be
    allowed by ``policy``.
    """
    headers = dict([header]) if header else {}
    body = {"transcript_id": transcript_id, "status": status}
    try:
        async with asyncio.timeout(http_timeout):
            response = await fetch(
                _client(), "POST", url, policy, what="webhook_url", json=body, headers=headers
            )
            await response.aclose()
    except (httpx.HTTPError, UrlRefused, TimeoutError) as exc:
        logger.info("webhook for job %s not delivered: %s", transcript_id, type(exc).__name__)
        return None
    return response.status_code
