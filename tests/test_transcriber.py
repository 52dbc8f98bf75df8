"""The blocking Transcriber against a fake AssemblyAI over httpx.MockTransport: every endpoint,
the exact wire, and the error paths users meet."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx
import pytest

import speechkit
from speechkit import Transcriber, TranscriptionConfig
from speechkit.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    RedactedAudioExpiredError,
    RedactedAudioNotReadyError,
    ServerError,
    TranscriptionError,
    TranscriptionTimeoutError,
)
from tests.fakes import API_KEY, BASE_URL, FakeAssemblyAI


def test_transcribe_url_creates_polls_and_returns_the_completed_transcript(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    config = TranscriptionConfig(speaker_labels=True, punctuate=False)
    transcript = transcriber.transcribe("https://example.org/a.mp3", config)
    assert transcript.status == "completed"
    assert transcript.text
    assert transcript.words
    assert transcript.words[0].start == 250  # milliseconds, from the spec example
    create = next(r for r in fake.requests if r.method == "POST")
    assert create.headers["authorization"] == API_KEY  # raw key, no "Bearer"
    assert create.headers["user-agent"].startswith("speechkit/")
    assert json.loads(create.read()) == {
        "speaker_labels": True,
        "punctuate": False,
        "speech_models": ["universal-3-5-pro", "universal-2"],  # the HEAD spec requires it
        "audio_url": "https://example.org/a.mp3",
    }
    assert fake.count("GET", f"/v2/transcript/{transcript.id}") == fake.polls_until_done


@pytest.mark.parametrize("kind", ["str", "path", "bytes", "file"])
def test_local_audio_is_uploaded_first(
    transcriber: Transcriber, fake: FakeAssemblyAI, tmp_path: Path, kind: str
) -> None:
    audio_file = tmp_path / "a.wav"
    audio_file.write_bytes(b"RIFF" + b"\0" * 5000)
    audio = {
        "str": str(audio_file),
        "path": audio_file,
        "bytes": audio_file.read_bytes(),
        "file": io.BytesIO(audio_file.read_bytes()),
    }[kind]
    transcript = transcriber.transcribe(audio)
    assert transcript.audio_url.startswith(f"{BASE_URL}/upload/")
    upload = fake.requests[0]
    assert upload.url.path == "/v2/upload"
    assert upload.headers["content-type"] == "application/octet-stream"
    assert sum(fake.upload_chunks) == 5004


def test_submit_returns_without_waiting_and_wait_for_completion_finishes(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    queued = transcriber.submit("https://example.org/a.mp3")
    assert queued.status == "queued"
    assert fake.count("GET", f"/v2/transcript/{queued.id}") == 0
    done = transcriber.wait_for_completion(queued.id)
    assert done.status == "completed"
    assert transcriber.get_transcript(queued).id == queued.id


def test_failed_job_raises_from_transcribe_but_is_returned_by_wait(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    fake.fail_jobs = True
    with pytest.raises(TranscriptionError) as info:
        transcriber.transcribe("https://example.org/bad.mp3")
    assert info.value.transcript_id is not None
    assert "not a valid audio file" in str(info.value)
    queued = transcriber.submit("https://example.org/bad.mp3")
    assert transcriber.wait_for_completion(queued).status == "error"


def test_poll_timeout_names_the_job(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    fake.polls_until_done = 10**9
    with pytest.raises(TranscriptionTimeoutError, match="keeps running on the server") as info:
        transcriber.transcribe("https://example.org/a.mp3", poll_timeout=0.05)
    assert info.value.transcript_id in fake.transcripts


def test_delete(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    created = transcriber.submit("https://example.org/a.mp3")
    deleted = transcriber.delete_transcript(created)
    assert deleted.text == "Deleted by user."
    assert created.id not in fake.transcripts
    with pytest.raises(NotFoundError, match="Transcript not found"):
        transcriber.get_transcript(created.id)


def test_list_filters_and_iterating_every_page(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    ids = [transcriber.submit("https://example.org/a.mp3").id for _ in range(7)]
    page = transcriber.list_transcripts(limit=3, status="completed", throttled_only=False)
    request = fake.requests[-1]
    assert request.url.params["limit"] == "3"
    assert request.url.params["status"] == "completed"
    assert request.url.params["throttled_only"] == "false"
    assert [t.id for t in page.transcripts] == ids[::-1][:3]
    older = transcriber.list_page(page.page_details.prev_url)
    assert [t.id for t in older.transcripts] == ids[::-1][3:6]
    assert [t.id for t in transcriber.iter_transcripts(limit=3)] == ids[::-1]
    with pytest.raises(InvalidInputError, match="between 1 and 200"):
        transcriber.list_transcripts(limit=500)


def test_subtitles_sentences_paragraphs_word_search(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    tid = transcriber.submit("https://example.org/a.mp3").id
    assert transcriber.export_subtitles_srt(tid) == f"srt of {tid} chars=none"
    assert transcriber.export_subtitles_vtt(tid, chars_per_caption=32) == f"vtt of {tid} chars=32"
    assert transcriber.get_sentences(tid).sentences[0].text
    assert transcriber.get_paragraphs(tid).paragraphs[0].words
    result = transcriber.word_search(tid, ["smoke", "air quality"])
    assert result.model_extra["echo_words"] == "smoke,air quality"
    assert result.matches[0].timestamps


def test_redacted_audio_ready_not_ready_and_expired(
    transcriber: Transcriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    tid = transcriber.submit("https://example.org/a.mp3").id
    path = f"/v2/transcript/{tid}/redacted-audio"
    fake.inject("GET", path, httpx.Response(202, json={"status": "redacted_audio_processing"}))
    with pytest.raises(RedactedAudioNotReadyError):
        transcriber.get_redacted_audio_url(tid)
    fake.inject("GET", path, httpx.Response(400, json={"error": "Redacted audio expired"}))
    with pytest.raises(RedactedAudioExpiredError, match="24 hours") as info:
        transcriber.get_redacted_audio_url(tid)
    assert info.value.status_code == 400
    cdn = "https://cdn.other.example/redacted.mp3"
    ready = {"status": "redacted_audio_ready", "redacted_audio_url": cdn}
    fake.inject("GET", path, httpx.Response(200, json=ready), httpx.Response(200, json=ready))
    assert transcriber.get_redacted_audio_url(tid) == cdn
    fake.inject("GET", "/redacted.mp3", httpx.Response(200, content=b"ID3audio"))
    saved = transcriber.save_redacted_audio(tid, tmp_path / "r.mp3")
    assert saved.read_bytes() == b"ID3audio"
    download = fake.requests[-1]
    assert download.url.host == "cdn.other.example"
    assert "authorization" not in download.headers  # the key never leaves the API's origin


def test_status_errors_are_typed_with_body_and_request_id(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    fake.inject(
        "POST",
        "/v2/transcript",
        httpx.Response(
            400, json={"error": "Invalid language code"}, headers={"x-request-id": "r1"}
        ),
    )
    with pytest.raises(speechkit.BadRequestError) as info:
        transcriber.submit("https://example.org/a.mp3")
    err = info.value
    assert err.status_code == 400
    assert err.body == {"error": "Invalid language code"}
    assert err.request_id == "r1"
    assert not err.retryable
    assert (
        f"POST {BASE_URL}/v2/transcript failed with 400 Bad Request: Invalid language code"
        in str(err)
    )
    assert transcriber.last_response is not None
    assert transcriber.last_response.status_code == 400


def test_wrong_key_is_an_authentication_error_without_the_key(fake: FakeAssemblyAI) -> None:
    client = httpx.Client(transport=fake.transport())
    with Transcriber(api_key="wrong-secret", base_url=BASE_URL, http_client=client) as t:
        with pytest.raises(AuthenticationError) as info:
            t.submit("https://example.org/a.mp3")
    assert "wrong-secret" not in str(info.value)
    assert "API key" in str(info.value)


def test_429_is_retried_honouring_retry_after_then_succeeds(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    limited = httpx.Response(429, json={"error": "Too Many Requests"}, headers={"Retry-After": "0"})
    fake.inject("POST", "/v2/transcript", limited, limited)
    assert transcriber.submit("https://example.org/a.mp3").status == "queued"
    assert fake.count("POST", "/v2/transcript") == 3
    assert len(fake.transcripts) == 1  # one job created: nothing billed twice


def test_rate_limit_error_after_retries_carries_retry_after(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    limited = httpx.Response(429, json={"error": "Too Many Requests"}, headers={"Retry-After": "0"})
    fake.inject("POST", "/v2/transcript", *[limited] * 4)
    with pytest.raises(RateLimitError) as info:
        transcriber.submit("https://example.org/a.mp3")
    assert info.value.retry_after == 0.0
    assert info.value.retryable


def test_post_that_failed_after_sending_is_not_resent(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    fake.inject("POST", "/v2/transcript", httpx.ReadTimeout("server went quiet"))
    with pytest.raises(speechkit.RequestTimeoutError, match="timed out"):
        transcriber.submit("https://example.org/a.mp3")
    assert fake.count("POST", "/v2/transcript") == 1
    fake.inject("POST", "/v2/transcript", httpx.Response(500, json={"error": "boom"}))
    with pytest.raises(ServerError):
        transcriber.submit("https://example.org/a.mp3")
    assert fake.count("POST", "/v2/transcript") == 2


def test_post_refused_with_503_or_connect_error_is_resent(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    fake.inject(
        "POST",
        "/v2/transcript",
        httpx.Response(503),
        httpx.ConnectError("connection refused"),
    )
    assert transcriber.submit("https://example.org/a.mp3").status == "queued"
    assert fake.count("POST", "/v2/transcript") == 3
    assert len(fake.transcripts) == 1


def test_polling_survives_transient_errors(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    fake.polls_until_done = 3
    created = transcriber.submit("https://example.org/a.mp3")
    path = f"/v2/transcript/{created.id}"
    fake.inject("GET", path, httpx.ReadError("reset"), httpx.Response(502), httpx.Response(500))
    assert transcriber.wait_for_completion(created).status == "completed"


def test_transport_errors_are_wrapped_never_raw_httpx() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("All connection attempts failed")

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with Transcriber(api_key=API_KEY, base_url=BASE_URL, http_client=client, max_retries=0) as t:
        with pytest.raises(ConnectError, match="could not connect") as info:
            t.get_transcript("abc")
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_missing_key_says_both_ways_to_give_one() -> None:
    with pytest.raises(ConfigurationError) as info:
        Transcriber()
    message = str(info.value)
    assert "api_key=" in message
    assert "ASSEMBLYAI_API_KEY" in message


def test_key_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speechkit.settings, "api_key", "from-settings")
    assert Transcriber().provider.auth_headers()["Authorization"] == "from-settings"
    monkeypatch.setenv("ASSEMBLYAI_API_KEY", "from-env")
    assert Transcriber().provider.auth_headers()["Authorization"] == "from-env"
    assert Transcriber(api_key="explicit").provider.auth_headers()["Authorization"] == "explicit"


def test_key_never_in_repr_or_logs(fake: FakeAssemblyAI, caplog: pytest.LogCaptureFixture) -> None:
    client = httpx.Client(transport=fake.transport())
    caplog.set_level(logging.DEBUG, logger="speechkit")
    with Transcriber(api_key=API_KEY, base_url=BASE_URL, http_client=client) as t:
        assert API_KEY not in repr(t)
        assert API_KEY not in repr(t.provider)
        t.submit("https://example.org/a.mp3")
    lines = [r.getMessage() for r in caplog.records if r.name == "speechkit"]
    assert any("POST https://api.test.local/v2/transcript" in line for line in lines)
    assert all(API_KEY not in line for line in lines)
    assert API_KEY not in repr(speechkit.settings)


def test_bad_input_is_rejected_before_sending(
    transcriber: Transcriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="no such file"):
        transcriber.transcribe(tmp_path / "nope.wav")
    with pytest.raises(InvalidInputError, match="poll_timeout"):
        transcriber.wait_for_completion("abc", poll_timeout=-1)
    with pytest.raises(InvalidInputError, match="transcript_id"):
        transcriber.get_transcript("")
    with pytest.raises(InvalidInputError, match="chars_per_caption"):
        transcriber.export_subtitles_srt("abc", chars_per_caption=0)
    with pytest.raises(ConfigurationError, match="base_url must start with http"):
        Transcriber(api_key="k", base_url="api.assemblyai.com")
    with pytest.raises(InvalidInputError, match="Unknown provider"):
        Transcriber(provider="nope", api_key="k")
    assert fake.requests == []


def test_closed_transcriber_refuses_new_work(fake: FakeAssemblyAI) -> None:
    t = Transcriber(
        api_key=API_KEY, base_url=BASE_URL, http_client=httpx.Client(transport=fake.transport())
    )
    t.close()
    t.close()  # idempotent
    with pytest.raises(speechkit.ClientClosedError):
        t.submit("https://example.org/a.mp3")
    with pytest.raises(speechkit.ClientClosedError):
        t.transcribe_async("https://example.org/a.mp3")


def test_a_failed_redacted_audio_download_leaves_no_file(
    transcriber: Transcriber, fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    import speechkit

    tid = transcriber.submit("https://example.org/a.mp3").id
    cdn = "https://cdn.other.example/redacted.mp3"
    ready = {"status": "redacted_audio_ready", "redacted_audio_url": cdn}
    fake.inject("GET", f"/v2/transcript/{tid}/redacted-audio", httpx.Response(200, json=ready))
    fake.inject("GET", "/redacted.mp3", httpx.Response(403, json={"error": "link expired"}))
    target = tmp_path / "r.mp3"
    with pytest.raises(speechkit.PermissionDeniedError, match="link expired"):
        transcriber.save_redacted_audio(tid, target)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part


def test_find_transcripts_maps_audio_urls_to_their_newest_jobs_across_pages(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    old = transcriber.submit("https://example.org/old.mp3").id
    for i in range(4):
        transcriber.submit(f"https://example.org/{i}.mp3")
    again = transcriber.submit("https://example.org/0.mp3").id  # the newest job for 0.mp3

    found = transcriber.find_transcripts(
        ["https://example.org/0.mp3", "https://example.org/old.mp3", "https://example.org/x.mp3"],
        search_limit=2,  # one page of 2: only the newest two jobs are searched
    )
    assert found == {"https://example.org/0.mp3": again}

    found = transcriber.find_transcripts("https://example.org/old.mp3", search_limit=500)
    assert found == {"https://example.org/old.mp3": old}


def test_find_transcripts_bad_input(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    with pytest.raises(InvalidInputError, match="audio_urls"):
        transcriber.find_transcripts([])
    with pytest.raises(InvalidInputError, match="search_limit"):
        transcriber.find_transcripts(["https://example.org/a.mp3"], search_limit=0)
    assert fake.requests == []


@pytest.mark.parametrize("client", ["sync", "async"])
async def test_local_provider_takes_the_engine_and_other_providers_refuse_it(client: str) -> None:
    """``engine=`` reaches the local server a local transcriber starts; elsewhere it is an error."""
    audio = Path(__file__).parents[1] / "examples" / "audio" / "sample.wav"
    if client == "sync":
        with speechkit.Transcriber(provider="local", engine="fixed") as transcriber:
            text = transcriber.transcribe(audio).text
    else:
        async with speechkit.AsyncTranscriber(provider="local", engine="fixed") as atranscriber:
            text = (await atranscriber.transcribe(audio)).text
    assert text == "Hello world."  # the fixed engine's text, not a recognition of the sample
    with pytest.raises(speechkit.InvalidInputError, match='provider="local"'):
        speechkit.Transcriber(api_key="key", engine="fixed")
