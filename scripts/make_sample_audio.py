"""Generate the sample audio in ``examples/audio/`` with the flite speech synthesizer.

Run from the repository root (flite must be installed: ``apt-get install -y flite``)::

    .venv/bin/python scripts/make_sample_audio.py            # writes examples/audio/
    .venv/bin/python scripts/make_sample_audio.py --out /tmp/audio --voice slt

The output is byte-for-byte reproducible with the same flite build: each sentence is synthesized
separately, joined with fixed pauses, and given a faint noise floor from a seeded generator (real
recordings are never digitally silent, and voice activity detectors behave differently on exact
zeros). Ogg files get a fixed stream serial number (libsndfile picks a random one).

Voices were chosen by measuring the pocketsphinx engine's word error rate on them (table in
``examples/audio/README.md``): ``rms`` and ``kal16`` recognize best, ``kal`` (8 kHz diphone) worst.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from speechkit.engines.audio import resample_pcm16

RATE = 16000
NOISE_STD = 4.0  # int16 units, about -78 dBFS: a quiet room, not digital silence
SEED = 20240601

# Plain sentences of common words that the pocketsphinx US English model recognizes well.
SAMPLE_SENTENCES = (
    "The weather is nice today and we will go for a walk in the park.",
    "Please call me back when you get home tonight.",
    "We need to buy some milk, bread and eggs from the store.",
    "The children are playing in the garden after school.",
    "Turn off the lights before you leave the house.",
)
SAMPLE_PAUSE = 0.9  # seconds between sentences: long enough to end an utterance in streaming

# Two turns by two voices with a long pause: for realtime endpointing tests.
TURNS = (
    ("awb", "I would like a cup of coffee with a little sugar."),
    ("slt", "Thank you for your help and have a good day."),
)
TURNS_PAUSE = 1.5

# A longer read with ~1 s pauses between sentences, in a voice the samples above do not use:
# for streaming turn tests (one turn per sentence) and the engine benchmark.
SENTENCES = (
    "My brother moved to a small town near the river last spring.",
    "He works at the library and rides his bike to work every morning.",
    "On weekends we cook dinner together and talk about old friends.",
    "The train was late again, so I waited in the station for an hour.",
    "Could you send me the report before the meeting on Friday?",
    "I think the new bridge will open at the end of next month.",
    "She planted tomatoes, beans and carrots in the garden behind the house.",
    "Remember to lock the door and close the windows when you go out.",
)
SENTENCES_VOICE = "kal16"
SENTENCES_PAUSE = 1.0


def synthesize(text: str, voice: str) -> np.ndarray:
    """Speak ``text`` with flite; return int16 samples at :data:`RATE`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True)
        samples, rate = soundfile.read(path, dtype="int16")
    if rate != RATE:
        samples = np.frombuffer(resample_pcm16(samples.tobytes(), rate, RATE), dtype="<i2")
    return np.asarray(samples, dtype=np.int16)


def join(parts: list[np.ndarray], pause: float, rng: np.random.Generator) -> np.ndarray:
    """Concatenate with ``pause`` seconds between parts (and half of it around), add noise."""
    gap = np.zeros(int(pause * RATE), dtype=np.int16)
    edge = np.zeros(int(pause * RATE / 2), dtype=np.int16)
    pieces = [edge]
    for i, part in enumerate(parts):
        if i:
            pieces.append(gap)
        pieces.append(part)
    pieces.append(edge)
    signal = np.concatenate(pieces).astype(np.float64)
    signal += rng.normal(0.0, NOISE_STD, size=len(signal))
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def write(path: Path, samples: np.ndarray, rate: int, fmt: str, subtype: str) -> None:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype=subtype)
    data = buffer.getvalue()
    if fmt == "OGG":
        data = _fix_ogg_serial(data)
    path.write_bytes(data)
    print(f"wrote {path} ({len(data) // 1024} KiB)")


def _fix_ogg_serial(data: bytes, serial: int = 0x5EEC4) -> bytes:
    """Rewrite every Ogg page's stream serial number (and so its CRC) to a fixed value."""
    out = bytearray(data)
    pos = 0
    while pos < len(out):
        if out[pos : pos + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {pos}")
        segments = out[pos + 26]
        header_len = 27 + segments
        body_len = sum(out[pos + 27 : pos + header_len])
        end = pos + header_len + body_len
        out[pos + 14 : pos + 18] = serial.to_bytes(4, "little")
        out[pos + 22 : pos + 26] = b"\0\0\0\0"
        out[pos + 22 : pos + 26] = _ogg_crc(bytes(out[pos:end])).to_bytes(4, "little")
        pos = end
    return bytes(out)


def _ogg_crc(page: bytes) -> int:
    # Ogg's CRC-32: polynomial 0x04C11DB7, no reflection, initial value and final xor 0.
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("examples/audio"))
    parser.add_argument("--voice", default="rms", help="flite voice for sample.* (default rms)")
    parser.add_argument(
        "--only-sentences",
        action="store_true",
        help="write only sentences.wav/.txt (the multi-sentence recording)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.only_sentences:
        write_sentences(out)
        return

    rng = np.random.default_rng(SEED)
    sample = join([synthesize(s, args.voice) for s in SAMPLE_SENTENCES], SAMPLE_PAUSE, rng)
    (out / "sample.txt").write_text(" ".join(SAMPLE_SENTENCES) + "\n")
    write(out / "sample.wav", sample, RATE, "WAV", "PCM_16")
    write(out / "sample.flac", sample, RATE, "FLAC", "PCM_16")
    write(out / "sample.ogg", sample, RATE, "OGG", "VORBIS")
    write(out / "sample.mp3", sample, RATE, "MP3", "MPEG_LAYER_III")
    sample_8k = np.frombuffer(resample_pcm16(sample.tobytes(), RATE, 8000), dtype="<i2")
    write(out / "sample_8k.wav", sample_8k, 8000, "WAV", "PCM_16")

    turns = join([synthesize(text, voice) for voice, text in TURNS], TURNS_PAUSE, rng)
    (out / "two_turns.txt").write_text(" ".join(text for _, text in TURNS) + "\n")
    write(out / "two_turns.wav", turns, RATE, "WAV", "PCM_16")
    write_sentences(out)


def write_sentences(out: Path) -> None:
    """``sentences.wav``: :data:`SENTENCES` with ~1 s pauses (its own seeded noise floor)."""
    rng = np.random.default_rng(SEED + 1)
    speech = [synthesize(s, SENTENCES_VOICE) for s in SENTENCES]
    samples = join(speech, SENTENCES_PAUSE, rng)
    (out / "sentences.txt").write_text(" ".join(SENTENCES) + "\n")
    write(out / "sentences.wav", samples, RATE, "WAV", "PCM_16")


if __name__ == "__main__":
    main()
