"""Hiding secrets (API keys, tokens, webhook auth values) in text, JSON and headers. Pure.

A secret is replaced only where it stands as a whole token: with the key ``local``, the word
``localhost`` is left alone, while ``Authorization: local`` becomes ``Authorization: ***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "SENSITIVE_HEADERS",
    "SENSITIVE_JSON_FIELDS",
    "SENSITIVE_QUERY_PARAMS",
    "Redactor",
]

MASK = "***"

#: Header names whose values are never shown (lower-case).
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
#: Request JSON fields whose values are secrets.
SENSITIVE_JSON_FIELDS = frozenset({"webhook_auth_header_value", "token", "api_key"})

# A secret is matched only where no letter, digit, "_" or "-" touches it on either side.
_WORD_CHARS = r"A-Za-z0-9_\-"
# Characters of a key or token written after "Authorization:" or "token=".
_TOKEN_CHARS = r"A-Za-z0-9_\-.~+/="
# ``Authorization: <value>`` (optionally ``Bearer``), and ``token=<value>`` in URLs, in any text.
_HEADER_VALUE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|api-key)(\"?\s*[:=]\s*\"?)((?:bearer\s+)?)"
    rf"([{_TOKEN_CHARS}]+)"
)
_TOKEN_PARAM = re.compile(rf"(?i)([?&]token=)([{_TOKEN_CHARS}%]+)")
#: Query parameters whose values are credentials (lower-case): keys, tokens, signed-URL signatures.
SENSITIVE_QUERY_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "api_key",
        "apikey",
        "key",
        "auth",
        "authorization",
        "password",
        "secret",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-credential",
        "x-goog-signature",
        "x-goog-credential",
    }
)


class Redactor:
    """Replaces given secrets, and values of auth headers/``token=`` parameters, with ``***``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values = sorted({s for s in secrets if s and len(s.strip()) >= 3}, key=len, reverse=True)
        self._pattern = (
            re.compile(
                rf"(?<![{_WORD_CHARS}])(?:{'|'.join(re.escape(v) for v in values)})"
                rf"(?![{_WORD_CHARS}])"
            )
            if values
            else None
        )

    def text(self, text: str) -> str:
        """``text`` with every secret masked."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _HEADER_VALUE.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{MASK}", text)
        return _TOKEN_PARAM.sub(lambda m: f"{m[1]}{MASK}", text)

    def url(self, url: str) -> str:
        """``url`` safe to show: a password in it, the values of credential query parameters
        (:data:`SENSITIVE_QUERY_PARAMS`) and every given secret masked."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.text(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(name.lower() in SENSITIVE_QUERY_PARAMS for name, _ in pairs):
                query = urlencode(
                    [(n, MASK if n.lower() in SENSITIVE_QUERY_PARAMS else v) for n, v in pairs],
                    safe="*",
                )
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def json(self, value: Any) -> Any:
        """A copy of a decoded JSON value with secrets masked in every string, and the values
        of :data:`SENSITIVE_JSON_FIELDS` and header-like keys replaced whole."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: (
                    MASK
                    if isinstance(k, str)
                    and (k.lower() in SENSITIVE_JSON_FIELDS or k.lower() in SENSITIVE_HEADERS)
                    and v is not None
                    else self.json(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """A copy of ``headers`` with sensitive ones masked and secrets masked in the rest."""
        return {
            k: MASK if k.lower() in SENSITIVE_HEADERS else self.text(v) for k, v in headers.items()
        }
