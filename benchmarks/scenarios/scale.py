"""Scenario 9: batch at scale. 2,000 jobs of varied length (the server takes 1-6 s per job),
created from one uploaded file: requests per job, wall time and server-side duplicate jobs.

Sides, each in a fresh child process per run:

* speechkit, sweeping: ``Transcriber().transcribe_group(urls, max_concurrency=64)`` (the default
  ``completion="auto"`` sweeps the job list for this many jobs);
* speechkit, polling: the same with ``completion="poll"`` (one GET per job per interval);
* speechkit, webhooks: the same with ``webhook=WebhookReceiver()`` served in the child (the
  local server delivers a webhook as each job ends);
* peer: ``aai.Transcriber().transcribe_group(urls)`` (creates on its pool, then one polling
  thread per job every 3 s).

Requests per job = creates + GETs + list requests the server received during the group, divided
by the number of jobs (the one upload is not counted). Duplicates = jobs the server created
beyond one per input.
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

NAME = "scale"
TITLE = "Batch at scale"
JOBS = 2000
QUICK_JOBS = 60
CONCURRENCY = 64
PROCESSING = (1.0, 5.0)  # seconds: processing_delay, processing_jitter
TARGET_REQUESTS = 2.2
TARGET_WALL_RATIO = 0.6
SETTINGS = (
    f"{JOBS} jobs created from one uploaded file; the server (fixed engine) takes "
    f"{PROCESSING[0]:g}-{PROCESSING[0] + PROCESSING[1]:g} s per job (seeded). speechkit: "
    f"`Transcriber().transcribe_group(urls, max_concurrency={CONCURRENCY})`, sweeping the job "
    'list (default for many jobs); in the notes, `completion="poll"` and '
    "`webhook=WebhookReceiver()` (served in the child; the server delivers). Peer: "
    "`aai.Transcriber().transcribe_group(urls)`. Requests per job = creates + GETs + lists the "
    "server received, over the jobs; duplicates = jobs created beyond one per input."
)


def measure(side: str, base_url: str, audio: str, jobs: int) -> dict[str, Any]:
    """In a child: one group of ``jobs`` on one side; wall time and the server's counters."""
    if side.startswith("speechkit"):
        import speechkit
        from speechkit.webhooks import WebhookReceiver

        completion = "poll" if side == "speechkit-poll" else "auto"
        receiver = WebhookReceiver() if side == "speechkit-webhook" else None
        if receiver is not None:
            receiver.start()
        with speechkit.Transcriber(base_url=base_url, api_key="speechkit-bench") as transcriber:
            url = transcriber.upload_file(audio)
            before = request_counts_at(base_url)
            started = time.perf_counter()
            group = transcriber.transcribe_group(
                [url] * jobs,
                max_concurrency=CONCURRENCY,
                completion=completion,  # type: ignore[arg-type]
                return_failures=True,
                webhook=receiver,
            )
            wall = time.perf_counter() - started
        undelivered = 0
        if receiver is not None:
            receiver.stop()
            undelivered = jobs - receiver.deliveries
        failed = len(group.failures)
        reasons = sorted({str(f.error)[:200] for f in group.failures})[:3]
    else:
        from benchmarks import _peer

        transcriber = _peer.sync_transcriber(base_url)
        url = transcriber.upload_file(audio)
        before = request_counts_at(base_url)
        started = time.perf_counter()
        peer_group = transcriber.transcribe_group([url] * jobs)
        wall = time.perf_counter() - started
        failed = sum(1 for t in peer_group.transcripts if t.status != "completed")
        reasons = sorted({str(t.error)[:200] for t in peer_group.transcripts if t.error})[:3]
        undelivered = 0
    after = request_counts_at(base_url)
    names = ("transcript.create", "transcript.get", "transcript.list")
    counts = {name: after.get(name, 0) - before.get(name, 0) for name in names}
    result = {"wall": wall, "counts": counts, "failed": failed, "reasons": reasons}
    if side == "speechkit-webhook":
        result["undelivered"] = undelivered
    return result


def run(quick: bool, runs: int) -> list[Figure]:
    jobs = QUICK_JOBS if quick else JOBS
    sides = ("speechkit", "speechkit-poll", "speechkit-webhook", "peer")
    wall: dict[str, list[float]] = {side: [] for side in sides}
    per_job: dict[str, list[float]] = {side: [] for side in sides}
    duplicates: dict[str, list[float]] = {side: [] for side in sides}
    lists: list[float] = []
    webhook_failures: list[int] = []
    webhook_reasons: list[str] = []
    undelivered: list[int] = []
    with tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp:
        audio = str(write_tone_wav(Path(tmp) / "short.wav", seconds=1.0, frequency=440))
        # The receiver listens on loopback: the server must be allowed to deliver there (it
        # refuses private addresses by default, and every job would wait for a fallback sweep).
        with ServerProcess(engine="fixed", allow_private_urls=True) as server:
            server.set_faults(
                processing_delay=PROCESSING[0], processing_jitter=PROCESSING[1], seed=9
            )
            for index in range(runs):
                order = sides if index % 2 == 0 else tuple(reversed(sides))
                for side in order:
                    created_before = server.jobs_created()
                    value = run_child(
                        "benchmarks.scenarios.scale:measure",
                        side,
                        server.base_url,
                        audio,
                        jobs,
                        timeout=1800.0,
                    ).value
                    if side == "speechkit-webhook":
                        webhook_failures.append(value["failed"])
                        undelivered.append(value["undelivered"])
                        webhook_reasons.extend(value["reasons"])
                    elif value["failed"]:
                        raise RuntimeError(
                            f"{side}: {value['failed']} jobs failed: {value['reasons']}"
                        )
                    counts = value["counts"]
                    wall[side].append(value["wall"])
                    per_job[side].append(sum(counts.values()) / jobs)
                    duplicates[side].append(server.jobs_created() - created_before - jobs)
                    if side == "speechkit":
                        lists.append(counts["transcript.list"])
                    server.wait_idle()
    sk_requests = median(per_job["speechkit"])
    ours_duplicates = max(d for side in sides if side != "peer" for d in duplicates[side])
    sk_wall, peer_wall = median(wall["speechkit"]), median(wall["peer"])
    return [
        Figure(
            scenario=NAME,
            metric=f"requests per job, {jobs} jobs (sweeping)",
            unit="",
            speechkit=sk_requests,
            peer=median(per_job["peer"]),
            target=f"<= {TARGET_REQUESTS}",
            met=None if quick else sk_requests <= TARGET_REQUESTS,
            runs=runs,
            notes=f"speechkit polling each job instead: {median(per_job['speechkit-poll']):.2f}; "
            f"with webhooks: {median(per_job['speechkit-webhook']):.2f}; "
            f"list requests per group when sweeping: {median(lists):g}.",
            samples=per_job,
        ),
        Figure(
            scenario=NAME,
            metric=f"wall time, {jobs} jobs",
            unit="s",
            speechkit=sk_wall,
            peer=peer_wall,
            target=f"ratio <= {TARGET_WALL_RATIO}",
            met=None if quick else sk_wall <= TARGET_WALL_RATIO * peer_wall,
            runs=runs,
            notes=f"speechkit polling each job: {median(wall['speechkit-poll']):.1f} s; with "
            f"webhooks: {median(wall['speechkit-webhook']):.1f} s ({max(webhook_failures)} of "
            f"{jobs} jobs failed with webhooks{': ' if webhook_reasons else ''}"
            f"{'; '.join(sorted(set(webhook_reasons)))[:300]}; deliveries that never arrived: "
            f"{max(undelivered)}).",
            samples=wall,
        ),
        Figure(
            scenario=NAME,
            metric="server-side duplicate jobs",
            unit="",
            speechkit=ours_duplicates,
            peer=max(duplicates["peer"]),
            target="0",
            met=ours_duplicates == 0,
            runs=runs,
            compare=False,
        ),
    ]
