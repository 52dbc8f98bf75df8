"""Scenario 3: batch throughput. 200 local files, each job taking the server 0.5-2 s; three ways
of running them concurrently, on each side, with the wall time, peak threads and peak RSS.

Modes (the same concurrency limit on both sides wherever the API takes one):

* ``asyncio``: ``AsyncTranscriber.transcribe_group(files, max_concurrency=N)`` on both sides.
* ``futures``: the futures form of the blocking group, ``transcribe_group_async(files)``, waited
  on with ``.result()``. The peer's takes no limit: it uploads and creates on 8 threads, then
  waits for every job at once (a thread per job); speechkit gets ``max_concurrency=len(files)``,
  the same number of jobs in flight.
* ``threads``: the caller's ``ThreadPoolExecutor(N)`` running blocking ``transcribe`` calls.

Every run is a fresh child process per side (so threads and RSS are the client's alone), and the
two sides alternate. Each child reports the ids of the transcripts it got; the parent checks them
against the jobs the server created, using each file's unique duration (its fingerprint in the
transcript's last word end time) to find duplicate jobs. :mod:`.faults` reuses all of this with
faults switched on.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import datetime as dt
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks._audio import write_tone_wav
from benchmarks._figures import Figure, median
from benchmarks._proc import mark, run_child
from benchmarks._server import ServerProcess

NAME = "throughput"
TITLE = "Batch throughput"
FILES = 200
QUICK_FILES = 6
CONCURRENCY = 32
PROCESSING = (0.5, 2.0)  # seconds per job on the server: uniform in this range
MODES = ("asyncio", "futures", "threads")
DEFAULT_LIMIT = 8  # speechkit's default max_concurrency for groups
TARGET_RATIO = 0.6
API_KEY = "speechkit-bench"
SETTINGS = f"""\
{FILES} local WAV files (16 kHz mono, 0.5-0.9 s, 16-26 KB, each a different length), uploaded
by the client; the server (fixed engine) takes {PROCESSING[0]}-{PROCESSING[1]} s per job
(`processing_delay` {PROCESSING[0]} + uniform `processing_jitter` {PROCESSING[1] - PROCESSING[0]},
seeded), with no limit on jobs at once. Each side runs in a fresh child process per run; the
two sides alternate.

| mode | speechkit | peer (`assemblyai`) |
|---|---|---|
| asyncio | `await AsyncTranscriber().transcribe_group(files, max_concurrency={CONCURRENCY})` \
| `await aai.AsyncTranscriber().transcribe_group(files, max_concurrency={CONCURRENCY})` |
| futures | `Transcriber().transcribe_group_async(files, max_concurrency={FILES}).result()` \
| `aai.Transcriber().transcribe_group_async(files).result()`: no limit to set; uploads and \
creates 8 at a time, then waits on all {FILES} jobs at once, a thread each |
| threads | `ThreadPoolExecutor({CONCURRENCY})` of `Transcriber().transcribe(file)` \
| `ThreadPoolExecutor({CONCURRENCY})` of `aai.Transcriber().transcribe(file)` |

speechkit polls after 0.2 s, then x1.2 per poll up to 3 s; the peer every 3 s (its default).
Wall time runs from the first upload to the last result; peak threads are sampled every 5 ms
from outside the child; peak RSS is the child's `VmHWM` during the work."""


# -- in the child -------------------------------------------------------------------------------


def _error_name(error: BaseException) -> str:
    """``Type: message`` (the message cut short), for reports; count by the part before ``:``."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message[:160]}"


async def _speechkit_asyncio(base_url: str, files: list[str], limit: int) -> dict[str, Any]:
    import speechkit

    async with speechkit.AsyncTranscriber(base_url=base_url, api_key=API_KEY) as transcriber:
        mark()
        started = time.perf_counter()
        group = await transcriber.transcribe_group(
            files, max_concurrency=limit, return_failures=True
        )
        wall = time.perf_counter() - started
    return {
        "wall": wall,
        "ids": [t.id for t in group.transcripts],
        "errors": [_error_name(f.error) for f in group.failures],
    }


def _speechkit_futures(base_url: str, files: list[str], limit: int) -> dict[str, Any]:
    import speechkit

    with speechkit.Transcriber(base_url=base_url, api_key=API_KEY) as transcriber:
        mark()
        started = time.perf_counter()
        future = transcriber.transcribe_group_async(
            files, max_concurrency=limit, return_failures=True
        )
        group = future.result()
        wall = time.perf_counter() - started
    return {
        "wall": wall,
        "ids": [t.id for t in group.transcripts],
        "errors": [_error_name(f.error) for f in group.failures],
    }


def _collect(futures: list[concurrent.futures.Future[Any]]) -> tuple[list[str], list[str]]:
    ids, errors = [], []
    for future in futures:
        try:
            transcript = future.result()
        except Exception as error:
            errors.append(_error_name(error))
            continue
        if str(getattr(transcript.status, "value", transcript.status)) == "completed":
            ids.append(transcript.id)
        else:
            errors.append(f"status {transcript.status}")
    return ids, errors


def _speechkit_threads(base_url: str, files: list[str], limit: int) -> dict[str, Any]:
    import speechkit

    with speechkit.Transcriber(base_url=base_url, api_key=API_KEY) as transcriber:
        mark()
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(limit) as pool:
            futures = [pool.submit(transcriber.transcribe, path) for path in files]
            ids, errors = _collect(futures)
        wall = time.perf_counter() - started
    return {"wall": wall, "ids": ids, "errors": errors}


def _peer_status_ok(transcript: Any) -> bool:
    return str(getattr(transcript.status, "value", transcript.status)) == "completed"


async def _peer_asyncio(base_url: str, files: list[str], limit: int) -> dict[str, Any]:
    from benchmarks import _peer

    transcriber = _peer.async_transcriber(base_url)
    try:
        mark()
        started = time.perf_counter()
        try:
            transcripts, failures = await transcriber.transcribe_group(
                files, return_failures=True, max_concurrency=limit
            )
            outcome = None
        except Exception as error:  # the group raises non-API errors (a reset) as a whole
            transcripts, failures, outcome = [], [], _error_name(error)
        wall = time.perf_counter() - started
    finally:
        await transcriber.aclose()
    ids = [t.id for t in transcripts if _peer_status_ok(t)]
    errors = [_error_name(f) for f in failures]
    errors += [f"status {t.status}" for t in transcripts if not _peer_status_ok(t)]
    return {"wall": wall, "ids": ids, "errors": errors, "group_error": outcome}


def _peer_futures(base_url: str, files: list[str], limit: int) -> dict[str, Any]:
    from benchmarks import _peer

    transcriber = _peer.sync_transcriber(base_url)
    mark()
    started = time.perf_counter()
    outcome = None
    try:
        group, failures = transcriber.transcribe_group_async(files, return_failures=True).result()
        transcripts = list(group)
    except Exception as error:  # the group raises non-API errors (a reset) as a whole
        transcripts, failures, outcome = [], [], _error_name(error)
    wall = time.perf_counter() - started
    ids = [t.id for t in transcripts if _peer_status_ok(t)]
    errors = [_error_name(f) for f in failures]
    errors += [f"status {t.status}" for t in transcripts if not _peer_status_ok(t)]
    return {"wall": wall, "ids": ids, "errors": errors, "group_error": outcome}


def _peer_threads(base_url: str, files: list[str], limit: int) -> dict[str, Any]:
    from benchmarks import _peer

    transcriber = _peer.sync_transcriber(base_url)
    mark()
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(limit) as pool:
        futures = [pool.submit(transcriber.transcribe, path) for path in files]
        ids, errors = _collect(futures)
    wall = time.perf_counter() - started
    return {"wall": wall, "ids": ids, "errors": errors}


def measure(side: str, mode: str, base_url: str, files: list[str], limit: int) -> dict[str, Any]:
    """In a child: transcribe every file in one mode on one side.

    Returns ``wall`` (seconds), ``ids`` of the completed transcripts, ``errors`` (one name per
    failed file) and, for the peer's groups, ``group_error`` when the whole group raised.
    """
    if side == "speechkit":
        if mode == "asyncio":
            return asyncio.run(_speechkit_asyncio(base_url, files, limit))
        if mode == "futures":
            return _speechkit_futures(base_url, files, limit)
        return _speechkit_threads(base_url, files, limit)
    if mode == "asyncio":
        return asyncio.run(_peer_asyncio(base_url, files, limit))
    if mode == "futures":
        return _peer_futures(base_url, files, limit)
    return _peer_threads(base_url, files, limit)


# -- in the parent ------------------------------------------------------------------------------


def write_files(directory: Path, count: int) -> tuple[list[str], dict[int, int]]:
    """``count`` WAV files of distinct lengths (0.5 s + 2 ms x i), and a map from each file's
    duration in milliseconds (what the fixed engine's last word ends at) to its index."""
    directory.mkdir(parents=True, exist_ok=True)
    paths, by_duration = [], {}
    for index in range(count):
        milliseconds = 500 + 2 * index
        path = directory / f"bench-{index:04d}.wav"
        write_tone_wav(path, seconds=milliseconds / 1000, frequency=200 + index)
        paths.append(str(path))
        by_duration[milliseconds] = index
    return paths, by_duration


@dataclass
class Audit:
    """What the server did for one run: jobs created, which file each belonged to, and how long
    after each job completed the client's poll saw it."""

    created: int = 0
    duplicates: int = 0  # jobs beyond the first for the same file
    orphans: int = 0  # jobs created that the client did not return
    unknown: int = 0  # jobs whose file could not be told (never completed)
    requests: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    poll_lags: list[float] = field(default_factory=list)  # seconds, per completed job
    #: Seconds after the run's first request: ``creates_done``, ``last_completed``, ``last_seen``.
    timeline: dict[str, float] = field(default_factory=dict)


def _unix(iso: str) -> float:
    # The server prints UTC without a zone, as the service does.
    return dt.datetime.fromisoformat(iso).replace(tzinfo=dt.UTC).timestamp()


def _completed_times(client: httpx.Client, wanted: set[str]) -> dict[str, float]:
    """Completion times (Unix seconds) of the ``wanted`` jobs, from the list endpoint."""
    found: dict[str, float] = {}
    params: dict[str, Any] = {"limit": 200}
    while wanted - found.keys():
        page = client.get("/v2/transcript", params=params).json()
        items = page.get("transcripts") or []
        for item in items:
            if item["id"] in wanted and item.get("completed"):
                found[item["id"]] = _unix(item["completed"])
        if not items:
            break
        params["before_id"] = items[-1]["id"]
    return found


def audit(
    server: ServerProcess, ids_before: set[str], client_ids: list[str], by_duration: dict[int, int]
) -> Audit:
    """Match the jobs created since ``ids_before`` to files (by duration), count duplicates, and
    measure each completed job's poll lag (server completion to the last poll of it).

    Call with endpoint faults cleared: it reads every new transcript through the normal API.
    """
    stats = server.stats(log=10_000)
    new_ids = [i for i in stats["jobs"]["ids"]["assemblyai"] if i not in ids_before]
    result = Audit(
        created=len(new_ids),
        requests={k: v for k, v in stats["requests"].items() if not k.startswith("control")},
        faults=dict(stats["faults_injected"]),
    )
    last_poll: dict[str, float] = {}
    creates: list[float] = []
    log = [r for r in stats["log"] if not r["endpoint"].startswith("control")]
    for record in log:
        if record["endpoint"] == "transcript.get" and record["status"] == 200:
            last_poll[record["path"].rsplit("/", 1)[-1]] = record["time"]
        elif record["endpoint"] == "transcript.create" and record["status"] == 200:
            creates.append(record["time"])
    server.wait_idle()
    per_file: collections.Counter[int] = collections.Counter()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for job_id in new_ids:
            body = client.get(f"/v2/transcript/{job_id}").json()
            words = body.get("words") or []
            index = by_duration.get(round(words[-1]["end"])) if words else None
            if index is None:
                result.unknown += 1
            else:
                per_file[index] += 1
        returned = set(client_ids)
        completed = _completed_times(client, returned & set(new_ids))
    result.duplicates = sum(count - 1 for count in per_file.values() if count > 1)
    result.orphans = len(set(new_ids) - returned)
    result.poll_lags = [
        last_poll[job] - done for job, done in completed.items() if job in last_poll
    ]
    if log and creates and completed and last_poll:
        first = min(r["time"] for r in log)
        result.timeline = {
            "creates_done": max(creates) - first,
            "last_completed": max(completed.values()) - first,
            "last_seen": max(last_poll.values()) - first,
        }
    return result


@dataclass
class RunRecord:
    """One side's run in one mode."""

    wall: float
    peak_threads: int
    peak_rss_mib: float
    completed: int
    errors: list[str]
    group_error: str | None
    audit: Audit


def run_once(
    server: ServerProcess,
    side: str,
    mode: str,
    files: list[str],
    by_duration: dict[int, int],
    limit: int,
) -> RunRecord:
    """Run one side in one mode in a child process, then audit the server's jobs."""
    ids_before = set(server.stats()["jobs"]["ids"]["assemblyai"])
    server.reset_stats()
    result = run_child(
        "benchmarks.scenarios.throughput:measure", side, mode, server.base_url, files, limit
    )
    value = result.value
    faults = server.stats()["faults_injected"]
    saved = server.set_faults()  # keep the settings, clear only what would disturb the audit
    server.set_faults(endpoint_faults=[], latency=0.0)
    record_audit = audit(server, ids_before, value["ids"], by_duration)
    record_audit.faults = faults
    server.set_faults(endpoint_faults=saved["endpoint_faults"], latency=saved["latency"])
    return RunRecord(
        wall=value["wall"],
        peak_threads=result.peak_threads,
        peak_rss_mib=result.peak_rss / 2**20,
        completed=len(value["ids"]),
        errors=value["errors"],
        group_error=value.get("group_error"),
        audit=record_audit,
    )


def group_limit(side: str, mode: str, files: int) -> int:
    """The concurrency each side is given in each mode (see the module docstring)."""
    if mode == "futures":
        return files  # the peer's group has no limit; speechkit matches its jobs in flight
    return CONCURRENCY


def check_clean(side: str, mode: str, record: RunRecord, files: int) -> None:
    """Raise when a run lost, failed or duplicated jobs."""
    problems = []
    if record.completed != files or record.errors or record.group_error:
        kinds = collections.Counter(e.split(":", 1)[0] for e in record.errors)
        problems.append(
            f"{record.completed}/{files} completed, errors {dict(kinds)}"
            + (f", group raised {record.group_error}" if record.group_error else "")
        )
    if record.audit.duplicates:
        problems.append(f"{record.audit.duplicates} duplicate jobs on the server")
    if problems:
        raise RuntimeError(f"{side} {mode}: " + "; ".join(problems))


def run(quick: bool, runs: int) -> list[Figure]:
    """Every mode, alternating sides run by run; medians of wall time, threads and RSS."""
    count = QUICK_FILES if quick else FILES
    records: dict[tuple[str, str], list[RunRecord]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp:
        files, by_duration = write_files(Path(tmp), count)
        with ServerProcess(engine="fixed") as server:
            server.set_faults(
                processing_delay=PROCESSING[0],
                processing_jitter=PROCESSING[1] - PROCESSING[0],
                seed=3,
            )
            for index in range(runs):
                for mode in MODES:
                    order = ("speechkit", "peer") if index % 2 == 0 else ("peer", "speechkit")
                    for side in order:
                        limit = group_limit(side, mode, count)
                        record = run_once(server, side, mode, files, by_duration, limit)
                        check_clean(side, mode, record, count)
                        records[(side, mode)].append(record)
                        print(
                            f"   {mode:8} {side:9} {record.wall:6.2f} s  "
                            f"threads {record.peak_threads:3}  rss {record.peak_rss_mib:5.1f} MiB",
                            flush=True,
                        )
            # Once: speechkit's futures group as a user gets it, at its default limit.
            default = run_once(server, "speechkit", "futures", files, by_duration, DEFAULT_LIMIT)
            check_clean("speechkit", "futures (default limit)", default, count)
    result = figures(records, quick, runs, count)
    peer_futures = median([r.wall for r in records[("peer", "futures")]])
    result.append(
        Figure(
            scenario=NAME,
            metric=f"futures at speechkit's default max_concurrency ({DEFAULT_LIMIT}): wall time",
            unit="s",
            speechkit=default.wall,
            peer=peer_futures,
            runs=1,
            notes="Reported, not targeted: speechkit's group holds one of its "
            f"{DEFAULT_LIMIT} slots per job until the job is done (upload, create and every "
            "poll), while the peer's group limits only uploads and creates to 8 at a time and "
            "then waits for all jobs at once. Poll lag: speechkit "
            f"{_lag_summary([default])}.",
        )
    )
    return result


def _lag_summary(records: list[RunRecord]) -> str:
    lags = sorted(lag for r in records for lag in r.audit.poll_lags)
    if not lags:
        return "n/a"
    return (
        f"median {median(lags):.2f} s, p90 {lags[int(len(lags) * 0.9)]:.2f} s, max {lags[-1]:.2f} s"
    )


def _per_job_requests(records: list[RunRecord], files: int) -> float:
    return median([sum(r.audit.requests.values()) / files for r in records])


def profile(mode: str, sk: list[RunRecord], peer: list[RunRecord], files: int) -> str:
    """Where the wall time goes, from the server's view: poll lag (a job's completion on the
    server to the poll that saw it) and requests per file, per side."""
    lines = [f"{mode}, {files} files, per side over {len(sk)} run(s):"]
    for side, records in (("speechkit", sk), ("peer", peer)):
        lines.append(
            f"  {side:9} wall {median([r.wall for r in records]):6.2f} s | requests per file "
            f"{_per_job_requests(records, files):4.1f} | poll lag {_lag_summary(records)}"
        )
    lines.append("Timeline, seconds after the run's first request (server clock, median of runs):")
    for side, records in (("speechkit", sk), ("peer", peer)):
        timelines = [r.audit.timeline for r in records if r.audit.timeline]
        if timelines:
            point = {key: median([t[key] for t in timelines]) for key in timelines[0]}
            lines.append(
                f"  {side:9} all jobs created {point['creates_done']:5.2f} | last job completed "
                f"{point['last_completed']:5.2f} | last completion seen {point['last_seen']:5.2f}"
            )
            if side == "speechkit":
                floor = point["last_completed"] / median([r.wall for r in peer])
                lines.append(
                    f"  floor: no client returns before the last job completes, so the best "
                    f"ratio reachable here is {floor:.2f}"
                )
    return "\n".join(lines)


def figures(
    records: dict[tuple[str, str], list[RunRecord]], quick: bool, runs: int, files: int
) -> list[Figure]:
    """Wall time (targeted), peak threads and peak RSS per mode."""
    result = []
    for mode in MODES:
        sk, peer = records[("speechkit", mode)], records[("peer", mode)]
        sk_wall, peer_wall = median([r.wall for r in sk]), median([r.wall for r in peer])
        met = None if quick else sk_wall / peer_wall <= TARGET_RATIO
        result.append(
            Figure(
                scenario=NAME,
                metric=f"{mode}: wall time",
                unit="s",
                speechkit=sk_wall,
                peer=peer_wall,
                target=f"ratio <= {TARGET_RATIO}",
                met=met,
                runs=runs,
                notes=f"Poll lag (job completed on the server → the poll that saw it): speechkit "
                f"{_lag_summary(sk)}; peer {_lag_summary(peer)}. Requests per file: speechkit "
                f"{_per_job_requests(sk, files):.1f}, peer {_per_job_requests(peer, files):.1f}.",
                samples={"speechkit": [r.wall for r in sk], "peer": [r.wall for r in peer]},
                profile=profile(mode, sk, peer, files) if met is False else "",
            )
        )
        sk_threads = median([r.peak_threads for r in sk])
        asyncio_mode = mode == "asyncio"
        result.append(
            Figure(
                scenario=NAME,
                metric=f"{mode}: peak threads",
                unit="",
                speechkit=sk_threads,
                peer=median([r.peak_threads for r in peer]),
                runs=runs,
                # A thread per job in flight would show at least CONCURRENCY threads.
                target=f"< {CONCURRENCY} (no thread per job)" if asyncio_mode else "",
                met=(None if quick else sk_threads < CONCURRENCY) if asyncio_mode else None,
                notes="the main thread plus the event loop's default executor (file reads)"
                if asyncio_mode
                else "",
            )
        )
        result.append(
            Figure(
                scenario=NAME,
                metric=f"{mode}: peak RSS",
                unit="MiB",
                speechkit=median([r.peak_rss_mib for r in sk]),
                peer=median([r.peak_rss_mib for r in peer]),
                runs=runs,
            )
        )
    return result
