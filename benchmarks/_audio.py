"""Audio the benchmarks upload, generated on the spot (never fetched)."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

__all__ = ["write_tone_wav", "write_wav_files"]


def write_tone_wav(
    path: Path, *, seconds: float, frequency: float, sample_rate: int = 16000
) -> Path:
    """Write a mono 16-bit PCM WAV holding a quiet sine tone; returns ``path``."""
    frames = int(seconds * sample_rate)
    step = 2 * math.pi * frequency / sample_rate
    samples = struct.pack(f"<{frames}h", *(int(3000 * math.sin(step * i)) for i in range(frames)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples)
    return path


def write_wav_files(directory: Path, count: int, *, seconds: float = 0.5) -> list[str]:
    """Write ``count`` distinct short WAV files (different tones) and return their paths.

    Each file is ``seconds`` long at 16 kHz mono 16-bit (0.5 s: 16 KB), so a batch of hundreds
    exercises real uploads without making the server's decoding the bottleneck.
    """
    directory.mkdir(parents=True, exist_ok=True)
    return [
        str(write_tone_wav(directory / f"bench-{i:04d}.wav", seconds=seconds, frequency=200 + i))
        for i in range(count)
    ]
