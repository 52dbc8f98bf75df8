"""A hostile realtime server for the shell tests: each connection follows a script of actions,
including frames written straight to the socket (invalid UTF-8, oversize headers) that a
well-behaved websocket library would never send.

Actions (tuples): ``("status", 429)`` answers the upgrade with that HTTP status; ``("send", text)``
sends a text message; ``("raw", frame_bytes)`` writes bytes to the transport; ``("close", code)``
closes with that code; ``("abort",)`` drops TCP; ``("serve",)`` reads client messages until
``Terminate`` and answers it with ``Termination`` and a normal close (confirming all audio).
A connection past the end of the script gets ``[("send", begin), ("serve",)]``.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.realtime.fakeserver import LoopThread
from tests.realtime.helpers import v3_begin

Action = tuple[Any, ...]

TERMINATION = json.dumps(
    {"type": "Termination", "audio_duration_seconds": 1, "session_duration_seconds": 1}
)


def frame(opcode: int, payload: bytes, *, claimed_length: int | None = None) -> bytes:
    """An unmasked server frame; ``claimed_length`` lies about the payload's length."""
    length = len(payload) if claimed_length is None else claimed_length
    head = bytes([0x80 | opcode])
    if length < 126:
        head += bytes([length])
    elif length < 1 << 16:
        head += bytes([126]) + struct.pack("!H", length)
    else:
        head += bytes([127]) + struct.pack("!Q", length)
    return head + payload


def normal(session_id: str = "ok") -> list[Action]:
    return [("send", v3_begin(session_id)), ("serve",)]


class HostileServer:
    def __init__(self, scripts: list[list[Action]]) -> None:
        self.scripts = scripts
        self.handshakes = 0
        self.connections = 0
        self.received: list[str | bytes] = []
        self._index: dict[int, int] = {}
        self._server: Server | None = None
        self._loop = LoopThread("hostile-server")
        self.port = self._loop.run(self._start())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, index: int) -> list[Action]:
        return self.scripts[index] if index < len(self.scripts) else normal(f"s-{index}")

    async def _start(self) -> int:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._process, compression=None
        )
        return int(self._server.sockets[0].getsockname()[1])

    def _process(self, connection: ServerConnection, request: Request) -> Response | None:
        index = self.handshakes
        self.handshakes += 1
        self._index[id(connection)] = index
        script = self.script(index)
        if script and script[0][0] == "status":
            return connection.respond(script[0][1], "go away\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        script = self.script(self._index.pop(id(ws)))
        try:
            for action in script:
                kind = action[0]
                if kind == "send":
                    await ws.send(action[1])
                elif kind == "raw":
                    ws.transport.write(action[1])
                elif kind == "close":
                    await ws.close(action[1], "scripted")
                    return
                elif kind == "abort":
                    ws.transport.abort()
                    return
                elif kind == "serve":
                    await self._serve(ws)
                    return
            await ws.wait_closed()
        except ConnectionClosed:
            pass

    async def _serve(self, ws: ServerConnection) -> None:
        async for message in ws:
            self.received.append(message)
            if isinstance(message, str) and json.loads(message).get("type") == "Terminate":
                await ws.send(TERMINATION)
                await ws.close()
                return

    def close(self) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        self._loop.run(stop())
        self._loop.stop()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
