"""The worker-process side of the pocketsphinx engine: the decoder loop and its requests.

Everything here runs inside a worker interpreter that
:class:`speechkit.engines.pocketsphinx_engine.PocketsphinxEngine` starts (that module describes
the process model and the recognition rules); the worker imports only this module and
:mod:`speechkit.engines.base`.
"""

from __future__ import annotations

import math
import os
import signal
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from speechkit.engines.base import RecognizedWord, StreamEvent

SAMPLE_RATE = 16000  # the bundled en-us acoustic model is trained on 16 kHz audio
_START_WINDOW_FRAMES = 10
_START_SPEECH_FRAMES = 8
_PREROLL_MS = 600
_END_NONSPEECH_RATIO = 0.9


@dataclass(frozen=True, slots=True)
class _Settings:
    silence_ms: int
    partial_interval_ms: int | None
    max_utterance_ms: int


def _word_text(token: str) -> str | None:
    """The spoken word of a pocketsphinx token, or None for silence and fillers.

    ``<s>``, ``</s>``, ``<sil>`` are silences; ``[NOISE]``, ``[SPEECH]`` (and the older
    ``++NOISE++``) fillers; ``today(2)`` is ``today`` said with its second pronunciation.
    """
    if not token or token[0] in "<[+":
        return None
    return token.split("(", 1)[0] or None


class _Recognizer:
    """Voice-activity endpointing around one pocketsphinx decoder, for one stream or one job."""

    def __init__(self, decoder: Any, settings: _Settings) -> None:
        from pocketsphinx import Vad

        self._decoder = decoder
        self._frames_per_second = int(decoder.config["frate"])
        self._vad = Vad(Vad.LOOSE, SAMPLE_RATE)
        self._frame_bytes: int = self._vad.frame_bytes
        self._frame_ms = self._frame_bytes / 2 / SAMPLE_RATE * 1000
        self._pending = b""
        self._position = 0  # samples consumed since the stream started
        self._preroll: deque[tuple[bytes, bool]] = deque(
            maxlen=max(_START_WINDOW_FRAMES, round(_PREROLL_MS / self._frame_ms))
        )
        self._utterance_start: int | None = None  # sample index while an utterance is open
        self._utterance_samples = 0
        self._since_partial = 0  # samples decoded since the last partial check
        self._last_partial: tuple[str, ...] = ()
        self._recent: deque[bool] = deque()
        self._settings = settings
        self.update(settings)

    @property
    def in_utterance(self) -> bool:
        return self._utterance_start is not None

    def update(self, settings: _Settings) -> None:
        self._settings = settings
        frames = max(1, math.ceil(settings.silence_ms / self._frame_ms))
        self._recent = deque(self._recent, maxlen=frames)

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
        if self._utterance_start is None and any(speech for _, speech in self._preroll):
            self._start_utterance()
        if self._utterance_start is not None:
            if tail:
                self._decoder.process_raw(tail, False, False)
            self._position += len(tail) // 2
            self._end_utterance(events, end_of_turn_confidence=1.0)
        else:
            self._position += len(tail) // 2
            self._preroll.clear()
        return events

    def _frame(self, frame: bytes, events: list[StreamEvent]) -> None:
        speech = bool(self._vad.is_speech(frame))
        if self._utterance_start is None:
            self._preroll.append((frame, speech))
            self._position += len(frame) // 2
            window = list(self._preroll)[-_START_WINDOW_FRAMES:]
            if sum(s for _, s in window) >= _START_SPEECH_FRAMES:
                self._start_utterance()
            return
        self._decoder.process_raw(frame, False, False)
        self._position += len(frame) // 2
        self._utterance_samples += len(frame) // 2
        self._since_partial += len(frame) // 2
        self._recent.append(speech)
        settings = self._settings
        utterance_ms = self._utterance_samples * 1000 // SAMPLE_RATE
        if len(self._recent) == self._recent.maxlen and (
            self._recent.count(False) >= _END_NONSPEECH_RATIO * len(self._recent)
        ):
            self._end_utterance(events, end_of_turn_confidence=1.0)
        elif utterance_ms >= settings.max_utterance_ms and (
            not speech or utterance_ms >= 2 * settings.max_utterance_ms
        ):
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

    def _start_utterance(self) -> None:
        frames = [frame for frame, _ in self._preroll]
        self._preroll.clear()
        samples = sum(len(f) for f in frames) // 2
        self._utterance_start = self._position - samples
        self._utterance_samples = samples
        self._since_partial = samples
        self._last_partial = ()
        self._recent.clear()
        self._decoder.start_utt()
        if frames:
            self._decoder.process_raw(b"".join(frames), False, False)

    def _end_utterance(self, events: list[StreamEvent], *, end_of_turn_confidence: float) -> None:
        self._decoder.end_utt()
        words = self._words()
        self._utterance_start = None
        self._recent.clear()
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


def _worker_main(fd: int) -> None:
    """Entry point of a worker process: load a decoder, then serve requests until told to stop.

    The first message is the decoder options; the worker answers ``("ok", pid)`` once the model
    is loaded. Then requests are ``(op, argument)`` tuples, each answered by exactly one reply,
    ``("ok", value)`` or ``("error", message)``. The worker exits on ``("close", None)`` or when
    the parent's end of the socket closes (the parent exited or closed the engine).
    """
    # Ctrl+C reaches the whole process group; the server decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(fd)
    try:
        _serve(conn)
    except (EOFError, OSError):
        pass  # the parent is gone (or closed its end): nobody is left to answer
    finally:
        conn.close()


def _serve(conn: Connection) -> None:
    decoder_options = conn.recv()
    try:
        from pocketsphinx import Decoder

        decoder = Decoder(**decoder_options)
        initial_cmn = decoder.get_cmn()
    except Exception as err:
        conn.send(("error", f"The speech recognizer could not start: {err}"))
        return
    conn.send(("ok", os.getpid()))
    recognizer: _Recognizer | None = None
    while True:
        op, argument = conn.recv()
        if op == "close":
            conn.send(("ok", None))
            return
        value: Any = None
        try:
            if op == "transcribe":
                _fresh_start(decoder, initial_cmn)
                job = _Recognizer(decoder, argument)
                # Batch audio follows its request as one raw message, so it is not pickled.
                events = job.feed(conn.recv_bytes()) + job.force_endpoint()
                value = [word for event in events for word in event.words]
            elif op == "open":
                _fresh_start(decoder, initial_cmn)
                recognizer = _Recognizer(decoder, argument)
            elif op == "reset":
                if recognizer is not None and recognizer.in_utterance:
                    decoder.end_utt()
                recognizer = None
            elif recognizer is None:
                raise RuntimeError(f"{op!r} before 'open'")
            elif op == "feed":
                value = recognizer.feed(argument)
            elif op == "endpoint":
                value = recognizer.force_endpoint()
            elif op == "settings":
                recognizer.update(argument)
            else:
                raise RuntimeError(f"unknown request {op!r}")
        except (EOFError, OSError):
            raise
        except Exception as err:
            conn.send(("error", f"The speech recognizer failed: {type(err).__name__}: {err}"))
        else:
            conn.send(("ok", value))


def _fresh_start(decoder: Any, initial_cmn: str) -> None:
    """Forget what earlier jobs or streams taught the decoder.

    The feature extractor's noise estimate and the cepstral mean adapt from utterance to
    utterance; resetting both makes results independent of what the worker decoded before.
    """
    decoder.reinit_feat()
    decoder.set_cmn(initial_cmn)
