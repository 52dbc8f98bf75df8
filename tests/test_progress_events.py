"""The ``progress=`` hook: the same events, in the same order, from every way of calling."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

import speechkit
from speechkit import AsyncTranscriber, Transcriber, TranscriptionProgress
from speechkit._core.http import UPLOAD_CHUNK_SIZE
from tests.fakes import FakeAssemblyAI

AUDIO = bytes(range(256)) * (UPLOAD_CHUNK_SIZE // 256) * 2 + b"tail"  # 2 MiB and 4 bytes


def stages(events: list[TranscriptionProgress]) -> list[str]:
    collapsed: list[str] = []
    for event in events:
        if not collapsed or collapsed[-1] != event.stage:
            collapsed.append(event.stage)
    return collapsed


def check_transcribe_events(
    events: list[TranscriptionProgress], fake: FakeAssemblyAI, transcript_id: str
) -> None:
    assert stages(events) == ["upload", "submitted", "waiting", "done"]
    uploads = [e for e in events if e.stage == "upload"]
    assert uploads[0].bytes_sent == 0
    assert [e.bytes_sent for e in uploads] == sorted(e.bytes_sent for e in uploads)
    assert uploads[-1].bytes_sent == len(AUDIO)
    assert {e.bytes_total for e in uploads} == {len(AUDIO)}
    # one event per chunk handed to the transport: 1 MiB, 1 MiB, 4 bytes
    assert len({e.bytes_sent for e in uploads}) >= 4
    submitted = next(e for e in events if e.stage == "submitted")
    assert submitted.transcript_id == transcript_id
    assert submitted.status == "queued"
    waiting = [e for e in events if e.stage == "waiting"]
    assert (
        len(waiting)
        == fake.polls_until_done
        == fake.count("GET", f"/v2/transcript/{transcript_id}")
    )
    assert waiting[0].status == "processing"
    assert events[-1].stage == "done"
    assert events[-1].status == "completed"
    assert events[-1].transcript_id == transcript_id
    assert [e.elapsed for e in events] == sorted(e.elapsed for e in events)


def test_transcribe_reports_upload_chunks_creation_polls_and_end(
    transcriber: Transcriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(AUDIO)
    events: list[TranscriptionProgress] = []

    transcript = transcriber.transcribe(path, progress=events.append)

    assert transcript.status == "completed"
    check_transcribe_events(events, fake, transcript.id)


def test_bytes_and_streams_report_progress_too(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    for audio in (AUDIO, io.BytesIO(AUDIO)):
        events: list[TranscriptionProgress] = []
        transcriber.upload_file(audio, progress=events.append)
        assert {e.stage for e in events} == {"upload"}
        assert events[-1].bytes_sent == events[-1].bytes_total == len(AUDIO)
        # reported chunk by chunk: 0, 1 MiB, 2 MiB, all
        assert [e.bytes_sent for e in events] == [
            0,
            UPLOAD_CHUNK_SIZE,
            2 * UPLOAD_CHUNK_SIZE,
            len(AUDIO),
        ]
    assert fake.bodies[-2:] == [b"<%d bytes>" % len(AUDIO)] * 2


async def test_async_transcribe_reports_the_same_events(
    atranscriber: AsyncTranscriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(AUDIO)
    events: list[TranscriptionProgress] = []

    transcript = await atranscriber.transcribe(path, progress=events.append)

    assert transcript.status == "completed"
    check_transcribe_events(events, fake, transcript.id)


def test_futures_report_from_the_pool(
    transcriber: Transcriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(AUDIO)
    events: list[TranscriptionProgress] = []

    transcript = transcriber.transcribe_async(path, progress=events.append).result(timeout=10)

    assert transcript.status == "completed"
    check_transcribe_events(events, fake, transcript.id)


def test_submit_then_wait_report_their_own_steps(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    submitted: list[TranscriptionProgress] = []
    job = transcriber.submit("https://example.com/a.wav", progress=submitted.append)
    assert [e.stage for e in submitted] == ["submitted"]  # a URL: nothing to upload

    waited: list[TranscriptionProgress] = []
    done = transcriber.wait_for_completion(job.id, progress=waited.append)
    assert done.status == "completed"
    assert stages(waited) == ["waiting", "done"]
    assert waited[-1].status == "completed"


def test_a_failed_job_ends_with_a_done_event_carrying_error(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    fake.fail_jobs = True
    events: list[TranscriptionProgress] = []
    with pytest.raises(speechkit.TranscriptionError):
        transcriber.transcribe("https://example.com/a.wav", progress=events.append)
    assert events[-1].stage == "done"
    assert events[-1].status == "error"


def test_a_raising_callback_costs_neither_the_transcript_nor_a_second_job(
    transcriber: Transcriber, fake: FakeAssemblyAI, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[TranscriptionProgress] = []

    def broken(event: TranscriptionProgress) -> None:
        calls.append(event)
        raise RuntimeError("display went away")

    with caplog.at_level(logging.WARNING, logger="speechkit"):
        transcript = transcriber.transcribe(AUDIO, progress=broken)

    assert transcript.status == "completed"
    assert len(calls) == 1  # silenced after the first failure
    assert fake.count("POST", "/v2/transcript") == 1
    assert "progress callback raised" in caplog.text


def test_progress_must_be_callable(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    with pytest.raises(speechkit.InvalidInputError, match="progress must be a callable"):
        transcriber.transcribe(AUDIO, progress="yes")  # type: ignore[arg-type]
    assert fake.requests == []


def test_a_retried_upload_restarts_its_count(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    import httpx

    fake.inject("POST", "/v2/upload", httpx.Response(503, json={"error": "busy"}))
    events: list[TranscriptionProgress] = []
    transcriber.upload_file(AUDIO, progress=events.append)
    sent = [e.bytes_sent for e in events]
    assert sent.count(0) == 2  # the first attempt, then the retry from the start
    assert sent[-1] == len(AUDIO)
    assert fake.bodies[-1] == b"<%d bytes>" % len(AUDIO)


@pytest.mark.parametrize("style", ["assemblyai", "aiml"])
def test_progress_against_the_local_server(style: str) -> None:
    """Real HTTP: the raw upload (AssemblyAI) and the multipart create (AIML) both report."""
    from speechkit.server import local_server

    path = Path(__file__).resolve().parents[1] / "examples" / "audio" / "sample.wav"
    size = path.stat().st_size
    with local_server(engine="fixed", engine_options={"text": "progress works"}) as server:
        if style == "aiml":
            client = Transcriber(
                provider="aiml", model="nova-3", api_key="local", base_url=f"{server.base_url}/v1"
            )
        else:
            client = Transcriber(api_key="local", base_url=server.base_url)
        server.faults.processing_delay = 0.3
        events: list[TranscriptionProgress] = []
        with client:
            transcript = client.transcribe(path, progress=events.append)
    assert (transcript.text or "").lower().rstrip(".") == "progress works"
    assert stages(events) == ["upload", "submitted", "waiting", "done"]
    uploads = [e for e in events if e.stage == "upload"]
    assert (uploads[0].bytes_sent, uploads[-1].bytes_sent) == (0, size)
    assert {e.bytes_total for e in uploads} == {size}
    assert events[-1].status == "completed"
    assert events[-1].transcript_id == transcript.id


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("fail", [False, True])
def test_progress_true_draws_the_automatic_display_and_always_ends_its_line(
    transcriber: Transcriber,
    fake: FakeAssemblyAI,
    monkeypatch: pytest.MonkeyPatch,
    fail: bool,
) -> None:
    import speechkit.progress

    terminal = FakeTerminal()
    monkeypatch.setattr(
        speechkit.progress, "auto", lambda: speechkit.progress.TerminalProgress(stream=terminal)
    )
    if fail:  # the wait dies mid-way: no "done" event, yet the display is closed
        import httpx

        fake.inject("GET", "/v2/transcript/", httpx.Response(400, json={"error": "bad id"}))
        with pytest.raises(speechkit.BadRequestError):
            transcriber.transcribe(AUDIO, progress=True)
    else:
        transcriber.transcribe(AUDIO, progress=True)
    drawn = terminal.getvalue()
    assert "\r" in drawn  # redrawn in place
    assert drawn.endswith("\n")  # and the line is finished, even when the call failed
    assert ("submitted" if fail else "completed") in drawn.rsplit("\r", 1)[-1]


def test_progress_true_when_piped_writes_nothing(
    transcriber: Transcriber, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript = transcriber.transcribe(AUDIO, progress=True)
    assert transcript.status == "completed"
    assert capsys.readouterr() == ("", "")
