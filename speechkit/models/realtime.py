"""Realtime (streaming) models: every wire message of AssemblyAI realtime v2 and Universal Streaming
v3, plus the protocol-neutral events a :class:`~speechkit.realtime.RealtimeTranscriber` delivers.

Wire models (``V2*``, ``V3*``) mirror the JSON exactly (protocols.md section 2). They are lenient
like every speechkit model: unknown fields are kept and most fields have defaults, so a server that
adds or drops a field does not break a session. Times on the wire are milliseconds from the start of
the audio *sent on that connection*.

Events (:class:`SessionOpened`, :class:`PartialTranscript`, :class:`FinalTranscript`, :class:`Turn`,
...) are what applications receive. Their times are milliseconds on the *session* timeline: from the
first byte of audio given to the session, continuous across reconnects, so they never go backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from speechkit.errors import RealtimeError
from speechkit.models import _html
from speechkit.models._base import SpeechkitModel

__all__ = [
    "ErrorEvent",
    "FinalTranscript",
    "PartialTranscript",
    "RealtimeEvent",
    "RealtimeUsage",
    "Reconnected",
    "ServerMessage",
    "SessionClosed",
    "SessionInformation",
    "SessionOpened",
    "SpeechStarted",
    "TemporaryToken",
    "TokenError",
    "Turn",
    "V2AudioData",
    "V2ConfigureEndUtteranceSilenceThreshold",
    "V2Error",
    "V2FinalTranscript",
    "V2ForceEndUtterance",
    "V2Message",
    "V2PartialTranscript",
    "V2SessionBegins",
    "V2SessionInformation",
    "V2SessionTerminated",
    "V2TerminateSession",
    "V2TokenRequest",
    "V2TokenResponse",
    "V2Word",
    "V3Begin",
    "V3Error",
    "V3ForceEndpoint",
    "V3Heartbeat",
    "V3KeepAlive",
    "V3LLMGatewayResponse",
    "V3Message",
    "V3SessionConfiguration",
    "V3Silence",
    "V3SpeakerRevision",
    "V3SpeakerRevisionItem",
    "V3SpeechStarted",
    "V3Terminate",
    "V3Termination",
    "V3TokenResponse",
    "V3Turn",
    "V3UpdateConfiguration",
    "V3Warning",
    "V3Word",
    "Word",
    "parse_expiry",
]


# --------------------------------------------------------------------------------------------------
# v2 realtime (/v2/realtime/ws), S1 asyncapi.json
# --------------------------------------------------------------------------------------------------


class _LeanModel(BaseModel):
    """Lenient like :class:`SpeechkitModel` (unknown fields kept), for the models built by the
    thousand (words): no per-instance slot for the raw JSON, whose set-up cost was a third of the
    realtime per-message CPU (benchmarks, scenario 6). ``raw`` is the model's JSON form."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, protected_namespaces=(), ser_json_inf_nan="constants"
    )

    @classmethod
    def from_json_data(cls, data: Any) -> Self:
        return cls.model_validate(data)

    @property
    def raw(self) -> Any:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class V2Word(_LeanModel):
    """One word of a v2 transcript. ``start``/``end`` are milliseconds on the connection's audio."""

    text: str = ""
    start: int = 0
    end: int = 0
    confidence: float = 0.0


class V2SessionBegins(SpeechkitModel):
    """``SessionBegins``: the session is open. ``expires_at`` is an ISO 8601 string without zone."""

    message_type: Literal["SessionBegins"] = "SessionBegins"
    session_id: str = ""
    expires_at: str | None = None


class _V2Transcript(SpeechkitModel):
    audio_start: int = 0
    """Milliseconds: where the transcribed audio starts on this connection."""
    audio_end: int = 0
    """Milliseconds: where the transcribed audio ends on this connection."""
    confidence: float = 0.0
    text: str = ""
    words: list[V2Word] = Field(default_factory=list)
    created: str | None = None
    """ISO 8601 time the server created the message (no zone)."""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Times, word count and a shortened text; the words themselves stay out of logs.
        return _html.realtime_text_repr_args(self, self.text)


class V2PartialTranscript(_V2Transcript):
    """``PartialTranscript``: the current, still changing, hypothesis for an utterance."""

    message_type: Literal["PartialTranscript"] = "PartialTranscript"


class V2FinalTranscript(_V2Transcript):
    """``FinalTranscript``: the utterance is finished and will not change."""

    message_type: Literal["FinalTranscript"] = "FinalTranscript"
    punctuated: bool = False
    text_formatted: bool = False


class V2SessionInformation(SpeechkitModel):
    """``SessionInformation``: sent before ``SessionTerminated`` when extra information is on."""

    message_type: Literal["SessionInformation"] = "SessionInformation"
    audio_duration_seconds: float = 0.0


class V2SessionTerminated(SpeechkitModel):
    """``SessionTerminated``: the server processed all audio; it closes with 1000 next."""

    message_type: Literal["SessionTerminated"] = "SessionTerminated"


class V2Error(SpeechkitModel):
    """A bare ``{"error": "..."}`` message (no ``message_type``)."""

    error: str = ""


class V2ForceEndUtterance(SpeechkitModel):
    """Client message: end the current utterance now."""

    force_end_utterance: bool = True


class V2ConfigureEndUtteranceSilenceThreshold(SpeechkitModel):
    """Client message: silence (milliseconds, 0 to 20000, default 700) that ends an utterance."""

    end_utterance_silence_threshold: int


class V2TerminateSession(SpeechkitModel):
    """Client message: finish the session; the server answers ``SessionTerminated``."""

    terminate_session: bool = True


class V2AudioData(SpeechkitModel):
    """Legacy (pre-2024) client message carrying base64 audio; speechkit sends binary frames."""

    audio_data: str


class V2TokenRequest(SpeechkitModel):
    """Body of ``POST /v2/realtime/token``. ``expires_in`` is in seconds (at least 60)."""

    expires_in: int


class V2TokenResponse(SpeechkitModel):
    """Answer of ``POST /v2/realtime/token``."""

    token: str


V2Message = (
    V2SessionBegins
    | V2PartialTranscript
    | V2FinalTranscript
    | V2SessionInformation
    | V2SessionTerminated
    | V2Error
)

# --------------------------------------------------------------------------------------------------
# v3 Universal Streaming (/v3/ws), S1 usm-streaming*.yml
# --------------------------------------------------------------------------------------------------


class V3Word(_LeanModel):
    """One word of a v3 turn. ``start``/``end`` are milliseconds on the connection's audio."""

    text: str = ""
    start: int = 0
    end: int = 0
    confidence: float = 0.0
    word_is_final: bool = True
    speaker: str | None = None


class V3SessionConfiguration(SpeechkitModel):
    """``Begin.configuration`` (SDK 1.8.2): what the server runs for this session."""

    model: str | None = None
    mode: str | None = None
    api_version: str | None = None


class V3Begin(SpeechkitModel):
    """``Begin``: the session is open.

    ``expires_at`` is Unix seconds in the current spec and an ISO 8601 string in the 2025-07 spec;
    both are accepted as sent (see :attr:`expires_at_datetime`).
    """

    type: Literal["Begin"] = "Begin"
    id: str = ""
    expires_at: int | float | str | None = None
    configuration: V3SessionConfiguration | None = None

    @property
    def expires_at_datetime(self) -> datetime | None:
        """``expires_at`` as a datetime (UTC when the server sent Unix seconds)."""
        return parse_expiry(self.expires_at)


class V3Turn(SpeechkitModel):
    """``Turn``: the words of the current turn so far, or the whole turn when ``end_of_turn``."""

    type: Literal["Turn"] = "Turn"
    turn_order: int = 0
    turn_is_formatted: bool = False
    end_of_turn: bool = False
    transcript: str = ""
    """The finalized words of the turn (formatted when ``turn_is_formatted``)."""
    end_of_turn_confidence: float = 0.0
    words: list[V3Word] = Field(default_factory=list)
    utterance: str | None = None
    language_code: str | None = None
    language_confidence: float | None = None
    speaker_label: str | None = None

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Order, word count and a shortened transcript; the words themselves stay out of logs.
        return _html.realtime_text_repr_args(self, self.transcript)


class V3Termination(SpeechkitModel):
    """``Termination``: the session is over; durations are in seconds."""

    type: Literal["Termination"] = "Termination"
    audio_duration_seconds: float | None = None
    session_duration_seconds: float | None = None


class V3SpeechStarted(SpeechkitModel):
    """``SpeechStarted`` (Universal-3 Pro): speech began at ``timestamp`` milliseconds."""

    type: Literal["SpeechStarted"] = "SpeechStarted"
    timestamp: int = 0
    confidence: float = 0.0


class V3Heartbeat(SpeechkitModel):
    """``Heartbeat`` (with ``session_heartbeat``; SDK 1.8.2): progress of the server.

    ``total_audio_received_ms`` and ``total_duration_ms`` are milliseconds on the connection;
    ``realtime_factor`` is processing speed (may exceed 1); ``max_speech_probability`` is 0-1."""

    type: Literal["Heartbeat"] = "Heartbeat"
    total_audio_received_ms: int = 0
    total_duration_ms: int = 0
    realtime_factor: float = 0.0
    max_speech_probability: float = 0.0


class V3Silence(SpeechkitModel):
    """``Silence`` (with ``acknowledge_silence``, Universal-3 Pro; SDK 1.8.2): no speech from
    ``start_ms`` to ``end_ms`` (milliseconds, like word times; in a :class:`ServerMessage` on the
    session timeline)."""

    type: Literal["Silence"] = "Silence"
    start_ms: int = 0
    end_ms: int = 0


class V3LLMGatewayResponse(SpeechkitModel):
    """``LLMGatewayResponse`` (with ``llm_gateway``; SDK 1.8.2): the LLM's answer for a turn."""

    type: Literal["LLMGatewayResponse"] = "LLMGatewayResponse"
    turn_order: int = 0
    transcript: str = ""
    data: Any = None


class V3SpeakerRevisionItem(SpeechkitModel):
    """One earlier turn whose speaker labels changed; match it by ``turn_order``."""

    turn_order: int = 0
    speaker_label: str | None = None
    words: list[V3Word] = Field(default_factory=list)


class V3SpeakerRevision(SpeechkitModel):
    """``SpeakerRevision`` (speaker labels; SDK 1.8.2): corrected labels of earlier turns.
    Text and word times are unchanged from the original turns."""

    type: Literal["SpeakerRevision"] = "SpeakerRevision"
    revisions: list[V3SpeakerRevisionItem] = Field(default_factory=list)


class V3Error(SpeechkitModel):
    """``Error`` (SDK-only, and bare ``{"error": ...}``): ``error_code`` is often a close code."""

    type: Literal["Error"] = "Error"
    error_code: int | str | None = None
    error: str = ""


class V3Warning(SpeechkitModel):
    """``Warning`` (SDK-only): something the server wants the client to know; not fatal."""

    type: Literal["Warning"] = "Warning"
    warning_code: int | str | None = None
    warning: str = ""


class V3UpdateConfiguration(SpeechkitModel):
    """Client message: change turn detection (and, on Universal-3 Pro, prompts) mid-stream.

    ``min_turn_silence``/``max_turn_silence`` are milliseconds.
    """

    type: Literal["UpdateConfiguration"] = "UpdateConfiguration"
    end_of_turn_confidence_threshold: float | None = None
    min_turn_silence: int | None = None
    max_turn_silence: int | None = None
    prompt: str | None = None
    keyterms_prompt: list[str] | None = None


class V3ForceEndpoint(SpeechkitModel):
    """Client message: end the current turn now."""

    type: Literal["ForceEndpoint"] = "ForceEndpoint"


class V3Terminate(SpeechkitModel):
    """Client message: finish the session; the server answers ``Termination`` and closes."""

    type: Literal["Terminate"] = "Terminate"


class V3KeepAlive(SpeechkitModel):
    """Client message (SDK-only): keep an idle connection open."""

    type: Literal["KeepAlive"] = "KeepAlive"


class V3TokenResponse(SpeechkitModel):
    """Answer of ``GET /v3/token``; ``expires_in_seconds`` is in seconds."""

    token: str
    expires_in_seconds: int | None = None


class TokenError(SpeechkitModel):
    """Error body of the token endpoints: ``{error, code?, details?}``."""

    error: str = ""
    code: str | int | None = None
    details: Any = None


V3Message = (
    V3Begin
    | V3Turn
    | V3Termination
    | V3SpeechStarted
    | V3Error
    | V3Warning
    | V3Heartbeat
    | V3Silence
    | V3LLMGatewayResponse
    | V3SpeakerRevision
)


class TemporaryToken(SpeechkitModel):
    """A temporary streaming token, safe to hand to a browser instead of the API key.

    Attributes:
        token: Pass it as ``token=`` to a transcriber (or in the ``token`` query parameter).
        expires_in_seconds: Seconds the token stays valid for *starting* a session (v3 only).
        protocol: ``"v2"`` or ``"v3"``; a token only works with the protocol that issued it.
    """

    token: str = Field(repr=False)
    expires_in_seconds: int | None = None
    protocol: Literal["v2", "v3"] = "v3"


# --------------------------------------------------------------------------------------------------
# Neutral events delivered to applications
# --------------------------------------------------------------------------------------------------


class Word(_LeanModel):
    """A recognized word. ``start``/``end`` are milliseconds on the session timeline.

    Attributes:
        word_is_final: ``False`` while the recognizer may still change the word (v3 partial turns).
        speaker: Speaker label when diarization is enabled (v3).
    """

    text: str
    start: int
    end: int
    confidence: float = 0.0
    word_is_final: bool = True
    speaker: str | None = None


class _TranscriptBase(SpeechkitModel):
    text: str = ""
    words: list[Word] = Field(default_factory=list)
    audio_start: int = 0
    """Milliseconds on the session timeline."""
    audio_end: int = 0
    """Milliseconds on the session timeline."""
    confidence: float = 0.0
    created: str | None = None
    """v2: ISO 8601 time the server created the message."""
    turn_order: int | None = None
    """v3: the turn this belongs to, counted across reconnects (``None`` on v2)."""
    session_id: str | None = None
    """The server session (connection) that produced it."""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Times, word count and a shortened text; the words themselves stay out of logs.
        return _html.realtime_text_repr_args(self, self.text)


class PartialTranscript(_TranscriptBase):
    """An interim hypothesis; a later partial or the final replaces it.

    On v3 every ``Turn`` that is not the end of its turn becomes a partial whose ``text`` is all the
    words heard so far (final and not).
    """

    message_type: Literal["PartialTranscript"] = "PartialTranscript"


class FinalTranscript(_TranscriptBase):
    """A finished utterance (v2) or turn (v3). Each is delivered once, even across reconnects."""

    message_type: Literal["FinalTranscript"] = "FinalTranscript"
    punctuated: bool = False
    text_formatted: bool = False
    end_of_turn_confidence: float | None = None
    language_code: str | None = None
    language_confidence: float | None = None
    speaker_label: str | None = None
    utterance: str | None = None


class Turn(SpeechkitModel):
    """A v3 ``Turn`` as the server sent it, with times moved onto the session timeline.

    Every ``Turn`` message is delivered, including the unformatted-then-formatted pair some servers
    send; use :class:`FinalTranscript` (``on_final``) for exactly-once finished turns.
    """

    message_type: Literal["Turn"] = "Turn"
    turn_order: int
    """Counted across reconnects, so it keeps increasing."""
    transcript: str = ""
    utterance: str | None = None
    end_of_turn: bool = False
    turn_is_formatted: bool = False
    end_of_turn_confidence: float = 0.0
    words: list[Word] = Field(default_factory=list)
    language_code: str | None = None
    language_confidence: float | None = None
    speaker_label: str | None = None
    session_id: str | None = None

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Order, word count and a shortened transcript; the words themselves stay out of logs.
        return _html.realtime_text_repr_args(self, self.transcript)


class SessionOpened(SpeechkitModel):
    """The first connection's session began (``on_open``).

    Attributes:
        session_id: The server's session id.
        expires_at: When the server will end the session, if it said.
        protocol: ``"v2"`` or ``"v3"``.
    """

    message_type: Literal["SessionOpened"] = "SessionOpened"
    session_id: str
    expires_at: datetime | None = None
    protocol: Literal["v2", "v3"]


class SpeechStarted(SpeechkitModel):
    """Universal-3 Pro detected speech; ``timestamp`` is milliseconds on the session timeline."""

    message_type: Literal["SpeechStarted"] = "SpeechStarted"
    timestamp: int
    confidence: float = 0.0


class SessionInformation(SpeechkitModel):
    """v2 extra session information (``on_extra_session_information``).

    ``audio_duration_seconds`` is what the server counted on the connection that sent it.
    """

    message_type: Literal["SessionInformation"] = "SessionInformation"
    audio_duration_seconds: float


class Reconnected(SpeechkitModel):
    """A dropped connection was replaced (``on_reconnect``).

    Attributes:
        attempt: Which attempt succeeded (1 for the first retry).
        session_id: The new server session id.
        previous_session_id: The session that dropped.
        code: Close code of the drop (``None`` when the TCP connection broke without one).
        reason: Why the old connection ended.
        replayed_ms: Milliseconds of audio re-sent because no final transcript covered them yet.
        offset_ms: Where the new connection's audio starts on the session timeline (milliseconds).
        lost_ms: Milliseconds of audio that could not be replayed (the replay buffer overflowed).
    """

    message_type: Literal["Reconnected"] = "Reconnected"
    attempt: int
    session_id: str
    previous_session_id: str | None = None
    code: int | None = None
    reason: str = ""
    replayed_ms: int = 0
    offset_ms: int = 0
    lost_ms: int = 0


class RealtimeUsage(SpeechkitModel):
    """Audio accounting for a session. All values are seconds.

    Attributes:
        audio_seconds_sent: Audio on the session timeline that was sent at least once (what the app
            streamed, plus silence padding).
        audio_seconds_replayed: Audio sent again after reconnects (billed again by the service).
        audio_seconds_padded: Silence added to reach the minimum chunk length, or as v2 keepalive.
        server_audio_seconds: The sum of the durations the server reported, when it reported any.
        connections: Connections that reached an open session.
    """

    audio_seconds_sent: float = 0.0
    audio_seconds_replayed: float = 0.0
    audio_seconds_padded: float = 0.0
    server_audio_seconds: float | None = None
    connections: int = 0


class SessionClosed(SpeechkitModel):
    """The session is over (``on_close``); delivered exactly once per opened session.

    Attributes:
        code: The last close code (``None`` when none was received).
        reason: A human-readable explanation.
        error: The fatal error, when the session failed (it also went to ``on_error``).
        audio_duration_seconds: Server-reported audio duration of the last connection, if any.
        session_duration_seconds: Server-reported session duration of the last connection, if any.
        usage: The session's audio accounting.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    message_type: Literal["SessionClosed"] = "SessionClosed"
    code: int | None = None
    reason: str = ""
    error: RealtimeError | None = Field(default=None, exclude=True)
    audio_duration_seconds: float | None = None
    session_duration_seconds: float | None = None
    usage: RealtimeUsage = Field(default_factory=RealtimeUsage)


class ServerMessage(SpeechkitModel):
    """A server message that is not a transcript (``on_message``): ``Heartbeat``, ``Silence``,
    ``LLMGatewayResponse``, ``SpeakerRevision``, ``Warning``, and any message type speechkit does
    not know yet (never dropped silently).

    Attributes:
        type: The message's ``type`` (v3) or ``message_type`` (v2) as sent.
        message: The typed wire model (:class:`V3Heartbeat`, ...), or ``None`` for an unknown
            type; ``data`` has the JSON as sent either way. Audio times and turn numbers in
            ``message`` are on the session timeline, like transcripts, across reconnects:
            :class:`V3Silence` ``start_ms``/``end_ms`` (a range a replay repeated is trimmed,
            or the message skipped when nothing is left), :class:`V3SpeakerRevision` turn
            numbers and word times (match ``turn_order`` with the turns you received), and
            :class:`V3LLMGatewayResponse` ``turn_order``. :class:`V3Heartbeat` totals are
            amounts of the current connection, left as sent.
        data: The message as sent (times and turn numbers on the connection's clock).
        offset_ms: Where this connection's audio starts on the session timeline (what was added
            to the times in ``message``; add it yourself to times of an unknown type).
        session_id: The server session (connection) the message came from.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    message_type: Literal["ServerMessage"] = "ServerMessage"
    type: str = ""
    message: SpeechkitModel | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    offset_ms: int = 0
    session_id: str | None = None


class ErrorEvent(SpeechkitModel):
    """A problem the session reports (``on_error``); ``fatal`` says whether the session ended."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    message_type: Literal["Error"] = "Error"
    error: RealtimeError = Field(exclude=True)
    fatal: bool = False


RealtimeEvent = (
    SessionOpened
    | PartialTranscript
    | FinalTranscript
    | Turn
    | SpeechStarted
    | SessionInformation
    | Reconnected
    | ErrorEvent
    | SessionClosed
    | ServerMessage
)


def parse_expiry(value: int | float | str | None) -> datetime | None:
    """Turn a v2/v3 ``expires_at`` (Unix seconds or ISO 8601) into a datetime, or ``None``."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError, TypeError):
        return None  # out of range (a hostile or broken server) or not a time: unknown
