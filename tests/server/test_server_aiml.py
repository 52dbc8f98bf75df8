"""AIML API speech-to-text (``/v1/stt/create`` + ``/v1/stt/{id}``) on the local server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from speechkit.server.runner import LocalServer

AUTH = {"Authorization": "Bearer test-key"}
ERROR_FIELDS = {"message", "path", "requestId", "statusCode", "timestamp"}


def poll(client: httpx.Client, generation_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/stt/{generation_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["generation_id"] == generation_id
        if body["status"] not in ("queued", "generating"):
            return body
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.fixture(scope="module")
def aiml(keyed_server: LocalServer) -> Any:
    with httpx.Client(base_url=keyed_server.base_url, headers=AUTH, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def audio_url(keyed_server: LocalServer, wav: Callable[..., bytes]) -> str:
    response = httpx.post(
        f"{keyed_server.base_url}/v2/upload",
        content=wav(2.0),
        headers={"Authorization": "test-key"},
    )
    return str(response.json()["upload_url"])


@pytest.mark.parametrize(
    "model", ["#g1_whisper-large", "#g1_nova-2-general", "nova-3", "whisper-base"]
)
def test_deepgram_family_json(aiml: httpx.Client, audio_url: str, model: str) -> None:
    created = aiml.post("/v1/stt/create", json={"model": model, "url": audio_url})
    assert created.status_code == 201
    assert set(created.json()) == {"generation_id"}
    body = poll(aiml, created.json()["generation_id"])
    assert body["status"] == "completed"
    result = body["result"]
    metadata = result["metadata"]
    for key in ("request_id", "sha256", "created", "duration", "channels", "models", "model_info"):
        assert key in metadata
    assert metadata["duration"] == pytest.approx(2.0)
    assert metadata["channels"] == 1
    assert metadata["models"][0] in metadata["model_info"]
    assert len(metadata["sha256"]) == 64
    alt = result["results"]["channels"][0]["alternatives"][0]
    assert 0 < alt["confidence"] <= 1
    first = alt["words"][0]
    assert first["word"] == "hello"
    assert first["punctuated_word"] == "Hello"
    assert isinstance(first["start"], float)
    assert first["end"] <= 2.0
    assert "speaker" not in first
    assert "paragraphs" not in alt
    if "whisper" in model:
        assert alt["transcript"] == "Hello world this is a test of the local server."
    else:
        assert alt["transcript"] == "hello world this is a test of the local server"


def test_deepgram_options(aiml: httpx.Client, audio_url: str) -> None:
    options = {
        "model": "#g1_nova-2-general",
        "url": audio_url,
        "punctuate": True,
        "smart_format": True,
        "diarize": True,
        "paragraphs": True,
        "utterances": True,
        "detect_language": True,
        "summarize": "v2",
    }
    body = poll(aiml, aiml.post("/v1/stt/create", json=options).json()["generation_id"])
    results = body["result"]["results"]
    channel = results["channels"][0]
    alt = channel["alternatives"][0]
    assert alt["transcript"] == "Hello world this is a test of the local server."
    assert {w["speaker"] for w in alt["words"]} == {0}
    paragraphs = alt["paragraphs"]
    assert paragraphs["transcript"].startswith("\n")
    para = paragraphs["paragraphs"][0]
    assert para["num_words"] == 10
    assert para["speaker"] == 0
    assert para["sentences"][0]["text"] == alt["transcript"]
    assert results["utterances"][0]["transcript"] == alt["transcript"]
    assert results["utterances"][0]["channel"] == 0
    assert channel["detected_language"] == "en"


def test_assemblyai_family(aiml: httpx.Client, audio_url: str) -> None:
    created = aiml.post(
        "/v1/stt/create",
        json={"model": "aai/universal", "url": audio_url, "speaker_labels": True},
    )
    assert created.status_code == 201
    body = poll(aiml, created.json()["generation_id"])
    result = body["result"]
    assert result["status"] == "completed"
    assert result["text"] == "Hello world this is a test of the local server."
    assert isinstance(result["words"][0]["start"], int)  # milliseconds
    assert result["words"][0]["speaker"] == "A"
    assert result["audio_url"] == audio_url
    bad = aiml.post(
        "/v1/stt/create", json={"model": "aai/slam-1", "url": audio_url, "punctuate": "x"}
    )
    assert bad.status_code == 400
    assert "punctuate" in bad.json()["details"]


def test_openai_and_microsoft_families(aiml: httpx.Client, audio_url: str) -> None:
    created = aiml.post(
        "/v1/stt/create", json={"model": "openai/gpt-4o-transcribe", "url": audio_url}
    )
    assert created.status_code == 201
    assert created.json()["status"] == "queued"
    result = poll(aiml, created.json()["generation_id"])["result"]
    assert result["text"] == "Hello world this is a test of the local server."
    usage = result["usage"]
    assert usage["type"] == "tokens"
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_token_details"]["audio_tokens"] == usage["input_tokens"]
    mai = aiml.post(
        "/v1/stt/create", json={"model": "microsoft/mai-transcribe-1.5", "url": audio_url}
    )
    result = poll(aiml, mai.json()["generation_id"])["result"]
    assert result["usage"] == {"seconds": 2, "cost": 0.0}


def test_multipart_audio_and_file_fields(aiml: httpx.Client, wav: Callable[..., bytes]) -> None:
    data = wav(1.0)
    created = aiml.post(
        "/v1/stt/create",
        data={"model": "#g1_whisper-large", "paragraphs": "true"},
        files={"audio": ("sample.wav", data, "audio/wav")},
    )
    assert created.status_code == 201, created.text
    result = poll(aiml, created.json()["generation_id"])["result"]
    alt = result["results"]["channels"][0]["alternatives"][0]
    assert alt["transcript"].startswith("Hello world")
    assert "paragraphs" in alt  # the text field "true" became a boolean
    gpt = aiml.post(
        "/v1/stt/create",
        data={"model": "openai/gpt-4o-mini-transcribe", "language": "en"},
        files={"file": ("sample.wav", data, "audio/wav")},
    )
    assert gpt.status_code == 201
    assert poll(aiml, gpt.json()["generation_id"])["result"]["text"].startswith("Hello")


def test_unreadable_audio_is_error_status(aiml: httpx.Client) -> None:
    created = aiml.post(
        "/v1/stt/create",
        data={"model": "nova-3"},
        files={"audio": ("notes.txt", b"definitely not audio", "text/plain")},
    )
    body = poll(aiml, created.json()["generation_id"])
    assert body["status"] == "error"
    assert body["error"]["name"] == "Error"
    assert "Transcoding failed" in body["error"]["message"]
    assert "result" not in body


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "http://x/a.wav"},
        {"model": "nova-9", "url": "http://x/a.wav"},
        {"model": "nova-3"},
        {"model": "nova-3", "url": 7},
    ],
)
def test_create_validation(aiml: httpx.Client, payload: dict[str, Any]) -> None:
    response = aiml.post("/v1/stt/create", json=payload)
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= ERROR_FIELDS
    assert body["message"] == "Body validation error!"
    assert body["statusCode"] == 400
    assert body["path"] == "/v1/stt/create"


def test_both_url_and_file_rejected(aiml: httpx.Client, wav: Callable[..., bytes]) -> None:
    response = aiml.post(
        "/v1/stt/create",
        data={"model": "nova-3", "url": "http://x/a.wav"},
        files={"audio": ("a.wav", wav(0.1), "audio/wav")},
    )
    assert response.status_code == 400


def test_auth_is_bearer(keyed_server: LocalServer, audio_url: str) -> None:
    base = keyed_server.base_url
    payload = {"model": "nova-3", "url": audio_url}
    for headers in ({}, {"Authorization": "test-key"}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(f"{base}/v1/stt/create", json=payload, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert set(body) >= ERROR_FIELDS
        assert body["statusCode"] == 401
        assert "valid API key" in body["message"]


def test_unknown_generation_404(aiml: httpx.Client) -> None:
    response = aiml.get("/v1/stt/0cff4e24-c1ba-419d-8b62-46f342985881")
    assert response.status_code == 404
    assert set(response.json()) >= ERROR_FIELDS


def test_results_expire(make_server: Callable[..., LocalServer], wav: Callable[..., bytes]) -> None:
    srv = make_server(aiml_retention=0.2)
    with httpx.Client(base_url=srv.base_url) as c:
        created = c.post(
            "/v1/stt/create",
            data={"model": "nova-3"},
            files={"audio": ("a.wav", wav(0.2), "audio/wav")},
        ).json()
        assert poll(c, created["generation_id"])["status"] == "completed"
        time.sleep(0.3)
        assert c.get(f"/v1/stt/{created['generation_id']}").status_code == 404
    assert srv.jobs_created == 1


def test_pending_statuses(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server(faults={"processing_delay": 0.3}, max_concurrent_jobs=1)
    with httpx.Client(base_url=srv.base_url) as c:
        ids = [
            c.post(
                "/v1/stt/create",
                data={"model": "nova-3"},
                files={"audio": ("a.wav", wav(0.2), "audio/wav")},
            ).json()["generation_id"]
            for _ in range(2)
        ]
        statuses: set[str] = set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            now = {c.get(f"/v1/stt/{i}").json()["status"] for i in ids}
            statuses |= now
            if now == {"completed"}:
                break
            time.sleep(0.02)
    assert {"queued", "generating", "completed"} <= statuses
