"""A scripted fake of the AIML ``/v1/stt`` API for ``httpx.MockTransport``, and client fixtures."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from speechkit import AsyncTranscriber, RetryPolicy, Transcriber

AIML_SPECS = Path(__file__).resolve().parents[1] / "specs" / "aiml"
BASE_URL = "https://aiml.test.local/v1"
API_KEY = "aiml-test-key-0123456789"
JOB_ID = "e3d46bba-7562-44a9-b440-504d940342a3"


def load(name: str) -> Any:
    """A fixture from ``tests/specs/aiml`` (a fresh copy each time)."""
    return json.loads((AIML_SPECS / name).read_text())


def deepgram_result() -> dict[str, Any]:
    """A Deepgram-style result with two speakers, punctuation and a pause (times in seconds)."""
    spoken = [
        ("hello", "Hello", 0.10, 0.42, 0),
        ("world", "world.", 0.48, 0.90, 0),
        ("how", "How", 1.20, 1.35, 1),
        ("are", "are", 1.40, 1.52, 1),
        ("you", "you?", 1.55, 1.80, 1),
        ("fine", "Fine,", 4.00, 4.30, 0),
        ("thanks", "thanks.", 4.35, 4.80, 0),
    ]
    words = [
        {
            "word": w,
            "start": s,
            "end": e,
            "confidence": 0.9,
            "speaker": spk,
            "speaker_confidence": 0.8,
            "punctuated_word": p,
        }
        for w, p, s, e, spk in spoken
    ]
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": "req-1",
            "sha256": "abc",
            "created": "2025-06-04T12:00:00.000Z",
            "duration": 5.25,
            "channels": 1,
            "models": ["m-1"],
            "model_info": {"m-1": {"name": "general-nova-3", "version": "1", "arch": "nova-3"}},
        },
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": "Hello world. How are you? Fine, thanks.",
                            "confidence": 0.97,
                            "words": words,
                        }
                    ],
                    "detected_language": "en",
                    "language_confidence": 0.99,
                }
            ]
        },
    }


@dataclass
class FakeAIML:
    """Answers ``POST /v1/stt/create`` and ``GET /v1/stt/{id}`` like the AIML API.

    ``polls`` is the list of GET bodies served in order; the last one repeats. ``create_status``
    and ``create_body`` set the create answer (AIML sends 200 or 201).
    """

    polls: list[dict[str, Any]] = field(default_factory=list)
    create_status: int = 201
    create_body: dict[str, Any] = field(default_factory=lambda: {"generation_id": JOB_ID})
    get_status: int = 200
    requests: list[httpx.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            self.bodies.append(request.content)
            if request.url.path == "/v1/stt/create" and request.method == "POST":
                return httpx.Response(self.create_status, json=self.create_body)
            if request.url.path.startswith("/v1/stt/") and request.method == "GET":
                if self.get_status != 200:
                    return httpx.Response(
                        self.get_status,
                        json={
                            "message": "Not Found",
                            "path": request.url.path,
                            "statusCode": self.get_status,
                        },
                    )
                body = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
                return httpx.Response(200, json=copy.deepcopy(body))
        return httpx.Response(404, json={"message": f"no route {request.url.path}"})

    @property
    def gets(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "GET"]

    @property
    def creates(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]


def pending(status: str, job_id: str = JOB_ID) -> dict[str, Any]:
    return {"generation_id": job_id, "status": status}


def completed(result: Any, job_id: str = JOB_ID) -> dict[str, Any]:
    return {"generation_id": job_id, "status": "completed", "result": result}


#: Keep retries fast (polling is already fast through the constructor).
QUICK = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.002)


@pytest.fixture(autouse=True)
def _no_ambient_aiml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's AIML key or base URL."""
    for name in ("AIML_API_KEY", "AIMLAPI_API_KEY", "AIML_API_BASE", "AIMLAPI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aiml() -> FakeAIML:
    return FakeAIML()


def make_transcriber(fake: FakeAIML, model: str = "nova-3", **kwargs: Any) -> Transcriber:
    return Transcriber(
        provider="aiml",
        model=model,
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=httpx.Client(transport=fake.transport()),
        polling_interval=0.001,
        polling_max_interval=0.002,
        **{"retry": QUICK, **kwargs},
    )


def make_async_transcriber(fake: FakeAIML, model: str = "nova-3") -> AsyncTranscriber:
    return AsyncTranscriber(
        provider="aiml",
        model=model,
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=httpx.AsyncClient(transport=fake.transport()),
        polling_interval=0.001,
        polling_max_interval=0.002,
        retry=QUICK,
    )


@pytest.fixture
def transcriber(aiml: FakeAIML) -> Iterator[Transcriber]:
    with make_transcriber(aiml) as client:
        yield client


@pytest.fixture
async def atranscriber(aiml: FakeAIML) -> AsyncIterator[AsyncTranscriber]:
    async with make_async_transcriber(aiml) as client:
        yield client
