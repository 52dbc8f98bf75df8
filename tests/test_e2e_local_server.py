"""The SDK end to end against the real local server: real HTTP, the real offline engine, and
injected faults. Word error rate is checked against the samples' reference text."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest

import speechkit
from speechkit import AsyncTranscriber, Transcriber
from speechkit.engines.wer import word_error_rate
from speechkit.server import LocalServer, local_server
from speechkit.testing import fixture_server_options

AUDIO = Path(__file__).resolve().parents[1] / "examples" / "audio"
REFERENCE = (AUDIO / "sample.txt").read_text()
#: The offline engine gets 0.00 on these flite samples (see examples/audio/README.md); the
#: margin keeps the test about "real words came back", not about exact strings.
MAX_WER = 0.15


@pytest.fixture(scope="module")
def offline() -> Iterator[LocalServer]:
    with local_server(engine="offline") as server:
        yield server


@pytest.fixture
def fixed() -> Iterator[LocalServer]:
    with local_server(
        engine="fixed",
        engine_options={"text": "hello from the fixed engine"},
        **fixture_server_options(),  # a test below passes a file:// URL
    ) as server:
        yield server


def quick(server: LocalServer, **options: object) -> Transcriber:
    return Transcriber(
        api_key=server.api_key or "local",
        base_url=server.base_url,
        polling_interval=0.02,
        polling_max_interval=0.1,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sample.wav", "sample.flac", "sample.mp3", "sample.ogg"])
def test_blocking_transcription_of_every_format(offline: LocalServer, name: str) -> None:
    with quick(offline) as transcriber:
        transcript = transcriber.transcribe(AUDIO / name)
        sentences = transcriber.get_sentences(transcript)
        srt = transcriber.export_subtitles_srt(transcript, chars_per_caption=40)
    assert word_error_rate(REFERENCE, transcript.text or "") <= MAX_WER
    starts = [w.start for w in transcript.words or []]
    assert starts == sorted(starts)
    assert starts[-1] < 21_500
    assert len(sentences.sentences) >= 4
    assert srt.startswith("1\n00:00:")


@pytest.mark.slow
async def test_asyncio_and_futures_transcription(offline: LocalServer) -> None:
    async with AsyncTranscriber(api_key="local", base_url=offline.base_url) as transcriber:
        transcript = await transcriber.transcribe(AUDIO / "sample.wav")
    assert word_error_rate(REFERENCE, transcript.text or "") <= MAX_WER
    with quick(offline) as transcriber:
        future = transcriber.transcribe_async((AUDIO / "sample.wav").read_bytes())
        assert isinstance(future, concurrent.futures.Future)
        assert word_error_rate(REFERENCE, future.result(timeout=60).text or "") <= MAX_WER


@pytest.mark.slow
@pytest.mark.parametrize("model", ["#g1_whisper-large", "nova-3", "aai/universal"])
def test_aiml_style_gives_the_same_transcript(offline: LocalServer, model: str) -> None:
    with Transcriber(
        provider="aiml", model=model, api_key="local", base_url=f"{offline.base_url}/v1"
    ) as transcriber:
        transcript = transcriber.transcribe(AUDIO / "sample.wav")
    assert transcript.provider == "aiml"
    assert word_error_rate(REFERENCE, transcript.text or "") <= MAX_WER
    assert transcript.words
    assert transcript.words[-1].end > 15_000


@pytest.mark.slow
def test_local_provider_starts_and_stops_its_own_server() -> None:
    with Transcriber(provider="local") as transcriber:
        transcript = transcriber.transcribe(AUDIO / "two_turns.wav")
        base_url = transcriber.provider.base_url
    reference = (AUDIO / "two_turns.txt").read_text()
    assert word_error_rate(reference, transcript.text or "") <= MAX_WER
    with pytest.raises(speechkit.ConnectError), quick_closed(base_url) as t:
        t.get_transcript("anything")


def quick_closed(base_url: str) -> Transcriber:
    return Transcriber(api_key="k", base_url=base_url, max_retries=0)


def test_unreadable_audio_fails_the_job_with_the_servers_message(fixed: LocalServer) -> None:
    with quick(fixed) as transcriber, pytest.raises(speechkit.TranscriptionError) as info:
        transcriber.transcribe(b"this is not audio at all")
    assert info.value.transcript_id
    assert "could not be decoded" in str(info.value)


def test_wrong_key_against_a_keyed_server() -> None:
    with local_server(engine="fixed", api_key="right") as server:
        with Transcriber(api_key="wrong", base_url=server.base_url) as transcriber:
            with pytest.raises(speechkit.AuthenticationError):
                transcriber.submit("file:///nowhere.wav")
        assert server.jobs_created == 0


def test_create_lost_after_processing_is_recovered_not_resent(fixed: LocalServer) -> None:
    """The job was made but its answer lost: speechkit finds it by its unique upload URL."""
    fixed.faults.add_reset("transcript.create", times=1, after_processing=True)
    with quick(fixed) as transcriber:
        transcript = transcriber.submit(AUDIO / "sample.wav")
    assert fixed.request_count("transcript.create") == 1  # never sent twice
    assert fixed.jobs_created == 1
    assert fixed.request_count("transcript.list") >= 1
    assert transcript.id in fixed.job_ids()


def test_create_lost_before_processing_is_not_resent_on_a_guess(fixed: LocalServer) -> None:
    """The connection died before the server made a job, and no other job shows that the list
    has caught up: "not listed" could be a lagging list, so no second create; the error says
    the job may exist and how to look for it (tests/test_hostile_network.py covers the resend
    when the list proves it is current)."""
    fixed.faults.add_reset("transcript.create", times=1)
    with quick(fixed) as transcriber, pytest.raises(speechkit.TransportError) as info:
        transcriber.transcribe(AUDIO / "sample.wav")
    assert fixed.request_count("transcript.create") == 1
    assert fixed.jobs_created == 0
    assert fixed.request_count("transcript.list") == 4  # searched again as the list may lag
    assert info.value.retryable is False
    assert "find_transcripts(['http://127.0.0.1:" in str(info.value)


def test_a_reset_upload_is_sent_again(fixed: LocalServer) -> None:
    fixed.faults.add_reset("upload", times=1)
    with quick(fixed) as transcriber:
        transcript = transcriber.transcribe(AUDIO / "sample.wav")
    assert transcript.status == "completed"
    assert fixed.request_count("upload") == 2
    assert fixed.jobs_created == 1


def test_lost_create_of_a_url_is_not_guessed_at(fixed: LocalServer) -> None:
    """A caller's URL may have made other jobs: no search, no resend; the error says why."""
    fixed.faults.add_reset("transcript.create", times=1, after_processing=True)
    with quick(fixed) as transcriber, pytest.raises(speechkit.TransportError) as info:
        transcriber.submit((AUDIO / "sample.wav").as_uri())
    assert fixed.request_count("transcript.create") == 1
    assert fixed.jobs_created == 1
    assert info.value.retryable is False
    assert "list_transcripts()" in str(info.value)


def test_when_the_list_cannot_be_searched_the_create_error_is_raised(fixed: LocalServer) -> None:
    fixed.faults.add_reset("transcript.create", times=1, after_processing=True)
    fixed.faults.add_error("transcript.list", 403)
    with quick(fixed) as transcriber, pytest.raises(speechkit.TransportError) as info:
        transcriber.submit(AUDIO / "sample.wav")
    assert fixed.request_count("transcript.create") == 1
    assert fixed.jobs_created == 1
    assert info.value.__cause__ is not None  # the transport failure underneath is kept


def test_group_under_faults_has_no_failures_and_no_duplicate_jobs(fixed: LocalServer) -> None:
    faults = fixed.faults
    faults.reseed(7)
    faults.add_error("transcript.create", 429, rate=0.1, retry_after=0)
    faults.add_error("transcript.create", 503, rate=0.1, retry_after=0)
    faults.add_error("upload", 503, rate=0.1, retry_after=0)
    faults.add_reset("transcript.get", rate=0.1)
    faults.add_error("transcript.get", 500, rate=0.1)
    audio = (AUDIO / "sample_8k.wav").read_bytes()
    with quick(fixed, max_retries=6) as transcriber:
        group = transcriber.transcribe_group([audio] * 20, max_concurrency=8)
    assert group.ok
    assert len(group.transcripts) == 20
    assert fixed.jobs_created == 20
    assert len({t.id for t in group.transcripts}) == 20
    texts = {t.text or "" for t in group.transcripts}
    assert all(word_error_rate("hello from the fixed engine", text) == 0 for text in texts)
