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

#: Deliveries in flight at once per event loop; the others wait their turn here.
MAX_DELIVERIES = 32

#: One client per event loop, so thousands of deliveries share connections (a client per
#: delivery costs a TLS context each, enough to slow a busy server), and a semaphore that keeps
#: the client's pool short: httpcore's pool scans every queued request against every
#: connection whenever one is assigned, so thousands of deliveries queued in it (2,000 jobs
#: ending within seconds) took most of the server's loop and delayed its own answers past the
#: clients' timeouts. Waiting for a turn does not count against ``http_timeout``.
_CLIENTS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def _client() -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
    loop = asyncio.get_running_loop()
    found = _CLIENTS.get(loop)
    if found is None:
        limits = httpx.Limits(
            max_connections=MAX_DELIVERIES, max_keepalive_connections=MAX_DELIVERIES
        )
        found = _CLIENTS[loop] = (
            httpx.AsyncClient(limits=limits),
            asyncio.Semaphore(MAX_DELIVERIES),
        )
    return found


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
    client, turn = _client()
    try:
        async with turn, asyncio.timeout(http_timeout):
            response = await fetch(
                client, "POST", url, policy, what="webhook_url", json=body, headers=headers
            )
            await response.aclose()
    except (httpx.HTTPError, UrlRefused, TimeoutError) as exc:
        logger.info("webhook for job %s not delivered: %s", transcript_id, type(exc).__name__)
        return None
    return response.status_code
