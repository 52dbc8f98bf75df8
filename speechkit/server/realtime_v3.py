"""AssemblyAI Universal Streaming v3 on the local server: ``/v3/ws`` and ``GET /v3/token``.

Implements (spec: ``usm-streaming.yml``, ``streaming-token.yml``; ``protocols.md`` §2.2):

* ``GET /v3/token?expires_in_seconds=1..600&max_session_duration_seconds=60..10800`` →
  ``{token, expires_in_seconds}``; errors ``{"error": ...}``. Tokens are single-use; a session
  started with one ends (3008) after its ``max_session_duration_seconds``.
* ``/v3/ws`` websocket. Query: ``sample_rate`` (default 16000), ``encoding``
  (``pcm_s16le`` | ``pcm_mulaw``), ``format_turns``, ``end_of_turn_confidence_threshold``,
  ``min_turn_silence``, ``max_turn_silence``, ``inactivity_timeout`` (5-3600 s),
  ``speaker_labels``, ``language_detection``, ``keyterms_prompt`` (JSON array), ``token``;
  ``speech_model`` (``u3-rt-pro``: see below; other models behave alike), ``vad_threshold`` and
  other options are accepted and ignored.
  Auth: ``Authorization: <key or token>`` or ``?token=``.
* Client → server: binary audio chunks of 50-1000 ms; ``UpdateConfiguration``, ``ForceEndpoint``,
  ``KeepAlive``, ``Terminate``.
* Server → client: ``Begin {id, expires_at (int Unix seconds)}``; ``Turn`` messages (partials with
  ``word_is_final`` words and ``transcript`` = the finalized words; then ``end_of_turn: true``);
  with ``format_turns=true`` the unformatted end-of-turn ``Turn`` is followed by a formatted one
  with the same ``turn_order`` (first letter capitalized, final period), as in the 2025-07 docs;
  ``Termination {audio_duration_seconds, session_duration_seconds}`` then close 1000.
  Partials and unformatted turns carry words in lower case without punctuation, whatever the
  engine writes (Whisper punctuates; its own punctuation is kept in formatted turns).
* ``speech_model=u3-rt-pro`` (``usm-streaming-u3-pro.yml``): ``SpeechStarted {timestamp,
  confidence}`` before a turn's first message (at its first recognized word); partials carry the
  engine's text with every word in ``transcript`` and ``end_of_turn_confidence`` 0; a turn ends
  with one formatted ``Turn`` (``turn_is_formatted`` equals ``end_of_turn``, confidence 1);
  ``min_turn_silence``/``max_turn_silence`` default to 100/1000 ms.
* Close codes: 1008 unauthorized, 3005 server error (the engine failed), 3006 invalid message /
  JSON / query value (query values are checked by the client's v3 option table,
  ``speechkit._core.options.realtime_v3``; model and domain names stay open), 3007 chunk
  outside 50-1000 ms, 3008 session expired, 3009 no free engine
  stream (too many concurrent sessions).

Departures: a chunk shorter than 50 ms is forgiven when it is the last audio before ``Terminate``
or ``ForceEndpoint`` (clients flush a short tail); audio faster than real time is accepted; the
engine decides where turns end (``end_of_turn_confidence_threshold`` and ``min_turn_silence`` are
honoured by the engine's turn rules, see ``speechkit/engines/_turns.py``: a turn ends after
``min_turn_silence`` (alias ``min_end_of_turn_silence_when_confident``) when the engine's
end-of-turn confidence reaches ``end_of_turn_confidence_threshold``, else after
``max_turn_silence``);
``speaker_labels`` labels every turn ``"A"`` (then revises odd turns to ``"B"`` with
``SpeakerRevision``, and ``acknowledge_silence`` sends ``Silence``: see
``speechkit/server/_realtime_v3_extras.py``); ``inactivity_timeout`` ends the session with
``Termination`` and close 1000. A partial's word becomes final once it is unchanged over two
partials; final words are never changed afterwards in partials (the end-of-turn message carries
the engine's final words).
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from speechkit._core.options.realtime import check_query, problems
from speechkit._core.options.realtime_v3 import V3_OPTIONS
from speechkit.engines.base import EngineError, RecognizedWord, StreamEvent
from speechkit.server._realtime_v3_extras import V3Acknowledgements
from speechkit.server._streaming import (
    ENCODINGS,
    AudioInput,
    ParamProblem,
    WsChannel,
    format_words,
    mulaw_to_pcm16,
    parse_bool,
    plain_words,
)
from speechkit.server.assemblyai_rest import error
from speechkit.server.auth import TokenCheck, raw_key_ok
from speechkit.server.state import ServerState, get_state

__all__ = ["routes"]

logger = logging.getLogger("speechkit.server")

#: The query parameters checked by the v3 option table (the audio format and the token are
#: checked below, with their own messages).
_QUERY_ROWS = {name: row for name, row in V3_OPTIONS.items() if not row.core}
#: Values the service keeps adding: an unknown model or domain is passed on, not refused.
_OPEN_VALUES = frozenset({"speech_model", "domain"})

MIN_CHUNK_MS = 50.0
MAX_CHUNK_MS = 1000.0


async def create_token(request: Request) -> Response:
    state = get_state(request)
    q = request.query_params
    raw = q.get("expires_in_seconds")
    if raw is None or not raw.isdigit() or not 1 <= int(raw) <= 600:
        return error(400, "expires_in_seconds is required and must be between 1 and 600.")
    session_cap: float | None = None
    raw_cap = q.get("max_session_duration_seconds")
    if raw_cap is not None:
        if not raw_cap.isdigit() or not 60 <= int(raw_cap) <= 10800:
            return error(400, "max_session_duration_seconds must be between 60 and 10800.")
        session_cap = float(raw_cap)
    info = state.tokens.issue("v3", int(raw), max_session_seconds=session_cap)
    return JSONResponse({"token": info.token, "expires_in_seconds": int(raw)})


def _authorize(ws: WebSocket, state: ServerState) -> tuple[bool, float | None]:
    """Whether the session may start, and the token's session cap (seconds) if any."""
    header = ws.headers.get("authorization")
    if header and state.config.api_key is not None and raw_key_ok(header, state.config.api_key):
        return True, None
    token = ws.query_params.get("token") or header
    if token:
        check, info = state.tokens.redeem("v3", token.strip())
        if check is TokenCheck.OK and info is not None:
            return True, info.max_session_seconds
    return state.config.api_key is None, None


def _number(value: Any, name: str, *, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParamProblem(f"{name} must be a number") from None
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:
        raise ParamProblem(f"{name} must be between {low:g} and {high:g}")
    return number


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Session:
    def __init__(self, channel: WsChannel, state: ServerState, ws: WebSocket) -> None:
        q = ws.query_params
        try:
            _, problems = check_query(_QUERY_ROWS, q, open_values=_OPEN_VALUES)
            if problems:
                raise ParamProblem(problems[0])
            rate = _number(q.get("sample_rate", "16000"), "sample_rate", low=1, high=192_000)
            encoding = q.get("encoding") or "pcm_s16le"
            if encoding not in ENCODINGS:
                raise ParamProblem(f"encoding must be one of {', '.join(ENCODINGS)}")
            self.format_turns = parse_bool(q.get("format_turns"), "format_turns")
            self.speaker_labels = parse_bool(q.get("speaker_labels"), "speaker_labels")
            self.language_detection = parse_bool(q.get("language_detection"), "language_detection")
            self.u3_pro = q.get("speech_model") == U3_PRO
            self.config: dict[str, float] = {"end_of_turn_confidence_threshold": 0.4}
            if self.u3_pro:  # the u3-rt-pro spec's defaults
                self.config.update(min_turn_silence=100, max_turn_silence=1000)
            self.update_config({k: q[k] for k in (*_CONFIG_LIMITS, _OLD_MIN_SILENCE) if k in q})
            self.inactivity: float | None = None
            if "inactivity_timeout" in q:
                self.inactivity = _number(
                    q["inactivity_timeout"], "inactivity_timeout", low=5, high=3600
                )
            if q.get("keyterms_prompt"):
                terms = json.loads(q["keyterms_prompt"])
                if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                    raise ParamProblem("keyterms_prompt must be a JSON array of strings")
        except ValueError as exc:  # ParamProblem and JSON errors
            raise _Close(3006, f"Invalid query parameter: {exc}") from None
        try:
            self.extras = V3Acknowledgements(q, channel.send_json)
        except ValueError as exc:
            raise _Close(3006, f"Invalid query parameter: {exc}") from None
        self.channel = channel
        self.audio = AudioInput(encoding, int(rate), state.engine.sample_rate)
        self.stream = state.engine.open_stream()
        self._apply_turn_silence()
        self.turn_order = 0
        self.final_words: list[RecognizedWord] = []
        self.previous_partial: list[str] = []
        self.turn_has_messages = False
        self.short_chunk_pending = False
        self.short_ms = 0.0
        self.last_audio = time.monotonic()

    def update_config(self, values: dict[str, Any]) -> None:
        values = dict(values)
        if values.get(_OLD_MIN_SILENCE) is not None and values.get("min_turn_silence") is None:
            values["min_turn_silence"] = values[_OLD_MIN_SILENCE]  # the 2025-07 name
        for name, (low, high) in _CONFIG_LIMITS.items():
            if values.get(name) is not None:
                self.config[name] = _number(values[name], name, low=low, high=high)
        if hasattr(self, "stream"):
            self._apply_turn_silence()

    def _apply_turn_silence(self) -> None:
        """The engine ends a turn after ``min_turn_silence`` when its end-of-turn confidence
        reaches the threshold, after ``max_turn_silence`` in any case."""
        self.stream.set_turn_silence(
            int(self.config.get("min_turn_silence", _DEFAULT_MIN_TURN_SILENCE)),
            int(self.config.get("max_turn_silence", _DEFAULT_MAX_TURN_SILENCE)),
            self.config["end_of_turn_confidence_threshold"],
        )

    def _turn(
        self,
        words: list[dict[str, Any]],
        *,
        transcript: str,
        end: bool,
        formatted: bool,
        eot: float,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "turn_order": self.turn_order,
            "turn_is_formatted": formatted,
            "end_of_turn": end,
            "transcript": transcript,
            "end_of_turn_confidence": eot,
            "words": words,
            "utterance": transcript if end else "",
            "type": "Turn",
        }
        if self.speaker_labels:
            message["speaker_label"] = "A"
        if self.language_detection and end:
            message.update(language_code="en", language_confidence=1.0)
        return message

    @staticmethod
    def _word(w: RecognizedWord, final: bool) -> dict[str, Any]:
        return {
            "start": w.start,
            "end": w.end,
            "text": w.text,
            "confidence": w.confidence,
            "word_is_final": final,
        }

    async def send_events(self, events: list[StreamEvent]) -> None:
        for event in events:
            if event.is_final:
                await self._end_turn(event)
            elif event.words:
                await self._partial(event)

    async def _speech_started(self, event: StreamEvent) -> None:
        """u3-rt-pro: ``SpeechStarted`` before a turn's first message, at its first word."""
        if self.u3_pro and not self.turn_has_messages and event.words:
            first = event.words[0]
            await self.channel.send_json(
                {
                    "type": "SpeechStarted",
                    "timestamp": first.start,
                    "confidence": round(first.confidence, 6),
                }
            )

    async def _partial(self, event: StreamEvent) -> None:
        await self._speech_started(event)
        if not self.u3_pro:  # Universal Streaming partials are unformatted
            event = StreamEvent(
                tuple(plain_words(event.words)), False, event.end_of_turn_confidence
            )
        texts = [w.text for w in event.words]
        fixed = len(self.final_words)
        # A word is final once it is unchanged over two partials and is not the newest word.
        while (
            fixed < len(texts) - 1
            and fixed < len(self.previous_partial)
            and self.previous_partial[fixed] == texts[fixed]
        ):
            self.final_words.append(event.words[fixed])
            fixed += 1
        self.previous_partial = texts
        words = [self._word(w, True) for w in self.final_words]
        words += [self._word(w, False) for w in event.words[len(self.final_words) :]]
        transcript = " ".join(w.text for w in self.final_words)
        if self.u3_pro:  # the spec's example shows every word of the partial in transcript
            transcript = " ".join(w.text for w in event.words)
        self.turn_has_messages = True
        await self.channel.send_json(
            self._turn(
                words,
                transcript=transcript,
                end=False,
                formatted=False,
                eot=0.0 if self.u3_pro else event.end_of_turn_confidence,
            )
        )

    async def _end_turn(self, event: StreamEvent) -> None:
        if not event.words and not self.turn_has_messages:
            return
        await self._speech_started(event)
        raw = plain_words(event.words)
        eot = event.end_of_turn_confidence
        last = [self._word(w, True) for w in raw]
        if not self.u3_pro:
            await self.channel.send_json(
                self._turn(
                    last,
                    transcript=" ".join(w.text for w in raw),
                    end=True,
                    formatted=False,
                    eot=eot,
                )
            )
        if self.format_turns or self.u3_pro:
            # u3-rt-pro turns are always formatted: turn_is_formatted equals end_of_turn.
            pretty = format_words(event.words)
            eot = 1.0 if self.u3_pro else eot
            last = [self._word(w, True) for w in pretty]
            await self.channel.send_json(
                self._turn(
                    last,
                    transcript=" ".join(w.text for w in pretty),
                    end=True,
                    formatted=True,
                    eot=eot,
                )
            )
        await self.extras.turn_ended(self.turn_order, last)
        self.turn_order += 1
        self.final_words = []
        self.previous_partial = []
        self.turn_has_messages = False

    async def on_audio(self, chunk: bytes) -> None:
        duration = self.audio.chunk_ms(chunk)
        if self.short_chunk_pending or duration > MAX_CHUNK_MS:
            shown = duration if duration > MAX_CHUNK_MS else self.short_ms
            raise _Close(
                3007,
                f"Input Duration Violation: {shown:.0f} ms. Expected between 50 and 1000 ms",
            )
        if duration < MIN_CHUNK_MS:
            # Forgiven only if this turns out to be the last chunk (see module docstring).
            self.short_chunk_pending = True
            self.short_ms = duration
        self.last_audio = time.monotonic()
        start_ms = self.audio.seconds_received * 1000
        pcm = self.audio.convert(chunk)
        if self.extras.silence:
            received = mulaw_to_pcm16(chunk) if self.audio.encoding == "pcm_mulaw" else chunk
            await self.extras.audio(received, start_ms, self.audio.seconds_received * 1000)
        await self.send_events(await self.stream.feed(pcm))

    async def on_text(self, text: str) -> bool:
        """Handle a control message; True when the client asked to terminate."""
        try:
            data = json.loads(text)
        except ValueError:
            raise _Close(3006, "Invalid JSON") from None
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "Terminate":
            return True
        if kind == "ForceEndpoint":
            self.short_chunk_pending = False
            await self.send_events(await self.stream.force_endpoint())
        elif kind == "UpdateConfiguration":
            try:
                for name, value in data.items():
                    row = V3_OPTIONS.get(name)
                    found = problems(row, value) if row is not None and row.live else []
                    if found:
                        raise ParamProblem(found[0])
                self.update_config(data)
            except ParamProblem as exc:
                raise _Close(3006, f"Invalid Message: {exc}") from None
        elif kind != "KeepAlive":
            raise _Close(3006, f"Invalid Message Type: {kind!r}")
        return False

    async def finish(self) -> None:
        tail = self.audio.flush()
        if tail:
            await self.send_events(await self.stream.feed(tail))
        await self.send_events(await self.stream.finish())
        await self.extras.flush(self.audio.seconds_received * 1000)


U3_PRO = "u3-rt-pro"
_DEFAULT_MIN_TURN_SILENCE = 400  # ms, the spec's defaults
_DEFAULT_MAX_TURN_SILENCE = 1280
_OLD_MIN_SILENCE = "min_end_of_turn_silence_when_confident"


def _limits(name: str) -> tuple[float, float]:
    row = V3_OPTIONS[name]
    if row.minimum is None or row.maximum is None:
        raise RuntimeError(f"the v3 option table has no range for {name}")
    return float(row.minimum), float(row.maximum)


#: The turn settings the engine follows, with the bounds of the client's option table (one
#: table: a value the client sends is one the server takes).
_CONFIG_LIMITS: dict[str, tuple[float, float]] = {
    name: _limits(name)
    for name in (
        "end_of_turn_confidence_threshold",
        "min_turn_silence",
        "max_turn_silence",
        "vad_threshold",
    )
}


async def streaming_ws(ws: WebSocket) -> None:
    state = get_state(ws)
    session_id = str(uuid.uuid4())
    channel = WsChannel(ws, state.new_send_log(session_id))
    await ws.accept()
    allowed, token_cap = _authorize(ws, state)
    if not allowed:
        await channel.close(1008, "Unauthorized Connection: Missing or invalid authorization")
        return
    try:
        session = _Session(channel, state, ws)
    except _Close as exc:
        await channel.close(exc.code, exc.reason)
        return
    except EngineError as exc:  # e.g. the engine's stream limit
        logger.warning("streaming v3: no stream available: %s", exc)
        await channel.close(3009, "Unauthorized Connection: Too many concurrent sessions")
        return
    started = time.monotonic()
    cap = state.config.realtime_max_session_seconds
    if token_cap is not None:
        cap = min(cap, token_cap)
    deadline = started + cap
    state.realtime_sessions += 1
    try:
        await channel.send_json(
            {"type": "Begin", "id": session_id, "expires_at": int(time.time() + cap)}
        )
        terminated = False
        while channel.open:
            limit = deadline
            # Without the client's inactivity_timeout, the server's idle cap still frees the
            # engine stream of a session that went quiet (ServerConfig.realtime_v3_idle_timeout).
            idle = session.inactivity or state.config.realtime_v3_idle_timeout
            limit = min(limit, session.last_audio + idle)
            try:
                message = await channel.receive(max(0.0, limit - time.monotonic()))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise _Close(
                        3008, "Session Expired: Maximum session duration exceeded"
                    ) from None
                terminated = True  # inactivity_timeout
                break
            if message is None:
                break
            if message.get("bytes") is not None:
                await session.on_audio(message["bytes"])
            elif message.get("text") is not None and await session.on_text(message["text"]):
                terminated = True
                break
        if terminated:
            await session.finish()
            await channel.send_json(
                {
                    "type": "Termination",
                    "audio_duration_seconds": round(session.audio.seconds_received),
                    "session_duration_seconds": round(time.monotonic() - started),
                }
            )
            await channel.close(1000)
    except _Close as exc:
        await channel.close(exc.code, exc.reason)
    except EngineError as exc:
        logger.warning("streaming v3 session failed: %s", exc)
        await channel.close(3005, "Session Cancelled: An error occurred")
    except Exception:
        await channel.close(3005, "Session Cancelled: An error occurred")
        raise
    finally:
        state.realtime_sessions -= 1
        await session.stream.aclose()


def routes() -> list[BaseRoute]:
    return [
        Route("/v3/token", create_token, methods=["GET"]),
        WebSocketRoute("/v3/ws", streaming_ws),
    ]
