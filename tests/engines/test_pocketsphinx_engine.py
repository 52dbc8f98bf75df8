"""The offline pocketsphinx engine, end to end on the sample audio.

Thresholds come from measurements on the sample (flite voices, see examples/audio/README.md):
batch and streaming WER 0.00 on the 16 kHz sample and on two_turns.wav, 0.17-0.20 on the 8 kHz
variant (upsampling cannot restore what the telephone band lost). The limits leave room for
other CPUs and library builds.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from speechkit.engines.audio import decode_audio
from speechkit.engines.base import EngineError, StreamEvent
from speechkit.engines.pocketsphinx_engine import PocketsphinxEngine
from speechkit.engines.wer import word_error_rate

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

MAX_WER_16K = 0.15
MAX_WER_8K = 0.35
CHUNK = 3200  # bytes: 100 ms at 16 kHz, as a realtime client sends


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[PocketsphinxEngine]:
    engine = PocketsphinxEngine(workers=2)
    await engine.start()
    yield engine
    await engine.aclose()


@pytest.fixture(scope="module")
def sample(audio_dir: Path) -> bytes:
    return decode_audio((audio_dir / "sample.wav").read_bytes()).pcm


@pytest.fixture(scope="module")
def reference(audio_dir: Path) -> str:
    return (audio_dir / "sample.txt").read_text()


async def stream_all(engine: PocketsphinxEngine, pcm: bytes, **kw: int) -> list[StreamEvent]:
    stream = engine.open_stream()
    if "silence_ms" in kw:
        stream.set_silence_threshold(kw["silence_ms"])
    events: list[StreamEvent] = []
    try:
        for i in range(0, len(pcm), CHUNK):
            events += await stream.feed(pcm[i : i + CHUNK])
        events += await stream.finish()
    finally:
        await stream.aclose()
    return events


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_batch_recognizes_the_sample_with_sane_word_timings(
    engine: PocketsphinxEngine, sample: bytes, reference: str
) -> None:
    # A ticker shows the event loop stays free while a worker decodes (about 2 s of CPU). It
    # counts ticks, not gap lengths: a loaded machine may delay a tick, but a loop blocked by
    # the decode would tick at most once during the call.
    gaps: list[float] = []
    loop = asyncio.get_running_loop()

    async def ticker() -> None:
        last = loop.time()
        while True:
            await asyncio.sleep(0.01)
            now = loop.time()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    try:
        result = await engine.transcribe(sample)
    finally:
        task.cancel()
    assert len(gaps) >= 5

    assert word_error_rate(reference, result.text) <= MAX_WER_16K
    assert result.audio_duration == pytest.approx(len(sample) / 32000)
    words = result.words
    assert all(w.text == w.text.strip() and w.text.isprintable() for w in words)
    assert not any(w.text.startswith(("<", "[")) or "(" in w.text for w in words)
    assert all(0 <= w.start < w.end <= result.audio_duration * 1000 for w in words)
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    assert all(0.0 <= w.confidence <= 1.0 for w in words)
    assert 0.5 < result.confidence <= 1.0
    # The first sentence starts after the sample's 0.45 s lead-in; "weather" lasts ~0.35 s.
    assert 350 <= words[0].start <= 700
    assert 200 <= words[1].end - words[1].start <= 600


async def test_batch_8k_upload_is_resampled_and_still_recognized(
    engine: PocketsphinxEngine, audio_dir: Path, reference: str
) -> None:
    decoded = decode_audio((audio_dir / "sample_8k.wav").read_bytes())
    result = await engine.transcribe(decoded.pcm)
    assert word_error_rate(reference, result.text) <= MAX_WER_8K


async def test_concurrent_jobs_agree_across_workers(
    engine: PocketsphinxEngine, audio_dir: Path
) -> None:
    pcm = decode_audio((audio_dir / "two_turns.wav").read_bytes()).pcm
    reference = (audio_dir / "two_turns.txt").read_text()
    first, second, third = await asyncio.gather(*(engine.transcribe(pcm) for _ in range(3)))
    assert first.words == second.words == third.words  # deterministic across workers and jobs
    assert word_error_rate(reference, first.text) <= MAX_WER_16K
    assert len(engine.worker_pids()) >= 2


async def test_empty_audio_gives_no_words(engine: PocketsphinxEngine) -> None:
    assert (await engine.transcribe(b"")).words == ()
    assert (await engine.transcribe(b"\0\0" * 16000)).words == ()


async def test_streaming_gives_partials_then_a_final_per_sentence(
    engine: PocketsphinxEngine, sample: bytes, reference: str
) -> None:
    events = await stream_all(engine, sample)
    finals = [e for e in events if e.is_final]
    partials = [e for e in events if not e.is_final]
    # Five sentences with 0.9 s pauses; the default 600 ms silence threshold ends each one.
    assert len(finals) == 5
    assert word_error_rate(reference, " ".join(f.text for f in finals)) <= MAX_WER_16K
    # Partials come before their final, at most one per 200 ms of audio, and only on change.
    assert events.index(partials[0]) < events.index(finals[0])
    assert len(partials) <= len(sample) / 32000 / 0.2
    for a, b in itertools.pairwise(events):
        if not a.is_final and not b.is_final:
            assert a.text != b.text
    # Word times are ms from the stream start, increasing across utterances.
    times = [(w.start, w.end) for f in finals for w in f.words]
    assert all(s < e for s, e in times)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))
    assert finals[-1].words[-1].end <= len(sample) / 32 + 1
    assert finals[1].words[0].start > 5000  # "please" starts at about 5.3 s


async def test_silence_threshold_can_be_raised_to_keep_one_utterance(
    engine: PocketsphinxEngine, audio_dir: Path
) -> None:
    pcm = decode_audio((audio_dir / "two_turns.wav").read_bytes()).pcm
    default = [e for e in await stream_all(engine, pcm) if e.is_final]
    assert len(default) == 2  # the 1.5 s pause ends the first turn
    long_silence = [e for e in await stream_all(engine, pcm, silence_ms=3000) if e.is_final]
    assert len(long_silence) == 1  # ... but not a 3 s threshold
    assert long_silence[0].text == " ".join(e.text for e in default)


async def test_force_endpoint_ends_the_utterance_mid_sentence(
    engine: PocketsphinxEngine, sample: bytes
) -> None:
    stream = engine.open_stream()
    try:
        for i in range(0, 32000 * 2, CHUNK):  # the first 2 s: "the weather is nice ..."
            assert all(not e.is_final for e in await stream.feed(sample[i : i + CHUNK]))
        forced = await stream.force_endpoint()
        assert len(forced) == 1
        assert forced[0].is_final
        assert forced[0].text.startswith("the weather is")
        assert await stream.force_endpoint() == []  # nothing open any more
        # The stream goes on: the rest of the first sentence is a new utterance.
        later: list[StreamEvent] = []
        for i in range(32000 * 2, int(32000 * 5.5), CHUNK):  # it ends at 4.3 s
            later += await stream.feed(sample[i : i + CHUNK])
        assert later[-1].is_final
        assert later[-1].text.endswith("in the park")
        assert later[-1].words[0].start >= forced[0].words[-1].end
    finally:
        await stream.aclose()


async def test_cancelled_transcribe_kills_its_worker_and_the_engine_recovers(
    engine: PocketsphinxEngine, sample: bytes
) -> None:
    before = set(engine.worker_pids())
    task = asyncio.create_task(engine.transcribe(sample))
    await asyncio.sleep(0.3)  # the worker is decoding now
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    gone = before - set(engine.worker_pids())
    assert gone
    assert not any(alive(pid) for pid in gone)
    result = await engine.transcribe(sample[: 32000 * 5])
    assert result.text.startswith("the weather is nice")


async def test_a_crashed_stream_worker_fails_the_stream_clearly(engine: PocketsphinxEngine) -> None:
    stream = engine.open_stream()
    await stream.feed(b"\0\0" * 1600)
    os.kill(stream._worker.pid, signal.SIGKILL)
    with pytest.raises(EngineError, match="exited unexpectedly"):
        await stream.feed(b"\0\0" * 1600)
    with pytest.raises(EngineError):
        await stream.feed(b"\0\0" * 1600)
    await stream.aclose()
    assert not alive(stream._worker.pid)


async def test_bad_decoder_options_fail_with_engine_error() -> None:
    engine = PocketsphinxEngine(workers=1, spare_streams=0, decoder_options={"hmm": "/nonexistent"})
    try:
        with pytest.raises(EngineError, match="could not start"):
            await engine.start()
    finally:
        await engine.aclose()
    assert engine.worker_pids() == []


async def test_aclose_ends_every_worker_process(sample: bytes) -> None:
    engine = PocketsphinxEngine(workers=1, spare_streams=1, max_streams=2)
    await engine.transcribe(sample[: 32000 * 2])
    open_stream = engine.open_stream()
    await open_stream.feed(sample[:32000])
    busy_stream = engine.open_stream()
    pending = asyncio.create_task(busy_stream.feed(sample))  # in flight during aclose
    await asyncio.sleep(0.05)
    with pytest.raises(EngineError, match="Too many concurrent streams"):
        engine.open_stream()
    pids = engine.worker_pids()
    assert len(pids) >= 3  # batch worker, two stream workers (+ a spare)

    await engine.aclose()

    assert not any(alive(pid) for pid in pids)  # exited and reaped: not even zombies
    assert engine.worker_pids() == []
    with pytest.raises(EngineError):
        await pending
    with pytest.raises(EngineError, match="shut down"):
        await engine.transcribe(sample)
    with pytest.raises(EngineError):
        engine.open_stream()
    await engine.aclose()  # idempotent
