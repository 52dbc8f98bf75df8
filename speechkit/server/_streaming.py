"""Pieces shared by the v2 and v3 realtime endpoints: audio conversion, a forgiving websocket
wrapper, query-parameter parsing and word formatting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from speechkit.engines.audio import StreamResampler
from speechkit.engines.base import RecognizedWord
from speechkit.server._text import capitalize_first, ensure_final_period
from speechkit.server.stats import SendLog

__all__ = [
    "AudioInput",
    "ParamProblem",
    "WsChannel",
    "format_words",
    "mulaw_to_pcm16",
    "parse_bool",
    "plain_words",
]

ENCODINGS = ("pcm_s16le", "pcm_mulaw")


class ParamProblem(ValueError):
    """A query parameter or control message is invalid; the message becomes the close reason."""


def parse_bool(value: str | None, name: str, default: bool = False) -> bool:
    """Query booleans: ``true``/``false`` in any case (the SDK sends ``True``), ``1``/``0``."""
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ParamProblem(f"{name} must be true or false")


def mulaw_to_pcm16(data: bytes) -> bytes:
    """Decode G.711 mu-law bytes to 16-bit little-endian PCM."""
    u = np.bitwise_not(np.frombuffer(data, dtype=np.uint8)).astype(np.int32)
    exponent = (u >> 4) & 0x07
    magnitude = ((((u & 0x0F) << 3) + 0x84) << exponent) - 0x84
    samples = np.where(u & 0x80, -magnitude, magnitude)
    return samples.astype("<i2").tobytes()


class AudioInput:
    """Client audio (``pcm_s16le`` or ``pcm_mulaw`` at ``sample_rate``) to engine PCM."""

    def __init__(self, encoding: str, sample_rate: int, engine_rate: int) -> None:
        self.encoding = encoding
        self.sample_rate = sample_rate
        self.bytes_per_sample = 1 if encoding == "pcm_mulaw" else 2
        self._resampler = StreamResampler(sample_rate, engine_rate)
        self._bytes_in = 0

    def chunk_ms(self, chunk: bytes) -> float:
        """Duration of a client chunk in milliseconds."""
        return len(chunk) / self.bytes_per_sample / self.sample_rate * 1000.0

    @property
    def seconds_received(self) -> float:
        return self._bytes_in / self.bytes_per_sample / self.sample_rate

    def convert(self, chunk: bytes) -> bytes:
        self._bytes_in += len(chunk)
        pcm = mulaw_to_pcm16(chunk) if self.encoding == "pcm_mulaw" else chunk
        return self._resampler.process(pcm)

    def flush(self) -> bytes:
        return self._resampler.flush()


_PUNCTUATION = '.,?!;:"()[]\u2014\u2026'


def plain_text(text: str) -> str:
    """A word as unformatted transcripts show it: lower case, no punctuation around it."""
    bare = text.strip(_PUNCTUATION + "-'")
    return (bare or text).lower()


def plain_words(words: Sequence[RecognizedWord]) -> list[RecognizedWord]:
    """Engine words as unformatted (partial, v2 partial, v3 unformatted) messages carry them:
    engines that punctuate and case (Whisper) are brought to the raw form pocketsphinx gives."""
    return [replace(w, text=plain_text(w.text)) for w in words]


def format_words(words: Sequence[RecognizedWord]) -> list[RecognizedWord]:
    """Capitalize the first word and end the last with a period (the local "formatting")."""
    out = list(words)
    if out:
        out[0] = replace(out[0], text=capitalize_first(out[0].text))
        out[-1] = replace(out[-1], text=ensure_final_period(out[-1].text))
    return out


class WsChannel:
    """A websocket wrapper whose send/close never raise once the peer is gone.

    With a :class:`SendLog` (``ServerConfig.realtime_send_log``) every JSON message sent is
    recorded in it."""

    def __init__(self, ws: WebSocket, send_log: SendLog | None = None) -> None:
        self.ws = ws
        self.open = True
        self.send_log = send_log

    async def send_json(self, data: dict[str, Any]) -> bool:
        if not self.open:
            return False
        if self.send_log is not None:
            self.send_log.record(data)
        try:
            await self.ws.send_json(data)
            return True
        except (WebSocketDisconnect, WebSocketDisconnected, RuntimeError, OSError):
            self.open = False
            return False

    async def close(self, code: int, reason: str = "") -> None:
        if not self.open:
            return
        self.open = False
        with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, RuntimeError, OSError):
            await self.ws.close(code=code, reason=reason[:120])

    async def receive(self, wait: float | None) -> Message | None:
        """The next message within ``wait`` seconds (else ``TimeoutError``); None once the peer is
        gone."""
        if not self.open:
            return None
        try:
            message = await asyncio.wait_for(self.ws.receive(), wait)
        except (WebSocketDisconnect, WebSocketDisconnected, RuntimeError):
            self.open = False
            return None
        if message["type"] == "websocket.disconnect":
            self.open = False
            return None
        return message
