"""The fixed engine: exact, deterministic results without any recognizer; and create_engine."""

from __future__ import annotations

import asyncio
import sys

import pytest

from speechkit.engines import ENGINE_NAMES, create_engine
from speechkit.engines.base import EngineError, RecognizedWord
from speechkit.engines.fixed import FixedEngine

SECOND = b"\0\0" * 16000  # one second of 16 kHz silence


async def test_batch_spreads_the_words_over_the_audio() -> None:
    engine = FixedEngine("one two three four")
    result = await engine.transcribe(SECOND * 2)
    assert result.text == "one two three four"
    assert result.audio_duration == 2.0
    assert [(w.start, w.end) for w in result.words] == [
        (0, 500),
        (500, 1000),
        (1000, 1500),
        (1500, 2000),
    ]
    assert result.confidence == 1.0


async def test_batch_with_a_word_rate_cycles_through_the_text() -> None:
    engine = FixedEngine("a b", words_per_second=2.0, confidence=0.5)
    result = await engine.transcribe(SECOND * 2)
    assert result.text == "a b a b"
    assert result.words[-1] == RecognizedWord("b", 1500, 2000, 0.5)


async def test_batch_of_no_audio_has_no_words() -> None:
    result = await FixedEngine().transcribe(b"")
    assert result.words == ()
    assert result.audio_duration == 0.0


async def test_processing_delay_waits_without_blocking_the_loop() -> None:
    engine = FixedEngine(processing_delay=0.05)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    loop = asyncio.get_running_loop()
    started = loop.time()
    await engine.transcribe(SECOND)
    elapsed = loop.time() - started
    task.cancel()
    assert elapsed >= 0.05
    assert ticks >= 3


async def test_stream_gives_a_partial_per_chunk_and_a_final_per_text() -> None:
    # 3 words per second by default, each known once its audio has passed; a final once all 3
    # words of the text are out.
    stream = FixedEngine("red green blue").open_stream()
    tenth = SECOND[: len(SECOND) // 10]
    kinds = []
    for _ in range(14):  # 1.4 s
        events = await stream.feed(tenth)
        kinds.append([(e.is_final, e.text) for e in events])
    assert kinds[0] == kinds[1] == kinds[2] == []  # no word yet in the first 300 ms
    assert kinds[3] == [(False, "red")]  # word 1 at 333 ms; a partial per chunk from then on
    assert kinds[4] == [(False, "red")]
    assert kinds[6] == [(False, "red green")]
    assert kinds[9] == [(True, "red green blue")]  # word 3 at 1 s completes the utterance
    assert kinds[10] == kinds[12] == []  # the next utterance has no word yet
    assert kinds[13] == [(False, "red")]
    events = await stream.force_endpoint()
    assert [(e.is_final, e.text) for e in events] == [(True, "red")]
    assert events[0].words[0] == RecognizedWord("red", 1000, 1333, 1.0)
    assert await stream.finish() == []


async def test_stream_finish_returns_the_open_utterance_and_close_is_final() -> None:
    engine = FixedEngine("a b c d", words_per_second=10.0, words_per_final=3)
    stream = engine.open_stream()
    events = await stream.feed(SECOND[:16000])  # 0.5 s: 5 words
    assert [(e.is_final, e.text) for e in events] == [(True, "a b c"), (False, "d a")]
    assert [(e.is_final, e.text) for e in await stream.finish()] == [(True, "d a")]
    await stream.aclose()
    await stream.aclose()  # idempotent
    with pytest.raises(EngineError, match="closed"):
        await stream.feed(SECOND)


def test_fixed_engine_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="at least one word"):
        FixedEngine("   ")
    with pytest.raises(ValueError, match="words_per_second"):
        FixedEngine(words_per_second=0)
    with pytest.raises(ValueError, match="confidence"):
        FixedEngine(confidence=2.0)


def test_create_engine_by_name() -> None:
    engine = create_engine(" Fixed ", text="hi there")
    assert isinstance(engine, FixedEngine)
    assert engine.words == ("hi", "there")


def test_create_engine_offline_is_whisper_if_installed_else_pocketsphinx_and_starts_nothing() -> (
    None
):
    from speechkit.engines.whisper_engine import whisper_available

    engine = create_engine("offline", workers=1)
    assert engine.name == ("whisper" if whisper_available() else "pocketsphinx")
    assert engine.worker_pids() == []  # type: ignore[attr-defined]
    sphinx = create_engine("pocketsphinx", workers=1)
    assert sphinx.name == "pocketsphinx"
    assert sphinx.worker_pids() == []  # type: ignore[attr-defined]


def test_unknown_engine_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="Unknown engine 'sphinx3'") as caught:
        create_engine("sphinx3")
    for name in ENGINE_NAMES:
        assert name in str(caught.value)


def test_importing_the_package_loads_no_heavy_modules() -> None:
    code = (
        "import sys, speechkit.engines, speechkit.engines.fixed; "
        "print([m for m in ('numpy', 'soundfile', 'pocketsphinx') if m in sys.modules])"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
