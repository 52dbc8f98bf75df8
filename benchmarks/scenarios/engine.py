"""Scenario 7: real-time factor of the local offline engine (pocketsphinx), batch and streaming.

Real-time factor (RTF) = processing time / audio duration; below 1 is faster than real time. The
engine runs as the server runs it (worker processes, two on this 2-core machine), measured in
this process after the workers have loaded their models (startup is reported separately):

- batch: one ``transcribe`` of the whole recording (median of the runs);
- batch, parallel: one job per worker at once (wall time / duration);
- streaming: 100 ms chunks fed as fast as the engine takes them, then ``finish`` (total time /
  duration), with the 95th percentile of one ``feed`` call;
- decode: ``decode_audio`` of a 10-minute 44.1 kHz stereo WAV to 16 kHz mono (full mode only).

The recording is ``examples/audio/sample.wav`` repeated three times (once in quick mode); word
error rates against its transcript show the engine still recognizes what it is timed on. There
is no peer: the ``assemblyai`` package has no local engine. Target: RTF <= 0.3, batch and
streaming.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._figures import Figure

NAME = "engine"
TITLE = "Offline engine real-time factor"
SETTINGS = (
    "`PocketsphinxEngine(workers=2)` in the benchmark process, models loaded first; "
    "`examples/audio/sample.wav` x3 (x1 in quick mode); streaming in 100 ms chunks, unpaced."
)

CHUNK_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono
WORKERS = 2
TARGET_RTF = 0.3


async def _measure(pcm: bytes, duration: float, reference: str, repeat: int) -> dict[str, Any]:
    from speechkit.engines.pocketsphinx_engine import PocketsphinxEngine
    from speechkit.engines.wer import word_error_rate

    results: dict[str, Any] = {}
    engine = PocketsphinxEngine(workers=WORKERS)
    try:
        started = time.perf_counter()
        await engine.start()
        results["startup_seconds"] = time.perf_counter() - started

        batch_times, text = [], ""
        for _ in range(repeat):
            started = time.perf_counter()
            text = (await engine.transcribe(pcm)).text
            batch_times.append(time.perf_counter() - started)
        results["batch_rtf"] = [t / duration for t in batch_times]
        results["batch_wer"] = word_error_rate(reference, text)

        started = time.perf_counter()
        await asyncio.gather(*(engine.transcribe(pcm) for _ in range(WORKERS)))
        results["batch_parallel_rtf"] = (time.perf_counter() - started) / duration

        stream_times, latencies = [], []
        for _ in range(repeat):
            stream = engine.open_stream()
            finals: list[str] = []
            await stream.feed(b"")  # the first call waits for the worker's model, if loading
            started = time.perf_counter()
            for i in range(0, len(pcm), CHUNK_BYTES):
                before = time.perf_counter()
                events = await stream.feed(pcm[i : i + CHUNK_BYTES])
                latencies.append(time.perf_counter() - before)
                finals += [e.text for e in events if e.is_final]
            finals += [e.text for e in await stream.finish()]
            stream_times.append(time.perf_counter() - started)
            await stream.aclose()
            text = " ".join(finals)
        results["stream_rtf"] = [t / duration for t in stream_times]
        results["stream_wer"] = word_error_rate(reference, text)
        latencies.sort()
        results["feed_ms_p95"] = latencies[int(len(latencies) * 0.95)] * 1000
    finally:
        await engine.aclose()
    return results


def _decode_seconds() -> float:
    import numpy as np
    import soundfile

    from speechkit.engines.audio import decode_audio

    ten_minutes = np.random.default_rng(0).normal(0, 0.1, size=(44100 * 600, 2))
    buffer = io.BytesIO()
    soundfile.write(buffer, ten_minutes, 44100, format="WAV", subtype="PCM_16")
    started = time.perf_counter()
    decode_audio(buffer.getvalue())
    return time.perf_counter() - started


def run(quick: bool, runs: int) -> list[Figure]:
    from speechkit.engines.audio import decode_audio

    root = Path(__file__).resolve().parents[2] / "examples" / "audio"
    copies = 1 if quick else 3
    decoded = decode_audio((root / "sample.wav").read_bytes())
    pcm = decoded.pcm * copies
    duration = decoded.duration * copies
    reference = " ".join([(root / "sample.txt").read_text()] * copies)
    repeat = 1 if quick else min(max(runs, 1), 3)  # each repeat costs ~25 s on 2 cores
    r = asyncio.run(_measure(pcm, duration, reference, repeat))
    for kind in ("batch", "stream"):
        if r[f"{kind}_wer"] > 0.5:
            raise RuntimeError(f"the engine's {kind} word error rate is {r[f'{kind}_wer']:.2f}")
    batch = statistics.median(r["batch_rtf"])
    stream = statistics.median(r["stream_rtf"])
    audio = f"{duration:.1f} s of audio; startup {r['startup_seconds']:.2f} s"
    decode = "" if quick else f"; decode of 10 min 44.1 kHz stereo WAV: {_decode_seconds():.2f} s"
    return [
        Figure(
            NAME,
            "batch real-time factor",
            "x",
            batch,
            target=f"<= {TARGET_RTF}",
            met=None if quick else batch <= TARGET_RTF,
            runs=repeat,
            notes=(
                f"{audio}; WER {r['batch_wer']:.2f}; one job per worker at once: RTF "
                f"{r['batch_parallel_rtf']:.3f}{decode}"
            ),
            samples={"speechkit": r["batch_rtf"]},
        ),
        Figure(
            NAME,
            "streaming real-time factor",
            "x",
            stream,
            target=f"<= {TARGET_RTF}",
            met=None if quick else stream <= TARGET_RTF,
            runs=repeat,
            notes=f"{audio}; WER {r['stream_wer']:.2f}; feed() p95 {r['feed_ms_p95']:.1f} ms",
            samples={"speechkit": r["stream_rtf"]},
        ),
    ]
