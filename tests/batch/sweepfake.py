"""A deterministic fake of the transcript API for group tests: ids follow the audio URL, and the
list endpoint supports ``status``, ``limit``, ``before_id`` and ``after_id`` like the service."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

BASE_URL = "https://api.test.local"
API_KEY = "test-key-0123456789"


@dataclass
class SweepFake:
    """A job completes on the ``done_after``-th request that reads it (a GET or a list)."""

    done_after: int = 2
    fail: set[str] = field(default_factory=set)  # audio URLs whose job ends in error
    order: list[str] = field(default_factory=list)  # job ids, oldest first
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    uploads: int = 0
    uploaded: dict[str, bytes] = field(default_factory=dict)  # upload URL -> the bytes sent

    def api_requests(self) -> list[httpx.Request]:
        return list(self.requests)

    def creates(self) -> int:
        return sum(
            1 for r in self.requests if r.method == "POST" and r.url.path == "/v2/transcript"
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            path = request.url.path
            if request.method == "POST" and path == "/v2/upload":
                self.uploads += 1
                upload_url = f"https://cdn.test/u{self.uploads:03d}.bin"
                self.uploaded[upload_url] = request.read()
                return httpx.Response(200, json={"upload_url": upload_url})
            if request.method == "POST" and path == "/v2/transcript":
                url = json.loads(request.content)["audio_url"]
                tid = "job-" + url.rsplit("/", 1)[-1].split(".")[0]
                self.order.append(tid)
                self.jobs[tid] = {"id": tid, "audio_url": url, "status": "queued"}
                self.reads[tid] = 0
                return httpx.Response(200, json=self._view(tid))
            if request.method == "GET" and path == "/v2/transcript":
                return httpx.Response(200, json=self._list(request.url.params))
            if request.method == "GET" and path.startswith("/v2/transcript/"):
                tid = path.rsplit("/", 1)[-1]
                if tid not in self.jobs:
                    return httpx.Response(404, json={"error": "Transcript not found"})
                self._read(tid)
                return httpx.Response(200, json=self._view(tid))
            return httpx.Response(404, json={"error": "Not found"})

    def _read(self, tid: str) -> None:
        self.reads[tid] += 1
        job = self.jobs[tid]
        if job["status"] == "queued" and self.reads[tid] >= self.done_after:
            job["status"] = "error" if job["audio_url"] in self.fail else "completed"

    def _view(self, tid: str) -> dict[str, Any]:
        job = self.jobs[tid]
        done = job["status"] == "completed"
        return {
            **job,
            "text": "hello" if done else None,
            "error": "no audio" if job["status"] == "error" else None,
        }

    def _list(self, params: httpx.QueryParams) -> dict[str, Any]:
        for tid in self.order:
            self._read(tid)  # a sweep reads every job (moves time forward)
        status = params.get("status")
        limit = int(params.get("limit", "10"))
        order = [t for t in self.order if status is None or self.jobs[t]["status"] == status]
        position = {t: i for i, t in enumerate(self.order)}
        if params.get("after_id"):
            ref = position[params["after_id"]]
            page = [t for t in order if position[t] > ref][:limit]
        elif params.get("before_id"):
            ref = position[params["before_id"]]
            page = [t for t in order if position[t] < ref][-limit:]
        else:
            page = order[-limit:]
        page.reverse()
        fixed = f"limit={limit}" + (f"&status={status}" if status else "")
        newer = page and any(position[t] > position[page[0]] for t in order)
        older = page and any(position[t] < position[page[-1]] for t in order)
        return {
            "page_details": {
                "limit": limit,
                "result_count": len(page),
                "current_url": "",
                "prev_url": f"{BASE_URL}/v2/transcript?{fixed}&before_id={page[-1]}"
                if older
                else None,
                "next_url": f"{BASE_URL}/v2/transcript?{fixed}&after_id={page[0]}"
                if newer
                else None,
            },
            "transcripts": [
                {
                    "id": t,
                    "resource_url": f"{BASE_URL}/v2/transcript/{t}",
                    "status": self.jobs[t]["status"],
                    "created": "2024-03-11T21:29:59",
                    "completed": None,
                    "audio_url": self.jobs[t]["audio_url"],
                    "error": None,
                }
                for t in page
            ],
        }

    def per_job(self) -> dict[str, list[str]]:
        """Each job's own requests, in order (``POST`` create, ``GET`` reads)."""
        seen: dict[str, list[str]] = {}
        for request in self.requests:
            path = request.url.path
            if request.method == "POST" and path == "/v2/transcript":
                tid = "job-" + json.loads(request.content)["audio_url"].rsplit("/", 1)[-1][:-4]
                seen.setdefault(tid, []).append("create")
            elif path.startswith("/v2/transcript/"):
                seen.setdefault(path.rsplit("/", 1)[-1], []).append("get")
        return seen

    def lists(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/v2/transcript" and r.method == "GET"]
