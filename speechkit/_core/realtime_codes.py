"""Websocket close codes of the realtime protocols, and whether reconnecting may help.

Sources: v2 codes from S1 ``999f8f6:fern/pages/streaming-overview.mdx`` and SDK 0.64.0
``types.RealtimeErrorMapping``; v3 codes from HEAD ``common-errors.mdx`` (protocols.md, 2.1 and
2.2); standard codes from RFC 6455 section 7.4.1 and the IANA registry.

Whether a code is retryable is :func:`speechkit._core.retry.close_code_retryable`'s answer (the
one classifier); these tables hold what each code means and what to do about it. Its rule: a
close that says the *request* was wrong (auth, bad parameters, audio sent wrongly,
quota) is fatal, because sending the same thing again fails the same way; a close that says the
*server or network* failed is retryable. ``1000`` is decided by the session (normal after
``Terminate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from speechkit._core.retry import close_code_retryable

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


def _info(code: int, meaning: str, hint: str = "") -> CloseCodeInfo:
    return CloseCodeInfo(code, meaning, close_code_retryable(code), hint)


# RFC 6455 / IANA codes, shared by both protocols.
_COMMON: dict[int, CloseCodeInfo] = {
    c.code: c
    for c in (
        _info(1001, "going away (server shutting down or restarting)"),
        _info(1002, "websocket protocol error"),
        _info(1003, "unsupported data"),
        _info(1005, "closed without a status code"),
        _info(1006, "connection lost without a close frame"),
        _info(1007, "invalid frame payload data"),
        _info(1008, "policy violation", _AUTH_HINT),
        _info(1009, "message too big", _CHUNK_HINT),
        _info(1010, "mandatory extension missing"),
        _info(1011, "internal server error"),
        _info(1012, "service restart"),
        _info(1013, "try again later (temporary server condition)"),
        _info(1014, "bad gateway"),
        _info(1015, "TLS handshake failure"),
    )
}

_V2: dict[int, CloseCodeInfo] = {
    c.code: c
    for c in (
        _info(4000, "sample rate must be a positive integer", "Check sample_rate."),
        _info(4001, "not authorized", _AUTH_HINT),
        _info(4002, "insufficient funds", "Add funds to the account."),
        _info(4003, "this feature is paid-only", "Add a card to the account."),
        _info(4004, "session not found"),
        # A new connection starts a new session, so an expired one is replaced.
        _info(4008, "session expired"),
        _info(4010, "session previously closed"),
        _info(4029, "client sent audio too fast", _CHUNK_HINT),
        _info(4030, "session is handled by another websocket"),
        _info(4031, "session idle for too long", "Keep sending audio."),
        _info(4032, "audio duration is too short", _CHUNK_HINT),
        _info(4033, "audio duration is too long", _CHUNK_HINT),
        _info(4034, "audio too small to transcode", _CHUNK_HINT),
        _info(4100, "endpoint received invalid JSON"),
        _info(4101, "endpoint received a message with an invalid schema"),
        _info(4102, "too many concurrent streams for this account"),
        _info(4103, "session reconnected elsewhere; this websocket is no longer valid"),
        _info(4104, "could not parse the word boost parameter", "Check word_boost."),
    )
}

_V3: dict[int, CloseCodeInfo] = {
    c.code: c
    for c in (
        _info(
            1008,
            "unauthorized connection (missing or invalid key, insufficient balance, or account "
            "disabled)",
            _AUTH_HINT,
        ),
        _info(3005, "session cancelled: server error"),
        _info(3006, "invalid message type, invalid JSON or invalid message"),
        _info(
            3007,
            "audio chunk outside 50-1000 ms, or audio faster than real time",
            _CHUNK_HINT,
        ),
        # The 3 h (or token) limit ends the server session; a new connection starts a new one.
        _info(3008, "session expired (maximum session duration reached)"),
        _info(3009, "too many concurrent sessions", "End other sessions first."),
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
        return _info(code, "closed by the server (application-defined code)")
    return _info(code, "closed by the server")
