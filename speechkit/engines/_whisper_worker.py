"""The worker-process side of the Whisper engine: faster-whisper (CTranslate2) in one process.

Runs inside a worker interpreter that :class:`speechkit.engines.whisper_engine.WhisperEngine`
starts (that module describes the recognition rules); the request loop is
:mod:`speechkit.engines._worker_loop`.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from speechkit.engines._turns import (
    FRAME_MS,
    PREROLL_MS,
    Endpointer,
    TurnPolicy,
    punctuation_confidence,
)
from speechkit.engines._worker_loop import run_worker
from speechkit.engines.base import RecognizedWord, StreamEvent

SAMPLE_RATE = 16000  # Whisper's feature extractor works at 16 kHz
_FRAME_BYTES = round(FRAME_MS * SAMPLE_RATE / 1000) * 2
# Batch audio is decoded in blocks of at most this many seconds, each cut at its quietest
# 30 ms within the last few seconds, so an hour of audio never becomes one float array.
_BLOCK_SECONDS = 300
_CUT_SEARCH_SECONDS = 5


@dataclass(frozen=True, slots=True)
class WhisperOptions:
    """What a worker needs to load and run its model (sent once, when it starts)."""

    model: str
    compute_type: str
    threads: int
    beam_size: int
    partial_beam_size: int
    language: str | None
    vad_filter: bool
    partial_cpu_budget: float


def _language_code(language: str | None) -> str:
    """Whisper's language as the API's ``language_code`` (English is ``en_us``)."""
    return "en_us" if language in (None, "en") else str(language)


class _Backend:
    def __init__(self, options: WhisperOptions) -> None:
        from faster_whisper import WhisperModel

        self.options = options
        self.model = WhisperModel(
            options.model,
            device="cpu",
            compute_type=options.compute_type,
            cpu_threads=options.threads,
            num_workers=1,
        )
        self.english_only = bool(getattr(self.model.model, "is_multilingual", True) is False)
        self.language = options.language or ("en" if self.english_only else None)

    def decode(
        self, audio: np.ndarray, offset_ms: float, *, beam_size: int, vad_filter: bool
    ) -> tuple[list[RecognizedWord], str, str | None]:
        """Recognize float32 samples; word times are ms, shifted by ``offset_ms``."""
        segments, info = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=beam_size,
            word_timestamps=True,
            vad_filter=vad_filter,
            condition_on_previous_text=False,
        )
        words: list[RecognizedWord] = []
        texts: list[str] = []
        for segment in segments:
            texts.append(segment.text.strip())
            for word in segment.words or ():
                text = word.word.strip()
                if not text:
                    continue
                start = round(offset_ms + word.start * 1000)
                end = max(start + 1, round(offset_ms + word.end * 1000))
                if words and start < words[-1].end:
                    start = min(words[-1].end, end - 1)
                words.append(
                    RecognizedWord(
                        text=text,
                        start=start,
                        end=end,
                        confidence=round(min(1.0, max(0.0, float(word.probability))), 4),
                    )
                )
        return words, " ".join(texts), info.language

    def transcribe(self, settings: object, pcm: bytes) -> dict[str, Any]:
        samples = np.frombuffer(pcm, dtype="<i2")
        words: list[RecognizedWord] = []
        language: str | None = None
        position = 0
        block = _BLOCK_SECONDS * SAMPLE_RATE
        while position < len(samples):
            end = (
                len(samples)
                if len(samples) - position <= block
                else _cut(samples, position + block)
            )
            audio = samples[position:end].astype(np.float32) / 32768.0
            found, _, detected = self.decode(
                audio,
                position * 1000 / SAMPLE_RATE,
                beam_size=self.options.beam_size,
                vad_filter=self.options.vad_filter,
            )
            words += found
            language = language or detected
            position = end
        return {"words": words, "language_code": _language_code(language)}

    def open(self, settings: TurnPolicy) -> _StreamRecognizer:
        return _StreamRecognizer(self, settings)


def _cut(samples: np.ndarray, limit: int) -> int:
    """The start of the quietest 30 ms frame in the few seconds before ``limit``."""
    frame = _FRAME_BYTES // 2
    lo = max(0, limit - _CUT_SEARCH_SECONDS * SAMPLE_RATE)
    window = samples[lo:limit].astype(np.float32)
    count = len(window) // frame
    if count < 2:
        return limit
    energy = np.square(window[: count * frame].reshape(count, frame)).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame


class _StreamRecognizer:
    """Turn endpointing (:mod:`speechkit.engines._turns`) around Whisper: partial hypotheses
    from a fast decode of the utterance so far, the final from a full-beam decode."""

    def __init__(self, backend: _Backend, settings: TurnPolicy) -> None:
        from pocketsphinx import Vad

        self._backend = backend
        self._vad = Vad(Vad.LOOSE, SAMPLE_RATE)
        assert self._vad.frame_bytes == _FRAME_BYTES
        self._settings = settings
        self._endpointer = Endpointer(settings)
        self._pending = b""
        self._position = 0  # samples consumed since the stream started
        self._preroll: deque[bytes] = deque(maxlen=round(PREROLL_MS / FRAME_MS))
        self._utterance = bytearray()
        self._utterance_start: int | None = None
        self._speech_frames = 0  # speech frames in the utterance so far
        self._since_partial = 0
        self._last_partial: tuple[str, ...] = ()
        # The last full-beam decode of the utterance, and how many speech frames it had seen.
        self._decoded: tuple[int, list[RecognizedWord], str] | None = None
        self._decode_cpu = 0.0  # CPU seconds spent decoding on this stream

    def update(self, settings: TurnPolicy) -> None:
        self._settings = settings
        self._endpointer.update(settings)

    def close(self) -> None:
        self._utterance_start = None
        self._utterance.clear()

    def feed(self, pcm: bytes) -> list[StreamEvent]:
        data = self._pending + pcm if self._pending else pcm
        events: list[StreamEvent] = []
        offset = 0
        while offset + _FRAME_BYTES <= len(data):
            self._frame(data[offset : offset + _FRAME_BYTES], events)
            offset += _FRAME_BYTES
        self._pending = data[offset:]
        return events

    def force_endpoint(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        tail, self._pending = self._pending[: len(self._pending) // 2 * 2], b""
        if self._utterance_start is None and self._endpointer.speech_pending:
            self._endpointer.begin()
            self._start_utterance()
        if self._utterance_start is not None:
            self._utterance += tail
            self._position += len(tail) // 2
            self._endpointer.finish()
            self._end_utterance(events, 1.0)
        else:
            self._position += len(tail) // 2
            self._preroll.clear()
            self._endpointer.finish()
        return events

    def _frame(self, frame: bytes, events: list[StreamEvent]) -> None:
        speech = bool(self._vad.is_speech(frame))
        self._position += len(frame) // 2
        if self._utterance_start is None:
            self._preroll.append(frame)
            if self._endpointer.push(speech, self._confidence) == "start":
                self._start_utterance()
            return
        self._utterance += frame
        self._speech_frames += speech
        self._since_partial += len(frame) // 2
        decision = self._endpointer.push(speech, self._confidence)
        if decision == "end":
            self._end_utterance(events, self._endpointer.last_confidence)
        elif decision == "cut":
            self._end_utterance(events, 0.5)
        elif (
            self._settings.partial_interval_ms is not None
            and self._since_partial * 1000 >= self._settings.partial_interval_ms * SAMPLE_RATE
            and self._decode_cpu
            <= self._backend.options.partial_cpu_budget * self._position / SAMPLE_RATE
        ):
            self._since_partial = 0
            words, _ = self._decode(self._backend.options.partial_beam_size)
            texts = tuple(w.text for w in words)
            if texts and texts != self._last_partial:
                self._last_partial = texts
                if events and not events[-1].is_final:
                    events.pop()  # a newer partial of the same utterance supersedes it
                events.append(StreamEvent(tuple(words), False, 0.0))

    def _start_utterance(self) -> None:
        frames = list(self._preroll)
        self._preroll.clear()
        self._utterance = bytearray(b"".join(frames))
        self._utterance_start = self._position - len(self._utterance) // 2
        self._speech_frames = 0
        self._since_partial = len(self._utterance) // 2
        self._last_partial = ()
        self._decoded = None

    def _decode(self, beam_size: int) -> tuple[list[RecognizedWord], str]:
        assert self._utterance_start is not None
        audio = np.frombuffer(bytes(self._utterance), dtype="<i2").astype(np.float32) / 32768.0
        started = time.process_time()
        words, text, _ = self._backend.decode(
            audio, self._utterance_start * 1000 / SAMPLE_RATE, beam_size=beam_size, vad_filter=False
        )
        self._decode_cpu += time.process_time() - started
        return words, text

    def _final_decode(self) -> tuple[list[RecognizedWord], str]:
        if self._decoded is not None and self._decoded[0] == self._speech_frames:
            return self._decoded[1], self._decoded[2]
        words, text = self._decode(self._backend.options.beam_size)
        self._decoded = (self._speech_frames, words, text)
        return words, text

    def _confidence(self, silence_ms: float) -> float:
        if self._utterance_start is None:
            return 0.0
        _, text = self._final_decode()
        return punctuation_confidence(text)

    def _end_utterance(self, events: list[StreamEvent], confidence: float) -> None:
        words, _ = self._final_decode()
        self._utterance_start = None
        self._utterance = bytearray()
        self._decoded = None
        if words:
            events.append(StreamEvent(tuple(words), True, confidence))


def _load(options: WhisperOptions) -> _Backend:
    os.environ.setdefault("OMP_NUM_THREADS", str(options.threads))
    return _Backend(options)


def _worker_main(fd: int) -> None:
    """Entry point of a worker process (see :mod:`speechkit.engines._worker_loop`)."""
    run_worker(fd, _load)
