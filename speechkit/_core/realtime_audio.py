"""Sans-I/O audio bookkeeping for realtime sessions: format arithmetic, input checks, chunking and
the bounded replay buffer.

All sizes are bytes of encoded audio; all durations are milliseconds unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from speechkit.errors import InvalidInputError

__all__ = [
    "CHUNK_LIMITS_MS",
    "AudioFormat",
    "Chunker",
    "ReplayBuffer",
    "check_audio_chunk",
    "is_buffer",
]

Encoding = Literal["pcm_s16le", "pcm_mulaw"]

#: Allowed audio chunk durations in milliseconds, per protocol. v3: "Binary audio chunks of 50-1000
#: ms" (usm-streaming.yml, sendAudio; close code 3007). v2: the service closed with 4032/4033 for
#: chunks shorter than 100 ms or longer than 2000 ms.
CHUNK_LIMITS_MS: dict[str, tuple[int, int]] = {"v2": (100, 2000), "v3": (50, 1000)}


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """Raw audio as the service expects it: mono, ``sample_rate`` Hz, ``encoding``."""

    sample_rate: int
    encoding: Encoding = "pcm_s16le"

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self.encoding == "pcm_s16le" else 1

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.bytes_per_sample

    def ms_to_bytes(self, ms: float) -> int:
        """Bytes in ``ms`` milliseconds, rounded down to a whole sample (never negative)."""
        samples = int(max(ms, 0) * self.sample_rate // 1000)
        return samples * self.bytes_per_sample

    def bytes_to_ms(self, nbytes: int) -> float:
        """Milliseconds of audio in ``nbytes`` bytes."""
        return nbytes * 1000 / self.bytes_per_second

    def silence(self, nbytes: int) -> bytes:
        """``nbytes`` of digital silence (0 for PCM, 0xFF for mu-law)."""
        return (b"\x00" if self.encoding == "pcm_s16le" else b"\xff") * nbytes


# Container and codec signatures that mean "this is a file, not raw samples".
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"RIFF", "a WAV (RIFF) file"),
    (0, b"ID3", "an MP3 file"),
    (0, b"OggS", "an Ogg file"),
    (0, b"fLaC", "a FLAC file"),
    (0, b"\x1a\x45\xdf\xa3", "a WebM/Matroska file"),
    (4, b"ftyp", "an MP4/M4A file"),
)
_BYTE_FORMATS = frozenset({"B", "b", "c"})
_TEXT_BYTES = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
# A chunk this long that is entirely printable ASCII is text, not audio: real PCM essentially never
# stays inside 0x20-0x7E for that many bytes.
_TEXT_MIN_LEN = 32


def is_buffer(data: object) -> bool:
    """Whether ``data`` is one block of audio (bytes, bytearray, memoryview, an int16 array...)
    rather than an iterable of chunks."""
    if isinstance(data, bytes | bytearray | memoryview):
        return True
    if isinstance(data, str):
        return False
    try:
        memoryview(cast(Any, data))
    except TypeError:
        return False
    return True


def check_audio_chunk(data: object, fmt: AudioFormat, *, argument: str = "data") -> bytes:
    """Return ``data`` as bytes after checking it looks like raw audio in ``fmt``.

    Raises:
        InvalidInputError: ``data`` is not bytes-like, has an odd length for 16-bit PCM, is a
            container file (WAV/MP3/Ogg/FLAC/WebM/MP4) or is text.
    """
    if isinstance(data, str):
        raise InvalidInputError(
            f"{argument} must be raw audio bytes, got str. Encode audio as {fmt.encoding} bytes, "
            "or use stream_file() for a WAV file."
        )
    if not is_buffer(data):
        raise InvalidInputError(
            f"{argument} must be bytes (or an iterable of bytes chunks), got {type(data).__name__}."
        )
    view = memoryview(cast(Any, data))  # is_buffer() checked it
    if view.format not in _BYTE_FORMATS and view.format.lstrip("<=@") != "h":
        # e.g. a float32 numpy array: its bytes are not pcm_s16le samples.
        raise InvalidInputError(
            f"{argument} holds {view.format!r} items; pass raw bytes or 16-bit integer samples "
            "(int16), not float samples."
        )
    raw = view.tobytes()
    if fmt.encoding == "pcm_s16le" and len(raw) % 2:
        raise InvalidInputError(
            f"{argument} has an odd length ({len(raw)} bytes), but pcm_s16le audio is made of "
            "2-byte samples. Pass whole samples in every chunk."
        )
    for offset, magic, what in _MAGIC:
        if raw[offset : offset + len(magic)] == magic:
            raise InvalidInputError(
                f"{argument} starts like {what}, not raw {fmt.encoding} samples. Use "
                "stream_file(path) for WAV files, or decode the file to raw PCM first."
            )
    if len(raw) >= _TEXT_MIN_LEN and _TEXT_BYTES.issuperset(raw[:256]):
        raise InvalidInputError(
            f"{argument} looks like text ({raw[:24]!r}...), not raw {fmt.encoding} audio."
        )
    return raw


class Chunker:
    """Cuts audio into chunks of ``chunk_ms`` and enforces the protocol's allowed chunk lengths.

    The session uses :meth:`plan` on its unsent audio; :meth:`feed` and :meth:`flush` serve callers
    that hold their own stream (``speechkit.audio.iter_chunks``).

    Raises:
        InvalidInputError: ``chunk_ms`` is outside the protocol's limits (v3: 50 to 1000 ms).
    """

    def __init__(self, fmt: AudioFormat, chunk_ms: int, protocol: str = "v3") -> None:
        low, high = CHUNK_LIMITS_MS.get(protocol, (1, 60_000))
        if isinstance(chunk_ms, bool) or not isinstance(chunk_ms, int):
            raise InvalidInputError(
                f"chunk_ms must be an int number of milliseconds, got {chunk_ms!r}."
            )
        if not low <= chunk_ms <= high:
            raise InvalidInputError(
                f"chunk_ms={chunk_ms} is outside the {protocol} limits: audio chunks must be "
                f"{low}-{high} ms long."
            )
        self.format = fmt
        self.chunk_ms = chunk_ms
        self.chunk_bytes = max(fmt.ms_to_bytes(chunk_ms), fmt.bytes_per_sample)
        # Round the minimum up to a whole sample, so a padded chunk is never below the limit.
        per_sample = fmt.bytes_per_sample
        min_samples = -(-low * fmt.sample_rate // 1000)
        self.min_bytes = min_samples * per_sample
        self.max_bytes = fmt.ms_to_bytes(high)
        self._pending = bytearray()

    def plan(self, available: int, *, flush: bool) -> tuple[list[int], int]:
        """Decide how to send ``available`` unsent bytes.

        Returns:
            ``(sizes, pad)``: send chunks of these sizes, in order, after first appending ``pad``
            bytes of silence to the audio. Without ``flush``, only whole ``chunk_bytes`` chunks are
            sent and the rest waits for more audio. With ``flush`` the rest goes too: merged into
            the last chunk when that stays within the limit, otherwise padded up to the minimum.
        """
        full, rest = divmod(available, self.chunk_bytes)
        sizes = [self.chunk_bytes] * full
        if not flush or rest == 0:
            return sizes, 0
        if rest >= self.min_bytes:
            sizes.append(rest)
            return sizes, 0
        if sizes and sizes[-1] + rest <= self.max_bytes:
            sizes[-1] += rest
            return sizes, 0
        if sizes:
            # chunk_ms is close to the maximum: split the last two pieces evenly instead.
            total = sizes.pop() + rest
            first = (total // 2) // self.format.bytes_per_sample * self.format.bytes_per_sample
            sizes.extend((first, total - first))
            return sizes, 0
        pad = self.min_bytes - rest
        sizes.append(self.min_bytes)
        return sizes, pad

    def feed(self, data: bytes) -> list[bytes]:
        """Add audio; return the whole chunks now available."""
        self._pending += data
        sizes, _ = self.plan(len(self._pending), flush=False)
        return self._take(sizes)

    def flush(self) -> list[bytes]:
        """Return what is left, padded with silence to the minimum length if needed."""
        sizes, pad = self.plan(len(self._pending), flush=True)
        self._pending += self.format.silence(pad)
        return self._take(sizes)

    def _take(self, sizes: list[int]) -> list[bytes]:
        out: list[bytes] = []
        for size in sizes:
            out.append(bytes(self._pending[:size]))
            del self._pending[:size]
        return out


class ReplayBuffer:
    """The audio not yet covered by a final transcript, bounded by ``limit_bytes``.

    Positions are absolute byte offsets on the session timeline. :meth:`trim_to` discards audio a
    final transcript covered; when :meth:`append` would exceed the limit, the *oldest* audio is
    dropped and the number of dropped bytes returned, so the caller can report the loss.
    """

    def __init__(self, limit_bytes: int) -> None:
        if limit_bytes <= 0:
            raise InvalidInputError("The replay buffer limit must be positive.")
        self.limit_bytes = limit_bytes
        self._data = bytearray()
        self._start = 0

    @property
    def start(self) -> int:
        """Timeline position (bytes) of the oldest byte held."""
        return self._start

    @property
    def end(self) -> int:
        """Timeline position (bytes) just after the newest byte held (the audio length)."""
        return self._start + len(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def append(self, data: bytes) -> int:
        """Add audio at the end; return how many of the oldest bytes were dropped."""
        self._data += data
        excess = len(self._data) - self.limit_bytes
        if excess <= 0:
            return 0
        # bytearray deletion from the front is amortized O(1) in CPython.
        del self._data[:excess]
        self._start += excess
        return excess

    def trim_to(self, position: int) -> None:
        """Discard audio before ``position`` (clamped to what is held)."""
        cut = min(max(position - self._start, 0), len(self._data))
        if cut:
            del self._data[:cut]
            self._start += cut

    def read(self, start: int, end: int) -> bytes:
        """The bytes between two timeline positions (clamped to what is held)."""
        lo = max(start - self._start, 0)
        hi = max(min(end - self._start, len(self._data)), lo)
        return bytes(self._data[lo:hi])

    def clear(self) -> None:
        """Drop everything (the timeline position is kept)."""
        self._start = self.end
        self._data.clear()
