"""Test audio whose words can be read back from the samples, and builders for server messages.

Word ``i`` is a run of samples with the constant value ``256 * (i + 1)``, framed by silence, so a
fake recognizer (here and in ``fakeserver``) can tell which word it heard and exactly where, and a
test can check every final word's text *and* its time on the session timeline.
"""

from __future__ import annotations

import array
import json
import sys
from dataclasses import dataclass
from typing import Any

WORD_MS = 200
GAP_MS = 100
RATE = 16_000


@dataclass(frozen=True)
class ExpectedWord:
    text: str
    start: int
    end: int


def word_value(index: int) -> int:
    return 256 * (index + 1)


def word_text(value: int) -> str:
    return f"w{round(value / 256) - 1}"


def word_audio(
    count: int, *, rate: int = RATE, word_ms: int = WORD_MS, gap_ms: int = GAP_MS
) -> tuple[bytes, list[ExpectedWord]]:
    """``[gap][w0][gap][w1]...[gap]`` as 16-bit PCM, and where each word is (milliseconds)."""
    samples = array.array("h")
    expected = []
    gap = rate * gap_ms // 1000
    word = rate * word_ms // 1000
    for i in range(count):
        samples.extend([0] * gap)
        start = len(samples) * 1000 // rate
        samples.extend([word_value(i)] * word)
        expected.append(ExpectedWord(f"w{i}", start, len(samples) * 1000 // rate))
    samples.extend([0] * gap)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes(), expected


class WordDecoder:
    """Finds word runs in 16-bit PCM fed in pieces; times are ms from the first sample fed."""

    def __init__(self, rate: int = RATE) -> None:
        self.rate = rate
        self.position = 0
        self.value = 0
        self.run_start = 0
        self._odd = b""

    def feed(self, pcm: bytes) -> list[tuple[str, int, int]]:
        pcm = self._odd + pcm
        usable = len(pcm) - len(pcm) % 2
        self._odd = pcm[usable:]
        samples = array.array("h")
        samples.frombytes(pcm[:usable])
        if sys.byteorder == "big":
            samples.byteswap()
        words = []
        for sample in samples:
            if sample != self.value:
                if self.value != 0:
                    words.append(
                        (
                            word_text(self.value),
                            self.run_start * 1000 // self.rate,
                            self.position * 1000 // self.rate,
                        )
                    )
                self.value = sample
                self.run_start = self.position
            self.position += 1
        return words

    def flush(self) -> list[tuple[str, int, int]]:
        """End the audio: a word still being heard ends here."""
        words = []
        if self.value != 0:
            end = self.position * 1000 // self.rate
            words.append((word_text(self.value), self.run_start * 1000 // self.rate, end))
        self.value, self.run_start = 0, self.position
        return words


# ---- server message builders ----------------------------------------------------------------------


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message)


def v2_begins(session_id: str = "s-1") -> str:
    return dumps(
        {
            "message_type": "SessionBegins",
            "session_id": session_id,
            "expires_at": "2023-11-04T16:51:38.316048",
        }
    )


def v3_begin(session_id: str = "s-1") -> str:
    return dumps({"type": "Begin", "id": session_id, "expires_at": 1759796682})


def v2_words(words: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"text": t, "start": s, "end": e, "confidence": 0.9} for t, s, e in words]


def v2_transcript(
    kind: str, words: list[tuple[str, int, int]], audio_start: int, audio_end: int
) -> str:
    message: dict[str, Any] = {
        "message_type": kind,
        "audio_start": audio_start,
        "audio_end": audio_end,
        "confidence": 0.9,
        "text": " ".join(w[0] for w in words),
        "words": v2_words(words),
        "created": "2023-11-03T17:14:35.00332",
    }
    if kind == "FinalTranscript":
        message.update(punctuated=True, text_formatted=True)
    return dumps(message)


def v3_turn(
    order: int,
    words: list[tuple[str, int, int]],
    *,
    end_of_turn: bool,
    formatted: bool = True,
    final_words: int | None = None,
) -> str:
    final_words = len(words) if final_words is None else final_words
    text = " ".join(w[0] for w in words[:final_words])
    if formatted and end_of_turn:
        text = text.capitalize() + "."
    return dumps(
        {
            "type": "Turn",
            "turn_order": order,
            "turn_is_formatted": formatted,
            "end_of_turn": end_of_turn,
            "transcript": text,
            "end_of_turn_confidence": 0.9 if end_of_turn else 0.1,
            "words": [
                {
                    "text": t,
                    "start": s,
                    "end": e,
                    "confidence": 0.9,
                    "word_is_final": i < final_words,
                }
                for i, (t, s, e) in enumerate(words)
            ],
            "utterance": text if end_of_turn else "",
        }
    )
