"""An engine that "recognizes" configured text instantly: for load tests and users' unit tests.

Results depend only on the configuration and on how much audio arrives (never on what it
sounds like or on timing), so tests can assert exact transcripts. Everything runs in the calling
coroutine; there are no worker processes or threads, and numpy is not needed.
"""

from __future__ import annotations

import asyncio

from speechkit.engines.base import (
    Engine,
    EngineError,
    RecognitionResult,
    RecognizedWord,
    Stream,
    StreamEvent,
)

__all__ = ["FixedEngine", "FixedStream"]

_DEFAULT_STREAM_WORDS_PER_SECOND = 3.0


class FixedEngine(Engine):
    """Returns ``text`` for any audio.

    Batch: without ``words_per_second``, the words of ``text`` are spread evenly over the audio
    (word ``i`` of ``n`` spans ``[i*d/n, (i+1)*d/n)`` of duration ``d``). With it, the audio is
    filled with ``round(d * words_per_second)`` words taken from ``text`` cyclically, each
    ``1/words_per_second`` seconds long, so longer audio gives longer transcripts.

    Streaming: words arrive at ``words_per_second`` (3 by default) of fed audio, taken from
    ``text`` cyclically. Each :meth:`FixedStream.feed` that leaves the current utterance non-empty
    returns one partial with its words; an utterance becomes final after ``words_per_final``
    words (default: the number of words in ``text``), at :meth:`FixedStream.force_endpoint`
    and at :meth:`FixedStream.finish`.
    """

    name = "fixed"

    def __init__(
        self,
        text: str = "hello world",
        *,
        sample_rate: int = 16000,
        words_per_second: float | None = None,
        processing_delay: float = 0.0,
        confidence: float = 1.0,
        words_per_final: int | None = None,
    ) -> None:
        """Args:
        text: What is "recognized"; split on whitespace into words.
        sample_rate: Samples per second the engine expects (the server resamples to it).
        words_per_second: Word rate (see the class docstring); None spreads ``text`` over each
            batch recording and uses 3 words per second when streaming.
        processing_delay: Seconds :meth:`transcribe` waits before answering (without blocking
            the event loop), to simulate decoding time.
        confidence: Every word's confidence, 0..1.
        words_per_final: Words per streaming utterance.
        """
        self.words = tuple(text.split())
        if not self.words:
            raise ValueError("text must contain at least one word")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if words_per_second is not None and words_per_second <= 0:
            raise ValueError(f"words_per_second must be positive, got {words_per_second}")
        if processing_delay < 0:
            raise ValueError(f"processing_delay must be >= 0 seconds, got {processing_delay}")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
        if words_per_final is not None and words_per_final < 1:
            raise ValueError(f"words_per_final must be at least 1, got {words_per_final}")
        self.sample_rate = sample_rate
        self.words_per_second = words_per_second
        self.processing_delay = processing_delay
        self.confidence = confidence
        self.words_per_final = words_per_final or len(self.words)

    async def transcribe(self, pcm: bytes) -> RecognitionResult:
        """Return the configured words over ``pcm``'s duration (mono 16-bit at ``sample_rate``)."""
        if self.processing_delay:
            await asyncio.sleep(self.processing_delay)
        duration = len(pcm) // 2 / self.sample_rate
        if duration <= 0:
            return RecognitionResult(words=(), audio_duration=0.0)
        duration_ms = duration * 1000
        if self.words_per_second is None:
            count = len(self.words)
            step = duration_ms / count
        else:
            count = max(1, round(duration * self.words_per_second))
            step = 1000 / self.words_per_second
        words = tuple(
            RecognizedWord(
                text=self.words[i % len(self.words)],
                start=round(i * step),
                end=round((i + 1) * step),
                confidence=self.confidence,
            )
            for i in range(count)
        )
        return RecognitionResult(words=words, audio_duration=duration)

    def open_stream(self) -> FixedStream:
        """Start a stream; it owns nothing that needs closing, but honours :meth:`aclose`."""
        return FixedStream(self)


class FixedStream(Stream):
    """A deterministic stream over :class:`FixedEngine`'s words (see there)."""

    def __init__(self, engine: FixedEngine) -> None:
        self._engine = engine
        self._rate = engine.words_per_second or _DEFAULT_STREAM_WORDS_PER_SECOND
        self._samples = 0  # fed since the stream started
        self._emitted = 0  # words handed out so far (partial or final)
        self._current: list[RecognizedWord] = []
        self._closed = False

    async def feed(self, pcm: bytes) -> list[StreamEvent]:
        """Advance by ``len(pcm) // 2`` samples; return finals completed and one partial."""
        self._check_open()
        self._samples += len(pcm) // 2
        events: list[StreamEvent] = []
        due = int(self._samples / self._engine.sample_rate * self._rate)
        while self._emitted < due:
            self._current.append(self._word(self._emitted))
            self._emitted += 1
            if len(self._current) >= self._engine.words_per_final:
                events.extend(self._final())
        if self._current:
            events.append(StreamEvent(tuple(self._current), False, 0.0))
        return events

    async def force_endpoint(self) -> list[StreamEvent]:
        """The current utterance as a final, or ``[]`` if it has no words yet."""
        self._check_open()
        return self._final()

    async def finish(self) -> list[StreamEvent]:
        """Same as :meth:`force_endpoint`."""
        self._check_open()
        return self._final()

    async def aclose(self) -> None:
        """Mark the stream closed (later calls raise :class:`EngineError`); idempotent."""
        self._closed = True

    def _word(self, index: int) -> RecognizedWord:
        step = 1000 / self._rate
        return RecognizedWord(
            text=self._engine.words[index % len(self._engine.words)],
            start=round(index * step),
            end=round((index + 1) * step),
            confidence=self._engine.confidence,
        )

    def _final(self) -> list[StreamEvent]:
        if not self._current:
            return []
        words, self._current = tuple(self._current), []
        return [StreamEvent(words, True, 1.0)]

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError("The stream is closed.")
