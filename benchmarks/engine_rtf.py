"""Real-time factor of the pocketsphinx engine on the sample audio (batch and streaming).

Real-time factor (RTF) = processing time / audio duration; below 1 is faster than real time.
Run from the repository root::

    .venv/bin/python benchmarks/engine_rtf.py            # human-readable
    .venv/bin/python benchmarks/engine_rtf.py --json     # one JSON object, for a runner

Measures, after the workers have loaded their models (startup is reported separately):

- batch: one ``transcribe`` of the whole file (best and median of ``--repeat`` runs);
- batch, parallel: as many concurrent jobs as there are workers (aggregate RTF per job);
- streaming: 100 ms chunks fed as fast as the engine takes them (total time / duration), with
  the median and 95th-percentile latency of one ``feed`` call;
- decode: ``decode_audio`` of a 10-minute 44.1 kHz stereo WAV to 16 kHz mono.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from speechkit.engines.audio import decode_audio
from speechkit.engines.pocketsphinx_engine import PocketsphinxEngine
from speechkit.engines.wer import word_error_rate

CHUNK_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono


async def measure(
    audio: bytes, reference: str | None, repeat: int, workers: int
) -> dict[str, float]:
    decoded = decode_audio(audio)
    pcm, duration = decoded.pcm, decoded.duration
    results: dict[str, float] = {"audio_seconds": round(duration, 3), "workers": workers}

    engine = PocketsphinxEngine(workers=workers)
    try:
        started = time.perf_counter()
        await engine.start()
        results["startup_seconds"] = round(time.perf_counter() - started, 3)

        batch_times = []
        text = ""
        for _ in range(repeat):
            started = time.perf_counter()
            text = (await engine.transcribe(pcm)).text
            batch_times.append(time.perf_counter() - started)
        results["batch_rtf_best"] = round(min(batch_times) / duration, 4)
        results["batch_rtf_median"] = round(statistics.median(batch_times) / duration, 4)
        if reference is not None:
            results["batch_wer"] = round(word_error_rate(reference, text), 4)

        started = time.perf_counter()
        await asyncio.gather(*(engine.transcribe(pcm) for _ in range(workers)))
        results["batch_parallel_rtf"] = round((time.perf_counter() - started) / duration, 4)

        stream_times = []
        latencies: list[float] = []
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
        results["stream_rtf_best"] = round(min(stream_times) / duration, 4)
        results["stream_rtf_median"] = round(statistics.median(stream_times) / duration, 4)
        latencies.sort()
        results["stream_feed_ms_p50"] = round(latencies[len(latencies) // 2] * 1000, 2)
        results["stream_feed_ms_p95"] = round(latencies[int(len(latencies) * 0.95)] * 1000, 2)
        if reference is not None:
            results["stream_wer"] = round(word_error_rate(reference, text), 4)
    finally:
        await engine.aclose()

    ten_minutes = np.random.default_rng(0).normal(0, 0.1, size=(44100 * 600, 2))
    buffer = io.BytesIO()
    soundfile.write(buffer, ten_minutes, 44100, format="WAV", subtype="PCM_16")
    started = time.perf_counter()
    decode_audio(buffer.getvalue())
    results["decode_10min_44k_stereo_seconds"] = round(time.perf_counter() - started, 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Real-time factor of the pocketsphinx engine.")
    parser.add_argument("--audio", type=Path, default=Path("examples/audio/sample.wav"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    reference_path = args.audio.with_suffix(".txt")
    reference = reference_path.read_text() if reference_path.exists() else None
    results = asyncio.run(measure(args.audio.read_bytes(), reference, args.repeat, args.workers))
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:34} {value}")


if __name__ == "__main__":
    main()
