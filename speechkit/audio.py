"""Audio helpers for streaming: WAV reading, resampling, mu-law, chunking, and a microphone source.

Everything works on raw little-endian 16-bit mono PCM (``pcm_s16le``) unless a name says otherwise,
uses only the standard library, and is fast enough for long files without numpy: sample arithmetic
is done on whole blocks at once, with samples packed side by side into one big integer (a
multiplication or addition of that integer works on every sample in C), and byte-level
slicing/``bytes.translate`` for conversions. ``stream_file`` of ten minutes of 44.1 kHz stereo audio
takes well under a second of CPU.

The microphone source needs the optional ``mic`` extra (``pip install 'speechkit-stt[mic]'``).
"""

from __future__ import annotations

import array
import os
import sys
import time
import wave
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Literal

from speechkit.errors import ConfigurationError, InvalidInputError

__all__ = [
    "Resampler",
    "WavAudio",
    "iter_chunks",
    "microphone_stream",
    "mulaw_to_pcm16",
    "pcm16_to_mulaw",
    "read_wav",
    "resample",
    "stream_file",
]

Encoding = Literal["pcm_s16le", "pcm_mulaw"]

# Flipping the top bit maps two's complement to offset binary and back (x + 32768 mod 65536).
_FLIP = bytes((b ^ 0x80) for b in range(256))
_UNITY = 1 << 16  # weights are fixed point with 16 fractional bits
_MAX_PHASES = 1000  # rate ratios with more phases are approximated (error below 1e-6)
_BLOCK_SECONDS = 10  # how much of a file is read and converted at once


# ---- packed-integer arithmetic on 16-bit samples -------------------------------------------------


def _pack(lo: bytes | bytearray, hi: bytes | bytearray) -> int:
    """Pack samples (given as their low and high byte planes) into 32-bit lanes of one integer, in
    offset binary, so ``packed * w`` multiplies every sample by ``w`` without carries between lanes
    (``65535 * 65536 < 2**32``)."""
    n = len(lo)
    lanes = bytearray(4 * n)
    lanes[0::4] = lo
    lanes[1::4] = hi.translate(_FLIP)
    return int.from_bytes(lanes, "little")


@cache
def _rounding(n: int) -> int:
    return int.from_bytes(b"\x00\x80\x00\x00" * n, "little")


def _unpack(acc: int, n: int) -> tuple[bytes, bytes]:
    """Divide every lane by 65536 (rounded) and return the samples' low and high byte planes."""
    raw = (acc + _rounding(n)).to_bytes(4 * n, "little")
    return raw[2::4], raw[3::4].translate(_FLIP)


_Planes = list[tuple[bytes | bytearray, bytes | bytearray]]


def _weighted(planes: _Planes, weights: list[int]) -> tuple[bytes, bytes]:
    """``sum(w * x) / 65536`` per sample; ``weights`` are non-negative and sum to 65536."""
    n = len(planes[0][0])
    acc = 0
    for (lo, hi), weight in zip(planes, weights, strict=True):
        if weight:
            acc += _pack(lo, hi) * weight
    return _unpack(acc, n)


def _interleave(lo: bytes, hi: bytes) -> bytes:
    out = bytearray(2 * len(lo))
    out[0::2] = lo
    out[1::2] = hi
    return bytes(out)


def _split_weights(count: int) -> list[int]:
    weights = [_UNITY // count] * count
    weights[0] += _UNITY - sum(weights)
    return weights


# ---- format conversion ---------------------------------------------------------------------------


def _to_mono16(frames: bytes, sample_width: int, channels: int) -> bytes:
    """Little-endian PCM of any width (8-bit unsigned; 16/24/32-bit signed) and channel count to
    16-bit mono (channels averaged, extra precision truncated)."""
    width = sample_width
    if width == 1:
        lo, hi = bytes(len(frames)), frames.translate(_FLIP)  # unsigned 8-bit: x - 128, << 8
    elif width in (2, 3, 4):
        lo, hi = frames[width - 2 :: width], frames[width - 1 :: width]
    else:
        raise InvalidInputError(f"Unsupported WAV sample width: {8 * width} bits.")
    if channels == 1:
        return _interleave(lo, hi)
    planes: _Planes = [(lo[c::channels], hi[c::channels]) for c in range(channels)]
    return _interleave(*_weighted(planes, _split_weights(channels)))


class Resampler:
    """Streaming sample-rate converter for 16-bit mono PCM.

    Linear interpolation with a triangular low-pass when downsampling (the kernel widens to the
    input/output ratio), computed per polyphase branch on whole blocks. Feed blocks of any size,
    then call :meth:`flush` once at the end; the output has ``input_samples * to_rate / from_rate``
    samples.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        if from_rate <= 0 or to_rate <= 0:
            raise InvalidInputError("Sample rates must be positive.")
        ratio = Fraction(from_rate, to_rate)
        if ratio.denominator > _MAX_PHASES:
            ratio = ratio.limit_denominator(_MAX_PHASES)
        self.step, self.phases = ratio.numerator, ratio.denominator  # M inputs per L outputs
        width = max(1.0, self.step / self.phases)
        self._reach = int(width) + 1  # no tap is further than this from the output position
        self._taps = [self._phase_taps(k, width) for k in range(self.phases)]
        pad = bytes(self._reach)
        self._lo, self._hi = bytearray(pad), bytearray(pad)  # zeros before the first sample
        self._origin = -self._reach  # input index of self._lo[0]
        self._inputs = 0
        self._next = 0  # next output index

    def _phase_taps(self, phase: int, width: float) -> list[tuple[int, int]]:
        frac = (phase * self.step % self.phases) / self.phases
        raw = [
            (t, 1.0 - abs(t - frac) / width)
            for t in range(-self._reach, self._reach + 1)
            if abs(t - frac) < width
        ]
        total = sum(h for _, h in raw)
        taps = [(t, round(h * _UNITY / total)) for t, h in raw]
        # Make the weights sum to exactly 1.0 so silence stays silence and DC is kept.
        center = max(range(len(taps)), key=lambda i: taps[i][1])
        t, w = taps[center]
        taps[center] = (t, w + _UNITY - sum(w for _, w in taps))
        return taps

    def process(self, pcm: bytes) -> bytes:
        """Add 16-bit mono samples; return the output samples that are now complete."""
        self._lo += pcm[0::2]
        self._hi += pcm[1::2]
        self._inputs += len(pcm) // 2
        available = self._origin + len(self._lo)  # input index just past the last sample
        # Output i needs inputs up to floor(i * M / L) + reach.
        last = ((available - self._reach) * self.phases - 1) // self.step
        return self._produce(last)

    def flush(self) -> bytes:
        """Return the remaining output (the input is treated as followed by silence)."""
        pad = bytes(self._reach + 1)
        self._lo += pad
        self._hi += pad
        total = -(-self._inputs * self.phases // self.step)
        return self._produce(total - 1)

    def _produce(self, last: int) -> bytes:
        first = self._next
        count = last - first + 1
        if count <= 0:
            return b""
        out_lo, out_hi = bytearray(count), bytearray(count)
        step, phases = self.step, self.phases
        for k in range(min(phases, count)):
            i = first + k  # first output of this branch in the block
            n = (count - 1 - k) // phases + 1
            base = i * step // phases - self._origin
            planes: _Planes = []
            weights: list[int] = []
            for t, w in self._taps[i % phases]:
                start = base + t
                stop = start + (n - 1) * step + 1
                planes.append((self._lo[start:stop:step], self._hi[start:stop:step]))
                weights.append(w)
            lo, hi = _weighted(planes, weights)
            out_lo[k::phases] = lo
            out_hi[k::phases] = hi
        self._next = last + 1
        # Keep only the inputs the next output can still need.
        keep_from = self._next * step // phases - self._reach - self._origin
        if keep_from > 0:
            del self._lo[:keep_from]
            del self._hi[:keep_from]
            self._origin += keep_from
        return _interleave(bytes(out_lo), bytes(out_hi))


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample a whole 16-bit mono PCM buffer (see :class:`Resampler`)."""
    _check_pcm16(pcm, "pcm")
    if from_rate == to_rate:
        return bytes(pcm)
    resampler = Resampler(from_rate, to_rate)
    return resampler.process(pcm) + resampler.flush()


# ---- mu-law (ITU-T G.711) -----------------------------------------------------------------------

_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def _mulaw_encode_sample(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sign else sample, _MULAW_CLIP) + _MULAW_BIAS
    exponent = max(magnitude.bit_length() - 8, 0)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


@cache
def _mulaw_encode_table() -> bytes:
    # Indexed by the sample's unsigned 16-bit pattern.
    return bytes(_mulaw_encode_sample(u - 65536 if u >= 32768 else u) for u in range(65536))


@cache
def _mulaw_decode_planes() -> tuple[bytes, bytes]:
    lo, hi = bytearray(256), bytearray(256)
    for code in range(256):
        value = ~code & 0xFF
        sign, exponent, mantissa = value & 0x80, (value >> 4) & 0x07, value & 0x0F
        sample = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
        sample = -sample if sign else sample
        lo[code], hi[code] = sample & 0xFF, (sample >> 8) & 0xFF
    return bytes(lo), bytes(hi)


def pcm16_to_mulaw(pcm: bytes) -> bytes:
    """Encode 16-bit PCM as 8-bit mu-law (one byte per sample)."""
    _check_pcm16(pcm, "pcm")
    samples = array.array("H")  # the unsigned 16-bit pattern of each sample indexes the table
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    return bytes(map(_mulaw_encode_table().__getitem__, samples))


def mulaw_to_pcm16(data: bytes) -> bytes:
    """Decode 8-bit mu-law to 16-bit PCM."""
    lo, hi = _mulaw_decode_planes()
    return _interleave(data.translate(lo), data.translate(hi))


def _check_pcm16(pcm: bytes, name: str) -> None:
    if len(pcm) % 2:
        raise InvalidInputError(f"{name} has an odd length; 16-bit PCM is made of 2-byte samples.")


# ---- files, chunks and the microphone ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WavAudio:
    """Decoded audio: 16-bit little-endian mono PCM at ``sample_rate`` Hz."""

    pcm: bytes
    sample_rate: int

    @property
    def duration_seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


#: What :func:`stream_file` and :func:`read_wav` read: PCM WAV with the standard library, the rest
#: through libsndfile (the ``soundfile`` package, in the ``server`` extra).
SUPPORTED_FORMATS = "WAV (PCM, float, mu-law/A-law, WAVE_FORMAT_EXTENSIBLE), FLAC, OGG, MP3"


def _iter_wav_blocks(
    path: str | os.PathLike[str], sample_rate: int | None
) -> Iterator[tuple[bytes, int]]:
    """Yield (16-bit mono PCM, rate) blocks of an audio file, resampled to ``sample_rate`` if
    given. PCM WAV is read with the standard library; anything else goes to libsndfile."""
    try:
        wav = wave.open(os.fspath(path), "rb")  # noqa: SIM115 - closed by the with below
    except (wave.Error, EOFError) as err:
        yield from _iter_decoded_blocks(path, sample_rate, str(err))
        return
    with wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        if width not in (1, 2, 3, 4) or channels < 1 or rate <= 0:
            raise InvalidInputError(f"Unsupported WAV format: {8 * width}-bit, {channels} ch.")
        target = sample_rate or rate
        resampler = Resampler(rate, target) if target != rate else None
        frames_per_block = rate * _BLOCK_SECONDS
        while True:
            frames = wav.readframes(frames_per_block)
            if not frames:
                break
            usable = len(frames) - len(frames) % (width * channels)
            pcm = _to_mono16(frames[:usable], width, channels)
            yield (resampler.process(pcm) if resampler else pcm), target
        if resampler is not None:
            yield resampler.flush(), target


def _iter_decoded_blocks(
    path: str | os.PathLike[str], sample_rate: int | None, why_not_wav: str
) -> Iterator[tuple[bytes, int]]:
    """Decode any format libsndfile reads (float or extensible WAV, FLAC, OGG, MP3) in blocks."""
    name = os.fspath(path)
    try:
        import numpy as np
        import soundfile
    except ImportError as err:
        raise ConfigurationError(
            f"{name!r} is not a PCM WAV file ({why_not_wav}); reading other audio formats "
            f"({SUPPORTED_FORMATS}) needs the soundfile library: "
            "pip install 'speechkit-stt[server]'"
        ) from err
    try:
        sound = soundfile.SoundFile(name)
    except (RuntimeError, ValueError, TypeError, EOFError) as err:
        # LibsndfileError (a RuntimeError): unknown format or a corrupt header.
        raise InvalidInputError(
            f"{name!r} could not be decoded as audio ({' '.join(str(err).split())}). "
            f"Supported formats: {SUPPORTED_FORMATS}."
        ) from err
    with sound:
        rate, channels = int(sound.samplerate), int(sound.channels)
        if rate <= 0 or channels < 1:
            raise InvalidInputError(f"{name!r}: unsupported audio ({rate} Hz, {channels} ch).")
        target = sample_rate or rate
        resampler = Resampler(rate, target) if target != rate else None
        while True:
            frames = sound.read(rate * _BLOCK_SECONDS, dtype="float32", always_2d=True)
            if not len(frames):
                break
            # Average the channels; float samples beyond full scale are clipped, not wrapped.
            mono = frames.mean(axis=1) * 32768.0
            pcm = np.clip(np.rint(mono), -32768, 32767).astype("<i2").tobytes()
            yield (resampler.process(pcm) if resampler else pcm), target
        if resampler is not None:
            yield resampler.flush(), target


def read_wav(path: str | os.PathLike[str], sample_rate: int | None = None) -> WavAudio:
    """Read an audio file as 16-bit mono PCM.

    PCM WAV (8/16/24/32-bit, any channel count) needs nothing beyond the standard library; float
    or WAVE_FORMAT_EXTENSIBLE WAV, FLAC, OGG and MP3 are decoded with libsndfile (the
    ``soundfile`` package, in the ``server`` extra).

    Args:
        path: The file.
        sample_rate: Resample to this rate (Hz); ``None`` keeps the file's rate.

    Raises:
        InvalidInputError: The file is not audio speechkit can decode.
        ConfigurationError: The file needs ``soundfile`` and it is not installed.
    """
    rate = sample_rate
    pieces = []
    for pcm, block_rate in _iter_wav_blocks(path, sample_rate):
        pieces.append(pcm)
        rate = block_rate
    if rate is None:  # an empty file: ask the header
        with wave.open(os.fspath(path), "rb") as wav:
            rate = wav.getframerate()
    return WavAudio(b"".join(pieces), rate)


def iter_chunks(data: bytes | Iterable[bytes], chunk_size: int) -> Iterator[bytes]:
    """Re-cut ``data`` (bytes, or an iterable of bytes) into pieces of ``chunk_size`` bytes; the
    last piece may be shorter."""
    if chunk_size <= 0:
        raise InvalidInputError("chunk_size must be a positive number of bytes.")
    pieces: Iterable[bytes | bytearray | memoryview] = (
        [data] if isinstance(data, bytes | bytearray | memoryview) else data
    )
    pending = bytearray()
    for piece in pieces:
        pending += piece
        full = len(pending) - len(pending) % chunk_size
        for start in range(0, full, chunk_size):
            yield bytes(pending[start : start + chunk_size])
        del pending[:full]
    if pending:
        yield bytes(pending)


def stream_file(
    path: str | os.PathLike[str],
    sample_rate: int = 16_000,
    chunk_ms: int = 100,
    realtime: bool = False,
    encoding: Encoding = "pcm_s16le",
) -> Generator[bytes, None, None]:
    """Yield an audio file as raw audio chunks ready to stream.

    Args:
        path: An audio file: PCM WAV (8/16/24/32-bit, mono or more channels, any rate) with the
            standard library; float or WAVE_FORMAT_EXTENSIBLE WAV, FLAC, OGG and MP3 with the
            ``soundfile`` package (``server`` extra). Channels are averaged.
        sample_rate: Output rate in Hz; the file is resampled to it.
        chunk_ms: Chunk duration in milliseconds (the last chunk may be shorter).
        realtime: Pace the chunks at the speed of the audio (sleeps in the calling thread), like a
            live source.
        encoding: ``"pcm_s16le"`` or ``"pcm_mulaw"``.

    Raises:
        InvalidInputError: The file is not audio speechkit can decode, or an argument is invalid.
        ConfigurationError: The file needs ``soundfile`` and it is not installed.
    """
    if encoding not in ("pcm_s16le", "pcm_mulaw"):
        raise InvalidInputError(f'encoding must be "pcm_s16le" or "pcm_mulaw", got {encoding!r}.')
    if chunk_ms <= 0:
        raise InvalidInputError("chunk_ms must be a positive number of milliseconds.")
    bytes_per_sample = 2 if encoding == "pcm_s16le" else 1
    chunk_size = max(1, sample_rate * chunk_ms // 1000) * bytes_per_sample
    blocks = (pcm for pcm, _ in _iter_wav_blocks(path, sample_rate))
    encoded = blocks if encoding == "pcm_s16le" else map(pcm16_to_mulaw, blocks)
    started = time.monotonic()
    sent_seconds = 0.0
    for chunk in iter_chunks(encoded, chunk_size):
        if realtime:
            delay = started + sent_seconds - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent_seconds += len(chunk) / bytes_per_sample / sample_rate
        yield chunk


def microphone_stream(
    sample_rate: int = 16_000, chunk_ms: int = 100, device: int | str | None = None
) -> Iterator[bytes]:
    """Yield 16-bit mono PCM chunks from a microphone until the iterator is closed.

    Needs the optional ``mic`` extra (``sounddevice``). The device is opened on the first ``next()``
    and closed when the iterator is closed or garbage-collected.

    Args:
        sample_rate: Capture rate in Hz.
        chunk_ms: Chunk duration in milliseconds.
        device: A sounddevice device index or name (``None``: the default input).

    Raises:
        ConfigurationError: ``sounddevice`` is not installed (raised by this call, not on the first
            ``next()``).
    """
    try:
        import sounddevice
    except ImportError as err:
        raise ConfigurationError(
            "microphone_stream() needs the optional 'mic' extra: pip install 'speechkit-stt[mic]' "
            "(it installs sounddevice)."
        ) from err
    frames = max(1, sample_rate * chunk_ms // 1000)

    def capture() -> Iterator[bytes]:
        stream = sounddevice.RawInputStream(
            samplerate=sample_rate, blocksize=frames, channels=1, dtype="int16", device=device
        )
        with stream:
            while True:
                data, _overflowed = stream.read(frames)
                yield bytes(data)

    return capture()
