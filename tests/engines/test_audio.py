"""Decoding uploads and resampling: formats, errors, and signal quality."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from speechkit.engines.audio import StreamResampler, decode_audio, resample_pcm16
from speechkit.engines.base import EngineError
from tests.engines.conftest import SAMPLE_DURATION


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def sine(rate: int, frequency: float, seconds: float, amplitude: float = 10000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


def peak_frequency(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * rate / len(signal))


def rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(signal**2)))


def encode(signal: np.ndarray, rate: int, fmt: str, subtype: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


# --- the sample files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "container", "rate"),
    [
        ("sample.wav", "WAV", 16000),
        ("sample.flac", "FLAC", 16000),
        ("sample.ogg", "OGG", 16000),
        ("sample.mp3", "MP3", 16000),
        ("sample_8k.wav", "WAV", 8000),
    ],
)
def test_every_sample_format_decodes_to_16k_mono(
    audio_dir: Path, name: str, container: str, rate: int
) -> None:
    decoded = decode_audio((audio_dir / name).read_bytes())
    assert decoded.original_format == container
    assert decoded.original_sample_rate == rate
    assert decoded.original_channels == 1
    assert decoded.sample_rate == 16000
    assert decoded.duration == pytest.approx(SAMPLE_DURATION, abs=0.05)
    assert decoded.num_samples == pytest.approx(SAMPLE_DURATION * 16000, abs=800)


@pytest.mark.parametrize("name", ["sample.flac", "sample.ogg", "sample.mp3", "sample_8k.wav"])
def test_other_formats_carry_the_same_signal_as_the_wav(audio_dir: Path, name: str) -> None:
    reference = samples(decode_audio((audio_dir / "sample.wav").read_bytes()).pcm)
    other = samples(decode_audio((audio_dir / name).read_bytes()).pcm)
    n = min(len(reference), len(other))
    correlation = np.dot(reference[:n], other[:n]) / np.sqrt(
        np.dot(reference[:n], reference[:n]) * np.dot(other[:n], other[:n])
    )
    # Measured: FLAC 1.0, MP3 0.999, Vorbis 0.997, 8 kHz 0.989 (it lost everything above 4 kHz).
    assert correlation > 0.98


def test_16k_mono_wav_passes_through_unchanged(audio_dir: Path) -> None:
    data = (audio_dir / "sample.wav").read_bytes()
    frames, _ = soundfile.read(io.BytesIO(data), dtype="int16")
    assert decode_audio(data).pcm == frames.tobytes()


# --- WAV encodings, rates, channels -----------------------------------------------------------


@pytest.mark.parametrize(
    "subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"]
)
def test_wav_encodings_at_44k_stereo(subtype: str) -> None:
    tone = sine(44100, 440.0, 1.0, amplitude=0.3)  # full scale is 1.0 for soundfile floats
    stereo = np.stack([tone, tone], axis=1)
    decoded = decode_audio(encode(stereo, 44100, "WAV", subtype))
    out = samples(decoded.pcm)
    assert (decoded.original_sample_rate, decoded.original_channels) == (44100, 2)
    assert decoded.original_subtype == subtype
    assert len(out) == 16000
    assert peak_frequency(out, 16000) == pytest.approx(440.0, abs=2.0)
    # 0.3 of full scale is 9830 in int16 units; its RMS is that / sqrt(2). 8-bit and the
    # companded encodings are coarse, hence 3 %.
    middle = out[2000:-2000]
    assert rms(middle) == pytest.approx(0.3 * 32768 / np.sqrt(2), rel=0.03)


def test_channels_are_averaged() -> None:
    tone = sine(16000, 440.0, 0.5, amplitude=0.4)
    stereo = np.stack([tone, np.zeros_like(tone)], axis=1)
    out = samples(decode_audio(encode(stereo, 16000, "WAV", "FLOAT")).pcm)
    assert rms(out) == pytest.approx(0.2 * 32768 / np.sqrt(2), rel=0.01)


def test_float_beyond_full_scale_is_clipped_not_wrapped() -> None:
    loud = np.full(1600, 1.5)
    out = samples(decode_audio(encode(loud, 16000, "WAV", "FLOAT")).pcm)
    assert out.min() == 32767


def test_no_filtering_when_only_the_encoding_changes() -> None:
    tone = sine(16000, 7500.0, 0.5, amplitude=0.3)  # would be cut by a 16k -> 16k lowpass
    out = samples(decode_audio(encode(tone, 16000, "WAV", "FLOAT")).pcm)
    assert np.max(np.abs(out - np.rint(tone * 32768))) <= 1


def test_target_rate_is_honoured() -> None:
    tone = sine(48000, 1000.0, 1.0, amplitude=0.3)
    decoded = decode_audio(encode(tone, 48000, "FLAC", "PCM_16"), target_rate=8000)
    assert decoded.sample_rate == 8000
    assert len(samples(decoded.pcm)) == 8000
    assert peak_frequency(samples(decoded.pcm), 8000) == pytest.approx(1000.0, abs=2.0)


# --- unreadable input -------------------------------------------------------------------------

MESSAGE = "Supported formats: WAV, FLAC, OGG, MP3."


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"this is not audio at all, just some text" * 10, id="text"),
        pytest.param(np.random.default_rng(1).bytes(20000), id="random-bytes"),
        pytest.param(sine(16000, 440.0, 0.5).astype("<i2").tobytes(), id="headerless-pcm"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", id="truncated-wav-header"),
    ],
)
def test_unreadable_audio_raises_a_clear_engine_error(data: bytes) -> None:
    with pytest.raises(EngineError) as caught:
        decode_audio(data)
    message = str(caught.value)
    assert message.startswith("The audio could not be decoded: ")
    assert message.endswith(MESSAGE)
    assert "BytesIO" not in message  # no Python object reprs leak to users


def test_absurd_sample_rates_are_refused() -> None:
    with pytest.raises(EngineError, match="sample rate of 500 Hz"):
        decode_audio(encode(np.zeros(500), 500, "WAV", "PCM_16"))


def test_empty_upload_says_so() -> None:
    with pytest.raises(EngineError, match=r"the file is empty\. Supported formats"):
        decode_audio(b"")


# --- resampling quality -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_rate", "to_rate"),
    [(44100, 16000), (48000, 16000), (22050, 16000), (8000, 16000), (16000, 8000), (11025, 16000)],
)
def test_a_440_hz_sine_keeps_its_frequency_and_level(from_rate: int, to_rate: int) -> None:
    tone = sine(from_rate, 440.0, 2.0)
    out = samples(resample_pcm16(tone.astype("<i2").tobytes(), from_rate, to_rate))
    assert len(out) == 2 * to_rate
    assert peak_frequency(out, to_rate) == pytest.approx(440.0, abs=0.5)
    ideal = sine(to_rate, 440.0, 2.0)
    middle = slice(to_rate // 4, -to_rate // 4)  # away from the silent padding at the ends
    error = out[middle] - ideal[middle]
    snr_db = 10 * np.log10(np.mean(ideal[middle] ** 2) / np.mean(error**2))
    assert snr_db > 60  # measured about 82 dB: rounding to int16 dominates


def test_downsampling_removes_tones_above_the_new_nyquist() -> None:
    tone = sine(44100, 10000.0, 1.0)  # would alias to 6 kHz at 16 kHz without filtering
    out = samples(resample_pcm16(tone.astype("<i2").tobytes(), 44100, 16000))
    assert rms(out[2000:-2000]) < rms(tone) * 10 ** (-60 / 20)


def test_stream_resampler_matches_the_batch_resampler_across_odd_chunks() -> None:
    pcm = sine(44100, 440.0, 1.0).astype("<i2").tobytes()
    resampler = StreamResampler(44100, 16000)
    rng = np.random.default_rng(7)
    pieces = []
    position = 0
    while position < len(pcm):
        size = int(rng.integers(1, 3000))  # odd byte counts included
        pieces.append(resampler.process(pcm[position : position + size]))
        position += size
    pieces.append(resampler.flush())
    streamed = samples(b"".join(pieces))
    batch = samples(resample_pcm16(pcm, 44100, 16000))
    assert len(streamed) == len(batch) == 16000
    # Identical up to float rounding in the matrix products (never more than one LSB).
    assert np.max(np.abs(streamed - batch)) <= 1


def test_stream_resampler_has_no_clicks_at_chunk_edges() -> None:
    pcm = sine(48000, 440.0, 1.0).astype("<i2").tobytes()
    resampler = StreamResampler(48000, 16000)
    chunk = 960 * 2  # 20 ms, as realtime clients send
    out = samples(
        b"".join(resampler.process(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk))
        + resampler.flush()
    )
    middle = out[1000:-1000]
    # A click would be a sample-to-sample jump far above a 440 Hz sine's largest step.
    largest_step = 10000 * 2 * np.pi * 440 / 16000
    assert np.max(np.abs(np.diff(middle))) < largest_step * 1.05


def test_equal_rates_pass_through() -> None:
    pcm = b"\x01\x02\x03\x04\x05"
    assert resample_pcm16(pcm, 16000, 16000) == pcm[:4]
    resampler = StreamResampler(16000, 16000)
    assert resampler.process(pcm) + resampler.process(b"\x06") + resampler.flush() == (
        b"\x01\x02\x03\x04\x05\x06"
    )


def test_stream_resampler_latency_is_small() -> None:
    resampler = StreamResampler(48000, 16000)
    out = resampler.process(sine(48000, 440.0, 0.1).astype("<i2").tobytes())
    # 100 ms in; at most a few ms (filter half-length plus one block) held back.
    assert len(out) // 2 >= 1600 - 16000 * 0.01
