"""The turn rules both streaming engines share (speechkit.engines._turns), frame by frame."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from speechkit.engines._turns import (
    FRAME_MS,
    Endpointer,
    TurnPolicy,
    pause_confidence,
    punctuation_confidence,
)


def run(
    endpointer: Endpointer, frames: str, confidence: Callable[[float], float]
) -> list[tuple[int, str]]:
    """Feed "s" (speech) / "." (non-speech) frames; return (frame index, decision) pairs."""
    decisions = []
    for i, frame in enumerate(frames):
        decision = endpointer.push(frame == "s", confidence)
        if decision is not None:
            decisions.append((i, decision))
    return decisions


def frames_for(ms: float) -> int:
    return round(ms / FRAME_MS)


def pause_frames(limit_ms: int) -> int:
    """Frames of pure pause that end a turn: 90 % of the limit's window is non-speech."""
    return math.ceil(0.9 * math.ceil(limit_ms / FRAME_MS))


def test_an_utterance_starts_when_8_of_10_frames_are_speech() -> None:
    endpointer = Endpointer(TurnPolicy())
    assert run(endpointer, "s.s.s.s.s.", lambda _: 0.0) == []  # 5 of 10: noise, not speech
    assert run(Endpointer(TurnPolicy()), "..ssssssss", lambda _: 0.0) == [(9, "start")]


def test_a_confident_engine_ends_the_turn_at_the_short_pause() -> None:
    policy = TurnPolicy().with_silence(400, 1280, 0.4)
    speech = "s" * 40
    pause = "." * frames_for(1500)
    asked: list[float] = []

    def confident(silence_ms: float) -> float:
        asked.append(silence_ms)
        return 0.9

    decisions = run(Endpointer(policy), speech + pause, confident)
    end = decisions[-1]
    assert end[1] == "end"
    assert end[0] - len(speech) + 1 == pause_frames(400)  # 13 frames: 390 ms of 420
    assert asked
    assert asked[0] >= 0.9 * 400


def test_an_unsure_engine_waits_for_the_long_pause() -> None:
    policy = TurnPolicy().with_silence(400, 1280, 0.4)
    speech = "s" * 40
    decisions = run(Endpointer(policy), speech + "." * frames_for(1500), lambda _: 0.1)
    end = decisions[-1]
    assert end[1] == "end"
    assert end[0] - len(speech) + 1 == pause_frames(1280)


def test_a_shorter_pause_than_the_limits_keeps_the_turn_open() -> None:
    policy = TurnPolicy().with_silence(400, 1280, 0.4)
    frames = "s" * 40 + "." * frames_for(900) + "s" * 40
    decisions = run(Endpointer(policy), frames, lambda _: 0.1)  # never confident
    assert decisions == [(7, "start")]


def test_v2_single_threshold_ignores_confidence() -> None:
    policy = TurnPolicy().with_silence(700)
    assert policy.min_silence_ms == policy.max_silence_ms == 700
    decisions = run(Endpointer(policy), "s" * 20 + "." * 40, lambda _: 0.0)
    assert decisions[-1] == (20 + pause_frames(700) - 1, "end")


def test_pocketsphinx_confidence_grows_with_the_pause() -> None:
    policy = TurnPolicy().with_silence(400, 1280, 0.4)
    assert pause_confidence(0, policy) == 0.0
    assert pause_confidence(640, policy) == 0.5
    assert pause_confidence(5000, policy) == 1.0
    # So the turn ends once the pause reaches 0.4 * 1280 = 512 ms.
    decisions = run(
        Endpointer(policy), "s" * 20 + "." * 60, lambda ms: pause_confidence(ms, policy)
    )
    assert (decisions[-1][0] - 19) * FRAME_MS == pytest.approx(512, abs=FRAME_MS)


@pytest.mark.parametrize(
    ("text", "confident"),
    [
        ("in the park.", True),
        ("Is it?", True),
        ("wait!", True),
        ("and then", False),
        ("So,", False),
    ],
)
def test_punctuation_confidence(text: str, confident: bool) -> None:
    assert (punctuation_confidence(text) >= 0.4) is confident


def test_a_long_monologue_is_cut_at_a_pause() -> None:
    policy = TurnPolicy(max_utterance_ms=1500).with_silence(5000)
    frames = "s" * frames_for(1800) + "." + "s" * 10
    decisions = run(Endpointer(policy), frames, lambda _: 0.0)
    assert decisions[1] == (frames_for(1800), "cut")
