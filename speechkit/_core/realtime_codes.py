"""Websocket close codes of the realtime protocols, and whether reconnecting may help.

Sources: v2 codes from S1 ``999f8f6:fern/pages/streaming-overview.mdx`` and SDK 0.64.0
``types.RealtimeErrorMapping``; v3 codes from HEAD ``common-errors.mdx`` (protocols.md, 2.1 and
2.2); standard codes from RFC 6455 section 7.4.1 and the IANA registry.

The rule: a close that says the *request* was wrong (auth, bad parameters, audio sent wrongly,
quota) is fatal, because sending the same thing again fails the same way; a close that says the
*server or network* failed is retryable. ``1000`` is decided by the session (normal after
``Terminate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CloseCodeInfo", "classify_close"]


@dataclass(frozen=True, slots=True)
class CloseCodeInfo:
    """What a close code means.

    Attributes:
        code: The close code (1006 when the connection broke without a close frame).
        meaning: The provider's or the RFC's explanation.
        retryable: Whether reconnecting may succeed.
        hint: What the user can do about it, when there is something to do.
    """

    code: int
    meaning: str
    retryable: bool
    hint: str = ""


_AUTH_HINT = (
    "Check the API key (or the temporary token: tokens expire and each one starts one session)."
)
_CHUNK_HINT = "Send audio in chunks of the allowed length (chunk_ms) and no faster than real time."

# RFC 6455 / IANA codes, shared by both protocols.
_COMMON: dict[int, CloseCodeInfo] = {
    c.code: c
    for c in (
        CloseCodeInfo(1001, "going away (server shutting down or restarting)", True),
        CloseCodeInfo(1002, "websocket protocol error", False),
        CloseCodeInfo(1003, "unsupported data", False),
        CloseCodeInfo(1005, "closed without a status code", True),
        CloseCodeInfo(1006, "connection lost without a close frame", True),
        CloseCodeInfo(1007, "invalid frame payload data", False),
        CloseCodeInfo(1008, "policy violation", False, _AUTH_HINT),
        CloseCodeInfo(1009, "message too big", False, _CHUNK_HINT),
        CloseCodeInfo(1010, "mandatory extension missing", False),
        CloseCodeInfo(1011, "internal server error", True),
        CloseCodeInfo(1012, "service restart", True),
        CloseCodeInfo(1013, "try again later (temporary server condition)", True),
        CloseCodeInfo(1014, "bad gateway", True),
        CloseCodeInfo(1015, "TLS handshake failure", False),
    )
}

_V2: dict[int, CloseCodeInfo] = {
    c.code: c
    for c in (
        CloseCodeInfo(4000, "sample rate must be a positive integer", False, "Check sample_rate."),
        CloseCodeInfo(4001, "not authorized", False, _AUTH_HINT),
        CloseCodeInfo(4002, "insufficient funds", False, "Add funds to the account."),
        CloseCodeInfo(4003, "this feature is paid-only", False, "Add a card to the account."),
        CloseCodeInfo(4004, "session not found", False),
        # A new connection starts a new session, so an expired one is replaced.
        CloseCodeInfo(4008, "session expired", True),
        CloseCodeInfo(4010, "session previously closed", False),
        CloseCodeInfo(4029, "client sent audio too fast", False, _CHUNK_HINT),
        CloseCodeInfo(4030, "session is handled by another websocket", False),
        CloseCodeInfo(4031, "session idle for too long", False, "Keep sending audio."),
        CloseCodeInfo(4032, "audio duration is too short", False, _CHUNK_HINT),
        CloseCodeInfo(4033, "audio duration is too long", False, _CHUNK_HINT),
        CloseCodeInfo(4034, "audio too small to transcode", False, _CHUNK_HINT),
        CloseCodeInfo(4100, "endpoint received invalid JSON", False),
        CloseCodeInfo(4101, "endpoint received a message with an invalid schema", False),
        CloseCodeInfo(4102, "too many concurrent streams for this account", False),
        CloseCodeInfo(
            4103, "session reconnected elsewhere; this websocket is no longer valid", False
        ),
        CloseCodeInfo(4104, "could not parse the word boost parameter", False, "Check word_boost."),
    )
}

_V3: dict[int, CloseCodeInfo] = {
    c.code: c
    for c in (
        CloseCodeInfo(
            1008,
            "unauthorized connection (missing or invalid key, insufficient balance, or account "
            "disabled)",
            False,
            _AUTH_HINT,
        ),
        CloseCodeInfo(3005, "session cancelled: server error", True),
        CloseCodeInfo(3006, "invalid message type, invalid JSON or invalid message", False),
        CloseCodeInfo(
            3007,
            "audio chunk outside 50-1000 ms, or audio faster than real time",
            False,
            _CHUNK_HINT,
        ),
        # The 3 h (or token) limit ends the server session; a new connection starts a new one.
        CloseCodeInfo(3008, "session expired (maximum session duration reached)", True),
        CloseCodeInfo(3009, "too many concurrent sessions", False, "End other sessions first."),
    )
}


def classify_close(protocol: Literal["v2", "v3"], code: int | None) -> CloseCodeInfo:
    """Look ``code`` up in the protocol's table, then the RFC table.

    ``None`` (no close frame) is treated as 1006. Unknown 3xxx and 4xxx codes are
    application-defined and treated as fatal, so an unknown rejection is not retried forever;
    unknown 1xxx/2xxx codes are treated as retryable transport trouble.
    """
    if code is None:
        code = 1006
    table = _V2 if protocol == "v2" else _V3
    # The v3 SDK keeps the v2 map too; a v3 server may still send a v2 code.
    for candidate in (table, _COMMON, _V2):
        if code in candidate:
            return candidate[code]
    if 3000 <= code <= 4999:
        return CloseCodeInfo(code, "closed by the server (application-defined code)", False)
    return CloseCodeInfo(code, "closed by the server", True)
