"""Webhook delivery of the local server: when a job with ``webhook_url`` ends, one POST of
``{"transcript_id", "status"}`` to that URL, with the job's auth header when it set one.

Departures from the real service: one attempt, no retries; the status code (or ``None`` when the
delivery failed) is reported as the job's ``webhook_status_code``. Every delivery goes through
:func:`deliver`, the one place a policy on outbound URLs belongs.
"""

from __future__ import annotations

import httpx

__all__ = ["deliver"]


async def deliver(
    url: str,
    *,
    transcript_id: str,
    status: str,
    header: tuple[str, str] | None,
    http_timeout: float,
) -> int | None:
    """POST one delivery; return the receiver's status code, or ``None`` if it failed."""
    headers = dict([header]) if header else {}
    try:
        async with httpx.AsyncClient(timeout=http_timeout) as client:
            response = await client.post(
                url, json={"transcript_id": transcript_id, "status": status}, headers=headers
            )
    except httpx.HTTPError:
        return None
    return response.status_code
