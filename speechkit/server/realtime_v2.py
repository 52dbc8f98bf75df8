"""AssemblyAI realtime v2 (legacy) on the local server: ``/v2/realtime/ws`` and its token.

Implements (spec: ``asyncapi.json``, ``openapi-2025-06-01_with-realtime-token.json``;
``protocols.md`` §2.1):

* ``POST /v2/realtime/token`` ``{"expires_in": N >= 60}`` → ``{"token"}`` (key required when the
  server has one). Tokens may be reused until they expire.
* ``GET /v2/realtime/ws`` websocket. Query: ``sample_rate`` (required), ``encoding``
  (``pcm_s16le`` | ``pcm_mulaw``), ``word_boost`` (JSON array; accepted, not used),
  ``disable_partial_transcripts``, ``enable_extra_session_information``, ``token``.
  Auth: ``Authorization: <key>`` or ``?token=``.
* Client → server: binary audio frames, or legacy JSON ``{"audio_data": "<base64>"}``; control
  ``{"force_end_utterance": true}``, ``{"end_utterance_silence_threshold": 0..20000}``,
  ``{"terminate_session": true}``.
* Server → client: ``SessionBegins``, ``PartialTranscript`` (raw lowercase text),
  ``FinalTranscript`` (first letter capitalized, final period, ``punctuated`` and
  ``text_formatted`` true), ``SessionInformation`` (before ``SessionTerminated``, only with
  ``enable_extra_session_information``), ``SessionTerminated``, then close 1000.
* Close codes: 4000 bad sample rate, 4001 not authorized (bad key, unknown token), 4008 session
  expired (an expired token or the session cap), 4031 no audio for ``realtime_idle_timeout``
  seconds, 4100 invalid JSON, 4101 invalid message or query value (checked by the v2 option
  table, ``speechkit._core.options.realtime_v2``), 4104 bad ``word_boost``.
  Errors after ``SessionBegins`` first send the spec's ``RealtimeError`` message
  ``{"error": "<reason>"}``; errors before it (auth, query) only close. No free engine stream
  (the engine's limit) closes with 4102; an engine failure mid-session with 1011.

Departures: audio sent faster than real time is accepted (no 4029); ``audio_start`` of a
transcript is where the previous final ended, ``audio_end`` the audio received so far; empty
partial and final transcripts are not sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from speechkit._core.options.realtime import check_query
from speechkit._core.options.realtime_v2 import V2_OPTIONS
from speechkit.engines.base import EngineError, StreamEvent
from speechkit.server._streaming import (
    ENCODINGS,
    AudioInput,
    ParamProblem,
    WsChannel,
    format_words,
    parse_bool,
    plain_words,
)
from speechkit.server.assemblyai_rest import error
from speechkit.server.auth import TokenCheck, raw_key_ok
from speechkit.server.state import ServerState, get_state

#: The query parameters checked by the v2 option table (the audio format and the token are
#: checked with their own close codes and messages).
_QUERY_ROWS = {name: row for name, row in V2_OPTIONS.items() if not row.core}

__all__ = ["routes"]

logger = logging.getLogger("speechkit.server")


def _iso(dt: datetime) -> str:
    # The service prints naive UTC with microseconds: "2023-11-04T16:51:38.316048".
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


async def create_token(request: Request) -> Response:
    state = get_state(request)
    try:
        body = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        return error(400, "The request body is not valid JSON.")
    expires_in = body.get("expires_in") if isinstance(body, dict) else None
    if not isinstance(expires_in, int) or isinstance(expires_in, bool):
        return error(400, "expires_in is required: the token lifetime in seconds (at least 60).")
    if not 60 <= expires_in <= state.config.realtime_token_max_expires_in:
        limit = state.config.realtime_token_max_expires_in
        return error(400, f"expires_in must be between 60 and {limit} seconds.")
    info = state.tokens.issue("v2", expires_in)
    return JSONResponse({"token": info.token})


def _authorize(ws: WebSocket, state: ServerState) -> tuple[int, str] | None:
    """None when allowed, else the close code and reason."""
    token = ws.query_params.get("token")
    if token:
        check, _ = state.tokens.redeem("v2", token)
        if check is TokenCheck.OK or state.config.api_key is None:
            return None
        if check is TokenCheck.EXPIRED:
            return 4008, "Session Expired: the temporary token has expired"
        return 4001, "Not Authorized"
    if raw_key_ok(ws.headers.get("authorization"), state.config.api_key):
        return None
    return 4001, "Not Authorized"


class _Session:
    def __init__(self, channel: WsChannel, state: ServerState, ws: WebSocket) -> None:
        q = ws.query_params
        raw_rate = q.get("sample_rate", "")
        if not raw_rate.isdigit() or not 0 < int(raw_rate) <= 192_000:
            raise _Close(4000, "Sample rate must be a positive integer")
        encoding = q.get("encoding") or "pcm_s16le"
        if encoding not in ENCODINGS:
            raise _Close(4101, f"Invalid encoding {encoding!r}: use pcm_s16le or pcm_mulaw")
        if q.get("word_boost"):
            try:
                boost = json.loads(q["word_boost"])
            except ValueError:
                boost = None
            if not isinstance(boost, list) or not all(isinstance(w, str) for w in boost):
                raise _Close(4104, "Could not parse word boost parameter")
        _, problems = check_query(_QUERY_ROWS, q)
        if problems:
            raise _Close(4101, problems[0])
        try:
            self.partials = not parse_bool(
                q.get("disable_partial_transcripts"), "disable_partial_transcripts"
            )
            self.extra_info = parse_bool(
                q.get("enable_extra_session_information"), "enable_extra_session_information"
            )
        except ParamProblem as exc:
            raise _Close(4101, str(exc)) from None
        self.channel = channel
        self.state = state
        self.audio = AudioInput(encoding, int(raw_rate), state.engine.sample_rate)
        self.stream = state.engine.open_stream()
        self.stream.set_silence_threshold(700)
        self.utterance_start_ms = 0
        self.last_audio = time.monotonic()

    @property
    def position_ms(self) -> int:
        return round(self.audio.seconds_received * 1000)

    async def send_events(self, events: list[StreamEvent]) -> None:
        for event in events:
            if not event.words or (not event.is_final and not self.partials):
                continue
            words = format_words(event.words) if event.is_final else plain_words(event.words)
            message: dict[str, Any] = {
                "message_type": "FinalTranscript" if event.is_final else "PartialTranscript",
                "created": _iso(datetime.now(UTC)),
                "audio_start": self.utterance_start_ms,
                "audio_end": max(self.position_ms, words[-1].end),
                "confidence": sum(w.confidence for w in words) / len(words),
                "text": " ".join(w.text for w in words),
                "words": [
                    {"start": w.start, "end": w.end, "confidence": w.confidence, "text": w.text}
                    for w in words
                ],
            }
            if event.is_final:
                message.update(punctuated=True, text_formatted=True)
                self.utterance_start_ms = message["audio_end"]
            await self.channel.send_json(message)

    async def on_audio(self, chunk: bytes) -> None:
        self.last_audio = time.monotonic()
        await self.send_events(await self.stream.feed(self.audio.convert(chunk)))

    async def on_text(self, text: str) -> bool:
        """Handle a JSON message; True when the session should terminate."""
        try:
            data = json.loads(text)
        except ValueError:
            raise _Close(4100, "Endpoint received invalid JSON") from None
        if not isinstance(data, dict):
            raise _Close(4101, "Endpoint received a message with an invalid schema")
        if "audio_data" in data:
            try:
                chunk = base64.b64decode(str(data["audio_data"]), validate=True)
            except (binascii.Error, ValueError):
                raise _Close(4101, "audio_data must be base64") from None
            await self.on_audio(chunk)
            return False
        if data.get("terminate_session") is True:
            return True
        if data.get("force_end_utterance") is True:
            await self.send_events(await self.stream.force_endpoint())
            return False
        threshold = data.get("end_utterance_silence_threshold")
        if (
            isinstance(threshold, int)
            and not isinstance(threshold, bool)
            and 0 <= threshold <= 20000
        ):
            self.stream.set_silence_threshold(threshold)
            return False
        raise _Close(4101, "Endpoint received a message with an invalid schema")

    async def terminate(self) -> None:
        await self.on_flush()
        await self.send_events(await self.stream.finish())
        if self.extra_info:
            await self.channel.send_json(
                {
                    "message_type": "SessionInformation",
                    "audio_duration_seconds": round(self.audio.seconds_received, 3),
                }
            )
        await self.channel.send_json({"message_type": "SessionTerminated"})
        await self.channel.close(1000)

    async def on_flush(self) -> None:
        tail = self.audio.flush()
        if tail:
            await self.send_events(await self.stream.feed(tail))


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def _fail(channel: WsChannel, code: int, reason: str) -> None:
    """An in-session error: the spec's ``RealtimeError`` message, then the close code."""
    await channel.send_json({"error": reason})
    await channel.close(code, reason)


async def realtime_ws(ws: WebSocket) -> None:
    state = get_state(ws)
    session_id = str(uuid.uuid4())
    channel = WsChannel(ws, state.new_send_log(session_id))
    await ws.accept()
    denied = _authorize(ws, state)
    if denied is not None:
        await channel.close(*denied)
        return
    try:
        session = _Session(channel, state, ws)
    except _Close as exc:
        await channel.close(exc.code, exc.reason)
        return
    except EngineError as exc:  # e.g. the engine's stream limit
        logger.warning("realtime v2: no stream available: %s", exc)
        await channel.close(4102, "This account has exceeded the number of allowed streams")
        return
    started = time.monotonic()
    deadline = started + state.config.realtime_max_session_seconds
    state.realtime_sessions += 1
    try:
        expires = datetime.now(UTC) + timedelta(seconds=state.config.realtime_max_session_seconds)
        await channel.send_json(
            {
                "message_type": "SessionBegins",
                "session_id": session_id,
                "expires_at": _iso(expires),
            }
        )
        while channel.open:
            idle_deadline = session.last_audio + state.config.realtime_idle_timeout
            try:
                wait = max(0.0, min(deadline, idle_deadline) - time.monotonic())
                message = await channel.receive(wait)
            except TimeoutError:
                if time.monotonic() >= deadline:
                    await _fail(channel, 4008, "Session Expired")
                else:
                    await _fail(channel, 4031, "Session idle for too long")
                break
            if message is None:
                break
            if message.get("bytes") is not None:
                await session.on_audio(message["bytes"])
            elif message.get("text") is not None and await session.on_text(message["text"]):
                await session.terminate()
                break
    except _Close as exc:
        await _fail(channel, exc.code, exc.reason)
    except EngineError as exc:
        logger.warning("realtime v2 session failed: %s", exc)
        await _fail(channel, 1011, "Internal server error: the recognizer failed")
    finally:
        state.realtime_sessions -= 1
        await session.stream.aclose()


def routes() -> list[BaseRoute]:
    return [
        Route("/v2/realtime/token", create_token, methods=["POST"]),
        WebSocketRoute("/v2/realtime/ws", realtime_ws),
    ]
