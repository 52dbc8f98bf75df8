"""The AIML provider through the real Transcriber, futures and AsyncTranscriber (MockTransport)."""

from __future__ import annotations

import email
import email.policy
import importlib.util
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from speechkit import Transcriber, TranscriptionConfig
from speechkit._core import text as local_text
from speechkit.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InvalidInputError,
    NotFoundError,
    NotSupportedError,
    TranscriptionError,
)
from speechkit.models import Transcript, TranscriptStatus
from speechkit.models.aiml import AIMLTranscriptionResponse, DeepgramResponse
from tests.aiml.conftest import (
    API_KEY,
    JOB_ID,
    FakeAIML,
    completed,
    deepgram_result,
    load,
    make_async_transcriber,
    make_transcriber,
    pending,
)

URL = "https://audio-samples.github.io/samples/mp3/blizzard_primed/sample-0.mp3"
PENDING = ["waiting", "active", "queued", "generating", "processing", "brand-new-status"]


def parts(request: httpx.Request) -> list[tuple[str, str | None, str | None, bytes]]:
    """``(name, filename, content type, data)`` of each part of a multipart request."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.content, policy=email.policy.HTTP)
    found = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found.append(
            (
                str(part.get_param("name", header="content-disposition")),
                part.get_filename(),
                part.get_content_type() if part.get_filename() else None,
                payload,
            )
        )
    return found


def _check_deepgram(t: Transcript) -> None:
    assert t.text == "Hello world. How are you? Fine, thanks."
    assert t.words is not None
    assert (t.words[0].start, t.words[0].end) == (100, 420)
    assert t.speakers == ["A", "B"]
    assert isinstance(t.provider_response.payload, DeepgramResponse)


def _check_aai(t: Transcript) -> None:
    assert t.words is not None
    assert len(t.words) == 33
    assert t.words[-1].end == 10050
    assert t.language_code == "en_us"
    assert t.id == JOB_ID  # AIML's id, not the relayed AssemblyAI one


def _check_text(t: Transcript) -> None:
    assert t.words is None
    assert (t.text or "").startswith("He doesn't belong")


FAMILIES: dict[str, tuple[Callable[[], Any], Callable[[Transcript], None]]] = {
    "deepgram": (deepgram_result, _check_deepgram),
    "assemblyai": (lambda: load("result.aai-universal.docs.json"), _check_aai),
    "text": (lambda: load("get.completed.gpt-4o-transcribe.docs.json")["result"], _check_text),
}


def script_polls(fake: FakeAIML, result: Any) -> None:
    fake.polls = [pending(status) for status in PENDING] + [completed(result)]


def check_done(fake: FakeAIML, transcript: Transcript, family: str) -> None:
    assert transcript.status == TranscriptStatus.completed
    assert transcript.provider == "aiml"
    assert isinstance(transcript.provider_response, AIMLTranscriptionResponse)
    assert transcript.provider_response.status == "completed"
    FAMILIES[family][1](transcript)
    assert len(fake.gets) == len(PENDING) + 1
    assert {r.url.path for r in fake.gets} == {f"/v1/stt/{JOB_ID}"}
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in fake.requests)


# --- create ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202])
def test_create_from_url_sends_exact_json(aiml: FakeAIML, status: int) -> None:
    aiml.create_status = status
    aiml.polls = [completed(deepgram_result())]
    with make_transcriber(aiml, model="#g1_whisper-large") as transcriber:
        transcript = transcriber.submit(
            URL, TranscriptionConfig(extra_params={"smart_format": True})
        )
    assert (transcript.id, transcript.status) == (JOB_ID, TranscriptStatus.queued)
    [create] = aiml.creates
    assert str(create.url) == "https://aiml.test.local/v1/stt/create"
    assert create.headers["authorization"] == f"Bearer {API_KEY}"
    assert create.headers["content-type"] == "application/json"
    assert json.loads(create.content) == {
        "model": "#g1_whisper-large",
        "url": URL,
        "smart_format": True,
    }


def test_create_answer_with_status_and_id_spelling(aiml: FakeAIML) -> None:
    aiml.create_body = {"id": "RlLz0hRdAs9voL5Qi1Pzr", "status": "generating"}
    with make_transcriber(aiml, model="openai/gpt-4o-transcribe") as transcriber:
        transcript = transcriber.submit(URL)
    assert (transcript.id, transcript.status) == ("RlLz0hRdAs9voL5Qi1Pzr", "processing")


def test_create_from_local_file_is_multipart(aiml: FakeAIML, tmp_path: Path) -> None:
    audio = tmp_path / "clip.wav"
    audio.write_bytes(b"RIFF" + bytes(range(256)) * 10)
    aiml.polls = [completed(deepgram_result())]
    config = TranscriptionConfig(speaker_labels=True, language_code="en_us")
    with make_transcriber(aiml, model="#g1_nova-2-meeting") as transcriber:
        transcriber.transcribe(audio, config)
    [create] = aiml.creates
    assert create.headers["content-type"].startswith("multipart/form-data; boundary=")
    first, *options, last = parts(create)
    assert first == ("model", None, None, b"#g1_nova-2-meeting")
    assert sorted(options) == [
        ("diarize", None, None, b"true"),
        ("language", None, None, b"en-US"),
        ("utterances", None, None, b"true"),
    ]
    assert last == ("audio", "clip.wav", "audio/x-wav", audio.read_bytes())


class RecordingReader(io.BytesIO):
    """A binary file object that records the size of every read."""

    name = "speech.mp3"

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int | None] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(size)
        return super().read(size)


@pytest.mark.parametrize(
    ("model", "field"), [("openai/gpt-4o-transcribe", "file"), ("nova-3", "audio")]
)
def test_local_audio_is_streamed_in_the_models_part(aiml: FakeAIML, model: str, field: str) -> None:
    data = bytes(range(256)) * 1024  # 256 KiB
    reader = RecordingReader(data)
    aiml.polls = [completed({"text": "ok", "usage": {}})]
    with make_transcriber(aiml, model=model) as transcriber:
        transcript = transcriber.transcribe(reader)
    assert transcript.text == "ok"
    [create] = aiml.creates
    [(model_field, *_), (name, filename, content_type, sent)] = parts(create)
    assert (model_field, name, filename, content_type) == (
        "model",
        field,
        "speech.mp3",
        "audio/mpeg",
    )
    assert sent == data
    # Read in bounded chunks, never whole.
    chunked = [size for size in reader.reads if size != 0]
    assert len(chunked) > 2
    assert all(size is not None and 0 < size < len(data) for size in chunked)


async def test_async_local_audio_is_multipart(aiml: FakeAIML, tmp_path: Path) -> None:
    audio = tmp_path / "clip.mp3"
    audio.write_bytes(b"ID3" + b"\x00" * 300_000)
    aiml.polls = [completed({"text": "ok", "usage": {}})]
    async with make_async_transcriber(aiml, model="openai/gpt-4o-mini-transcribe") as t:
        transcript = await t.transcribe(audio)
    assert transcript.text == "ok"
    names = [(name, filename) for name, filename, _, _ in parts(aiml.creates[0])]
    assert names == [("model", None), ("file", "clip.mp3")]
    assert parts(aiml.creates[0])[1][3] == audio.read_bytes()


# --- polling, per family and per calling style -----------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_blocking_pending_then_completed(aiml: FakeAIML, family: str) -> None:
    script_polls(aiml, FAMILIES[family][0]())
    with make_transcriber(aiml) as transcriber:
        transcript = transcriber.transcribe(URL)
    check_done(aiml, transcript, family)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_futures_pending_then_completed(aiml: FakeAIML, family: str) -> None:
    script_polls(aiml, FAMILIES[family][0]())
    with make_transcriber(aiml) as transcriber:
        transcript = transcriber.transcribe_async(URL).result(timeout=10)
    check_done(aiml, transcript, family)


@pytest.mark.parametrize("family", sorted(FAMILIES))
async def test_asyncio_pending_then_completed(aiml: FakeAIML, family: str) -> None:
    script_polls(aiml, FAMILIES[family][0]())
    async with make_async_transcriber(aiml) as transcriber:
        transcript = await transcriber.transcribe(URL)
    check_done(aiml, transcript, family)


def test_submit_then_wait_with_output_and_id_spelling(aiml: FakeAIML) -> None:
    aiml.create_body = {"id": "abc"}
    aiml.polls = [
        {"id": "abc", "status": "queued"},
        {"id": "abc", "status": "completed", "output": deepgram_result(), "error": None},
    ]
    with make_transcriber(aiml) as transcriber:
        job = transcriber.submit(URL)
        done = transcriber.wait_for_completion(job)
    assert done.id == "abc"
    assert done.text == "Hello world. How are you? Fine, thanks."
    assert [r.url.path for r in aiml.gets] == ["/v1/stt/abc", "/v1/stt/abc"]


ERRORS = [
    ({"name": "Error", "message": "Something wrong with the server."}, "error"),
    ("Audio file could not be decoded", "failed"),
    ({"message": "Generation timeout"}, "timeout"),
]


def _failed_polls(fake: FakeAIML, error: Any, status: str) -> str:
    fake.polls = [
        pending("active"),
        {"generation_id": JOB_ID, "status": status, "error": error},
    ]
    return error if isinstance(error, str) else error["message"]


def _check_failure(err: TranscriptionError, message: str) -> None:
    assert err.transcript_id == JOB_ID
    assert err.server_message == message
    assert JOB_ID in str(err)
    assert message in str(err)
    assert isinstance(err.transcript, Transcript)
    assert err.transcript.status == TranscriptStatus.error


@pytest.mark.parametrize(("error", "status"), ERRORS)
def test_blocking_error_raises_with_id_and_message(aiml: FakeAIML, error: Any, status: str) -> None:
    message = _failed_polls(aiml, error, status)
    with make_transcriber(aiml) as transcriber, pytest.raises(TranscriptionError) as info:
        transcriber.transcribe(URL)
    _check_failure(info.value, message)


@pytest.mark.parametrize(("error", "status"), ERRORS)
def test_futures_error(aiml: FakeAIML, error: Any, status: str) -> None:
    message = _failed_polls(aiml, error, status)
    with make_transcriber(aiml) as transcriber:
        future = transcriber.transcribe_async(URL)
        with pytest.raises(TranscriptionError) as info:
            future.result(timeout=10)
    _check_failure(info.value, message)


@pytest.mark.parametrize(("error", "status"), ERRORS)
async def test_asyncio_error(aiml: FakeAIML, error: Any, status: str) -> None:
    message = _failed_polls(aiml, error, status)
    async with make_async_transcriber(aiml) as transcriber:
        with pytest.raises(TranscriptionError) as info:
            await transcriber.transcribe(URL)
    _check_failure(info.value, message)


def test_wait_returns_failed_job_without_raising(aiml: FakeAIML) -> None:
    _failed_polls(aiml, "nope", "failed")
    with make_transcriber(aiml) as transcriber:
        job = transcriber.wait_for_completion(JOB_ID)
    assert (job.status, job.error) == (TranscriptStatus.error, "nope")


def test_404_says_results_expire_after_an_hour(aiml: FakeAIML) -> None:
    aiml.get_status = 404
    with make_transcriber(aiml) as transcriber:
        with pytest.raises(NotFoundError, match="1 hour") as info:
            transcriber.get_transcript("old-id")
        assert info.value.status_code == 404
        assert "old-id" in str(info.value)
        with pytest.raises(NotFoundError, match="1 hour"):
            transcriber.wait_for_completion("old-id")
    assert len(aiml.gets) == 2  # a 404 is an answer: not retried


async def test_async_404(aiml: FakeAIML) -> None:
    aiml.get_status = 404
    async with make_async_transcriber(aiml) as transcriber:
        with pytest.raises(NotFoundError, match="1 hour"):
            await transcriber.get_transcript("old-id")


# --- what the API lacks ----------------------------------------------------------------------------


def test_unsupported_operations(aiml: FakeAIML, tmp_path: Path) -> None:
    with make_transcriber(aiml) as transcriber:
        with pytest.raises(NotSupportedError, match="delete"):
            transcriber.delete_transcript(JOB_ID)
        with pytest.raises(NotSupportedError, match="list"):
            transcriber.list_transcripts()
        with pytest.raises(NotSupportedError, match="upload"):
            transcriber.upload_file(b"abc")
        with pytest.raises(NotSupportedError, match="redacted"):
            transcriber.get_redacted_audio_url(JOB_ID)
        with pytest.raises(NotSupportedError, match="LeMUR"):
            transcriber.lemur.task("Summarize", transcript_ids=[JOB_ID])
    assert aiml.requests == []


async def test_async_unsupported_operations(aiml: FakeAIML) -> None:
    async with make_async_transcriber(aiml) as transcriber:
        with pytest.raises(NotSupportedError):
            await transcriber.delete_transcript(JOB_ID)
        with pytest.raises(NotSupportedError):
            await transcriber.list_transcripts()
    assert aiml.requests == []


def test_local_text_features_from_deepgram_result(aiml: FakeAIML) -> None:
    aiml.polls = [completed(deepgram_result())]
    with make_transcriber(aiml) as transcriber:
        sentences = transcriber.get_sentences(JOB_ID)
        paragraphs = transcriber.get_paragraphs(JOB_ID)
        srt = transcriber.export_subtitles_srt(JOB_ID)
        vtt = transcriber.export_subtitles_vtt(JOB_ID, chars_per_caption=8)
        found = transcriber.word_search(JOB_ID, ["how are", "THANKS", "absent"])
    assert sentences.id == JOB_ID
    assert [(s.text, s.start, s.end, s.speaker) for s in sentences.sentences] == [
        ("Hello world.", 100, 900, "A"),
        ("How are you?", 1200, 1800, "B"),
        ("Fine, thanks.", 4000, 4800, "A"),
    ]
    assert sentences.audio_duration == 5.25
    assert [p.text for p in paragraphs.paragraphs] == [s.text for s in sentences.sentences]
    assert srt == (
        "1\n00:00:00,100 --> 00:00:00,900\nHello world.\n\n"
        "2\n00:00:01,200 --> 00:00:01,800\nHow are you?\n\n"
        "3\n00:00:04,000 --> 00:00:04,800\nFine, thanks.\n"
    )
    assert vtt.startswith("WEBVTT\n\n00:00.100 --> 00:00.420\nHello\n\n")
    assert "00:01.200 --> 00:01.520\nHow are\n\n" in vtt
    assert [(m.text, m.count, m.timestamps, m.indexes) for m in found.matches] == [
        ("how are", 1, [[1200, 1520]], [2]),
        ("THANKS", 1, [[4350, 4800]], [6]),
        ("absent", 0, [], []),
    ]
    assert found.total_count == 2
    # Each local feature fetched the transcript once; nothing else was asked of the API.
    assert {r.url.path for r in aiml.requests} == {f"/v1/stt/{JOB_ID}"}


async def test_async_local_text_features(aiml: FakeAIML) -> None:
    aiml.polls = [completed(deepgram_result())]
    async with make_async_transcriber(aiml) as transcriber:
        sentences = await transcriber.get_sentences(JOB_ID)
        srt = await transcriber.export_subtitles_srt(JOB_ID, chars_per_caption=5)
        found = await transcriber.word_search(JOB_ID, "world")
    assert len(sentences.sentences) == 3
    assert srt.split("\n\n")[0] == "1\n00:00:00,100 --> 00:00:00,420\nHello"
    assert found.matches[0].indexes == [1]


def test_text_only_model_cannot_make_subtitles(aiml: FakeAIML) -> None:
    aiml.polls = [load("get.completed.mai-transcribe-1.5.docs.json")]
    with make_transcriber(aiml, model="microsoft/mai-transcribe-1.5") as transcriber:
        with pytest.raises(NotSupportedError, match="word timings"):
            transcriber.export_subtitles_srt(JOB_ID)
        with pytest.raises(NotSupportedError, match="word timings"):
            transcriber.get_sentences(JOB_ID)


def test_local_features_need_a_completed_job(aiml: FakeAIML) -> None:
    aiml.polls = [pending("generating")]
    with (
        make_transcriber(aiml) as transcriber,
        pytest.raises(InvalidInputError, match="not completed"),
    ):
        transcriber.get_paragraphs(JOB_ID)


# --- the same script against both providers ----------------------------------------------------------


def _load_example() -> Any:
    path = Path(__file__).resolve().parents[2] / "examples" / "switch_provider.py"
    spec = importlib.util.spec_from_file_location("switch_provider_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assemblyai_transcript() -> dict[str, Any]:
    """What AssemblyAI returns for the audio of :func:`deepgram_result` (times in ms)."""
    unified = DeepgramResponse.from_json_data(deepgram_result()).to_transcript("aai-1")
    return {
        **unified.model_dump(mode="json", exclude_none=True),
        "status": "completed",
        "speaker_labels": True,
    }


def _fake_assemblyai(request: httpx.Request) -> httpx.Response:
    """A minimal AssemblyAI: create, get, and the server-side srt and word search."""
    transcript = Transcript.from_json_data(_assemblyai_transcript())
    path = request.url.path
    assert request.headers["authorization"] == "aai-key"
    if request.method == "POST" and path == "/v2/transcript":
        assert json.loads(request.content) == {
            "audio_url": URL,
            "speaker_labels": True,
            "punctuate": True,
            "format_text": True,
            "speech_models": ["universal-3-5-pro", "universal-2"],
        }
        return httpx.Response(200, json={"id": "aai-1", "status": "queued"})
    if path == "/v2/transcript/aai-1":
        return httpx.Response(200, json=_assemblyai_transcript())
    if path == "/v2/transcript/aai-1/srt":
        chars = int(request.url.params["chars_per_caption"])
        return httpx.Response(200, text=local_text.subtitles(transcript, "srt", chars))
    if path == "/v2/transcript/aai-1/word-search":
        words = request.url.params["words"].split(",")
        return httpx.Response(200, json=local_text.word_search(transcript, words).raw)
    return httpx.Response(404, json={"error": "Not found"})


def test_example_script_gives_the_same_report_on_both_providers(aiml: FakeAIML) -> None:
    example = _load_example()
    aiml.polls = [pending("queued"), completed(deepgram_result())]
    with make_transcriber(aiml, model="nova-3") as transcriber:
        via_aiml = example.report(transcriber, URL)
    with Transcriber(
        provider="assemblyai",
        api_key="aai-key",
        base_url="https://aai.test.local",
        http_client=httpx.Client(transport=httpx.MockTransport(_fake_assemblyai)),
        polling_interval=0.001,
    ) as transcriber:
        via_assemblyai = example.report(transcriber, URL)
    header_aiml, rest_aiml = via_aiml.split("\n", 1)
    header_aai, rest_aai = via_assemblyai.split("\n", 1)
    assert header_aiml == f"[aiml] transcript {JOB_ID}"
    assert header_aai == "[assemblyai] transcript aai-1"
    assert rest_aiml == rest_aai
    assert "  B    1.20s  How are you?" in rest_aiml
    assert "'you' x1 at (ms) [[1550, 1800]]" in rest_aiml
    # The mapped config reached the AIML wire.
    assert json.loads(aiml.creates[0].content) == {
        "model": "nova-3",
        "url": URL,
        "diarize": True,
        "utterances": True,
        "punctuate": True,
        "smart_format": True,
    }


def test_example_main_needs_keys_from_the_environment() -> None:
    from speechkit.errors import ConfigurationError

    example = _load_example()
    with pytest.raises(ConfigurationError, match="AIML_API_KEY"):
        example.main(["switch_provider.py", "aiml"])


def test_transcriber_repr_shows_model_not_key(aiml: FakeAIML) -> None:
    with make_transcriber(aiml, model="aai/universal") as transcriber:
        text = repr(transcriber)
    assert "aai/universal" in text
    assert API_KEY not in text


def test_async_transcriber_futures_parity_of_unified_view(aiml: FakeAIML) -> None:
    # Two clients over one fake: the blocking and async views of the same answer are equal.
    aiml.polls = [completed(deepgram_result())]
    with make_transcriber(aiml) as transcriber:
        blocking = transcriber.get_transcript(JOB_ID)

    import asyncio

    async def fetch() -> Transcript:
        async with make_async_transcriber(aiml) as client:
            return await client.get_transcript(JOB_ID)

    assert asyncio.run(fetch()).model_dump() == blocking.model_dump()


@pytest.mark.parametrize(
    ("status", "fixture", "error"),
    [
        (400, "error.400.body-validation.SYNTHETIC-from-docs-message.json", BadRequestError),
        (401, "error.401.SYNTHETIC-from-docs-message.json", AuthenticationError),
    ],
)
def test_create_errors_carry_aimls_message(
    aiml: FakeAIML, status: int, fixture: str, error: type[APIStatusError]
) -> None:
    aiml.create_status = status
    aiml.create_body = load(fixture)
    with make_transcriber(aiml) as transcriber, pytest.raises(error) as info:
        transcriber.transcribe(URL)
    assert info.value.status_code == status
    assert load(fixture)["message"] in str(info.value)
    assert len(aiml.creates) == 1  # a create is never sent twice after a 4xx
