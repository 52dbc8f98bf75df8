"""A stateful fake of AssemblyAI's REST API for ``httpx.MockTransport``: exact wire checks and
fault paths. End-to-end behaviour is tested against the real local server elsewhere."""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SPECS = Path(__file__).resolve().parent / "specs"
BASE_URL = "https://api.test.local"
API_KEY = "test-key-0123456789"


def load_spec(*parts: str) -> Any:
    return json.loads(SPECS.joinpath(*parts).read_text())


TRANSCRIPT_TEMPLATE = load_spec("assemblyai", "schema.Transcript.json")

Fault = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeAssemblyAI:
    """Answers /v2 routes like the service. ``polls_until_done`` GETs see ``processing`` first.

    ``faults[(METHOD, path_prefix)]`` is a list consumed one per matching request: an
    ``httpx.Response`` to answer with, or an exception to raise (a transport failure).
    """

    polls_until_done: int = 2
    fail_jobs: bool = False
    transcripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    upload_chunks: list[int] = field(default_factory=list)
    faults: dict[tuple[str, str], list[Fault]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- helpers for tests ------------------------------------------------------------------
    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path == path)

    def inject(self, method: str, path_prefix: str, *faults: Fault) -> None:
        self.faults.setdefault((method, path_prefix), []).extend(faults)

    def transport(self) -> httpx.MockTransport:
        # Look the handler up per request, so a test may wrap ``handle`` after creating clients.
        return httpx.MockTransport(lambda request: self.handle(request))

    def async_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: self.handle(request))

    # -- the fake ----------------------------------------------------------------------------
    def _fault(self, request: httpx.Request) -> httpx.Response | None:
        with self.lock:
            for (method, prefix), queue in self.faults.items():
                if request.method == method and request.url.path.startswith(prefix) and queue:
                    fault = queue.pop(0)
                    break
            else:
                return None
        if isinstance(fault, Exception):
            raise fault
        if isinstance(fault, httpx.Response):
            return fault
        return fault(request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/upload":
            # Consume the streamed body chunk by chunk, as a server would.
            size = 0
            if isinstance(request.stream, httpx.SyncByteStream):
                for chunk in request.stream:
                    self.upload_chunks.append(len(chunk))
                    size += len(chunk)
            body = b""
            self.bodies.append(b"<%d bytes>" % size)
        else:
            body = request.read()
            self.bodies.append(body)
        with self.lock:
            self.requests.append(request)
        fault = self._fault(request)
        if fault is not None:
            return fault
        if request.headers.get("authorization") != API_KEY:
            return httpx.Response(
                401, json={"error": "Authentication error, API token missing/invalid"}
            )
        return self._route(request, body)

    def _route(self, request: httpx.Request, body: bytes) -> httpx.Response:
        path = request.url.path
        method = request.method
        if path == "/v2/upload" and method == "POST":
            return httpx.Response(200, json={"upload_url": f"{BASE_URL}/upload/{next(self._ids)}"})
        if path == "/v2/transcript" and method == "POST":
            params = json.loads(body)
            if "audio_url" not in params:
                return httpx.Response(400, json={"error": "audio_url is required"})
            return httpx.Response(200, json=self._create(params))
        if path == "/v2/transcript" and method == "GET":
            return httpx.Response(200, json=self._list(request))
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[:2] == ["v2", "transcript"]:
            tid = parts[2]
            if tid not in self.transcripts:
                return httpx.Response(404, json={"error": "Transcript not found"})
            rest = parts[3:]
            if not rest and method == "GET":
                return httpx.Response(200, json=self._poll(tid))
            if not rest and method == "DELETE":
                deleted = dict(self.transcripts.pop(tid), text="Deleted by user.", words=None)
                return httpx.Response(200, json=deleted)
            if rest == ["srt"] or rest == ["vtt"]:
                chars = request.url.params.get("chars_per_caption", "none")
                return httpx.Response(200, text=f"{rest[0]} of {tid} chars={chars}")
            if rest == ["sentences"]:
                return httpx.Response(
                    200, json=load_spec("assemblyai", "schema.SentencesResponse.json")
                )
            if rest == ["paragraphs"]:
                return httpx.Response(
                    200, json=load_spec("assemblyai", "schema.ParagraphsResponse.json")
                )
            if rest == ["word-search"]:
                data = load_spec("assemblyai", "schema.WordSearchResponse.json")
                data["echo_words"] = request.url.params.get("words")
                return httpx.Response(200, json=data)
        return httpx.Response(404, json={"error": "Not found"})

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        tid = f"tr-{next(self._ids)}"
        transcript = copy.deepcopy(TRANSCRIPT_TEMPLATE)
        transcript.update(params)
        transcript["id"] = tid
        with self.lock:
            self.transcripts[tid] = transcript
            self.polls[tid] = 0
        return dict(transcript, status="queued", text=None, words=None)

    def _poll(self, tid: str) -> dict[str, Any]:
        with self.lock:
            self.polls[tid] += 1
            done = self.polls[tid] >= self.polls_until_done
        transcript = self.transcripts[tid]
        if not done:
            return dict(transcript, status="processing", text=None, words=None)
        if self.fail_jobs:
            return dict(transcript, status="error", error="Audio file is not a valid audio file")
        return dict(transcript, status="completed")

    def _list(self, request: httpx.Request) -> dict[str, Any]:
        ids = sorted(self.transcripts, key=lambda t: int(t.split("-")[1]), reverse=True)
        before = request.url.params.get("before_id")
        if before:
            ids = [i for i in ids if int(i.split("-")[1]) < int(before.split("-")[1])]
        limit = int(request.url.params.get("limit", "10"))
        page = ids[:limit]
        prev_url = (
            f"{BASE_URL}/v2/transcript?limit={limit}&before_id={page[-1]}"
            if len(ids) > limit
            else None
        )
        return {
            "page_details": {
                "limit": limit,
                "result_count": len(page),
                "current_url": str(request.url),
                "prev_url": prev_url,
                "next_url": None,
            },
            "transcripts": [
                {
                    "id": i,
                    "resource_url": f"{BASE_URL}/v2/transcript/{i}",
                    "status": "completed",
                    "created": "2024-03-11T21:29:59.936851",
                    "completed": None,
                    "audio_url": self.transcripts[i].get("audio_url"),
                    "error": None,
                }
                for i in page
            ],
        }
