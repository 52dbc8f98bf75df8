"""Webhooks for real: the local server delivers to a WebhookReceiver served on loopback, and a
group learns from the deliveries that its jobs ended, without polling or listing."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from speechkit import AsyncTranscriber, Transcriber
from speechkit.server import LocalServer, local_server
from speechkit.webhooks import DEFAULT_HEADER, WebhookReceiver


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    # The receivers listen on loopback: the server may deliver there only when allowed.
    with local_server(
        engine="fixed", engine_options={"text": "hello"}, allow_private_urls=True
    ) as running:
        running.faults.processing_delay = 0.2
        yield running


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fallback_interval=600) as hook:  # no fallback sweep in these tests
        hook.start()
        yield hook


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "clip.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x01\x00" * 8000)
    return path


def _counts(server: LocalServer) -> dict[str, int]:
    stats = httpx.get(f"{server.base_url}/_speechkit/stats", params={"log": 0}).json()
    return dict(stats["requests"])


def _delta(before: dict[str, int], after: dict[str, int], name: str) -> int:
    return after.get(name, 0) - before.get(name, 0)


@pytest.mark.parametrize("shell", ["sync", "async"])
def test_a_group_completes_from_deliveries_without_polling(
    server: LocalServer, receiver: WebhookReceiver, clip: Path, shell: str
) -> None:
    with Transcriber(api_key="local", base_url=server.base_url) as t:
        url = t.upload_file(clip)
    urls = [url] * 5
    before = _counts(server)
    if shell == "sync":
        with Transcriber(api_key="local", base_url=server.base_url) as t:
            group = t.transcribe_group(urls, webhook=receiver)
    else:

        async def main() -> Any:
            async with AsyncTranscriber(api_key="local", base_url=server.base_url) as t:
                return await t.transcribe_group(urls, webhook=receiver)

        group = asyncio.run(main())
    after = _counts(server)
    assert [x.text for x in group] == ["Hello."] * 5
    assert receiver.deliveries >= 5
    assert _delta(before, after, "transcript.create") == 5
    assert _delta(before, after, "transcript.get") == 5  # one fetch per job, no polls
    assert _delta(before, after, "transcript.list") <= 1  # at most the anchor, never a sweep
    job = group[0]
    assert job.raw.get("webhook_url") == receiver.url
    # The server records the delivery's status once the receiver answered, which can be just
    # after the group fetched the job: read it again until it is there.
    deadline = time.monotonic() + 10
    status = job.raw.get("webhook_status_code")
    while status is None and time.monotonic() < deadline:
        time.sleep(0.05)
        raw = httpx.get(f"{server.base_url}/v2/transcript/{job.id}").json()
        status = raw.get("webhook_status_code")
    assert status == 200


def test_the_receiver_checks_the_header_and_ignores_duplicates(
    receiver: WebhookReceiver,
) -> None:
    assert receiver.url is not None
    token = receiver.config_fields()["webhook_auth_header_value"]
    delivery = {"transcript_id": "job-1", "status": "completed"}
    wrong = httpx.post(receiver.url, json=delivery, headers={DEFAULT_HEADER: "guess"})
    missing = httpx.post(receiver.url, json=delivery)
    first = httpx.post(receiver.url, json=delivery, headers={DEFAULT_HEADER: token})
    second = httpx.post(receiver.url, json=delivery, headers={DEFAULT_HEADER: token})
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert first.json() == {"ok": True, "duplicate": False}
    assert second.json() == {"ok": True, "duplicate": True}
    assert (receiver.deliveries, receiver.duplicates, receiver.rejected) == (1, 1, 2)
    assert receiver.take({"job-1", "job-2"}) == {"job-1": "completed"}
    assert receiver.take({"job-1"}) == {}  # taken once: a duplicate never wakes a group twice
    bad = httpx.post(receiver.url, content=b"{", headers={DEFAULT_HEADER: token})
    assert bad.status_code == 400
    assert token not in repr(receiver)


def test_a_lost_delivery_is_caught_by_the_fallback_sweep(server: LocalServer, clip: Path) -> None:
    # The receiver's URL points nowhere: every delivery is lost.
    receiver = WebhookReceiver("http://127.0.0.1:9/hook", fallback_interval=0.3)
    with Transcriber(api_key="local", base_url=server.base_url) as t:
        url = t.upload_file(clip)
        group = t.transcribe_group([url] * 3, webhook=receiver)
    assert group.ok
    assert receiver.deliveries == 0


class _SlowReceiver(WebhookReceiver):
    """Counts the deliveries it is handling at once; each takes a moment."""

    def __init__(self) -> None:
        super().__init__(fallback_interval=600)
        self.handling = 0
        self.most = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.handling += 1  # one event loop: no lock needed
            self.most = max(self.most, self.handling)
            try:
                await asyncio.sleep(0.02)
                await super().__call__(scope, receive, send)
            finally:
                self.handling -= 1
        else:
            await super().__call__(scope, receive, send)


def test_the_server_delivers_a_burst_a_few_at_a_time_and_loses_none() -> None:
    # 2,000 jobs ending within seconds once queued thousands of deliveries in one connection
    # pool, whose scans took the server's loop: its own answers came too late and deliveries
    # timed out waiting. Now a few go at a time, and waiting does not count against the timeout.
    from speechkit.server import webhooks
    from speechkit.server.security import OutboundPolicy

    burst = 4 * webhooks.MAX_DELIVERIES
    with _SlowReceiver() as hook:
        url = hook.start()
        fields = hook.config_fields()
        header = (fields["webhook_auth_header_name"], fields["webhook_auth_header_value"])

        async def deliver_all() -> list[int | None]:
            return await asyncio.gather(
                *(
                    webhooks.deliver(
                        url,
                        transcript_id=f"job-{i}",
                        status="completed",
                        header=header,
                        http_timeout=30,
                        policy=OutboundPolicy(allow_private=True),
                    )
                    for i in range(burst)
                )
            )

        codes = asyncio.run(deliver_all())
    assert codes == [200] * burst
    assert hook.deliveries == burst
    assert 1 < hook.most <= webhooks.MAX_DELIVERIES
