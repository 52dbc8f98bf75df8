"""AIMLProvider as a pure adapter: configuration, option mapping and validation, requests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from speechkit import TranscriptionConfig
from speechkit._core.audio_input import LocalAudio, RemoteAudio
from speechkit._core.flow import status_error
from speechkit._core.http import BytesBody, Response
from speechkit.errors import (
    APIError,
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    NotSupportedError,
    RateLimitError,
)
from speechkit.providers import JobState, resolve_provider
from speechkit.providers.aiml import AIML_BASE_URL, KNOWN_MODELS, AIMLProvider
from tests.aiml.conftest import load

URL = "https://example.test/a.mp3"


def provider(model: str = "nova-3", **kwargs: Any) -> AIMLProvider:
    return AIMLProvider(api_key="secret-key", model=model, **kwargs)


def body(p: AIMLProvider, config: TranscriptionConfig | None = None) -> dict[str, Any]:
    request = p.build_create(RemoteAudio(URL), config)
    assert isinstance(request.json, dict)
    return request.json


# --- configuration -------------------------------------------------------------------------------


def test_key_from_argument_is_sent_as_bearer() -> None:
    p = provider()
    assert p.auth_headers() == {"Authorization": "Bearer secret-key"}
    assert "secret-key" not in repr(p)
    assert p.safe_repr_fields() == {"name": "aiml", "base_url": AIML_BASE_URL, "model": "nova-3"}


@pytest.mark.parametrize("env", ["AIML_API_KEY", "AIMLAPI_API_KEY"])
def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv(env, " env-key ")
    assert AIMLProvider(model="nova-3").auth_headers()["Authorization"] == "Bearer env-key"


def test_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIML_API_KEY", "env-key")
    assert provider().auth_headers()["Authorization"] == "Bearer secret-key"


def test_missing_key_names_both_ways() -> None:
    with pytest.raises(ConfigurationError) as info:
        AIMLProvider(model="nova-3")
    message = str(info.value)
    assert "api_key=" in message
    assert "AIML_API_KEY" in message
    assert "AIMLAPI_API_KEY" in message


def test_base_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert provider().base_url == "https://api.aimlapi.com/v1"
    monkeypatch.setenv("AIMLAPI_API_BASE", "https://second.test/v1/")
    assert provider().base_url == "https://second.test/v1"
    monkeypatch.setenv("AIML_API_BASE", "https://first.test/v1")
    assert provider().base_url == "https://first.test/v1"
    assert provider(base_url="http://127.0.0.1:8080/v1").base_url == "http://127.0.0.1:8080/v1"
    # A bare origin gets the /v1 the paths are relative to.
    assert provider(base_url="http://127.0.0.1:8080").base_url == "http://127.0.0.1:8080/v1"


def test_bad_base_url() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        provider(base_url="ftp://x")


@pytest.mark.parametrize("model", [None, "", "   "])
def test_model_is_required_and_known_ones_are_listed(model: str | None) -> None:
    with pytest.raises(InvalidInputError) as info:
        AIMLProvider(api_key="k", model=model)
    assert "#g1_whisper-large" in str(info.value)
    assert "aai/universal" in str(info.value)


def test_unknown_model_passes_through() -> None:
    p = provider("nova-4-future")
    assert body(p, TranscriptionConfig(extra_params={"smart_format": True, "brand_new": "x"})) == {
        "model": "nova-4-future",
        "url": URL,
        "smart_format": True,
        "brand_new": "x",
    }


def test_resolve_provider_builds_aiml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIML_API_KEY", "k")
    p, server = resolve_provider("aiml", api_key=None, base_url=None, model="#g1_whisper-large")
    assert isinstance(p, AIMLProvider)
    assert server is None
    assert (p.model, p.uploads_local_audio, p.name) == ("#g1_whisper-large", False, "aiml")


def test_known_models_cover_protocols() -> None:
    for model in ("#g1_nova-2-meeting", "nova-3-medical", "aai/slam-1", "whisper-tiny"):
        assert model in KNOWN_MODELS
    assert provider("openai/gpt-4o-mini-transcribe").file_field == "file"
    assert provider("microsoft/mai-transcribe-1.5").file_field == "audio"
    assert provider("#g1_whisper-large").file_field == "audio"


# --- TranscriptionConfig mapping ------------------------------------------------------------------


def test_deepgram_style_mapping() -> None:
    config = TranscriptionConfig(
        language_code="en_us",
        language_detection=True,
        speaker_labels=True,
        punctuate=True,
        format_text=True,
        disfluencies=False,
        filter_profanity=True,
        multichannel=True,
        summarization=True,
    )
    assert body(provider("#g1_nova-2-general"), config) == {
        "model": "#g1_nova-2-general",
        "url": URL,
        "language": "en-US",
        "detect_language": True,
        "diarize": True,
        "utterances": True,
        "punctuate": True,
        "smart_format": True,
        "filler_words": False,
        "profanity_filter": True,
        "multi_channel": True,
        "summarize": "v2",
    }


def test_nova3_mapping_differences() -> None:
    config = TranscriptionConfig(
        multichannel=True, keyterms_prompt=["Speechkit"], language_code="en_uk"
    )
    assert body(provider("nova-3"), config) == {
        "model": "nova-3",
        "url": URL,
        "multichannel": True,
        "keyterm": ["Speechkit"],
        "language": "en-GB",
    }


def test_extra_config_fields_reach_the_wire() -> None:
    config = TranscriptionConfig(extra_params={"smart_format": True, "paragraphs": True})
    config.extra_params["utt_split"] = 0.8
    assert body(provider("nova-3"), config) == {
        "model": "nova-3",
        "url": URL,
        "smart_format": True,
        "paragraphs": True,
        "utt_split": 0.8,
    }


def test_provider_options_are_defaults_that_config_overrides() -> None:
    p = provider("nova-3", options={"smart_format": False, "numerals": True})
    assert body(p) == {"model": "nova-3", "url": URL, "smart_format": False, "numerals": True}
    # Mapped config fields beat provider options; config extras beat both.
    config = TranscriptionConfig(format_text=True, extra_params={"numerals": False})
    assert body(p, config) == {
        "model": "nova-3",
        "url": URL,
        "smart_format": True,
        "numerals": False,
    }


def test_unmappable_config_option_is_named() -> None:
    config = TranscriptionConfig(speaker_labels=True, speakers_expected=2)
    with pytest.raises(InvalidInputError, match="speakers_expected") as info:
        body(provider("nova-3"), config)
    assert "nova-3" in str(info.value)


def test_speech_models_points_to_model_argument() -> None:
    with pytest.raises(InvalidInputError, match="model="):
        body(provider("aai/universal"), TranscriptionConfig(speech_models=["universal"]))


def test_aai_models_take_assemblyai_options() -> None:
    config = TranscriptionConfig(
        speaker_labels=True,
        speakers_expected=2,
        language_code="en_us",
        boost_param="high",
        word_boost=["aiml"],
    )
    config.set_custom_spelling({"AIML": ["aim el"]})
    assert body(provider("aai/universal"), config) == {
        "model": "aai/universal",
        "url": URL,
        "speaker_labels": True,
        "speakers_expected": 2,
        "language_code": "en_us",
        "boost_param": "high",
        "word_boost": ["aiml"],
        "custom_spelling": [{"from": ["aim el"], "to": "AIML"}],
    }


def test_aai_rejects_webhooks() -> None:
    with pytest.raises(InvalidInputError, match="webhook_url"):
        body(provider("aai/slam-1"), TranscriptionConfig(webhook_url="https://hook.test"))


def test_text_model_mapping() -> None:
    config = TranscriptionConfig(
        language_code="en_us", prompt="Names: Ada.", temperature=0.2, punctuate=True
    )
    assert body(provider("openai/gpt-4o-transcribe"), config) == {
        "model": "openai/gpt-4o-transcribe",
        "url": URL,
        "language": "en",
        "prompt": "Names: Ada.",
        "temperature": 0.2,
    }
    with pytest.raises(InvalidInputError, match="punctuate"):
        body(provider("openai/gpt-4o-transcribe"), TranscriptionConfig(punctuate=False))
    with pytest.raises(InvalidInputError, match="speaker_labels"):
        body(provider("microsoft/mai-transcribe-1.5"), TranscriptionConfig(speaker_labels=True))
    assert body(
        provider("microsoft/mai-transcribe-1.5"), TranscriptionConfig(extra_params={"top_p": 0.5})
    ) == {
        "model": "microsoft/mai-transcribe-1.5",
        "url": URL,
        "top_p": 0.5,
    }


# --- validation where the specs say --------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options", "named"),
    [
        ("nova-3", {"custom_intent_mode": "loose"}, "strict, extended"),
        ("#g1_whisper-large", {"custom_topic_mode": "x"}, "custom_topic_mode"),
        ("nova-3", {"encoding": "mp3"}, "encoding"),
        ("nova-3", {"diarize": "yes"}, "a boolean"),
        ("#g1_whisper-large", {"tag": "one"}, "a list of strings"),
        ("openai/gpt-4o-transcribe", {"temperature": 1.5}, "<= 1"),
        ("microsoft/mai-transcribe-1.5", {"max_tokens": 0}, ">= 1"),
        ("aai/universal", {"speech_threshold": 2}, "speech_threshold"),
        ("aai/universal", {"redact_pii_sub": "stars"}, "entity_name, hash"),
        ("nova-3", {"url": "https://other"}, "set by speechkit"),
    ],
)
def test_invalid_options_are_named(model: str, options: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        provider(model, options=options)
    # The same values through a per-job config (extra_params skips the config's own checks).
    config = TranscriptionConfig()
    config.extra_params.update(options)
    with pytest.raises(InvalidInputError, match=named):
        body(provider(model), config)


def test_valid_spec_unions() -> None:
    p = provider("nova-3")
    config = TranscriptionConfig(
        extra_params={"detect_language": ["en", "de"], "summarize": True, "custom_intent": "buy"}
    )
    assert body(p, config)["detect_language"] == ["en", "de"]
    assert provider("#g1_whisper-large", options={"utt_split": 1}).options == {"utt_split": 1}


# --- requests -------------------------------------------------------------------------------------


def test_multipart_create_fields() -> None:
    audio = LocalAudio(BytesBody(b"RIFF"), "a.wav", "audio/wav")
    config = TranscriptionConfig(
        speaker_labels=True,
        extra_params={"tag": ["x", "y"], "utt_split": 0.5, "custom_topic": ["a"]},
    )
    request = provider("#g1_nova-2-meeting").build_create(audio, config)
    assert (request.method, request.path, request.creates_job, request.json) == (
        "POST",
        "/stt/create",
        True,
        None,
    )
    assert dict(request.form or {}) == {
        "model": "#g1_nova-2-meeting",
        "diarize": "true",
        "utterances": "true",
        "tag": ["x", "y"],
        "utt_split": "0.5",
        "custom_topic": ["a"],
    }
    [part] = request.files
    assert (part.field, part.filename, part.content_type) == ("audio", "a.wav", "audio/wav")
    assert part.body == BytesBody(b"RIFF")


def test_multipart_objects_are_json_text() -> None:
    audio = LocalAudio(BytesBody(b"x"), "a.mp3", "audio/mpeg")
    config = TranscriptionConfig().set_custom_spelling({"AIML": "aim el"})
    request = provider("aai/universal").build_create(audio, config)
    form = dict(request.form or {})
    assert json.loads(form["custom_spelling"]) == [{"from": ["aim el"], "to": "AIML"}]


def test_get_request_and_404() -> None:
    p = provider()
    request = p.build_get("abc-1")
    assert (request.method, request.path) == ("GET", "/stt/abc-1")
    with pytest.raises(InvalidInputError):
        p.build_get("../x/y")
    answer = Response(404, {"x-request-id": "r1"}, b'{"message":"Not found","statusCode":404}')
    plain = status_error(request, answer, now=0.0)
    mapped = p.map_status_error(plain, transcript_id="abc-1")
    assert isinstance(mapped, NotFoundError)
    assert "1 hour" in str(mapped)
    assert mapped.request == request  # a copy with secrets masked (none here)
    info = pytest.ExceptionInfo.from_exc_info((type(mapped), mapped, None))
    assert info.value.status_code == 404
    assert info.value.request_id == "r1"
    assert "abc-1" in str(info.value)


def test_job_state() -> None:
    p = provider()
    parse = p.parse_transcript
    assert p.job_state(parse(Response(200, {}, b'{"generation_id":"g"}'))) is JobState.PENDING
    running = Response(200, {}, b'{"generation_id":"g","status":"generating"}')
    assert p.job_state(parse(running)) is JobState.PENDING
    failed = Response(200, {}, b'{"generation_id":"g","status":"failed","error":"x"}')
    assert p.job_state(parse(failed)) is JobState.FAILED
    assert p.job_error(parse(failed)) == "x"


def test_unsupported_operations_and_local_fallbacks() -> None:
    p = provider()
    calls: list[Callable[[], object]] = [
        lambda: p.build_delete("a"),
        lambda: p.build_list({}),
        lambda: p.build_list_page("https://x"),
        lambda: p.build_upload(BytesBody(b"x")),
        lambda: p.build_redacted_audio("a"),
        lambda: p.build_lemur("POST", "/lemur/v3/generate/task"),
    ]
    for call in calls:
        with pytest.raises(NotSupportedError):
            call()
    assert p.build_subtitles("a", "srt", None) is None
    assert p.build_sentences("a") is None
    assert p.build_paragraphs("a") is None
    assert p.build_word_search("a", ["x"]) is None


def test_answers_that_are_not_jobs() -> None:
    p = provider()
    with pytest.raises(APIError, match="generation_id"):
        p.parse_transcript(Response(201, {}, b'{"ok": true}'))
    with pytest.raises(APIError, match="not JSON"):
        p.parse_transcript(Response(200, {}, b"<html>gateway</html>"), transcript_id="g")
    # An AIML error body that arrived with a 200 status is an error, not a job to poll forever.
    rate = Response(200, {}, json.dumps(load("error.general.docs.json")).encode())
    with pytest.raises(RateLimitError, match="Free-tier limit") as info:
        p.parse_transcript(rate, transcript_id="g")
    assert info.value.request_id == "798b860e-98c2-4e8e-8c50-550bcfc2eccc"
    gone = Response(200, {}, b'{"message": "Not found", "statusCode": "404"}')
    with pytest.raises(NotFoundError, match="1 hour"):
        p.parse_transcript(gone, transcript_id="g")


def test_explicit_null_from_extra_params() -> None:
    config = TranscriptionConfig(speaker_labels=True)
    config.extra_params["utterances"] = None
    assert body(provider(), config) == {
        "model": "nova-3",
        "url": URL,
        "diarize": True,
        "utterances": None,
    }
    audio = LocalAudio(BytesBody(b"x"), "a.wav", "audio/wav")
    form = dict(provider().build_create(audio, config).form or {})
    assert form == {"model": "nova-3", "diarize": "true"}
