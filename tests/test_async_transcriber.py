"""AsyncTranscriber: the same flows driven by asyncio, against the same fake."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import httpx
import pytest

import speechkit
from speechkit import AsyncTranscriber
from speechkit.errors import (
    InvalidInputError,
    TranscriptionCancelledError,
    TranscriptionError,
    TranscriptionTimeoutError,
)
from tests.fakes import API_KEY, BASE_URL, FakeAssemblyAI


async def test_transcribe_url_and_local_audio(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    remote = await atranscriber.transcribe("https://example.org/a.mp3")
    assert remote.status == "completed"
    assert remote.words
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF" + b"\1" * 3000)
    local = await atranscriber.transcribe(audio)
    assert local.audio_url.startswith(f"{BASE_URL}/upload/")
    assert (await atranscriber.transcribe(io.BytesIO(b"abc"))).status == "completed"


async def test_every_endpoint(atranscriber: AsyncTranscriber, fake: FakeAssemblyAI) -> None:
    created = await atranscriber.submit("https://example.org/a.mp3")
    assert created.status == "queued"
    assert (await atranscriber.wait_for_completion(created)).status == "completed"
    assert (await atranscriber.get_transcript(created.id)).id == created.id
    assert await atranscriber.export_subtitles_srt(created) == f"srt of {created.id} chars=none"
    vtt = await atranscriber.export_subtitles_vtt(created, chars_per_caption=10)
    assert vtt.endswith("chars=10")
    assert (await atranscriber.get_sentences(created)).sentences
    assert (await atranscriber.get_paragraphs(created)).paragraphs
    found = await atranscriber.word_search(created, "smoke")
    assert found.model_extra["echo_words"] == "smoke"
    for _ in range(4):
        await atranscriber.submit("https://example.org/a.mp3")
    listed = [t.id async for t in atranscriber.iter_transcripts(limit=2)]
    assert len(listed) == 5
    assert listed[-1] == created.id
    page = await atranscriber.list_transcripts(limit=2)
    assert page.page_details.prev_url
    assert (await atranscriber.delete_transcript(created)).text == "Deleted by user."


async def test_failed_job_and_timeout(atranscriber: AsyncTranscriber, fake: FakeAssemblyAI) -> None:
    fake.fail_jobs = True
    with pytest.raises(TranscriptionError, match="not a valid audio file"):
        await atranscriber.transcribe("https://example.org/a.mp3")
    fake.fail_jobs = False
    fake.polls_until_done = 10**9
    with pytest.raises(TranscriptionTimeoutError):
        await atranscriber.transcribe("https://example.org/a.mp3", poll_timeout=0.05)


async def test_post_failing_after_send_not_resent_and_503_resent(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI
) -> None:
    fake.inject("POST", "/v2/transcript", httpx.RemoteProtocolError("peer closed"))
    with pytest.raises(speechkit.TransportError):
        await atranscriber.submit("https://example.org/a.mp3")
    assert fake.count("POST", "/v2/transcript") == 1
    fake.inject("POST", "/v2/transcript", httpx.Response(503), httpx.Response(429))
    await atranscriber.submit("https://example.org/a.mp3")
    assert fake.count("POST", "/v2/transcript") == 4
    assert len(fake.transcripts) == 1


async def test_close_stops_waiting_promptly(fake: FakeAssemblyAI) -> None:
    fake.polls_until_done = 10**9
    client = httpx.AsyncClient(transport=fake.async_transport())
    t = AsyncTranscriber(
        api_key=API_KEY, base_url=BASE_URL, http_client=client, polling_max_interval=30
    )
    task = asyncio.create_task(t.transcribe("https://example.org/a.mp3"))
    while not fake.polls:
        await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await t.close()
    with pytest.raises(TranscriptionCancelledError) as info:
        await task
    assert loop.time() - started < 1.0
    assert info.value.transcript_id in fake.transcripts
    await client.aclose()


async def test_task_cancellation_propagates(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI
) -> None:
    fake.polls_until_done = 10**9
    task = asyncio.create_task(atranscriber.transcribe("https://example.org/a.mp3"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_bad_input(atranscriber: AsyncTranscriber, fake: FakeAssemblyAI) -> None:
    with pytest.raises(InvalidInputError, match="got int"):
        await atranscriber.transcribe(42)
    with pytest.raises(InvalidInputError, match="list of URLs"):
        await atranscriber.transcribe_group("https://example.org/a.mp3")  # type: ignore[arg-type]
    assert fake.requests == []


async def test_redacted_audio_is_saved_whole_or_not_at_all(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    tid = (await atranscriber.submit("https://example.org/a.mp3")).id
    cdn = "https://cdn.other.example/redacted.mp3"
    ready = {"status": "redacted_audio_ready", "redacted_audio_url": cdn}
    path = f"/v2/transcript/{tid}/redacted-audio"
    fake.inject("GET", path, httpx.Response(200, json=ready), httpx.Response(200, json=ready))
    fake.inject(
        "GET",
        "/redacted.mp3",
        httpx.Response(200, content=b"ID3audio"),
        httpx.Response(403, json={"error": "link expired"}),
    )
    saved = await atranscriber.save_redacted_audio(tid, tmp_path / "r.mp3")
    assert saved.read_bytes() == b"ID3audio"
    with pytest.raises(speechkit.PermissionDeniedError, match="link expired"):
        await atranscriber.save_redacted_audio(tid, tmp_path / "again.mp3")
    assert await asyncio.to_thread(os.listdir, tmp_path) == ["r.mp3"]  # no file, no .part


async def test_find_transcripts_pages_through_older_jobs(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI
) -> None:
    first = (await atranscriber.submit("https://example.org/first.mp3")).id
    for i in range(5):
        await atranscriber.submit(f"https://example.org/{i}.mp3")
    found = await atranscriber.find_transcripts(["https://example.org/first.mp3"])
    assert found == {"https://example.org/first.mp3": first}
