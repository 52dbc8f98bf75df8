"""Scenario 7: the offline engines side by side: Whisper (tiny.en, faster-whisper) and pocketsphinx.

For each engine, as the server runs it (worker processes), after the workers loaded their models
(startup is reported separately), on two recordings the project's flite script makes:
``examples/audio/sample.wav`` (21 s, five sentences, 0.9 s pauses) and ``sentences.wav`` (37 s,
eight sentences, 1 s pauses, another voice):

- batch: one ``transcribe`` of the recording: real-time factor (RTF = wall time / audio
  duration) and word error rate (WER, punctuation and case ignored);
- streaming: 100 ms chunks fed as fast as the engine takes them, with the v3 turn defaults
  (400 ms of silence when confident, 1280 ms in any case), then ``finish``: RTF (wall), the
  CPU seconds of the stream's worker per audio second, WER of the finals, finals per sentence;
- final latency: for each final, the audio between the utterance's last word and the chunk that
  ended it (the pause the rules waited for) plus the wall time of the ``feed`` call that returned
  it: how long after the end of speech a real-time client would get the final (valid while the
  streaming RTF is below 1);
- memory: peak resident set (VmHWM) of each worker process.

Full mode also decodes sample.wav in batch with beam sizes 1 and 5 and one or two CPU threads
(Whisper's defaults, beam 5 and one thread per worker, come from these figures), and times
``decode_audio`` of a 10-minute 44.1 kHz stereo WAV. There is no peer: the ``assemblyai`` package
has no local engine. Targets for Whisper (issue 11): WER <= 0.08 on the samples, batch RTF <=
0.25, streaming RTF <= 0.5, final <= 1.5 s after the end of an utterance, <= 400 MB per worker.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._figures import Figure

NAME = "engine"
TITLE = "Offline engines: Whisper vs pocketsphinx"
SETTINGS = (
    "`WhisperEngine(workers=1)` (tiny.en int8, beam 5, 1 thread) and "
    "`PocketsphinxEngine(workers=1)` in the benchmark process, models loaded first; "
    "`examples/audio/sample.wav` and `sentences.wav` (sample.wav only in quick mode); "
    "streaming in 100 ms chunks, unpaced, v3 turn defaults (400/1280 ms, threshold 0.4)."
)

CHUNK_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono
TARGETS = {"wer": 0.08, "batch_rtf": 0.25, "stream_rtf": 0.5, "latency_s": 1.5, "rss_mb": 400}
MIB = 1024 * 1024


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def _stream(engine: Any, pcm: bytes, duration: float) -> dict[str, Any]:
    stream = engine.open_stream()
    stream.set_turn_silence(400, 1280, 0.4)
    await stream.feed(b"")  # the first call waits for the worker's model, if loading
    pid = stream._worker.pid
    cpu_before = _cpu_seconds(pid)
    finals: list[Any] = []
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(0, len(pcm), CHUNK_BYTES):
        before = time.perf_counter()
        events = await stream.feed(pcm[i : i + CHUNK_BYTES])
        took = time.perf_counter() - before
        chunk_end_ms = (i + CHUNK_BYTES) / 32
        for event in events:
            if event.is_final:
                finals.append(event)
                waited = max(0.0, chunk_end_ms - event.words[-1].end) / 1000
                latencies.append(waited + took)
    finals += [e for e in await stream.finish() if e.is_final]
    wall = time.perf_counter() - started
    cpu = _cpu_seconds(pid) - cpu_before
    rss = _peak_rss_mb(pid)
    await stream.aclose()
    return {
        "rtf": wall / duration,
        "cpu_rtf": cpu / duration,
        "finals": finals,
        "latencies": latencies,
        "rss_mb": rss,
    }


async def _measure(
    name: str, recordings: dict[str, tuple[bytes, float, str]], sweep: bool
) -> dict[str, Any]:
    from speechkit.engines import create_engine
    from speechkit.engines.wer import word_error_rate

    results: dict[str, Any] = {}
    engine = create_engine(name, workers=1)
    try:
        started = time.perf_counter()
        await engine.start()
        results["startup_seconds"] = time.perf_counter() - started
        for label, (pcm, duration, reference) in recordings.items():
            started = time.perf_counter()
            text = (await engine.transcribe(pcm)).text
            results[f"{label}_batch_rtf"] = (time.perf_counter() - started) / duration
            results[f"{label}_batch_wer"] = word_error_rate(reference, text)
            stream = await _stream(engine, pcm, duration)
            results[f"{label}_stream_rtf"] = stream["rtf"]
            results[f"{label}_stream_cpu_rtf"] = stream["cpu_rtf"]
            finals = stream["finals"]
            results[f"{label}_stream_wer"] = word_error_rate(
                reference, " ".join(e.text for e in finals)
            )
            results[f"{label}_finals"] = len(finals)
            results[f"{label}_sentences"] = reference.count(".") + reference.count("?")
            results.setdefault("latencies", []).extend(stream["latencies"])
            results["stream_rss_mb"] = max(results.get("stream_rss_mb", 0.0), stream["rss_mb"])
        results["batch_rss_mb"] = max(_peak_rss_mb(pid) for pid in engine.worker_pids())
    finally:
        await engine.aclose()
    results["load"] = os.getloadavg()[0]
    if sweep and name == "whisper":
        pcm, duration, reference = recordings["sample"]
        for beam, threads in ((1, 1), (5, 1), (5, 2)):
            variant = create_engine(name, workers=1, beam_size=beam, threads=threads)
            try:
                await variant.start()
                started = time.perf_counter()
                text = (await variant.transcribe(pcm)).text
                rtf = (time.perf_counter() - started) / duration
                results[f"sweep_b{beam}_t{threads}"] = (rtf, word_error_rate(reference, text))
            finally:
                await variant.aclose()
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
    from speechkit.engines.whisper_engine import whisper_available

    root = Path(__file__).resolve().parents[2] / "examples" / "audio"
    recordings: dict[str, tuple[bytes, float, str]] = {}
    for label in ("sample",) if quick else ("sample", "sentences"):
        decoded = decode_audio((root / f"{label}.wav").read_bytes())
        recordings[label] = (decoded.pcm, decoded.duration, (root / f"{label}.txt").read_text())
    engines = ["whisper", "pocketsphinx"] if whisper_available() else ["pocketsphinx"]
    figures: list[Figure] = []
    for name in engines:
        r = asyncio.run(_measure(name, recordings, sweep=not quick))
        figures += _figures(name, r, recordings, quick)
    if not quick:
        figures.append(
            Figure(
                NAME,
                "decode_audio: 10 min 44.1 kHz stereo WAV to 16 kHz mono",
                "s",
                _decode_seconds(),
            )
        )
    return figures


def _figures(name: str, r: dict[str, Any], recordings: dict[str, Any], quick: bool) -> list[Figure]:
    whisper = name == "whisper"
    limit = 0.5 if quick else None  # quick mode: a smoke check that recognition works at all
    figures: list[Figure] = []

    def judged(value: float, key: str) -> bool | None:
        return None if quick or not whisper else value <= TARGETS[key]

    for label in recordings:
        for kind in ("batch", "stream"):
            wer = r[f"{label}_{kind}_wer"]
            if limit is not None and wer > limit:
                raise RuntimeError(f"{name} {kind} WER on {label}.wav is {wer:.2f}")
        figures.append(
            Figure(
                NAME,
                f"{name}: WER, {label}.wav, batch / streaming",
                "",
                r[f"{label}_batch_wer"],
                target=f"<= {TARGETS['wer']}" if whisper else "",
                met=judged(max(r[f"{label}_batch_wer"], r[f"{label}_stream_wer"]), "wer"),
                notes=(
                    f"streaming WER {r[f'{label}_stream_wer']:.3f}; finals "
                    f"{r[f'{label}_finals']} for {r[f'{label}_sentences']} sentences"
                ),
            )
        )
    batch = statistics.median(r[f"{label}_batch_rtf"] for label in recordings)
    stream = statistics.median(r[f"{label}_stream_rtf"] for label in recordings)
    stream_cpu = statistics.median(r[f"{label}_stream_cpu_rtf"] for label in recordings)
    per_file = ", ".join(
        f"{label}: batch {r[f'{label}_batch_rtf']:.3f}, stream {r[f'{label}_stream_rtf']:.3f}"
        for label in recordings
    )
    figures.append(
        Figure(
            NAME,
            f"{name}: batch real-time factor",
            "x",
            batch,
            target=f"<= {TARGETS['batch_rtf']}" if whisper else "",
            met=judged(batch, "batch_rtf"),
            notes=(
                f"{per_file}; startup {r['startup_seconds']:.2f} s; load average during the "
                f"run {r['load']:.1f} on {os.cpu_count()} cores (other work slows every figure)"
            ),
        )
    )
    figures.append(
        Figure(
            NAME,
            f"{name}: streaming real-time factor (wall)",
            "x",
            stream,
            target=f"<= {TARGETS['stream_rtf']}" if whisper else "",
            met=judged(stream, "stream_rtf"),
            notes=f"worker CPU seconds per audio second: {stream_cpu:.3f}",
        )
    )
    latencies = sorted(r["latencies"])
    worst = latencies[-1] if latencies else float("nan")
    figures.append(
        Figure(
            NAME,
            f"{name}: final after end of utterance (max)",
            "s",
            worst,
            target=f"<= {TARGETS['latency_s']}" if whisper else "",
            met=judged(worst, "latency_s"),
            notes=f"median {statistics.median(latencies):.2f} s over {len(latencies)} finals"
            if latencies
            else "",
        )
    )
    rss = max(r["batch_rss_mb"], r["stream_rss_mb"])
    figures.append(
        Figure(
            NAME,
            f"{name}: peak RSS per worker",
            "MB",
            rss,
            target=f"<= {TARGETS['rss_mb']}" if whisper else "",
            met=judged(rss, "rss_mb"),
            notes=(
                f"batch worker {r['batch_rss_mb']:.0f} MB, "
                f"stream worker {r['stream_rss_mb']:.0f} MB"
            ),
        )
    )
    sweep = {k: v for k, v in r.items() if k.startswith("sweep_")}
    if sweep:
        figures.append(
            Figure(
                NAME,
                f"{name}: batch RTF / WER by beam and threads (sample.wav)",
                "x",
                sweep["sweep_b5_t1"][0],
                notes="; ".join(
                    f"beam {k.split('_')[1][1:]} threads {k.split('_')[2][1:]}: RTF {v[0]:.3f}, "
                    f"WER {v[1]:.3f}"
                    for k, v in sweep.items()
                ),
            )
        )
    return figures
