"""speechkit: speech-to-text for Python, batch and realtime, blocking, futures and asyncio.

Quick start::

    import speechkit

    with speechkit.Transcriber() as transcriber:   # key from ASSEMBLYAI_API_KEY
        transcript = transcriber.transcribe("meeting.mp3")
        print(transcript.text)

``import speechkit`` is cheap: the clients, models, realtime and the local server are imported on
first use of their names (PEP 562), so a script pays only for what it touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from speechkit._settings import ASSEMBLYAI_BASE_URL, ASSEMBLYAI_EU_BASE_URL, Settings, settings
from speechkit._version import __version__
from speechkit.errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConnectError,
    EventLoopError,
    InvalidInputError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    RateLimitError,
    RealtimeAudioLostError,
    RealtimeCallbackError,
    RealtimeConnectionError,
    RealtimeError,
    RedactedAudioExpiredError,
    RedactedAudioNotReadyError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    SpeechkitError,
    TranscriptionCancelledError,
    TranscriptionError,
    TranscriptionGroupError,
    TranscriptionTimeoutError,
    TransportError,
)

if TYPE_CHECKING:
    from speechkit._core.progress import ProgressCallback, TranscriptionProgress
    from speechkit._core.retry import RetryPolicy
    from speechkit.config import TranscriptionConfig
    from speechkit.group import GroupFailure, TranscriptGroup
    from speechkit.models import (
        SentencesResponse,
        Transcript,
        TranscriptList,
        TranscriptStatus,
        Word,
    )
    from speechkit.providers import AssemblyAIProvider, Provider
    from speechkit.realtime import (
        AsyncRealtimeTranscriber,
        RealtimeTranscriber,
        create_temporary_token,
        create_temporary_token_async,
    )
    from speechkit.server import LocalServer, local_server
    from speechkit.transcriber import AsyncTranscriber, Transcriber

#: Public name -> the module that defines it, imported on first access.
_LAZY = {
    "Transcriber": "speechkit.transcriber",
    "AsyncTranscriber": "speechkit.transcriber",
    "TranscriptionConfig": "speechkit.config",
    "TranscriptionProgress": "speechkit._core.progress",
    "ProgressCallback": "speechkit._core.progress",
    "RetryPolicy": "speechkit._core.retry",
    "TranscriptGroup": "speechkit.group",
    "GroupFailure": "speechkit.group",
    "Transcript": "speechkit.models",
    "TranscriptList": "speechkit.models",
    "TranscriptStatus": "speechkit.models",
    "SentencesResponse": "speechkit.models",
    "Word": "speechkit.models",
    "Provider": "speechkit.providers",
    "AssemblyAIProvider": "speechkit.providers",
    "AIMLProvider": "speechkit.providers.aiml",
    "RealtimeTranscriber": "speechkit.realtime",
    "AsyncRealtimeTranscriber": "speechkit.realtime",
    "create_temporary_token": "speechkit.realtime",
    "create_temporary_token_async": "speechkit.realtime",
    "LocalServer": "speechkit.server",
    "local_server": "speechkit.server",
}

__all__ = [
    "ASSEMBLYAI_BASE_URL",
    "ASSEMBLYAI_EU_BASE_URL",
    "APIError",
    "APIStatusError",
    "AssemblyAIProvider",
    "AsyncRealtimeTranscriber",
    "AsyncTranscriber",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectError",
    "EventLoopError",
    "GroupFailure",
    "InvalidInputError",
    "LocalServer",
    "NotFoundError",
    "NotSupportedError",
    "PermissionDeniedError",
    "ProgressCallback",
    "Provider",
    "RateLimitError",
    "RealtimeAudioLostError",
    "RealtimeCallbackError",
    "RealtimeConnectionError",
    "RealtimeError",
    "RealtimeTranscriber",
    "RedactedAudioExpiredError",
    "RedactedAudioNotReadyError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SentencesResponse",
    "ServerError",
    "Settings",
    "SpeechkitError",
    "Transcriber",
    "Transcript",
    "TranscriptGroup",
    "TranscriptList",
    "TranscriptStatus",
    "TranscriptionCancelledError",
    "TranscriptionConfig",
    "TranscriptionError",
    "TranscriptionGroupError",
    "TranscriptionProgress",
    "TranscriptionTimeoutError",
    "TransportError",
    "Word",
    "__version__",
    "create_temporary_token",
    "create_temporary_token_async",
    "local_server",
    "settings",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'speechkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
