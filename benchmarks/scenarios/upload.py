"""Scenario 4: upload a 1 GiB file to ``/v2/upload``.

Three clients upload the same file to the same local server, each in its own fresh process,
alternating run by run: speechkit (``Transcriber.upload_file``), the peer
(``assemblyai.Transcriber().upload_file``) and bare httpx (a generator of 1 MiB chunks with a
``Content-Length``: the practical limit on loopback). The file is sparse (written in no time, read
from the page cache as zeros). The server streams uploads over 16 MiB into a temporary file, so
its memory stays flat, and its uploads are cleared between runs.

Targets: speechkit's peak RSS growth during the upload <= 32 MiB; its throughput >= 0.8 of bare
httpx's, i.e. speechkit time / httpx time <= 1.25.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx

from benchmarks._figures import Figure, median
from benchmarks._server import ServerProcess
from benchmarks._sk_child import MiB, run_child

NAME = "upload"
TITLE = "Upload a 1 GiB file"
SETTINGS = (
    "A sparse 1 GiB file (8 MiB in quick mode), uploaded to the local server's `/v2/upload` by "
    "speechkit `Transcriber.upload_file(path)`, assemblyai `Transcriber().upload_file(path)` and "
    "bare httpx (`client.post(content=<1 MiB chunks>, Content-Length)`), each in a fresh "
    "process after a 1 KiB warm-up upload. RSS growth is the kernel's peak RSS (`VmHWM`, reset "
    "after the warm-up) minus the RSS before the upload."
)

SIDES = ("speechkit", "peer", "httpx")


def run(quick: bool, runs: int) -> list[Figure]:
    size = 8 * MiB if quick else 1024 * MiB
    runs = 1 if quick else runs
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in SIDES}
    with (
        tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp,
        ServerProcess(
            engine="fixed", max_upload_bytes=2 * size, max_upload_store_bytes=4 * size
        ) as server,
    ):
        big, small = Path(tmp, "big.bin"), Path(tmp, "warmup.bin")
        with open(big, "wb") as file:
            file.truncate(size)  # sparse
        small.write_bytes(b"\0" * 1024)
        for n in range(runs):
            order = SIDES if n % 2 == 0 else SIDES[::-1]
            for side in order:
                result = run_child(
                    "upload",
                    side=side,
                    base_url=server.base_url,
                    path=str(big),
                    warmup_path=str(small),
                )
                for key in ("seconds", "cpu_seconds", "rss_growth"):
                    samples[side].setdefault(key, []).append(float(result[key]))
                method = result["rss_method"]
                httpx.delete(f"{server.base_url}/_speechkit/uploads", timeout=30)

    def med(side: str, key: str) -> float:
        return median(samples[side][key])

    gib = size / (1024 * MiB)
    mib = size / MiB
    sk_s, peer_s, bare_s = (
        med("speechkit", "seconds"),
        med("peer", "seconds"),
        med("httpx", "seconds"),
    )
    sk_rss = med("speechkit", "rss_growth") / MiB
    vs_httpx = sk_s / bare_s
    return [
        Figure(
            NAME,
            f"upload time, {mib:.0f} MiB",
            "s",
            sk_s,
            peer_s,
            runs=runs,
            notes=(
                f"throughput MiB/s: speechkit {mib / sk_s:.0f}, assemblyai {mib / peer_s:.0f}, "
                f"bare httpx {mib / bare_s:.0f}"
            ),
            samples={
                "speechkit": samples["speechkit"]["seconds"],
                "peer": samples["peer"]["seconds"],
            },
        ),
        Figure(
            NAME,
            "upload time vs bare httpx (peer column = bare httpx)",
            "s",
            sk_s,
            bare_s,
            target="ratio <= 1.25 (throughput >= 0.8 of httpx)",
            met=None if quick else vs_httpx <= 1.25,
            runs=runs,
            notes=f"speechkit reaches {1 / vs_httpx:.2f} of bare httpx's throughput",
            samples={
                "speechkit": samples["speechkit"]["seconds"],
                "peer": samples["httpx"]["seconds"],
            },
        ),
        Figure(
            NAME,
            "peak RSS growth during the upload",
            "MiB",
            sk_rss,
            med("peer", "rss_growth") / MiB,
            target="speechkit <= 32 MiB",
            met=None if quick else sk_rss <= 32,
            runs=runs,
            notes=f"bare httpx: {med('httpx', 'rss_growth') / MiB:.1f} MiB; measured by {method}",
            samples={
                "speechkit": [v / MiB for v in samples["speechkit"]["rss_growth"]],
                "peer": [v / MiB for v in samples["peer"]["rss_growth"]],
            },
        ),
        Figure(
            NAME,
            "client CPU per GiB uploaded",
            "s/GiB",
            med("speechkit", "cpu_seconds") / gib,
            med("peer", "cpu_seconds") / gib,
            runs=runs,
            notes=f"bare httpx: {med('httpx', 'cpu_seconds') / gib:.2f} s/GiB",
        ),
    ]
