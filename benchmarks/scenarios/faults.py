"""Scenario 8: batch throughput under faults. Scenario 3's batch (every mode, both sides) with 10 %
of the requests answered 429, 503 or a connection reset; speechkit must finish every job and
create no job twice. The peer's outcome is reported beside it.

The faults are the server's own (``/_speechkit/faults``), spread over every endpoint the batch
uses (upload, create, poll), one third of them each kind:

* 429 and 503 (with ``Retry-After: 1``) before the request is handled: nothing was processed;
* a reset *after* the request was handled: the upload is stored or the job created, and the
  client sees the connection drop. This is the case where resending a create would duplicate
  a job, so it is the one the duplicate count tests.

Full mode draws the faults at random (seeded) at 10 % overall. Quick mode injects each kind
exactly once on each endpoint, so the smoke check covers every path deterministically.

Duplicates are counted on the server: every job is matched to its file by the file's unique
duration (see :func:`benchmarks.scenarios.throughput.audit`), and a file with two jobs has a
duplicate. Only speechkit is held to the targets.
"""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._figures import Figure
from benchmarks._server import ServerProcess
from benchmarks.scenarios import throughput

NAME = "faults"
TITLE = "Batch under faults"
FAULT_RATE = 0.10
ENDPOINTS = ("upload", "transcript.create", "transcript.get")
#: Each of three rules fires with this probability, in turn: 1 - (1 - p)^3 = 10 % overall.
RULE_RATE = 1 - (1 - FAULT_RATE) ** (1 / 3)
SETTINGS = f"""\
Scenario 3's batch ({throughput.FILES} files, 0.5-2 s per job, the same modes and concurrency,
one run per mode and side) with {FAULT_RATE:.0%} of the requests to upload, create and poll
failing: three server rules on every endpoint, each firing with probability {RULE_RATE:.4f} —
429 and 503 with `Retry-After: 1` (before handling), and a connection reset after the request
was handled (the upload stored or the job created, the answer lost). Seeded. Both sides at
their defaults: speechkit retries (4 retries, backoff 0.5 s doubling, `Retry-After` honoured,
a job-creating POST never resent once it may have reached the server); the peer has no
retries. Failed = an input that did not come back as a completed transcript; duplicates = jobs
beyond the first for the same file, counted on the server."""


def random_faults(seed: int) -> dict[str, Any]:
    """Full mode: 429, 503 and reset-after-handling on every endpoint, 10 % overall, seeded."""
    return {
        "seed": seed,
        "endpoint_faults": [
            {"endpoint": "*", "status": 429, "rate": RULE_RATE},
            {"endpoint": "*", "status": 503, "rate": RULE_RATE},
            {"endpoint": "*", "reset": True, "rate": RULE_RATE, "after_processing": True},
        ],
    }


def one_of_each() -> dict[str, Any]:
    """Quick mode: each kind once on each endpoint (9 faults), whatever the request order."""
    rules: list[dict[str, Any]] = []
    for endpoint in ENDPOINTS:
        rules += [
            {"endpoint": endpoint, "status": 429, "times": 1},
            {"endpoint": endpoint, "status": 503, "times": 1},
            {"endpoint": endpoint, "reset": True, "times": 1, "after_processing": True},
        ]
    return {"endpoint_faults": rules}


def _failures(record: throughput.RunRecord, files: int) -> int:
    return files - record.completed


def _error_kinds(record: throughput.RunRecord) -> str:
    kinds = collections.Counter(e.split(":", 1)[0] for e in record.errors)
    text = ", ".join(f"{kind} x{count}" for kind, count in kinds.most_common()) or "none"
    if record.group_error:
        text += f"; the whole group raised {record.group_error.split(':', 1)[0]}"
    return text


def _by_request(record: throughput.RunRecord) -> str:
    """Failed inputs by the request that failed them (``POST /v2/upload``, ...)."""
    requests: collections.Counter[str] = collections.Counter()
    for error in record.errors:
        message = error.split(":", 1)[1] if ":" in error else error
        words = message.split()
        known = len(words) >= 2 and words[0] in {"GET", "POST", "DELETE"}
        requests[" ".join(words[:2]).rstrip(":") if known else "other"] += 1
    return ", ".join(f"{request} x{count}" for request, count in requests.most_common())


def _profile(mode: str, record: throughput.RunRecord) -> str:
    examples = list(dict.fromkeys(record.errors))[:4]
    lines = [
        f"speechkit, {mode}: faults injected per endpoint {record.audit.faults}",
        f"  jobs created {record.audit.created}, completed {record.completed}, "
        f"orphaned {record.audit.orphans}, duplicates {record.audit.duplicates}",
        f"  errors: {_error_kinds(record)}",
        f"  failed by request: {_by_request(record)}",
        *(f"  e.g. {example}" for example in examples),
    ]
    return "\n".join(lines)


def run(quick: bool, runs: int) -> list[Figure]:
    """One run per mode and side under faults; raise in quick mode when speechkit failed or
    duplicated a job."""
    count = throughput.QUICK_FILES if quick else throughput.FILES
    faults = one_of_each() if quick else random_faults(seed=8)
    records: dict[tuple[str, str], throughput.RunRecord] = {}
    with tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp:
        files, by_duration = throughput.write_files(Path(tmp), count)
        with ServerProcess(engine="fixed") as server:
            for index, mode in enumerate(throughput.MODES):
                order = ("speechkit", "peer") if index % 2 == 0 else ("peer", "speechkit")
                for side in order:
                    server.set_faults(
                        processing_delay=throughput.PROCESSING[0],
                        processing_jitter=throughput.PROCESSING[1] - throughput.PROCESSING[0],
                        **faults,
                    )
                    limit = throughput.group_limit(side, mode, count)
                    record = throughput.run_once(server, side, mode, files, by_duration, limit)
                    records[(side, mode)] = record
                    print(
                        f"   {mode:8} {side:9} {record.wall:6.2f} s  failed "
                        f"{_failures(record, count):3}  duplicates {record.audit.duplicates}  "
                        f"faults {sum(record.audit.faults.values())}",
                        flush=True,
                    )
    problems = [
        _profile(mode, r)
        for (side, mode), r in records.items()
        if side == "speechkit" and (_failures(r, count) or r.audit.duplicates)
    ]
    if quick and problems:
        raise RuntimeError(
            "speechkit failed or duplicated jobs under faults:\n" + "\n".join(problems)
        )
    return figures(records, count, quick)


def figures(
    records: dict[tuple[str, str], throughput.RunRecord], files: int, quick: bool
) -> list[Figure]:
    """Failed and duplicate jobs per mode (targets: zero for speechkit), with the peer's."""
    result = []
    for mode in throughput.MODES:
        sk, peer = records[("speechkit", mode)], records[("peer", mode)]
        failed = _failures(sk, files)
        faults_seen = sum(sk.audit.faults.values())
        result.append(
            Figure(
                scenario=NAME,
                metric=f"{mode}: failed jobs (of {files})",
                unit="",
                speechkit=failed,
                peer=_failures(peer, files),
                target="0",
                met=None if quick else failed == 0,
                notes=f"faults injected: speechkit run {faults_seen}, peer run "
                f"{sum(peer.audit.faults.values())}. speechkit errors: {_error_kinds(sk)}. "
                f"Peer errors: {_error_kinds(peer)}.",
                profile=_profile(mode, sk) if failed else "",
                compare=False,
            )
        )
        result.append(
            Figure(
                scenario=NAME,
                metric=f"{mode}: duplicate jobs on the server",
                unit="",
                speechkit=sk.audit.duplicates,
                peer=peer.audit.duplicates,
                target="0",
                met=None if quick else sk.audit.duplicates == 0,
                notes=f"jobs created: speechkit {sk.audit.created}, peer {peer.audit.created}",
                profile=_profile(mode, sk) if sk.audit.duplicates else "",
                compare=False,
            )
        )
        result.append(
            Figure(
                scenario=NAME,
                metric=f"{mode}: wall time under faults",
                unit="s",
                speechkit=sk.wall,
                peer=peer.wall,
                notes="not a comparison: the peer's groups stop at their first error",
                compare=False,
            )
        )
    return result
