"""Every AIML example in tests/specs/aiml (copied from the AIML docs) parses; the result families convert to Transcript."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from speechkit.models import Transcript, TranscriptStatus
from speechkit.models.aiml import (
    AIMLErrorBody,
    AIMLErrorDetail,
    AIMLTextResult,
    AIMLTranscriptionResponse,
    DeepgramErrorBody,
    DeepgramParagraphs,
    DeepgramResponse,
    speaker_label,
    transcript_status,
)
from tests.aiml.conftest import AIML_SPECS, JOB_ID, deepgram_result, load

# --- every example file ------------------------------------------------------------------------


def _create_body(data: Any) -> None:
    # A request body: the provider builds exactly this from the model, URL and options (each
    # typed by the model's spec, so they are validated on the way).
    from speechkit._core.audio_input import RemoteAudio
    from speechkit.providers.aiml import AIMLProvider

    options = {k: v for k, v in data.items() if k not in ("model", "url")}
    provider = AIMLProvider(api_key="k", model=data["model"], options=options)
    request = provider.build_create(RemoteAudio(data["url"]), None)
    assert (request.method, request.path, request.creates_job) == ("POST", "/stt/create", True)
    assert request.json == data


def _created(job_id: str, status: TranscriptStatus) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        response = AIMLTranscriptionResponse.from_json_data(data)
        assert response.job_id == job_id
        transcript = response.to_transcript()
        assert (transcript.id, transcript.status) == (job_id, status)
        assert transcript.provider == "aiml"

    return check


def _pending(raw: str, status: TranscriptStatus) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        response = AIMLTranscriptionResponse.from_json_data(data)
        assert response.status == raw
        assert response.payload is None
        transcript = response.to_transcript()
        assert transcript.id == JOB_ID
        assert transcript.status == status
        assert transcript.text is None

    return check


def _get_error(data: Any) -> None:
    response = AIMLTranscriptionResponse.from_json_data(data)
    assert isinstance(response.error, AIMLErrorDetail)
    assert response.error.name == "Error"
    transcript = response.to_transcript()
    assert transcript.status == TranscriptStatus.error
    assert transcript.error == "Something wrong with the server. Please, try again later."


def _get_deepgram(data: Any) -> None:
    response = AIMLTranscriptionResponse.from_json_data(data)
    assert response.family == "deepgram"
    assert isinstance(response.payload, DeepgramResponse)
    assert response.payload.metadata is not None
    assert response.payload.metadata.model_info is not None
    assert response.payload.metadata.model_info["nova-3"].version == "2024-12-18.0"
    transcript = response.to_transcript("job-1")
    assert transcript.id == "job-1"
    assert transcript.text is not None
    assert transcript.text.startswith("He doesn't belong to you, and I don't see")
    assert transcript.audio_duration == 11.4
    assert transcript.confidence == 0.9941406
    assert transcript.words is not None
    [word] = transcript.words
    assert (word.text, word.start, word.end, word.speaker) == ("He", 320, 400, "A")


def _get_aai(data: Any) -> None:
    response = AIMLTranscriptionResponse.from_json_data(data)
    assert response.family == "assemblyai"
    transcript = response.to_transcript()
    # The unified id is AIML's job id (what GET /stt/{id} takes); AssemblyAI's stays reachable.
    assert transcript.id == "0cff4e24-c1ba-419d-8b62-46f342985881"
    assert response.payload.id == "04d07a4c-9238-4860-ac6f-534d58fdaf9a"
    assert transcript.status == TranscriptStatus.completed
    assert transcript.words is not None
    assert len(transcript.words) == 33
    assert (transcript.words[4].text, transcript.words[4].start, transcript.words[4].end) == (
        "you.",
        1560,
        1840,
    )
    assert transcript.audio_duration == 11
    assert transcript.language_code == "en_us"
    assert transcript.provider == "aiml"
    assert transcript.provider_response is response
    assert transcript.model_extra is not None
    assert transcript.model_extra["project_id"] == 675898


def _get_text(text_start: str, check_usage: Callable[[Any], bool]) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        response = AIMLTranscriptionResponse.from_json_data(data)
        assert response.family == "text"
        assert isinstance(response.payload, AIMLTextResult)
        assert check_usage(response.payload.usage)
        transcript = response.to_transcript(JOB_ID)
        assert transcript.text is not None
        assert transcript.text.startswith(text_start)
        assert transcript.words is None

    return check


def _result_aai(data: Any) -> None:
    transcript = Transcript.from_json_data(data)
    assert transcript.id == "04d07a4c-9238-4860-ac6f-534d58fdaf9a"
    assert transcript.words is not None
    assert transcript.words[-1].text == "fired."


def _error_body(status: int, message_start: str, request_id: str) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        body = AIMLErrorBody.from_json_data(data)
        assert body.status == status
        assert body.detail is not None
        assert body.detail.startswith(message_start)
        assert body.request_id == request_id

    return check


def _deepgram_errors(data: Any) -> None:
    codes = {}
    for status, body in data.items():
        parsed = DeepgramErrorBody.from_json_data(body)
        codes[int(status)] = parsed.err_code
        assert parsed.err_msg
    assert codes == {
        400: "INVALID_QUERY_PARAMETER",
        401: "INVALID_AUTH",
        402: "ASR_PAYMENT_REQUIRED",
        403: "INSUFFICIENT_PERMISSIONS",
    }


ZERO_ID = "00000000-0000-0000-0000-000000000000"

CHECKS: dict[str, Callable[[Any], None]] = {
    "create.request.url.json": _create_body,
    "create.request.url.with-options.json": _create_body,
    "create.response.json": _created(JOB_ID, TranscriptStatus.queued),
    "create.response.with-status.gpt-4o-transcribe.docs.json": _created(
        "RlLz0hRdAs9voL5Qi1Pzr", TranscriptStatus.queued
    ),
    "deepgram.error.examples.json": _deepgram_errors,
    "error.400.body-validation.SYNTHETIC-from-docs-message.json": _error_body(
        400, "Body validation error!", ZERO_ID
    ),
    "error.401.SYNTHETIC-from-docs-message.json": _error_body(
        401, "This request requires a valid API key", ZERO_ID
    ),
    "error.general.docs.json": _error_body(
        429, "Free-tier limit", "798b860e-98c2-4e8e-8c50-550bcfc2eccc"
    ),
    "get.completed.aai-universal.docs.json": _get_aai,
    "get.completed.deepgram.nova-3.docs.json": _get_deepgram,
    "get.completed.gpt-4o-transcribe.docs.json": _get_text(
        "He doesn't belong to you, and I don't see",
        lambda usage: usage.total_tokens == 135 and usage.input_token_details.audio_tokens == 100,
    ),
    "get.completed.mai-transcribe-1.5.docs.json": _get_text(
        "He doesn't belong to you, and I don't see",
        lambda usage: usage.seconds == 11 and usage.cost == 0.0011,
    ),
    "get.error.SYNTHETIC.json": _get_error,
    "get.pending.active.SYNTHETIC.json": _pending("active", TranscriptStatus.processing),
    "get.pending.generating.SYNTHETIC.json": _pending("generating", TranscriptStatus.processing),
    "get.pending.queued.SYNTHETIC.json": _pending("queued", TranscriptStatus.queued),
    "get.pending.waiting.SYNTHETIC.json": _pending("waiting", TranscriptStatus.queued),
    "result.aai-universal.docs.json": _result_aai,
}


def test_every_example_file_has_a_check() -> None:
    assert sorted(p.name for p in AIML_SPECS.glob("*.json")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_parses(name: str) -> None:
    CHECKS[name](load(name))


# --- leniency ------------------------------------------------------------------------------------


def test_output_and_id_spelling_of_universal_stt_fetch() -> None:
    data = {
        "id": "abc",
        "status": "completed",
        "output": {"text": "hi", "usage": {}},
        "error": None,
    }
    response = AIMLTranscriptionResponse.from_json_data(data)
    assert response.job_id == "abc"
    transcript = response.to_transcript()
    assert (transcript.id, transcript.text, transcript.status) == ("abc", "hi", "completed")


def test_error_as_string_and_unknown_fields_are_kept() -> None:
    data = {"generation_id": "g", "status": "failed", "error": "bad audio", "hint": {"x": 1}}
    response = AIMLTranscriptionResponse.from_json_data(data)
    assert response.error_message == "bad audio"
    assert response.model_extra == {"hint": {"x": 1}}
    assert response.raw == data
    assert response.to_transcript().status == TranscriptStatus.error


def test_non_string_status_is_kept_as_text() -> None:
    response = AIMLTranscriptionResponse.from_json_data({"generation_id": "g", "status": 3})
    assert response.status == "3"
    assert response.to_transcript().status == TranscriptStatus.processing


def test_aiml_schema_shapes_are_accepted_too() -> None:
    # The AIML DTO types results.channels as one object and paragraphs as a list.
    data = {
        "results": {
            "channels": {
                "alternatives": [
                    {
                        "transcript": "hi",
                        "confidence": 0.5,
                        "words": [{"word": "hi", "start": 0.25, "end": 0.5, "confidence": 0.5}],
                        "paragraphs": [{"transcript": "hi", "paragraphs": {"sentences": []}}],
                    }
                ]
            }
        }
    }
    result = DeepgramResponse.from_json_data(data)
    assert result.results is not None
    assert len(result.results.channels) == 1
    assert isinstance(result.results.channels[0].alternatives[0].paragraphs, list)
    real = {
        "transcript": "hi",
        "paragraphs": [{"sentences": [{"text": "hi", "start": 0.25, "end": 0.5}]}],
    }
    alt = {"transcript": "hi", "words": [], "paragraphs": real}
    parsed = DeepgramResponse.from_json_data({"results": {"channels": [{"alternatives": [alt]}]}})
    assert parsed.results is not None
    paragraphs = parsed.results.channels[0].alternatives[0].paragraphs
    assert isinstance(paragraphs, DeepgramParagraphs)
    assert paragraphs.paragraphs[0].sentences[0].end == 0.5
    words = result.to_transcript("j").words
    assert words is not None
    assert (words[0].start, words[0].end) == (250, 500)


def test_openai_style_error_body() -> None:
    body = AIMLErrorBody.from_json_data({"error": {"message": "quota", "type": "insufficient"}})
    assert body.detail == "quota"
    assert body.status is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("completed", "completed"),
        ("COMPLETED ", "completed"),
        ("error", "error"),
        ("failed", "error"),
        ("cancelled", "error"),
        ("canceled", "error"),
        ("timeout", "error"),
        ("waiting", "queued"),
        ("queued", "queued"),
        ("pending", "queued"),
        ("active", "processing"),
        ("generating", "processing"),
        ("processing", "processing"),
        ("warming-up", "processing"),
    ],
)
def test_status_mapping(raw: str, expected: str) -> None:
    assert transcript_status(raw) == expected


def test_missing_status_depends_on_result() -> None:
    assert transcript_status(None) == TranscriptStatus.queued
    assert transcript_status(None, has_result=True) == TranscriptStatus.completed


@pytest.mark.parametrize(
    ("index", "label"), [(0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (27, "AB")]
)
def test_speaker_labels(index: int, label: str) -> None:
    assert speaker_label(index) == label


# --- Deepgram -> Transcript ----------------------------------------------------------------------


def test_deepgram_conversion_units_speakers_and_runs() -> None:
    transcript = DeepgramResponse.from_json_data(deepgram_result()).to_transcript("job")
    assert transcript.text == "Hello world. How are you? Fine, thanks."
    assert transcript.words is not None
    assert [w.text for w in transcript.words][:2] == ["Hello", "world."]  # punctuated_word
    assert [(w.start, w.end) for w in transcript.words][:2] == [(100, 420), (480, 900)]
    assert all(isinstance(w.start, int) for w in transcript.words)
    assert transcript.speakers == ["A", "B"]
    assert transcript.utterances is not None
    assert [(u.speaker, u.text, u.start, u.end) for u in transcript.utterances] == [
        ("A", "Hello world.", 100, 900),
        ("B", "How are you?", 1200, 1800),
        ("A", "Fine, thanks.", 4000, 4800),
    ]
    assert transcript.language_code == "en"
    assert transcript.language == "en"
    assert transcript.language_confidence == 0.99
    assert transcript.audio_duration == 5.25
    assert transcript.confidence == 0.97
    assert transcript.status == TranscriptStatus.completed


def test_deepgram_served_utterances_win() -> None:
    data = deepgram_result()
    data["results"]["utterances"] = [
        {
            "start": 0.1,
            "end": 1.8,
            "confidence": 0.9,
            "channel": 0,
            "transcript": "Hello world. How are you?",
            "speaker": 2,
            "id": "u1",
            "words": [{"word": "hello", "start": 0.1, "end": 0.42, "confidence": 0.9}],
        }
    ]
    transcript = DeepgramResponse.from_json_data(data).to_transcript("job")
    assert transcript.utterances is not None
    [utterance] = transcript.utterances
    assert (utterance.speaker, utterance.start, utterance.end) == ("C", 100, 1800)
    assert utterance.channel is None
    assert utterance.words[0].text == "hello"


def test_deepgram_without_speakers_has_no_utterances() -> None:
    data = deepgram_result()
    for word in data["results"]["channels"][0]["alternatives"][0]["words"]:
        del word["speaker"]
    transcript = DeepgramResponse.from_json_data(data).to_transcript("job")
    assert transcript.utterances is None
    assert transcript.speakers == []


def test_deepgram_multichannel() -> None:
    left = {
        "transcript": "one",
        "confidence": 0.8,
        "words": [{"word": "one", "start": 0.0, "end": 0.5}],
    }
    right = {
        "transcript": "two",
        "confidence": 0.6,
        "words": [{"word": "two", "start": 0.2, "end": 0.7}],
    }
    data = {
        "metadata": {"duration": 1.0, "channels": 2},
        "results": {"channels": [{"alternatives": [left]}, {"alternatives": [right]}]},
    }
    transcript = DeepgramResponse.from_json_data(data).to_transcript("job")
    assert transcript.text == "one two"
    assert transcript.words is not None
    assert [(w.text, w.channel) for w in transcript.words] == [("one", "1"), ("two", "2")]
    assert transcript.audio_channels == 2
    assert transcript.multichannel is True
    assert transcript.confidence == pytest.approx(0.7)
    assert transcript.utterances is not None
    assert [u.channel for u in transcript.utterances] == ["1", "2"]


def test_deepgram_summary_maps_to_summary() -> None:
    data = deepgram_result()
    data["results"]["summary"] = {"result": "success", "short": "A greeting."}
    assert DeepgramResponse.from_json_data(data).to_transcript("j").summary == "A greeting."


def test_relayed_assemblyai_error_inside_completed_job() -> None:
    data = completed_aai({"id": "aai", "status": "error", "error": "Audio too short", "text": None})
    transcript = AIMLTranscriptionResponse.from_json_data(data).to_transcript()
    assert transcript.status == TranscriptStatus.error
    assert transcript.error == "Audio too short"
    assert transcript.id == "job"


def completed_aai(result: dict[str, Any]) -> dict[str, Any]:
    return {"generation_id": "job", "status": "completed", "result": result}


def test_completed_without_generation_id_uses_the_asked_id() -> None:
    response = AIMLTranscriptionResponse.from_json_data({"status": "completed", "result": {}})
    transcript = response.to_transcript("asked")
    assert transcript.id == "asked"
    with pytest.raises(ValueError, match="no generation_id"):
        response.to_transcript()
