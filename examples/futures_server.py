"""Futures in a threaded app: a tiny HTTP service that accepts transcription jobs and reports them.

``POST /jobs`` with ``{"audio": "<path or URL>"}`` starts a transcription with
``Transcriber.transcribe_async`` and answers at once with a job number; ``GET /jobs/<n>`` answers
``running``, ``done`` with the text, or ``failed`` with the error. The handler threads never
wait for speech recognition: the transcriber's own thread pool does the work, and the futures
carry the results back.

Run it as a demo (it starts the local server with the offline recognizer, posts the sample audio
to itself, and polls until both jobs are done)::

    python examples/futures_server.py

or serve for real on a port, against the hosted service (``ASSEMBLYAI_API_KEY``)::

    python examples/futures_server.py --serve 8000
    curl -d '{"audio": "https://example.org/a.mp3"}' localhost:8000/jobs
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import speechkit

AUDIO = Path(__file__).resolve().parent / "audio"


class JobStore:
    """Futures by job number. Handler threads call it concurrently, hence the lock."""

    def __init__(self, transcriber: speechkit.Transcriber) -> None:
        self._transcriber = transcriber
        self._futures: dict[int, concurrent.futures.Future[speechkit.Transcript]] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, audio: str) -> int:
        # Returns at once: the upload, the job creation and the polling run on the pool.
        future = self._transcriber.transcribe_async(audio)
        with self._lock:
            number = next(self._numbers)
            self._futures[number] = future
        # Done-callbacks run on the pool thread that finished the job: keep them short.
        future.add_done_callback(lambda f: print(f"  job {number} finished", file=sys.stderr))
        return number

    def describe(self, number: int) -> dict[str, Any] | None:
        with self._lock:
            future = self._futures.get(number)
        if future is None:
            return None
        if not future.done():
            return {"job": number, "state": "running"}
        try:
            transcript = future.result()
        except speechkit.SpeechkitError as err:  # a typed error, whatever went wrong
            return {"job": number, "state": "failed", "error": str(err)}
        return {"job": number, "state": "done", "id": transcript.id, "text": transcript.text}


def make_handler(jobs: JobStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/jobs":
                return self._send(404, {"error": "POST /jobs"})
            length = int(self.headers.get("Content-Length", 0))
            try:
                audio = json.loads(self.rfile.read(length))["audio"]
            except (ValueError, KeyError, TypeError):
                return self._send(400, {"error": 'send {"audio": "<path or URL>"}'})
            return self._send(202, {"job": jobs.start(audio)})

        def do_GET(self) -> None:
            number = self.path.removeprefix("/jobs/")
            state = jobs.describe(int(number)) if number.isdigit() else None
            if state is None:
                return self._send(404, {"error": "no such job"})
            return self._send(200, state)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the demo's output readable

    return Handler


def call(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.load(response)
        return result


def demo() -> None:
    with (
        speechkit.local_server(engine="offline") as speech,
        speechkit.Transcriber(api_key="local", base_url=speech.base_url, max_workers=4) as t,
    ):
        service = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(JobStore(t)))
        threading.Thread(target=service.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{service.server_port}"
        print(f"Job service on {url}, speech server on {speech.base_url}")

        inputs = [str(AUDIO / "two_turns.wav"), str(AUDIO / "sample.wav"), "/no/such/file.wav"]
        numbers = [call("POST", f"{url}/jobs", {"audio": audio})["job"] for audio in inputs]
        print(f"Posted jobs {numbers}; polling...")

        pending = set(numbers)
        while pending:
            time.sleep(0.2)
            for number in sorted(pending):
                state = call("GET", f"{url}/jobs/{number}")
                if state["state"] != "running":
                    pending.discard(number)
                    print(json.dumps(state))
        service.shutdown()
        service.server_close()
    # Leaving the with block closed the transcriber's pool and the speech server.


def serve(port: int) -> None:
    with speechkit.Transcriber() as transcriber:  # ASSEMBLYAI_API_KEY
        service = ThreadingHTTPServer(("127.0.0.1", port), make_handler(JobStore(transcriber)))
        print(f"Serving on http://127.0.0.1:{port} (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the service
            service.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        demo()
