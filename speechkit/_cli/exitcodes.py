"""Exit codes of the ``speechkit`` command, and the one place errors are mapped onto them."""

from __future__ import annotations

from speechkit.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    NotSupportedError,
    PermissionDeniedError,
    RealtimeError,
    ServerError,
    TransportError,
)

__all__ = [
    "AUTH",
    "EXIT_CODES",
    "FAILED",
    "INTERRUPTED",
    "NETWORK",
    "OK",
    "USAGE",
    "CLIError",
    "exit_code_for",
    "one_line",
]

OK = 0
FAILED = 1
USAGE = 2
AUTH = 3
NETWORK = 4
INTERRUPTED = 130

#: The documented table (``speechkit --help`` and docs/cli.md show the same).
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (OK, "success"),
    (FAILED, "a transcription failed, or the service refused the request (e.g. unknown id)"),
    (USAGE, "bad usage or input: unknown option, missing file, invalid option value"),
    (AUTH, "authentication or configuration: no API key, key rejected, missing extra"),
    (NETWORK, "network: server unreachable, timed out, or failing (5xx) after retries"),
    (INTERRUPTED, "interrupted (Ctrl-C); a folder run can be resumed by running it again"),
)

# Realtime close codes and handshake statuses that mean "the key or token was refused".
_REALTIME_AUTH_CODES = frozenset({401, 403, 1008, 4001})


class CLIError(Exception):
    """A problem the command itself found; printed as one line, exits with ``code``."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(error: BaseException) -> int:
    """The exit code for an error that ended a command."""
    if isinstance(error, CLIError):
        return error.code
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(error, InvalidInputError | NotSupportedError):
        return USAGE
    if isinstance(error, ConfigurationError | AuthenticationError | PermissionDeniedError):
        return AUTH
    if isinstance(error, TransportError | ServerError):
        return NETWORK
    if isinstance(error, RealtimeError):
        if error.code in _REALTIME_AUTH_CODES:
            return AUTH
        return NETWORK if error.retryable else FAILED
    return FAILED


def one_line(error: BaseException) -> str:
    """The error's message on one line (speechkit messages name the problem and the fix)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
