"""What the local server sends validates against the providers' published JSON schemas.

AssemblyAI's HEAD OpenAPI document (``tests/specs/assemblyai/spec/openapi.json``) for transcripts,
lists, sentences, paragraphs, word search, redacted audio and LeMUR; the Universal Streaming and
Universal-3 Pro AsyncAPI documents (JSON copies of ``usm-streaming*.yml``) for v3 messages; the
realtime AsyncAPI document (``asyncapi.json``) for v2 messages. Validation uses ``jsonschema``
(in the ``dev`` extra) with the spec's ``additionalProperties: false`` in force, so an off-spec
field or a ``null`` the spec does not allow fails the test.

OpenAPI's ``allOf`` of closed objects (LeMUR responses) is merged into one closed object before
validating: read literally, ``allOf`` of two objects with ``additionalProperties: false`` and
different properties accepts nothing at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from jsonschema import Draft202012Validator
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from speechkit.server.runner import LocalServer

SPEC = Path(__file__).resolve().parents[1] / "specs" / "assemblyai" / "spec"
TEXT = "my name is john smith call me at five five five one two three four on monday"


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((SPEC / name).read_text()))


OPENAPI = _load("openapi.json")
USM = _load("usm-streaming.json")
U3_PRO = _load("usm-streaming-u3-pro.json")
V2 = _load("asyncapi.json")


def _flatten(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Resolve a component ``$ref`` and merge ``allOf`` members into one object schema."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        node = components["schemas"][ref.rsplit("/", 1)[1]]
    if "allOf" not in node:
        return node
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    closed = False
    for member in node["allOf"]:
        flat = _flatten(member, components)
        merged["properties"].update(flat.get("properties", {}))
        merged["required"] += flat.get("required", [])
        closed = closed or flat.get("additionalProperties") is False
    if closed:
        merged["additionalProperties"] = False
    return merged


def problems(document: dict[str, Any], name: str, instance: Any) -> list[str]:
    components = document["components"]
    schema = {**_flatten({"$ref": f"#/components/schemas/{name}"}, components)}
    schema["components"] = components
    validator = Draft202012Validator(schema)
    return sorted(
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}"
        for e in validator.iter_errors(instance)
    )


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(engine="fixed", engine_options={"text": TEXT}) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def upload_url(client: httpx.Client) -> str:
    import io

    import soundfile

    rng = np.random.default_rng(7)
    buffer = io.BytesIO()
    soundfile.write(buffer, rng.normal(0, 2000, 16000 * 4).astype(np.int16), 16000, format="WAV")
    return str(client.post("/v2/upload", content=buffer.getvalue()).json()["upload_url"])


def _wait(client: httpx.Client, tid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(f"/v2/transcript/{tid}").json()
        if body["status"] in ("completed", "error"):
            return body
        assert time.monotonic() < deadline
        time.sleep(0.02)


REQUESTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "intelligence": {
        "speaker_labels": True,
        "auto_chapters": True,
        "entity_detection": True,
        "sentiment_analysis": True,
        "auto_highlights": True,
        "iab_categories": True,
        "content_safety": True,
        "language_detection": True,
        "multichannel": True,
    },
    "redaction": {
        "redact_pii": True,
        "redact_pii_policies": ["person_name", "phone_number", "date"],
        "redact_pii_sub": "hash",
        "redact_pii_audio": True,
        "redact_pii_audio_quality": "wav",
    },
    "summary": {"summarization": True, "summary_model": "informative", "summary_type": "bullets"},
    "unpunctuated": {"punctuate": False, "format_text": False, "keyterms_prompt": ["john"]},
}


@pytest.mark.parametrize("options", list(REQUESTS), ids=list(REQUESTS))
def test_transcript_on_create_and_when_done(
    client: httpx.Client, upload_url: str, options: str
) -> None:
    created = client.post("/v2/transcript", json={"audio_url": upload_url, **REQUESTS[options]})
    assert created.status_code == 200
    assert problems(OPENAPI, "Transcript", created.json()) == []
    done = _wait(client, created.json()["id"])
    assert done["status"] == "completed"
    assert problems(OPENAPI, "Transcript", done) == []


def test_failed_and_deleted_transcripts(client: httpx.Client, upload_url: str) -> None:
    failed = client.post("/v2/transcript", json={"audio_url": "http://127.0.0.1:9/missing.wav"})
    body = _wait(client, failed.json()["id"])
    assert body["status"] == "error"
    assert isinstance(body["error"], str)
    assert problems(OPENAPI, "Transcript", body) == []
    tid = client.post("/v2/transcript", json={"audio_url": upload_url}).json()["id"]
    _wait(client, tid)
    deleted = client.delete(f"/v2/transcript/{tid}").json()
    assert problems(OPENAPI, "Transcript", deleted) == []


def test_list_and_the_transcript_sub_resources(client: httpx.Client, upload_url: str) -> None:
    tid = client.post("/v2/transcript", json={"audio_url": upload_url, **REQUESTS["redaction"]})
    transcript_id = tid.json()["id"]
    _wait(client, transcript_id)
    assert problems(OPENAPI, "TranscriptList", client.get("/v2/transcript").json()) == []
    resources = {
        "sentences": "SentencesResponse",
        "paragraphs": "ParagraphsResponse",
        "word-search?words=monday": "WordSearchResponse",
        "redacted-audio": "RedactedAudioResponse",
    }
    for path, name in resources.items():
        response = client.get(f"/v2/transcript/{transcript_id}/{path}")
        assert response.status_code == 200, path
        assert problems(OPENAPI, name, response.json()) == [], path


@pytest.mark.parametrize(
    ("endpoint", "schema", "extra"),
    [
        ("task", "LemurTaskResponse", {"prompt": "What is the name?"}),
        ("summary", "LemurSummaryResponse", {}),
        ("question-answer", "LemurQuestionAnswerResponse", {"questions": [{"question": "Who?"}]}),
        ("action-items", "LemurActionItemsResponse", {}),
    ],
)
def test_lemur_responses(
    client: httpx.Client, upload_url: str, endpoint: str, schema: str, extra: dict[str, Any]
) -> None:
    tid = client.post("/v2/transcript", json={"audio_url": upload_url}).json()["id"]
    _wait(client, tid)
    for body in ({"transcript_ids": [tid]}, {"sources": [{"id": tid, "type": "transcript"}]}):
        response = client.post(f"/lemur/v3/generate/{endpoint}", json={**body, **extra})
        assert response.status_code == 200
        assert problems(OPENAPI, schema, response.json()) == []
        assert "stand-in" in response.headers["x-speechkit-lemur-model"]
        stored = client.get(f"/lemur/v3/{response.json()['request_id']}").json()
        assert problems(OPENAPI, schema, stored) == []


async def _v3_messages(server: LocalServer, query: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    url = f"{server.ws_base_url}/v3/ws?sample_rate=16000{query}"
    async with connect(url) as ws:

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    messages.append(json.loads(raw))

        reader = asyncio.create_task(read())
        for _ in range(30):  # 3 s of audio: the fixed engine speaks 3 words a second
            await ws.send(b"\x10\x00" * 1600)
        await ws.send(json.dumps({"type": "ForceEndpoint"}))
        await ws.send(b"\x10\x00" * 1600)
        await ws.send(json.dumps({"type": "Terminate"}))
        await asyncio.wait_for(reader, 30)
    return messages


_V3_SCHEMAS = {
    "Begin": "SessionBeginsPayload",
    "Turn": "TurnPayload",
    "Termination": "TerminationPayload",
    "SpeechStarted": "SpeechStartedPayload",
}


@pytest.mark.parametrize(
    ("query", "document"),
    [
        ("&format_turns=true&speaker_labels=true&language_detection=true", USM),
        ("", USM),
        ("&speech_model=u3-rt-pro", U3_PRO),
    ],
    ids=["universal-formatted", "universal", "u3-rt-pro"],
)
async def test_v3_messages(server: LocalServer, query: str, document: dict[str, Any]) -> None:
    messages = await _v3_messages(server, query)
    kinds = {m["type"] for m in messages}
    assert {"Begin", "Turn", "Termination"} <= kinds
    if document is U3_PRO:
        assert "SpeechStarted" in kinds
    for message in messages:
        assert problems(document, _V3_SCHEMAS[message["type"]], message) == [], message


async def test_v2_messages(server: LocalServer) -> None:
    messages: list[dict[str, Any]] = []
    url = f"{server.ws_base_url}/v2/realtime/ws?sample_rate=16000&enable_extra_session_information=true"
    async with connect(url) as ws:

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    messages.append(json.loads(raw))

        reader = asyncio.create_task(read())
        for _ in range(30):
            await ws.send(b"\x10\x00" * 1600)
        await ws.send(json.dumps({"force_end_utterance": True}))
        await ws.send(json.dumps({"terminate_session": True}))
        await asyncio.wait_for(reader, 30)
    kinds = [m["message_type"] for m in messages]
    assert {"SessionBegins", "PartialTranscript", "FinalTranscript", "SessionTerminated"} <= set(
        kinds
    )
    for message in messages:
        assert problems(V2, message["message_type"], message) == [], message
