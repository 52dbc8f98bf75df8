"""Authentication for the local server: API keys and temporary streaming tokens.

* AssemblyAI (REST, LeMUR, realtime): the raw key in ``Authorization: <key>``, no ``Bearer``
  (``securitySchemes.ApiKey`` in the spec). A ``Bearer <key>`` header is refused, as a strict test
  double should catch that client bug.
* AIML: ``Authorization: Bearer <key>``.
* Realtime: the key in the header, or ``?token=`` from ``POST /v2/realtime/token`` (v2) or
  ``GET /v3/token`` (v3). v3 also takes the token in the ``Authorization`` header, like the
  official SDK sends it. v3 tokens are single-use ("each token has a one-time use restriction");
  v2 tokens may be reused until they expire. A v3 token caps its session at
  ``max_session_duration_seconds``.

When the server has no key configured, everything is open (tokens are still issued and checked).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from enum import Enum

__all__ = ["TokenCheck", "TokenInfo", "TokenStore", "bearer_key_ok", "raw_key_ok"]


def raw_key_ok(header: str | None, api_key: str | None) -> bool:
    """AssemblyAI scheme: ``Authorization`` equals the key exactly."""
    if api_key is None:
        return True
    if header is None:
        return False
    return hmac.compare_digest(header.strip().encode(), api_key.encode())


def bearer_key_ok(header: str | None, api_key: str | None) -> bool:
    """AIML scheme: ``Authorization: Bearer <key>``."""
    if api_key is None:
        return True
    if header is None:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), api_key.encode())


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An issued token. Times are ``time.time()`` seconds."""

    token: str
    version: str  # "v2" or "v3"
    expires_at: float
    max_session_seconds: float | None


class TokenCheck(Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class TokenStore:
    """Issued temporary tokens (thread-safe; expired tokens are pruned on each issue)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, TokenInfo] = {}
        self._used: set[str] = set()

    def issue(
        self, version: str, expires_in: float, *, max_session_seconds: float | None = None
    ) -> TokenInfo:
        now = time.time()
        info = TokenInfo(
            token=secrets.token_hex(32),
            version=version,
            expires_at=now + expires_in,
            max_session_seconds=max_session_seconds,
        )
        with self._lock:
            # Keep expired tokens for a grace period so they are reported as expired, not unknown.
            stale = [t for t, i in self._tokens.items() if i.expires_at < now - 3600]
            for t in stale:
                self._tokens.pop(t, None)
                self._used.discard(t)
            self._tokens[info.token] = info
        return info

    def redeem(self, version: str, token: str) -> tuple[TokenCheck, TokenInfo | None]:
        """Check ``token`` for a new ``version`` session; v3 tokens are consumed."""
        with self._lock:
            info = self._tokens.get(token)
            if info is None or info.version != version:
                return TokenCheck.UNKNOWN, None
            if time.time() > info.expires_at:
                return TokenCheck.EXPIRED, info
            if version == "v3":
                if token in self._used:
                    return TokenCheck.USED, info
                self._used.add(token)
            return TokenCheck.OK, info
