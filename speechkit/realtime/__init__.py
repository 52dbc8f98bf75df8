"""Realtime (streaming) speech-to-text over websockets: AssemblyAI Universal Streaming v3 and
realtime v2, blocking (:class:`RealtimeTranscriber`) and asyncio
(:class:`AsyncRealtimeTranscriber`).

Both survive dropped connections (they reconnect and replay the audio not yet transcribed, keeping
timestamps monotonic and delivering each final once) and report everything through typed events.
"""

from speechkit._core.realtime import ConnectionInfo, EndpointAttempt, RealtimeAudioLostError
from speechkit._core.realtime_audio import Chunker
from speechkit._core.realtime_protocol import RealtimeOptions
from speechkit.models.realtime import (
    ErrorEvent,
    FinalTranscript,
    PartialTranscript,
    RealtimeEvent,
    RealtimeUsage,
    Reconnected,
    ServerMessage,
    SessionClosed,
    SessionInformation,
    SessionOpened,
    SpeechStarted,
    TemporaryToken,
    Turn,
    Word,
)

from ._async import AsyncRealtimeTranscriber
from ._common import RealtimeCallbackError
from ._sync import RealtimeTranscriber
from ._tokens import create_temporary_token, create_temporary_token_async

__all__ = [
    "AsyncRealtimeTranscriber",
    "Chunker",
    "ConnectionInfo",
    "EndpointAttempt",
    "ErrorEvent",
    "FinalTranscript",
    "PartialTranscript",
    "RealtimeAudioLostError",
    "RealtimeCallbackError",
    "RealtimeEvent",
    "RealtimeOptions",
    "RealtimeTranscriber",
    "RealtimeUsage",
    "Reconnected",
    "ServerMessage",
    "SessionClosed",
    "SessionInformation",
    "SessionOpened",
    "SpeechStarted",
    "TemporaryToken",
    "Turn",
    "Word",
    "create_temporary_token",
    "create_temporary_token_async",
]
