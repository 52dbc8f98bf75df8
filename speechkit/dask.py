"""Transcribe many files on a Dask cluster: ``pip install "speechkit-stt[dask]"``.

:func:`transcribe_files` splits the files into batches and runs each batch as one
``transcribe_group`` on a worker, with three guarantees that hold across machines:

* **a cluster-wide limit**: a :class:`distributed.Semaphore` lets at most ``max_batches``
  batches run at once, and each running batch keeps its requests to its share of ``budget``
  (requests per second, and a burst), so the whole cluster stays under the service's budget;
* **no job twice**: every batch records its steps in one :class:`~speechkit.ledger.Ledger` (a
  SQLite file every worker can reach, e.g. on a shared file system), so a batch Dask runs again
  after a worker died waits for the jobs it had made, and a second call answers finished files
  from the ledger without any request;
* **errors arrive as themselves**: every speechkit exception pickles, so a failed file comes
  back as a :class:`~speechkit.GroupFailure` holding its real error.

The pieces are engine-neutral: the transcriber pickles its settings, the ledger pickles as its
path, and the limiter is any object with ``reserve(now) -> seconds``; see the docs for the same
job on Ray Data.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from speechkit._client_base import _SharedLimiter
from speechkit._core.limiter import DEFAULT_BUDGET, TokenBucket
from speechkit.errors import InvalidInputError
from speechkit.group import GroupFailure

if TYPE_CHECKING:
    from speechkit.config import TranscriptionConfig
    from speechkit.models import Transcript
    from speechkit.transcriber import Transcriber

__all__ = ["transcribe_files"]


def _run_batch(
    transcriber: Transcriber,
    paths: list[str],
    config: TranscriptionConfig | None,
    ledger: str,
    semaphore: Any,
    budget: tuple[float, int],
    max_concurrency: int,
    poll_timeout: float | None,
) -> list[Transcript | GroupFailure]:
    """On a worker: one group for one batch, holding a cluster-wide lease while it runs."""
    rate, burst = budget
    transcriber = copy.copy(transcriber)  # a fresh one: settings only, its own connections
    with semaphore, transcriber:
        # A batch takes over a lease another batch may just have used: starting with no burst
        # keeps every lease, batch after batch, within burst + rate x time.
        transcriber._limiter = _SharedLimiter(TokenBucket(rate, burst, initial=0))
        group = transcriber.transcribe_group(
            paths,
            config,
            ledger=ledger,
            max_concurrency=max_concurrency,
            poll_timeout=poll_timeout,
            return_failures=True,
        )
    return list(group)


def transcribe_files(
    client: Any,
    paths: Sequence[str | os.PathLike[str]],
    *,
    transcriber: Transcriber,
    ledger: str | os.PathLike[str],
    config: TranscriptionConfig | None = None,
    batch_size: int = 100,
    max_batches: int = 4,
    budget: tuple[float, int] = DEFAULT_BUDGET,
    max_concurrency: int = 8,
    poll_timeout: float | None = None,
) -> list[Transcript | GroupFailure]:
    """Transcribe ``paths`` on the Dask cluster behind ``client``; results in input order.

    Args:
        client: A ``distributed.Client``.
        paths: Audio files every worker can read (a shared file system, or one machine).
        transcriber: The settings to use (provider, key, base URL, config...): it is pickled
            to the workers, each of which opens its own connections.
        ledger: The ledger's SQLite file, reachable by every worker. Calling again with the
            same ledger resumes: no job is made twice, finished files cost no request.
        config: Options for every job; defaults to the transcriber's ``config``.
        batch_size: Files per Dask task (one ``transcribe_group`` each).
        max_batches: Batches running at once across the cluster (a ``distributed.Semaphore``).
        budget: The cluster's request budget, ``(requests per second, burst)``; each running
            batch gets ``1/max_batches`` of it. The default stays under AssemblyAI's 20,000
            requests per 5 minutes.
        max_concurrency: Uploads and creates in flight per batch.
        poll_timeout: Seconds each job may take from its creation.

    Returns:
        One :class:`~speechkit.models.Transcript` or :class:`~speechkit.GroupFailure` per path;
        a failure's ``index`` is its position within its batch, and ``audio`` its path.
    """
    try:
        from distributed import Semaphore
    except ImportError as err:
        raise InvalidInputError(
            'speechkit.dask needs Dask distributed: pip install "speechkit-stt[dask]"'
        ) from err
    if batch_size < 1 or max_batches < 1:
        raise InvalidInputError("batch_size and max_batches must be >= 1.")
    rate, burst = budget
    if rate <= 0 or burst < max_batches:
        raise InvalidInputError(
            f"budget must be (requests per second > 0, burst >= max_batches), got {budget}."
        )
    files = [os.fspath(path) for path in paths]
    if isinstance(paths, (str, bytes)) or not all(isinstance(f, str) for f in files):
        raise InvalidInputError("paths must be a list of file paths.")
    share = (rate / max_batches, max(1, burst // max_batches))
    make_semaphore: Any = Semaphore  # untyped in distributed
    semaphore = make_semaphore(max_leases=max_batches, name=f"speechkit-{uuid.uuid4().hex}")
    batches = [files[i : i + batch_size] for i in range(0, len(files), batch_size)]
    futures = [
        client.submit(
            _run_batch,
            transcriber,
            batch,
            config,
            os.fspath(ledger),
            semaphore,
            share,
            max_concurrency,
            poll_timeout,
            pure=False,
            retries=1,  # a batch on a worker that died runs again; the ledger makes it safe
        )
        for batch in batches
    ]
    results: list[Transcript | GroupFailure] = []
    for batch_results in client.gather(futures):
        results.extend(batch_results)
    return results
