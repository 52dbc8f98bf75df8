"""The small, fast offline recognizer: CMU pocketsphinx with the US English model its wheel
carries.

Processes. pocketsphinx decodes in C while holding the GIL, so decoders run in worker processes
(:mod:`speechkit.engines._workers` describes the pool). A worker loads its decoder once (about
0.4 s; 120 MB resident).

Recognition. Audio is cut into utterances by the shared turn rules of
:mod:`speechkit.engines._turns` (pocketsphinx's voice activity detector, 30 ms frames; the
end-of-turn confidence of a pause grows with its length, since pocketsphinx has no punctuation).
Batch jobs cut at 500 ms pauses. Each utterance is decoded with the model's defaults (tree
search, flat search, best path); word confidences are the lattice posteriors (0..1).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from speechkit.engines._pocketsphinx_worker import SAMPLE_RATE
from speechkit.engines._turns import TurnPolicy
from speechkit.engines._workers import WorkerEngine, WorkerStream
from speechkit.engines.base import EngineError

__all__ = ["PocketsphinxEngine", "PocketsphinxStream"]

_BATCH_SILENCE_MS = 500

#: A stream of the pocketsphinx engine (the shared worker-process stream).
PocketsphinxStream = WorkerStream


class PocketsphinxEngine(WorkerEngine):
    """Offline US English recognition with pocketsphinx, in worker processes.

    Creating the engine starts nothing. Workers start on first use (the first job or stream
    waits about 0.4 s for its model), or up front with :meth:`start`. All methods must be called
    from one event loop; any number of jobs and streams may run concurrently (jobs beyond
    ``workers`` wait for a free worker).

    Memory: each worker process holds its own model, about 120 MB resident. At most
    ``workers + max_streams + spare_streams`` workers exist at once.
    """

    name = "pocketsphinx"
    sample_rate = SAMPLE_RATE
    worker_module = "speechkit.engines._pocketsphinx_worker"

    def __init__(
        self,
        *,
        workers: int | None = None,
        max_streams: int = 16,
        spare_streams: int = 1,
        silence_threshold_ms: int = 600,
        partial_interval_ms: int | None = 200,
        max_utterance_ms: int = 30_000,
        decoder_options: Mapping[str, Any] | None = None,
    ) -> None:
        """Configure the engine; no process starts yet.

        Args:
            workers: Batch worker processes (default ``min(2, os.cpu_count())``).
            max_streams: Open streams allowed at once; :meth:`open_stream` raises
                :class:`EngineError` beyond it.
            spare_streams: Stream workers kept loaded and idle so a new stream starts at once.
            silence_threshold_ms: Trailing silence that ends a streaming utterance (changeable
                per stream with :meth:`PocketsphinxStream.set_silence_threshold`).
            partial_interval_ms: Audio between partial hypotheses (a partial is sent only if
                the words changed); None disables partials.
            max_utterance_ms: Utterance length after which the next pause ends it.
            decoder_options: Extra pocketsphinx ``Decoder`` settings (``beam``, ``lm``,
                ``dict``, ``hmm``, ...), passed through unchecked.
        """
        if importlib.util.find_spec("pocketsphinx") is None:
            raise EngineError(
                "The pocketsphinx engine needs the 'pocketsphinx' package: "
                "pip install 'speechkit-stt[server]'."
            )
        super().__init__(
            workers=workers,
            max_streams=max_streams,
            spare_streams=spare_streams,
            silence_threshold_ms=silence_threshold_ms,
            partial_interval_ms=partial_interval_ms,
            max_utterance_ms=max_utterance_ms,
            worker_options={"loglevel": "ERROR", **(decoder_options or {})},
        )

    def _batch_settings(self) -> TurnPolicy:
        return TurnPolicy(
            min_silence_ms=_BATCH_SILENCE_MS,
            max_silence_ms=_BATCH_SILENCE_MS,
            partial_interval_ms=None,
            max_utterance_ms=self._settings.max_utterance_ms,
        )
