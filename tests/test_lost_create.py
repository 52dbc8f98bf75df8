"""A create whose answer is lost is sent again only when no job can have been made: after a
reset or the origin's own 500, once the job list has caught up past the failure. After any
other status (a gateway or proxy timeout, a 408, a 409) the origin may still be working on it,
so the create is never sent twice."""

from __future__ import annotations

import asyncio
import email.utils
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import speechkit

UPLOAD_URL = "https://cdn.example/up/abc"


class CountingApi:
    """Answers the first create with ``status``; the job list shows only another client's job,
    created after the failure (so the list is current and does not show ours)."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.creates = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v2/upload":
            return httpx.Response(200, json={"upload_url": UPLOAD_URL})
        if request.method == "POST" and path == "/v2/transcript":
            self.creates += 1
            if self.creates == 1:
                return httpx.Response(self.status, text="origin did not answer in time")
            return httpx.Response(
                200, json={"id": "job-2", "status": "queued", "audio_url": UPLOAD_URL}
            )
        if request.method == "GET" and path == "/v2/transcript":
            newer = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=5)
            return httpx.Response(
                200,
                headers={"date": email.utils.formatdate(usegmt=True)},
                json={
                    "page_details": {
                        "limit": 200,
                        "result_count": 1,
                        "prev_url": None,
                        "next_url": None,
                        "current_url": "",
                    },
                    "transcripts": [
                        {
                            "id": "other",
                            "status": "queued",
                            "audio_url": "https://x/other",
                            "created": newer.isoformat(),
                        }
                    ],
                },
            )
        return httpx.Response(404)


def _submit(api: CountingApi, surface: str) -> Any:
    options: dict[str, Any] = {
        "api_key": "k",
        "base_url": "https://api.example.com",
        "retry": speechkit.RetryPolicy(initial_delay=0.01, max_delay=0.02),
    }
    audio = b"RIFF" + b"\0" * 100
    if surface == "sync":
        with speechkit.Transcriber(
            **options, http_client=httpx.Client(transport=httpx.MockTransport(api))
        ) as transcriber:
            return transcriber.submit(audio)

    async def main() -> Any:
        async with speechkit.AsyncTranscriber(
            **options, http_client=httpx.AsyncClient(transport=httpx.MockTransport(api))
        ) as transcriber:
            return await transcriber.submit(audio)

    return asyncio.run(main())


@pytest.mark.parametrize("surface", ["sync", "async"])
@pytest.mark.parametrize("status", [408, 409, 502, 504, 520, 522, 523, 524, 598, 599])
def test_a_create_the_origin_may_still_be_working_on_is_never_sent_twice(
    status: int, surface: str
) -> None:
    api = CountingApi(status)
    with pytest.raises(speechkit.APIError) as caught:
        _submit(api, surface)
    assert api.creates == 1
    assert caught.value.retryable is False
    assert f"find_transcripts([{UPLOAD_URL!r}])" in str(caught.value)


@pytest.mark.parametrize("surface", ["sync", "async"])
def test_a_create_the_origin_answered_500_is_sent_again_once_the_list_is_current(
    surface: str,
) -> None:
    api = CountingApi(500)
    transcript = _submit(api, surface)
    assert (api.creates, transcript.id) == (2, "job-2")
