"""The interface between the local server and its offline engines.

The server hands an engine decoded audio (mono 16-bit PCM at the engine's sample rate) and gets
words back with timings in milliseconds. Engines keep heavy decoding off the event loop (worker
processes for recognizers that hold the GIL); every method the server awaits must return promptly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

__all__ = [
    "Engine",
    "EngineError",
    "ModelIntegrityError",
    "RecognitionResult",
    "RecognizedWord",
    "Stream",
    "StreamEvent",
]


class EngineError(Exception):
    """The engine could not process this audio; the message becomes the job's error."""


class ModelIntegrityError(EngineError):
    """A model file on disk differs from the one the engine expects (damaged or replaced)."""


@dataclass(frozen=True, slots=True)
class RecognizedWord:
    """One recognized word. Times are milliseconds from the start of the audio."""

    text: str
    start: int
    end: int
    confidence: float


@dataclass(frozen=True, slots=True)
class RecognitionResult:
    """The result of recognizing a whole recording."""

    words: tuple[RecognizedWord, ...]
    audio_duration: float  # seconds
    language_code: str = "en_us"

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        if not self.words:
            return 0.0
        return sum(w.confidence for w in self.words) / len(self.words)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """What a stream recognized after some audio.

    ``is_final`` False: a partial hypothesis of the current utterance (words may still change).
    ``is_final`` True: the utterance ended (endpoint or forced); its words will not change.
    Word times are milliseconds from the start of the stream.
    """

    words: tuple[RecognizedWord, ...]
    is_final: bool
    end_of_turn_confidence: float = field(default=1.0)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class Stream(ABC):
    """A streaming recognition session: feed PCM, get partial and final events."""

    @abstractmethod
    async def feed(self, pcm: bytes) -> list[StreamEvent]:
        """Feed mono 16-bit little-endian PCM at the stream's sample rate."""

    @abstractmethod
    async def force_endpoint(self) -> list[StreamEvent]:
        """End the current utterance now (v3 ForceEndpoint, v2 force_end_utterance)."""

    @abstractmethod
    async def finish(self) -> list[StreamEvent]:
        """No more audio: return the last events (a final for any open utterance)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the stream's resources (idempotent)."""

    def set_silence_threshold(self, milliseconds: int) -> None:  # noqa: B027 - optional hook
        """Change how much trailing silence ends an utterance (v2 end_utterance_silence_threshold,
        v3 max_turn_silence). Engines that cannot change it ignore it."""

    def set_turn_silence(
        self, min_ms: int, max_ms: int, confidence_threshold: float | None = None
    ) -> None:
        """Pause limits of a v3 turn: ``min_ms`` of silence ends it when the engine is confident
        (its end-of-turn confidence reaches ``confidence_threshold``), ``max_ms`` ends it in any
        case. By default only ``max_ms`` is honoured, through :meth:`set_silence_threshold`."""
        self.set_silence_threshold(max_ms)


class Engine(ABC):
    """An offline recognizer. ``sample_rate`` is what ``transcribe`` and streams expect."""

    name: str = "engine"
    sample_rate: int = 16000

    @abstractmethod
    async def transcribe(self, pcm: bytes) -> RecognitionResult:
        """Recognize a whole recording of mono 16-bit PCM at :attr:`sample_rate`."""

    @abstractmethod
    def open_stream(self) -> Stream:
        """Start a streaming session at :attr:`sample_rate`."""

    async def start(self) -> None:  # noqa: B027 - engines with nothing to load need nothing
        """Load models and start workers ahead of the first request (optional warm-up)."""

    async def aclose(self) -> None:  # noqa: B027 - engines without resources need nothing
        """Release worker processes and other resources."""
