"""Client CPU per job: many concurrent ``transcribe()`` calls against one ``transcribe_group``.

A service that handles requests concurrently calls ``transcribe()`` once per request, not
``transcribe_group``; both should cost the client about the same per job. Each side runs in a
fresh child process (``benchmarks._proc``) against the local server in its own process (fixed
engine, so the server answers at once), on the same upload URL, sides alternating::

    python -m benchmarks.concurrent_calls [--jobs 500] [--runs 3] [--mode asyncio|threads]

It prints, per mode, the median client CPU milliseconds per job of each side and their ratio
(calls / group; the target is at most 2). ``--quick`` runs 40 jobs once as a smoke check.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks._proc import mark, run_child
from benchmarks._server import REPO_ROOT, ServerProcess

AUDIO = REPO_ROOT / "examples" / "audio" / "two_turns.wav"
TARGET_RATIO = 2.0


def measure(base_url: str, jobs: int, mode: str, side: str) -> dict[str, Any]:
    """In the child: ``jobs`` transcriptions of one upload, as concurrent calls or one group."""
    import asyncio
    import concurrent.futures

    import speechkit

    with speechkit.Transcriber(api_key="bench", base_url=base_url) as transcriber:
        url = transcriber.upload_file(Path(AUDIO))
    sources = [url] * jobs
    if mode == "asyncio":

        async def run() -> list[Any]:
            async with speechkit.AsyncTranscriber(api_key="bench", base_url=base_url) as t:
                if side == "group":
                    group = await t.transcribe_group(sources, max_concurrency=64)
                    return list(group)
                return list(await asyncio.gather(*(t.transcribe(s) for s in sources)))

        mark()
        results = asyncio.run(run())
    else:
        with speechkit.Transcriber(api_key="bench", base_url=base_url) as t:
            mark()
            if side == "group":
                results = list(t.transcribe_group(sources, max_concurrency=64))
            else:
                with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
                    results = list(pool.map(t.transcribe, sources))
    completed = sum(1 for r in results if getattr(r, "status", None) == "completed")
    return {"completed": completed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrent_calls")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mode", choices=["asyncio", "threads"], action="append")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    jobs, runs = (40, 1) if args.quick else (args.jobs, args.runs)
    modes = args.mode or ["asyncio", "threads"]
    failed = False
    with ServerProcess(engine="fixed") as server:
        for mode in modes:
            cpu: dict[str, list[float]] = {"calls": [], "group": []}
            for n in range(runs):
                order = ("calls", "group") if n % 2 == 0 else ("group", "calls")
                for side in order:
                    target = "benchmarks.concurrent_calls:measure"
                    result = run_child(target, server.base_url, jobs, mode, side)
                    if result.value["completed"] != jobs:
                        print(f"{mode}/{side}: {result.value['completed']} of {jobs} completed")
                        failed = True
                    cpu[side].append(result.cpu_seconds * 1000 / jobs)
            calls, group = statistics.median(cpu["calls"]), statistics.median(cpu["group"])
            ratio = calls / group if group else float("inf")
            verdict = "ok" if ratio <= TARGET_RATIO else f"over the {TARGET_RATIO:g}x target"
            print(
                f"{mode:8} {jobs} jobs: concurrent transcribe() {calls:.1f} ms CPU/job, "
                f"transcribe_group {group:.1f} ms CPU/job, ratio {ratio:.2f} ({verdict})"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
