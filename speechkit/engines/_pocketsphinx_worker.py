"""The worker-process side of the pocketsphinx engine: the decoder loop and its requests.

Everything here runs inside a worker interpreter that
:class:`speechkit.engines.pocketsphinx_engine.PocketsphinxEngine` starts (that module describes
the process model and the recognition rules); the worker imports only this module and
:mod:`speechkit.engines.base`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from speechkit.engines._turns import (
    FRAME_MS,
    PREROLL_MS,
    Endpointer,
    TurnPolicy,
    pause_confidence,
)
from speechkit.engines._worker_loop import run_worker
from speechkit.engines.base import RecognizedWord, StreamEvent

SAMPLE_RATE = 16000  # the bundled en-us acoustic model is trained on 16 kHz audio


def _word_text(token: str) -> str | None:
    """The spoken word of a pocketsphinx token, or None for silence and fillers.

    ``<s>``, ``</s>``, ``<sil>`` are silences; ``[NOISE]``, ``[SPEECH]`` (and the older
    ``++NOISE++``) fillers; ``today(2)`` is ``today`` said with its second pronunciation.
    """
    if not token or token[0] in "<[+":
        return None
    return token.split("(", 1)[0] or None


class _Recognizer:
    """Turn endpointing (:mod:`speechkit.engines._turns`) around one pocketsphinx decoder, for
    one stream or one job."""

    def __init__(self, decoder: Any, settings: TurnPolicy) -> None:
        from pocketsphinx import Vad

        self._decoder = decoder
        self._frames_per_second = int(decoder.config["frate"])
        self._vad = Vad(Vad.LOOSE, SAMPLE_RATE)
        self._frame_bytes: int = self._vad.frame_bytes
        assert self._frame_bytes == round(FRAME_MS * SAMPLE_RATE / 1000) * 2
        self._pending = b""
        self._position = 0  # samples consumed since the stream started
        self._preroll: deque[bytes] = deque(maxlen=round(PREROLL_MS / FRAME_MS))
        self._utterance_start: int | None = None  # sample index while an utterance is open
        self._since_partial = 0  # samples decoded since the last partial check
        self._last_partial: tuple[str, ...] = ()
        self._settings = settings
        self._endpointer = Endpointer(settings)

    @property
    def in_utterance(self) -> bool:
        return self._utterance_start is not None

    def update(self, settings: TurnPolicy) -> None:
        self._settings = settings
        self._endpointer.update(settings)

    def close(self) -> None:
        if self._utterance_start is not None:
            self._decoder.end_utt()
            self._utterance_start = None

    def feed(self, pcm: bytes) -> list[StreamEvent]:
        data = self._pending + pcm if self._pending else pcm
        view = memoryview(data)
        events: list[StreamEvent] = []
        offset = 0
        size = self._frame_bytes
        while offset + size <= len(data):
            self._frame(bytes(view[offset : offset + size]), events)
            offset += size
        self._pending = bytes(view[offset:])
        return events

    def force_endpoint(self) -> list[StreamEvent]:
        """End the open utterance (or the speech that had not yet started one) now."""
        events: list[StreamEvent] = []
        tail, self._pending = self._pending[: len(self._pending) // 2 * 2], b""
        if self._utterance_start is None and self._endpointer.speech_pending:
            self._endpointer.begin()
            self._start_utterance()
        if self._utterance_start is not None:
            if tail:
                self._decoder.process_raw(tail, False, False)
            self._position += len(tail) // 2
            self._endpointer.finish()
            self._end_utterance(events, end_of_turn_confidence=1.0)
        else:
            self._position += len(tail) // 2
            self._preroll.clear()
            self._endpointer.finish()
        return events

    def _frame(self, frame: bytes, events: list[StreamEvent]) -> None:
        speech = bool(self._vad.is_speech(frame))
        if self._utterance_start is None:
            self._preroll.append(frame)
            self._position += len(frame) // 2
            if self._endpointer.push(speech, self._confidence) == "start":
                self._start_utterance()
            return
        self._decoder.process_raw(frame, False, False)
        self._position += len(frame) // 2
        self._since_partial += len(frame) // 2
        decision = self._endpointer.push(speech, self._confidence)
        settings = self._settings
        if decision == "end":
            self._end_utterance(events, end_of_turn_confidence=self._endpointer.last_confidence)
        elif decision == "cut":
            # A long monologue is cut at a pause so lattices stay small; the turn may go on.
            self._end_utterance(events, end_of_turn_confidence=0.5)
        elif (
            settings.partial_interval_ms is not None
            and self._since_partial * 1000 >= settings.partial_interval_ms * SAMPLE_RATE
        ):
            self._since_partial = 0
            words = self._words()
            texts = tuple(w.text for w in words)
            if texts and texts != self._last_partial:
                self._last_partial = texts
                if events and not events[-1].is_final:
                    events.pop()  # a newer partial of the same utterance supersedes it
                events.append(StreamEvent(words=words, is_final=False, end_of_turn_confidence=0.0))

    def _confidence(self, silence_ms: float) -> float:
        return pause_confidence(silence_ms, self._settings)

    def _start_utterance(self) -> None:
        frames = list(self._preroll)
        self._preroll.clear()
        samples = sum(len(f) for f in frames) // 2
        self._utterance_start = self._position - samples
        self._since_partial = samples
        self._last_partial = ()
        self._decoder.start_utt()
        if frames:
            self._decoder.process_raw(b"".join(frames), False, False)

    def _end_utterance(self, events: list[StreamEvent], *, end_of_turn_confidence: float) -> None:
        self._decoder.end_utt()
        words = self._words()
        self._utterance_start = None
        if words:
            events.append(StreamEvent(words, True, end_of_turn_confidence))

    def _words(self) -> tuple[RecognizedWord, ...]:
        assert self._utterance_start is not None
        start_ms = self._utterance_start * 1000 / SAMPLE_RATE
        ms_per_frame = 1000 / self._frames_per_second
        words = []
        for segment in self._decoder.seg():
            text = _word_text(segment.word)
            if text is None:
                continue
            words.append(
                RecognizedWord(
                    text=text,
                    start=round(start_ms + segment.start_frame * ms_per_frame),
                    # end_frame is inclusive.
                    end=round(start_ms + (segment.end_frame + 1) * ms_per_frame),
                    # The Python binding already turns the log posterior into a probability;
                    # partial hypotheses have none yet and report 1.0.
                    confidence=min(1.0, max(0.0, float(segment.prob))),
                )
            )
        return tuple(words)


class _Backend:
    """One pocketsphinx decoder, reset before every job and stream."""

    def __init__(self, decoder_options: dict[str, Any]) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(**decoder_options)
        self._initial_cmn = self._decoder.get_cmn()

    def transcribe(self, settings: TurnPolicy, pcm: bytes) -> list[RecognizedWord]:
        _fresh_start(self._decoder, self._initial_cmn)
        job = _Recognizer(self._decoder, settings)
        events = job.feed(pcm) + job.force_endpoint()
        return [word for event in events for word in event.words]

    def open(self, settings: TurnPolicy) -> _Recognizer:
        _fresh_start(self._decoder, self._initial_cmn)
        return _Recognizer(self._decoder, settings)


def _worker_main(fd: int) -> None:
    """Entry point of a worker process (see :mod:`speechkit.engines._worker_loop`)."""
    run_worker(fd, _Backend)


def _fresh_start(decoder: Any, initial_cmn: str) -> None:
    """Forget what earlier jobs or streams taught the decoder.

    The feature extractor's noise estimate and the cepstral mean adapt from utterance to
    utterance; resetting both makes results independent of what the worker decoded before.
    """
    decoder.reinit_feat()
    decoder.set_cmn(initial_cmn)
