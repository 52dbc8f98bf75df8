"""Scenario 2: short-job latency. The server finishes each job 1 s after creating it; how long from
creation until the client's blocking ``transcribe`` returns, and how many requests per job?

Each side runs in its own child process per run: it uploads the audio once (not timed), does one
warm-up job (connections, lazy imports), then times ``transcribe(upload_url)`` job by job, so a
sample runs from just before the create request to the return. Requests per job are counted by
the server (its ``/_speechkit/stats`` counters, read by the child around the timed jobs).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._audio import write_tone_wav
from benchmarks._figures import Figure, median
from benchmarks._proc import run_child
from benchmarks._server import ServerProcess, request_counts_at

NAME = "latency"
TITLE = "Short-job latency"
PROCESSING_SECONDS = 1.0
TARGET_SECONDS = 1.25
JOBS_PER_RUN = 3
SETTINGS = (
    f"Server: fixed engine, every job completes {PROCESSING_SECONDS:g} s after creation "
    "(`processing_delay`). Each side, in a fresh child process per run: one upload, one "
    f"warm-up job, then {JOBS_PER_RUN} timed blocking `transcribe(upload_url)` calls in a row. "
    "speechkit: `Transcriber()` defaults (first poll after 0.2 s, interval x1.2 per poll, "
    "capped at 3 s). Peer: `aai.Transcriber().transcribe()` with its default fixed 3 s "
    "`polling_interval`. Requests per job = creates + polls the server received for the timed "
    "jobs, divided by their number."
)


def _requests_between(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    names = ("upload", "transcript.create", "transcript.get")
    return {name: after.get(name, 0) - before.get(name, 0) for name in names}


def measure(side: str, base_url: str, audio: str, jobs: int) -> dict[str, Any]:
    """In a child: time ``jobs`` blocking transcriptions of an uploaded file on one side."""
    times: list[float] = []
    if side == "speechkit":
        import speechkit

        with speechkit.Transcriber(base_url=base_url, api_key="speechkit-bench") as transcriber:
            url = transcriber.upload_file(audio)
            transcriber.transcribe(url)  # warm-up
            before = request_counts_at(base_url)
            for _ in range(jobs):
                started = time.perf_counter()
                transcript = transcriber.transcribe(url)
                times.append(time.perf_counter() - started)
                if transcript.status != "completed" or not transcript.text:
                    raise RuntimeError(f"speechkit job ended {transcript.status}")
    else:
        from benchmarks import _peer

        transcriber = _peer.sync_transcriber(base_url)
        url = transcriber.upload_file(audio)
        transcriber.transcribe(url)  # warm-up
        before = request_counts_at(base_url)
        for _ in range(jobs):
            started = time.perf_counter()
            transcript = transcriber.transcribe(url)
            times.append(time.perf_counter() - started)
            if transcript.status != "completed" or not transcript.text:
                raise RuntimeError(f"peer job ended {transcript.status}: {transcript.error}")
    return {"times": times, "requests": _requests_between(before, request_counts_at(base_url))}


def run(quick: bool, runs: int) -> list[Figure]:
    """Alternate one child per side per run; medians over every timed job."""
    jobs = 1 if quick else JOBS_PER_RUN
    times: dict[str, list[float]] = {"speechkit": [], "peer": []}
    per_job: dict[str, list[float]] = {"speechkit": [], "peer": []}
    polls: dict[str, list[float]] = {"speechkit": [], "peer": []}
    with tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp:
        audio = str(write_tone_wav(Path(tmp) / "short.wav", seconds=1.0, frequency=440))
        with ServerProcess(engine="fixed") as server:
            server.set_faults(processing_delay=PROCESSING_SECONDS, processing_jitter=0.0)
            for index in range(runs):
                order = ("speechkit", "peer") if index % 2 == 0 else ("peer", "speechkit")
                for side in order:
                    value = run_child(
                        "benchmarks.scenarios.latency:measure", side, server.base_url, audio, jobs
                    ).value
                    times[side] += value["times"]
                    counts = value["requests"]
                    per_job[side].append(
                        (counts["transcript.create"] + counts["transcript.get"]) / jobs
                    )
                    polls[side].append(counts["transcript.get"] / jobs)
    sk = median(times["speechkit"])
    samples = len(times["speechkit"])
    return [
        Figure(
            scenario=NAME,
            metric=f"creation to return, job done after {PROCESSING_SECONDS:g} s (median)",
            unit="s",
            speechkit=sk,
            peer=median(times["peer"]),
            target=f"<= {TARGET_SECONDS} s",
            met=None if quick else sk <= TARGET_SECONDS,
            runs=samples,
            samples=times,
        ),
        Figure(
            scenario=NAME,
            metric="requests per job (create + polls)",
            unit="",
            speechkit=median(per_job["speechkit"]),
            peer=median(per_job["peer"]),
            runs=runs,
            notes=f"of which polls: speechkit {median(polls['speechkit']):g}, "
            f"peer {median(polls['peer']):g}.",
            samples=per_job,
        ),
    ]
