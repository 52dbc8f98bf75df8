"""Where a streaming utterance (a v2 utterance, a v3 turn) starts and ends: one rule for every
streaming engine.

Audio is judged in 30 ms frames by pocketsphinx's voice activity detector (a WebRTC-style
detector; it runs in the engines' worker processes). An utterance starts when 8 of the last 10
frames are speech (the engine keeps the 600 ms before as pre-roll). It ends at a pause:

- when 90 % of the last ``min_silence_ms`` is non-speech **and** the engine's end-of-turn
  confidence (asked at that moment, see :meth:`Endpointer.push`) reaches
  ``confidence_threshold``: AssemblyAI v3 ``min_turn_silence`` (formerly
  ``min_end_of_turn_silence_when_confident``) and ``end_of_turn_confidence_threshold``;
- or when 90 % of the last ``max_silence_ms`` is non-speech, whatever the confidence: v3
  ``max_turn_silence``, v2 ``end_utterance_silence_threshold`` (v2 sets both limits to it);
- or, to keep decoding bounded, at the first non-speech frame after ``max_utterance_ms`` (or at
  twice that length in any case): a "cut", after which the turn may go on.

The confidence comes from the engine: Whisper says a hypothesis ending in ``.``, ``?`` or ``!``
is a finished sentence; pocketsphinx, which has no punctuation, grows its confidence with the
length of the pause (see :func:`pause_confidence`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "FRAME_MS",
    "Endpointer",
    "TurnPolicy",
    "pause_confidence",
    "punctuation_confidence",
]

FRAME_MS = 30.0
_START_WINDOW_FRAMES = 10
_START_SPEECH_FRAMES = 8
PREROLL_MS = 600
_END_NONSPEECH_RATIO = 0.9


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    """When a streaming utterance ends (see the module docstring).

    Attributes:
        min_silence_ms: Pause that ends an utterance when the engine is confident.
        max_silence_ms: Pause that ends an utterance in any case.
        confidence_threshold: End-of-turn confidence (0..1) that counts as confident.
        partial_interval_ms: Audio between partial hypotheses; None disables partials.
        max_utterance_ms: Utterance length after which the next pause cuts it.
    """

    min_silence_ms: int = 600
    max_silence_ms: int = 600
    confidence_threshold: float = 0.4
    partial_interval_ms: int | None = 200
    max_utterance_ms: int = 30_000

    def with_silence(
        self,
        min_ms: int,
        max_ms: int | None = None,
        confidence_threshold: float | None = None,
    ) -> TurnPolicy:
        """A copy with new pause limits (``max_ms`` defaults to ``min_ms``, a single limit)."""
        low = max(0, int(min_ms))
        high = max(low, int(max_ms if max_ms is not None else min_ms))
        threshold = (
            self.confidence_threshold if confidence_threshold is None else confidence_threshold
        )
        return replace(
            self,
            min_silence_ms=low,
            max_silence_ms=high,
            confidence_threshold=min(1.0, max(0.0, float(threshold))),
        )


def pause_confidence(silence_ms: float, policy: TurnPolicy) -> float:
    """End-of-turn confidence from the pause alone: 0 at no pause, 1 at ``max_silence_ms``."""
    if policy.max_silence_ms <= 0:
        return 1.0
    return min(1.0, max(0.0, silence_ms / policy.max_silence_ms))


def punctuation_confidence(text: str) -> float:
    """End-of-turn confidence of a punctuated hypothesis: high after a sentence's final mark."""
    stripped = text.rstrip().rstrip("\"')]")
    if not stripped:
        return 0.0
    if stripped[-1] in ".?!":
        return 0.9
    if stripped[-1] in ",;:-":
        return 0.1
    return 0.3


Decision = Literal["start", "end", "cut"]


class Endpointer:
    """The frame-by-frame state machine of the module docstring, without any audio.

    Feed it one speech/non-speech decision per :data:`FRAME_MS` frame with :meth:`push`; it
    answers ``"start"`` when an utterance begins, ``"end"`` when it ended at a pause, ``"cut"``
    when a long utterance was cut, else None.
    """

    def __init__(self, policy: TurnPolicy) -> None:
        self._policy = policy
        self._start_window: deque[bool] = deque(maxlen=_START_WINDOW_FRAMES)
        self._recent: deque[bool] = deque()
        self._min_frames = 1
        self.in_utterance = False
        self.utterance_frames = 0
        self.last_confidence = 0.0
        self.update(policy)

    @property
    def policy(self) -> TurnPolicy:
        return self._policy

    def update(self, policy: TurnPolicy) -> None:
        """Apply new limits from the next frame on."""
        self._policy = policy
        self._min_frames = max(1, math.ceil(policy.min_silence_ms / FRAME_MS))
        max_frames = max(self._min_frames, math.ceil(policy.max_silence_ms / FRAME_MS))
        self._recent = deque(self._recent, maxlen=max_frames)

    @property
    def speech_pending(self) -> bool:
        """Whether frames before the utterance start (the pre-roll) held any speech."""
        return any(self._start_window)

    def begin(self) -> None:
        """Start an utterance now (for a forced endpoint on speech that had not started one)."""
        self.in_utterance = True
        self.utterance_frames = 0
        self._start_window.clear()
        self._recent.clear()

    def finish(self) -> None:
        """The utterance ended outside :meth:`push` (a forced endpoint)."""
        self.in_utterance = False
        self._recent.clear()
        self._start_window.clear()

    def push(self, speech: bool, confidence: Callable[[float], float]) -> Decision | None:
        """Judge one frame.

        Args:
            speech: Whether the frame is speech.
            confidence: Called with the trailing silence (ms) once the shorter pause limit is
                reached; returns the engine's end-of-turn confidence (0..1).
        """
        if not self.in_utterance:
            self._start_window.append(speech)
            if sum(self._start_window) >= _START_SPEECH_FRAMES:
                self.begin()
                return "start"
            return None
        policy = self._policy
        self.utterance_frames += 1
        self._recent.append(speech)
        recent = self._recent
        if len(recent) == recent.maxlen and (
            recent.count(False) >= _END_NONSPEECH_RATIO * len(recent)
        ):
            self.last_confidence = 1.0
            self.finish()
            return "end"
        if len(recent) >= self._min_frames and not speech:
            window = list(recent)[-self._min_frames :]
            if window.count(False) >= _END_NONSPEECH_RATIO * self._min_frames:
                silence = self._trailing_silence_ms()
                self.last_confidence = confidence(silence)
                if self.last_confidence >= policy.confidence_threshold:
                    self.finish()
                    return "end"
        utterance_ms = self.utterance_frames * FRAME_MS
        if utterance_ms >= policy.max_utterance_ms and (
            not speech or utterance_ms >= 2 * policy.max_utterance_ms
        ):
            self.finish()
            return "cut"
        return None

    def _trailing_silence_ms(self) -> float:
        """The longest suffix of the recent frames that is at least 90 % non-speech, in ms."""
        best = silent = 0
        for total, value in enumerate(reversed(self._recent), start=1):
            silent += not value
            if silent >= _END_NONSPEECH_RATIO * total:
                best = total
        return best * FRAME_MS
