"""Loopback realtime servers for the shell tests, each on its own event loop in a thread (so the
blocking and the asyncio transcribers can both use them).

:class:`FakeRealtimeServer` speaks v2 and v3 well enough: it "recognizes" the word runs made by
``helpers.word_audio`` (so finals can be checked word by word, with times), sends partials and
finals, answers the control messages, and follows a per-connection script of faults.
:class:`RawServer` is a bare TCP server that completes the websocket handshake by hand (or not at
all) and then never answers, like a dead peer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import threading
import urllib.parse
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from speechkit.audio import mulaw_to_pcm16
from tests.realtime.helpers import WordDecoder, v2_begins, v2_transcript, v3_begin, v3_turn


class LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Behaviour:
    """What the server does on one connection (all optional)."""

    reject_status: int | None = None  # answer the upgrade with this HTTP status
    close_before_begin: int | None = None  # close with this code right after the handshake
    no_begin: bool = False  # never start the session
    abort_after_ms: float | None = None  # drop TCP (no close frame) after this much audio
    close_after_ms: float | None = None  # close with close_code after this much audio
    close_code: int = 1011
    ignore_terminate: bool = False
    chunk_delay: float = 0.0  # seconds of "processing" per audio chunk (a slow server)


@dataclass
class Connection:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    audio: bytearray = field(default_factory=bytearray)
    chunk_sizes: list[int] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


class FakeRealtimeServer:
    def __init__(self, *, words_per_final: int = 2, behaviours: list[Behaviour] | None = None):
        self.words_per_final = words_per_final
        self.behaviours = list(behaviours or [])
        self.connections: list[Connection] = []
        self.handshakes = 0
        self._index: dict[int, int] = {}
        self._server: Server | None = None
        self._loop = LoopThread("fake-realtime-server")
        self.port = self._loop.run(self._start())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def behaviour(self, index: int) -> Behaviour:
        return self.behaviours[index] if index < len(self.behaviours) else Behaviour()

    def close(self) -> None:
        self._loop.run(self._stop())
        self._loop.stop()

    def __enter__(self) -> FakeRealtimeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def messages(self, kind: str) -> list[dict[str, Any]]:
        return [
            m for c in self.connections for m in c.messages if m.get("type") == kind or kind in m
        ]

    async def _start(self) -> int:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._process_request, compression=None
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        index = self.handshakes
        self.handshakes += 1
        self._index[id(connection)] = index
        status = self.behaviour(index).reject_status
        if status is not None:
            return connection.respond(status, "rejected\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        index = self._index.pop(id(ws))
        behaviour = self.behaviour(index)
        request = ws.request
        assert request is not None
        parts = urllib.parse.urlsplit(request.path)
        connection = Connection(
            path=parts.path,
            query=dict(urllib.parse.parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in request.headers.raw_items()},
        )
        self.connections.append(connection)
        v3 = parts.path.endswith("/v3/ws")
        if behaviour.close_before_begin is not None:
            await ws.close(behaviour.close_before_begin, "scripted rejection")
            return
        if behaviour.no_begin:
            await ws.wait_closed()
            return
        await ws.send(v3_begin(f"session-{index}") if v3 else v2_begins(f"session-{index}"))
        session = _Recognizer(ws, connection, v3, self.words_per_final)
        rate = int(connection.query.get("sample_rate", 16000))
        bytes_per_ms = rate / 1000 * (1 if session.mulaw else 2)
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    connection.audio += message
                    connection.chunk_sizes.append(len(message))
                    if behaviour.chunk_delay:
                        await asyncio.sleep(behaviour.chunk_delay)
                    await session.audio(message)
                    heard_ms = len(connection.audio) / bytes_per_ms
                    if (
                        behaviour.abort_after_ms is not None
                        and heard_ms >= behaviour.abort_after_ms
                    ):
                        ws.transport.abort()
                        return
                    if (
                        behaviour.close_after_ms is not None
                        and heard_ms >= behaviour.close_after_ms
                    ):
                        await ws.close(behaviour.close_code, "scripted close")
                        return
                    continue
                control = json.loads(message)
                connection.messages.append(control)
                if control.get("type") == "ForceEndpoint" or "force_end_utterance" in control:
                    await session.final()
                elif control.get("type") == "Terminate" or "terminate_session" in control:
                    if behaviour.ignore_terminate:
                        continue
                    await session.end_of_audio()
                    await session.terminate()
                    await ws.close()
                    return
        except ConnectionClosed:
            pass


class _Recognizer:
    """Turns word runs into partials and finals, per protocol."""

    def __init__(self, ws: ServerConnection, connection: Connection, v3: bool, per_final: int):
        self.ws, self.connection, self.v3, self.per_final = ws, connection, v3, per_final
        self.mulaw = connection.query.get("encoding") == "pcm_mulaw"
        self.decoder = WordDecoder(int(connection.query.get("sample_rate", 16000)))
        self.pending: list[tuple[str, int, int]] = []
        self.turn = 0
        self.last_end = 0

    async def audio(self, data: bytes) -> None:
        await self._heard(self.decoder.feed(mulaw_to_pcm16(data) if self.mulaw else data))

    async def end_of_audio(self) -> None:
        await self._heard(self.decoder.flush())
        await self.final()

    async def _heard(self, words: list[tuple[str, int, int]]) -> None:
        for word in words:
            self.pending.append(word)
            if self.v3:
                await self.ws.send(
                    v3_turn(self.turn, self.pending, end_of_turn=False, formatted=False)
                )
            else:
                await self.ws.send(
                    v2_transcript("PartialTranscript", self.pending, self.last_end, word[2])
                )
            if len(self.pending) >= self.per_final:
                await self.final()

    async def final(self) -> None:
        if not self.pending:
            return
        words, self.pending = self.pending, []
        if self.v3:
            await self.ws.send(v3_turn(self.turn, words, end_of_turn=True, formatted=False))
            if self.connection.query.get("format_turns") == "true":
                await self.ws.send(v3_turn(self.turn, words, end_of_turn=True, formatted=True))
            self.turn += 1
        else:
            await self.ws.send(v2_transcript("FinalTranscript", words, self.last_end, words[-1][2]))
        self.last_end = words[-1][2]

    async def terminate(self) -> None:
        seconds = self.decoder.position / self.decoder.rate
        if self.v3:
            await self.ws.send(
                json.dumps(
                    {
                        "type": "Termination",
                        "audio_duration_seconds": round(seconds),
                        "session_duration_seconds": round(seconds),
                    }
                )
            )
            return
        if self.connection.query.get("enable_extra_session_information") == "true":
            await self.ws.send(
                json.dumps(
                    {"message_type": "SessionInformation", "audio_duration_seconds": seconds}
                )
            )
        await self.ws.send(json.dumps({"message_type": "SessionTerminated"}))


class RawServer:
    """A TCP server that completes the websocket handshake by hand and sends ``first_message``
    (when ``handshake`` is set), then reads and ignores everything: it never answers a close.
    With ``close_code`` it then sends a close frame of its own and still never closes TCP, like
    a server whose reading is paused behind unread audio."""

    def __init__(
        self, *, handshake: bool, first_message: str | None = None, close_code: int | None = None
    ) -> None:
        self.handshake = handshake
        self.first_message = first_message
        self.close_code = close_code
        self.accepted = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._loop = LoopThread("raw-server")
        self.port = self._loop.run(self._start())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            if self.handshake:
                key = next(
                    line.split(b":", 1)[1].strip()
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"sec-websocket-key:")
                )
                accept = base64.b64encode(
                    hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
                )
                writer.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                )
                if self.first_message is not None:
                    payload = self.first_message.encode()
                    assert len(payload) < 126
                    writer.write(bytes([0x81, len(payload)]) + payload)
                if self.close_code is not None:
                    payload = self.close_code.to_bytes(2, "big") + b"scripted"
                    writer.write(bytes([0x88, len(payload)]) + payload)
                await writer.drain()
            while await reader.read(65536):
                pass

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

        self._loop.run(stop())
        self._loop.stop()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
