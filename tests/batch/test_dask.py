"""speechkit.dask on a real LocalCluster of 2 worker processes against the local server: no
duplicate job, a rerun makes no request, the cluster's request budget holds."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from speechkit import Transcriber
from speechkit.group import GroupFailure
from speechkit.server import LocalServer, local_server

distributed = pytest.importorskip("distributed", reason="needs the dask extra")

FILES = 12
BUDGET = (10.0, 8)  # requests per second, burst: for the whole cluster


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(engine="fixed", engine_options={"text": "hello"}) as running:
        running.faults.processing_delay = 0.2
        yield running


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _stats(server: LocalServer) -> dict[str, Any]:
    return dict(httpx.get(f"{server.base_url}/_speechkit/stats", params={"log": 10000}).json())


def _api_requests(server: LocalServer) -> int:
    return sum(1 for r in _stats(server)["log"] if r["path"].startswith("/v2/"))


def test_a_cluster_run_makes_each_job_once_within_budget_and_a_rerun_makes_no_request(
    server: LocalServer, cluster_client: Any, tmp_path: Path
) -> None:
    from speechkit.dask import transcribe_files

    paths = []
    for index in range(FILES):
        path = tmp_path / f"clip{index:02d}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(bytes([index, 0]) * 4000)
        paths.append(str(path))
    ledger = tmp_path / "cluster.db"
    transcriber = Transcriber(api_key="local", base_url=server.base_url, polling_interval=0.05)
    before = _stats(server)
    created_before = int(sum(before["jobs"]["created"].values()))
    log_before = len(before["log"])

    results = transcribe_files(
        cluster_client,
        paths,
        transcriber=transcriber,
        ledger=ledger,
        batch_size=3,
        max_batches=2,
        budget=BUDGET,
    )
    assert not [r for r in results if isinstance(r, GroupFailure)]
    assert [r.text for r in results] == ["Hello."] * FILES  # type: ignore[union-attr]
    stats = _stats(server)
    created = int(sum(stats["jobs"]["created"].values())) - created_before
    assert created == FILES  # 0 duplicate jobs
    # The budget held: no run of requests came faster than the cluster's budget allows
    # (a slower machine only spreads them more).
    times = sorted(r["time"] for r in stats["log"][log_before:] if r["path"].startswith("/v2/"))
    rate, burst = BUDGET
    span = times[-1] - times[0]
    assert span >= (len(times) - burst) / rate - 1.0

    requests_before = _api_requests(server)
    again = transcribe_files(
        cluster_client, paths, transcriber=transcriber, ledger=ledger, batch_size=3, max_batches=2
    )
    assert [r.id for r in again] == [r.id for r in results]  # type: ignore[union-attr]
    assert _api_requests(server) == requests_before  # the rerun made 0 API calls
