"""Fixtures for the local server tests: a scripted engine, WAV builders, running servers."""

from __future__ import annotations

import io
import math
import struct
import threading
import wave
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from speechkit.engines.base import (
    Engine,
    EngineError,
    RecognitionResult,
    RecognizedWord,
    Stream,
    StreamEvent,
)
from speechkit.server.runner import LocalServer
from speechkit.testing import fixture_server_options

SCRIPT = "hello world this is a test of the local server"
WORD_MS = 200  # the scripted stream reveals one word per 200 ms of audio


class ScriptStream(Stream):
    """Reveals the script's words one per ``WORD_MS`` of audio; ends an utterance when all
    words are out (or on force/finish)."""

    def __init__(self, words: list[str], rate: int) -> None:
        self.words = words
        self.rate = rate
        self.position_ms = 0.0
        self.utterance_start = 0.0
        self.revealed = 0
        self.closed = False
        self.silence_threshold: int | None = None

    def _current(self) -> tuple[RecognizedWord, ...]:
        return tuple(
            RecognizedWord(
                text=w,
                start=int(self.utterance_start + i * WORD_MS),
                end=int(self.utterance_start + i * WORD_MS + WORD_MS * 0.8),
                confidence=0.9,
            )
            for i, w in enumerate(self.words[: self.revealed])
        )

    def _final(self) -> list[StreamEvent]:
        if not self.revealed:
            return []
        event = StreamEvent(words=self._current(), is_final=True, end_of_turn_confidence=0.9)
        self.revealed = 0
        self.utterance_start = self.position_ms
        return [event]

    async def feed(self, pcm: bytes) -> list[StreamEvent]:
        self.position_ms += len(pcm) / 2 / self.rate * 1000
        wanted = min(len(self.words), int((self.position_ms - self.utterance_start) // WORD_MS))
        if wanted <= self.revealed:
            return []
        self.revealed = wanted
        if self.revealed == len(self.words):
            return self._final()
        return [StreamEvent(words=self._current(), is_final=False, end_of_turn_confidence=0.1)]

    async def force_endpoint(self) -> list[StreamEvent]:
        return self._final()

    async def finish(self) -> list[StreamEvent]:
        return self._final()

    async def aclose(self) -> None:
        self.closed = True

    def set_silence_threshold(self, milliseconds: int) -> None:
        self.silence_threshold = milliseconds


class ScriptEngine(Engine):
    """Recognizes every recording as ``text``, words spread evenly over the audio."""

    name = "script"
    sample_rate = 16000

    def __init__(self, text: str = SCRIPT) -> None:
        self.words = text.split()
        self.streams: list[ScriptStream] = []
        self.closed = False
        self.transcribed = 0

    async def transcribe(self, pcm: bytes) -> RecognitionResult:
        self.transcribed += 1
        duration_ms = len(pcm) / 2 / self.sample_rate * 1000
        slot = duration_ms / max(1, len(self.words))
        words = tuple(
            RecognizedWord(w, int(i * slot), int(i * slot + slot * 0.8), 0.95)
            for i, w in enumerate(self.words)
        )
        return RecognitionResult(words=words, audio_duration=duration_ms / 1000)

    def open_stream(self) -> ScriptStream:
        stream = ScriptStream(self.words, self.sample_rate)
        self.streams.append(stream)
        return stream

    async def aclose(self) -> None:
        self.closed = True


class NoStreamsEngine(ScriptEngine):
    """Has no stream to give (like an engine at its stream limit)."""

    def open_stream(self) -> ScriptStream:
        raise EngineError("all streams are busy")


class _BrokenStream(ScriptStream):
    async def feed(self, pcm: bytes) -> list[StreamEvent]:
        raise EngineError("the worker died")


class BrokenStreamEngine(ScriptEngine):
    """Its streams fail on the first audio."""

    def open_stream(self) -> ScriptStream:
        return _BrokenStream(self.words, self.sample_rate)


def make_wav(seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> bytes:
    """A WAV file holding a quiet 440 Hz tone."""
    frames = int(seconds * rate)
    samples = [int(3000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(frames)]
    data = struct.pack(f"<{frames}h", *samples)
    if channels > 1:
        data = b"".join(data[i : i + 2] * channels for i in range(0, len(data), 2))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data)
    return buffer.getvalue()


def pcm16(seconds: float, rate: int = 16000) -> bytes:
    """Raw 16-bit PCM of a quiet tone (for streaming)."""
    frames = int(seconds * rate)
    return struct.pack(
        f"<{frames}h", *(int(2000 * math.sin(2 * math.pi * 300 * n / rate)) for n in range(frames))
    )


@pytest.fixture(scope="session")
def script_engine() -> type[ScriptEngine]:
    """The scripted engine class (fixtures, not imports: conftest modules are not importable
    under every pytest import mode)."""
    return ScriptEngine


@pytest.fixture(scope="session")
def failing_engines() -> tuple[type[ScriptEngine], type[ScriptEngine]]:
    return NoStreamsEngine, BrokenStreamEngine


@pytest.fixture(scope="session")
def wav() -> Callable[..., bytes]:
    return make_wav


@pytest.fixture(scope="session")
def pcm() -> Callable[..., bytes]:
    return pcm16


def _start(**kwargs: Any) -> LocalServer:
    kwargs.setdefault("engine", ScriptEngine())
    return LocalServer(**{**fixture_server_options(), **kwargs}).start()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """An open server (no key) with the scripted engine, shared by a test module."""
    srv = _start()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[LocalServer]:
    srv = _start(api_key="test-key")
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def make_server() -> Iterator[Callable[..., LocalServer]]:
    """Start servers with custom settings; all are closed after the test."""
    started: list[LocalServer] = []

    def factory(**kwargs: Any) -> LocalServer:
        srv = _start(**kwargs)
        started.append(srv)
        return srv

    try:
        yield factory
    finally:
        for srv in started:
            srv.close()


@pytest.fixture
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Every test must leave no server thread of its own running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [
        t
        for t in threading.enumerate()
        if t.ident not in before and t.name == "speechkit-local-server" and t.is_alive()
    ]
    assert not leaked, f"leaked server threads: {leaked}"
