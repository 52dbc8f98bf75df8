"""Chunking, the replay buffer, input checks (core) and ``speechkit.audio`` (WAV, resampling,
mu-law, chunk iteration, microphone)."""

from __future__ import annotations

import array
import math
import sys
import wave
from pathlib import Path

import pytest

from speechkit import audio
from speechkit._core.realtime_audio import AudioFormat, Chunker, ReplayBuffer, check_audio_chunk
from speechkit.errors import ConfigurationError, InvalidInputError

PCM16 = AudioFormat(16_000)


def samples(values: list[int]) -> bytes:
    data = array.array("h", values)
    if sys.byteorder == "big":
        data.byteswap()
    return data.tobytes()


def values(pcm: bytes) -> list[int]:
    data = array.array("h")
    data.frombytes(pcm)
    if sys.byteorder == "big":
        data.byteswap()
    return data.tolist()


# ---- Chunker -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "chunk_ms", "chunk_bytes"),
    [
        (PCM16, 100, 3200),
        (PCM16, 50, 1600),
        (AudioFormat(8_000, "pcm_mulaw"), 100, 800),
        (AudioFormat(44_100), 100, 8820),
        (AudioFormat(22_050), 50, 2204),  # 1102.5 samples: rounded down to whole samples
    ],
)
def test_chunk_sizes(fmt: AudioFormat, chunk_ms: int, chunk_bytes: int) -> None:
    chunker = Chunker(fmt, chunk_ms, "v3")
    assert chunker.chunk_bytes == chunk_bytes
    assert chunker.chunk_bytes % fmt.bytes_per_sample == 0


@pytest.mark.parametrize("chunk_ms", [0, 10, 49, 1001, 5000])
def test_v3_rule_50_to_1000_ms_is_enforced(chunk_ms: int) -> None:
    with pytest.raises(InvalidInputError, match="50-1000 ms"):
        Chunker(PCM16, chunk_ms, "v3")


def test_v2_limits_and_bounds() -> None:
    with pytest.raises(InvalidInputError, match="100-2000 ms"):
        Chunker(PCM16, 50, "v2")
    chunker = Chunker(PCM16, 100, "v3")
    assert (chunker.min_bytes, chunker.max_bytes) == (1600, 32000)
    assert Chunker(AudioFormat(22_050), 100, "v3").min_bytes == 2206  # 1103 samples: rounded up


def test_plan_sends_whole_chunks_and_flushes_the_rest_within_limits() -> None:
    chunker = Chunker(PCM16, 100, "v3")
    assert chunker.plan(7000, flush=False) == ([3200, 3200], 0)
    assert chunker.plan(8000, flush=True) == ([3200, 3200, 1600], 0)  # 50 ms rest: allowed
    assert chunker.plan(7000, flush=True) == ([3200, 3800], 0)  # 600-byte rest merged
    assert chunker.plan(600, flush=True) == ([1600], 1000)  # alone: padded to 50 ms
    big = Chunker(PCM16, 1000, "v3")
    sizes, pad = big.plan(32000 + 320, flush=True)  # a 10 ms rest cannot join a 1000 ms chunk
    assert pad == 0
    assert sum(sizes) == 32320
    assert all(big.min_bytes <= s <= big.max_bytes and s % 2 == 0 for s in sizes)


def test_feed_and_flush() -> None:
    chunker = Chunker(PCM16, 100, "v3")
    out = chunker.feed(b"\x01\x00" * 1000) + chunker.feed(b"\x01\x00" * 2400)
    assert [len(c) for c in out] == [3200, 3200]
    [last] = chunker.flush()  # 400 bytes left, padded with silence to the 50 ms minimum
    assert last == b"\x01\x00" * 200 + b"\x00" * 1200
    assert chunker.flush() == []


# ---- ReplayBuffer ------------------------------------------------------------------------------


def test_replay_buffer_trims_reads_and_drops_the_oldest_when_full() -> None:
    buffer = ReplayBuffer(limit_bytes=10)
    assert buffer.append(b"abcdef") == 0
    buffer.trim_to(2)
    assert (buffer.start, buffer.end, buffer.read(0, 100)) == (2, 6, b"cdef")
    assert buffer.append(b"ghijklmn") == 2  # 12 bytes held > 10: the oldest 2 go
    assert (buffer.start, buffer.end) == (4, 14)
    assert buffer.read(5, 8) == b"fgh"
    buffer.trim_to(1)  # before the start: nothing to do
    assert len(buffer) == 10
    buffer.trim_to(100)
    assert (len(buffer), buffer.start) == (0, 14)


# ---- input checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("text", "got str"),
        (12345, "got int"),
        (b"\x00\x01\x02", "odd length"),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", "WAV.*stream_file"),
        (b"ID3\x04\x00\x00\x00\x00", "MP3"),
        (b"OggS\x00\x02\x00\x00", "Ogg"),
        (b"fLaC\x00\x00\x00\x22", "FLAC"),
        (b"\x00\x00\x00\x20ftypM4A ", "MP4"),
        (b'{"type": "KeepAlive", "padding": "...."}', "looks like text"),
    ],
)
def test_non_audio_input_is_rejected(data: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        check_audio_chunk(data, PCM16)


def test_real_audio_passes_the_checks() -> None:
    tone = samples([int(9000 * math.sin(i / 3)) for i in range(4000)])
    assert check_audio_chunk(tone, PCM16) == tone
    assert check_audio_chunk(memoryview(b"\x00\x00"), PCM16) == b"\x00\x00"
    assert check_audio_chunk(b"\x7f", AudioFormat(8000, "pcm_mulaw")) == b"\x7f"  # 1 byte/sample


# ---- resampling, conversion, mu-law --------------------------------------------------------------


def reference_resample(x: list[int], from_rate: int, to_rate: int) -> list[float]:
    """The same filter as Resampler, sample by sample in floating point."""
    from fractions import Fraction

    ratio = Fraction(from_rate, to_rate)
    width = max(1.0, ratio.numerator / ratio.denominator)
    out = []
    for i in range(-(-len(x) * ratio.denominator // ratio.numerator)):
        position = i * ratio.numerator / ratio.denominator
        j = math.floor(position)
        acc = total = 0.0
        for t in range(-int(width) - 1, int(width) + 2):
            d = abs(j + t - position)
            if d < width:
                h = 1 - d / width
                acc += h * (x[j + t] if 0 <= j + t < len(x) else 0)
                total += h
        out.append(acc / total)
    return out


@pytest.mark.parametrize(
    ("from_rate", "to_rate"),
    [(48_000, 16_000), (44_100, 16_000), (8_000, 16_000), (22_050, 16_000), (16_000, 8_000)],
)
def test_resampler_matches_the_reference_filter_fed_in_pieces(from_rate: int, to_rate: int) -> None:
    x = [
        int(8000 * math.sin(2 * math.pi * 440 * i / from_rate)) + (i * 7919) % 200 - 100
        for i in range(from_rate // 4 + 13)
    ]
    pcm = samples(x)
    resampler = audio.Resampler(from_rate, to_rate)
    out = b""
    for start in range(0, len(pcm), 3002):
        out += resampler.process(pcm[start : start + 3002])
    out += resampler.flush()
    got, want = values(out), reference_resample(x, from_rate, to_rate)
    assert len(got) == len(want)
    assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 0.51


def test_resample_keeps_silence_and_extremes_in_range() -> None:
    assert audio.resample(b"\x00" * 960, 48_000, 16_000) == b"\x00" * 320
    loud = samples([32767, -32768] * 500)
    assert all(-32768 <= v <= 32767 for v in values(audio.resample(loud, 44_100, 16_000)))
    assert audio.resample(loud, 16_000, 16_000) == loud


def test_mulaw_round_trip_and_known_codes() -> None:
    assert audio.pcm16_to_mulaw(samples([0, -1, 32767, -32768])) == bytes([0xFF, 0x7F, 0x80, 0x00])
    ramp = list(range(-32768, 32768, 97))
    decoded = values(audio.mulaw_to_pcm16(audio.pcm16_to_mulaw(samples(ramp))))
    assert all(abs(a - b) <= max(16, abs(a) / 16) for a, b in zip(ramp, decoded, strict=True))
    with pytest.raises(InvalidInputError, match="odd length"):
        audio.pcm16_to_mulaw(b"\x00")


def write_wav(path: Path, frames: bytes, *, rate: int, width: int, channels: int) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return path


def test_wav_widths_and_channels_become_16_bit_mono(tmp_path: Path) -> None:
    # 8-bit unsigned: 0 -> -32768, 128 -> 0, 255 -> 32512
    eight = write_wav(tmp_path / "8.wav", bytes([0, 128, 255]), rate=8000, width=1, channels=1)
    assert values(audio.read_wav(eight).pcm) == [-32768, 0, 32512]
    raw24 = b"".join(v.to_bytes(3, "little", signed=True) for v in [8388607, -8388608, 25607])
    twenty_four = write_wav(tmp_path / "24.wav", raw24, rate=8000, width=3, channels=1)
    assert values(audio.read_wav(twenty_four).pcm) == [32767, -32768, 100]
    raw32 = b"".join(v.to_bytes(4, "little", signed=True) for v in [2**31 - 1, -(2**31)])
    thirty_two = write_wav(tmp_path / "32.wav", raw32, rate=8000, width=4, channels=1)
    assert values(audio.read_wav(thirty_two).pcm) == [32767, -32768]
    stereo = write_wav(
        tmp_path / "st.wav", samples([1000, -1000, 300, 100, -32768, -32768]), rate=8000, width=2,
        channels=2,
    )  # fmt: skip
    decoded = audio.read_wav(stereo)
    assert values(decoded.pcm) == [0, 200, -32768]
    assert decoded.sample_rate == 8000


def test_stream_file_resamples_chunks_and_encodes(tmp_path: Path) -> None:
    tone = samples([int(5000 * math.sin(i / 5)) for i in range(44_100)])  # 1 s at 44.1 kHz
    path = write_wav(tmp_path / "t.wav", tone, rate=44_100, width=2, channels=1)
    chunks = list(audio.stream_file(path, 16_000, 100))
    assert [len(c) for c in chunks] == [3200] * 10
    mulaw = list(audio.stream_file(path, 8_000, 250, encoding="pcm_mulaw"))
    assert [len(c) for c in mulaw] == [2000] * 4
    assert audio.read_wav(path, 16_000).duration_seconds == pytest.approx(1.0)


def test_stream_file_realtime_paces_the_chunks(tmp_path: Path) -> None:
    import time

    path = write_wav(tmp_path / "s.wav", b"\x00\x00" * 4000, rate=16_000, width=2, channels=1)
    started = time.monotonic()
    chunks = list(audio.stream_file(path, 16_000, 50, realtime=True))
    elapsed = time.monotonic() - started
    assert len(chunks) == 5
    assert 0.18 <= elapsed < 1.0  # 250 ms of audio; the first chunk goes at once


def test_not_an_audio_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "x.wav"
    bogus.write_bytes(b"ID3\x04 this is not audio at all")
    with pytest.raises(InvalidInputError, match=r"could not be decoded as audio.*FLAC, OGG, MP3"):
        list(audio.stream_file(bogus))


def test_other_formats_need_soundfile_and_say_which_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(ConfigurationError, match=r"not a PCM WAV file.*speechkit-stt\[server\]"):
        list(audio.stream_file(EXAMPLES / "sample.flac"))


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audio"


def _pcm(path: Path, rate: int = 16_000) -> bytes:
    return b"".join(audio.stream_file(path, rate, 100))


def test_flac_and_extensible_or_float_wav_decode_to_the_same_samples(tmp_path: Path) -> None:
    pytest.importorskip("soundfile")
    import numpy as np
    import soundfile

    reference = _pcm(EXAMPLES / "sample.wav")
    assert _pcm(EXAMPLES / "sample.flac") == reference  # lossless: every sample
    samples = np.frombuffer(reference, "<i2")
    extensible = tmp_path / "x.wav"
    soundfile.write(extensible, samples, 16_000, format="WAVEX", subtype="PCM_16")
    assert extensible.read_bytes()[20:22] == b"\xfe\xff"  # WAVE_FORMAT_EXTENSIBLE
    assert _pcm(extensible) == reference
    stereo_float = tmp_path / "f.wav"
    both = (samples / 32768.0).astype("float32")
    soundfile.write(stereo_float, np.stack([both, both], 1), 16_000, subtype="FLOAT")
    assert _pcm(stereo_float) == reference  # float, two channels averaged


@pytest.mark.parametrize("name", ["sample.ogg", "sample.mp3"])
def test_lossy_files_decode_and_resample_to_the_session_rate(name: str) -> None:
    pytest.importorskip("soundfile")
    import numpy as np

    reference = np.frombuffer(_pcm(EXAMPLES / "sample_8k.wav", 8000), "<i2").astype(float)
    decoded = np.frombuffer(_pcm(EXAMPLES / name, 8000), "<i2").astype(float)
    assert abs(len(decoded) - len(reference)) <= 8000 * 0.1  # codec padding at most 100 ms
    n = min(len(decoded), len(reference))
    # Same audio: the envelopes (RMS per 100 ms) agree closely after codec delay.
    env = [
        np.sqrt(np.mean(x[: n - n % 800].reshape(-1, 800) ** 2, axis=1))
        for x in (decoded, reference)
    ]
    assert np.corrcoef(env[0], env[1])[0, 1] > 0.95


def test_iter_chunks_recuts_any_pieces() -> None:
    assert list(audio.iter_chunks(b"abcdefg", 3)) == [b"abc", b"def", b"g"]
    assert list(audio.iter_chunks([b"ab", b"cdef", b"g"], 2)) == [b"ab", b"cd", b"ef", b"g"]


def test_microphone_needs_the_mic_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(ConfigurationError, match=r"speechkit-stt\[mic\]"):
        audio.microphone_stream()


def test_microphone_reads_blocks_from_sounddevice(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeStream:
        def __init__(self, **kwargs: object) -> None:
            self.kwargs = kwargs
            self.closed = False

        def __enter__(self) -> FakeStream:
            return self

        def __exit__(self, *args: object) -> None:
            self.closed = True

        def read(self, frames: int) -> tuple[bytes, bool]:
            return b"\x01\x00" * frames, False

    streams: list[FakeStream] = []

    class FakeModule:
        @staticmethod
        def RawInputStream(**kwargs: object) -> FakeStream:
            streams.append(FakeStream(**kwargs))
            return streams[-1]

    monkeypatch.setitem(sys.modules, "sounddevice", FakeModule)
    mic = audio.microphone_stream(8000, 50)
    assert len(next(mic)) == 800
    mic.close()  # type: ignore[attr-defined]
    assert streams[0].closed
    assert streams[0].kwargs["dtype"] == "int16"


def test_int16_arrays_are_audio_and_float_arrays_are_not() -> None:
    samples16 = array.array("h", [1, -2, 3])
    assert check_audio_chunk(samples16, PCM16) == samples16.tobytes()
    np = pytest.importorskip("numpy")
    assert check_audio_chunk(np.array([5, 6], dtype=np.int16), PCM16) == samples([5, 6])
    with pytest.raises(InvalidInputError, match="not float samples"):
        check_audio_chunk(np.zeros(4, dtype=np.float32), PCM16)
