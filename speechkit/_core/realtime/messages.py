"""Server messages into session events: parse a text frame with the protocol adapter and route
it. A frame that cannot be read (not JSON, nested too deeply, numbers out of range, a known type
with a wrong shape) becomes a :class:`~speechkit.errors.RealtimeError` in an ``ErrorEvent`` and
the session goes on: a hostile or broken server must not kill the reader."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from speechkit._core.realtime_types import SessionState
from speechkit.errors import RealtimeError
from speechkit.models._base import SpeechkitModel
from speechkit.models.realtime import (
    ErrorEvent,
    ServerMessage,
    SessionInformation,
    V2Error,
    V2FinalTranscript,
    V2PartialTranscript,
    V2SessionBegins,
    V2SessionInformation,
    V2SessionTerminated,
    V3Begin,
    V3Error,
    V3LLMGatewayResponse,
    V3Silence,
    V3SpeakerRevision,
    V3SpeechStarted,
    V3Termination,
    V3Turn,
    V3Warning,
)

if TYPE_CHECKING:
    from speechkit._core.realtime_protocol import WireMessage

    from .session import RealtimeSession

__all__ = ["receive"]

LIVE = (SessionState.AWAITING_BEGIN, SessionState.OPEN, SessionState.TERMINATING)

logger = logging.getLogger("speechkit.realtime")

#: What a parser or a handler raises on input it cannot take.
UNREADABLE = (ValueError, RecursionError, OverflowError, TypeError)

#: The messages that show a connection works (transcribes): only they reset the retry count.
TRANSCRIPTS = (V3Turn, V2PartialTranscript, V2FinalTranscript)


def receive(session: RealtimeSession, text: str, now: float) -> None:
    """Parse ``text`` and apply it to ``session``."""
    try:
        parsed = _parse(session, text)
    except UNREADABLE as err:
        _unreadable(session, err, text)
        return
    if parsed is None:
        # A message type speechkit does not know (yet): the application gets it as it is.
        if session.state in LIVE:
            session.emit(_server_message(session, None, json.loads(text)))
        return
    if isinstance(parsed, TRANSCRIPTS) and session.state in (
        SessionState.OPEN,
        SessionState.TERMINATING,
    ):
        # This connection transcribes: its drop starts a new count. Errors, warnings and
        # heartbeats do not count, or a server that fails the same way on every connection
        # would be reconnected to forever.
        session.policy.delivered()
    try:
        _route(session, parsed, now)
    except UNREADABLE as err:
        _unreadable(session, err, text)


def _parse(session: RealtimeSession, text: str) -> WireMessage | None:
    # Turn messages are most of a v3 session: validated straight from the JSON text in one
    # pass (no dict in between), about half the parsing cost. Anything else, and anything that
    # is not a valid Turn after all, goes through the adapter, which says what is wrong.
    if session.options.protocol == "v3" and '"Turn"' in text:
        try:
            turn = V3Turn.from_json_bytes(text.encode())  # keeps the exact JSON for .raw
        except ValueError:
            pass
        else:
            # Every field has a default: only a message that says it is a Turn is one (not
            # {"error": "Turn"}, nor a message of another kind that mentions "Turn").
            if "type" in turn.model_fields_set:
                return turn
    return session.adapter.parse(text)


def _unreadable(session: RealtimeSession, err: BaseException, text: str) -> None:
    detail = " ".join(str(err).split())[:200] or type(err).__name__
    error = RealtimeError(
        f"The realtime server sent a message speechkit cannot read ({type(err).__name__}: "
        f"{detail}); it was skipped and the session goes on. The message began: {text[:80]!r}"
    )
    error.__cause__ = err
    session.emit(ErrorEvent(error=error, fatal=False))  # logged when there is no on_error


def _route(session: RealtimeSession, parsed: WireMessage, now: float) -> None:
    if isinstance(parsed, V2SessionBegins | V3Begin):
        session.on_begin(parsed, now)
        return
    if session.state is SessionState.AWAITING_BEGIN:
        logger.debug("Ignoring %s before the session began.", type(parsed).__name__)
        return
    mapper = session.transcripts
    if isinstance(parsed, V2PartialTranscript | V2FinalTranscript):
        session.deliver(mapper.v2_transcript(parsed, session.options))
    elif isinstance(parsed, V3Turn):
        session.deliver(mapper.turn(parsed, session.options))
    elif isinstance(parsed, V3SpeechStarted):
        session.emit(mapper.speech_started(parsed))
    elif isinstance(parsed, V2SessionInformation):
        session.emit(SessionInformation(audio_duration_seconds=parsed.audio_duration_seconds))
        session.add_server_audio(parsed.audio_duration_seconds)
    elif isinstance(parsed, V2SessionTerminated | V3Termination):
        session.on_terminated(parsed, now)
    elif isinstance(parsed, V2Error | V3Error):
        code = parsed.error_code if isinstance(parsed, V3Error) else None
        session.last_server_error = parsed.error
        error = RealtimeError(
            f"The realtime server reported an error: {parsed.error}",
            code=code if isinstance(code, int) else None,
        )
        session.emit(ErrorEvent(error=error))
    elif isinstance(parsed, V3Warning):
        logger.warning("Realtime server warning %s: %s", parsed.warning_code, parsed.warning)
        session.emit(_server_message(session, parsed, parsed.raw))
    elif isinstance(parsed, V3Silence):
        silence = mapper.silence(parsed)
        if silence is not None:
            session.emit(_server_message(session, silence, parsed.raw))
    elif isinstance(parsed, V3SpeakerRevision):
        session.emit(_server_message(session, mapper.speaker_revision(parsed), parsed.raw))
    elif isinstance(parsed, V3LLMGatewayResponse):
        session.emit(_server_message(session, mapper.llm_response(parsed), parsed.raw))
    else:  # Heartbeat: amounts of the connection, not positions
        session.emit(_server_message(session, parsed, parsed.raw))


def _server_message(
    session: RealtimeSession, parsed: SpeechkitModel | None, data: Any
) -> ServerMessage:
    data = data if isinstance(data, dict) else {}
    kind = data.get("type", data.get("message_type", ""))
    return ServerMessage(
        type=str(kind),
        message=parsed,
        data=data,
        offset_ms=session.timeline.ms(session.timeline.offset),
        session_id=session.session_id,
    )
