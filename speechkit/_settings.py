"""Module-level defaults for scripts and notebooks, and how a client resolves its configuration.

Resolution order (design.md, principle 6): an explicit argument wins, then the environment variable,
then the module-level default in :data:`settings`. The key is never part of any ``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from speechkit.errors import ConfigurationError, InvalidInputError

__all__ = ["ASSEMBLYAI_BASE_URL", "ASSEMBLYAI_EU_BASE_URL", "Settings", "settings"]

#: AssemblyAI's REST host (protocols.md, section 1.1).
ASSEMBLYAI_BASE_URL = "https://api.assemblyai.com"
#: AssemblyAI's EU REST host.
ASSEMBLYAI_EU_BASE_URL = "https://api.eu.assemblyai.com"

API_KEY_ENV = "ASSEMBLYAI_API_KEY"
BASE_URL_ENV = "ASSEMBLYAI_BASE_URL"


@dataclass
class Settings:
    """Defaults used by clients created without explicit arguments.

    Change them once at the top of a script or notebook::

        import speechkit
        speechkit.settings.api_key = "..."

    Attributes:
        api_key: AssemblyAI API key (the ``ASSEMBLYAI_API_KEY`` environment variable wins over it).
        base_url: REST base URL (``ASSEMBLYAI_BASE_URL`` wins over it); the EU host is
            :data:`ASSEMBLYAI_EU_BASE_URL`.
        http_timeout: Seconds to wait for connect, each read and each write of one request, and
            for its whole answer once the request was sent (a total deadline).
        max_retries: How many times a failed request is retried when retrying is safe.
        polling_interval: Seconds before the first status poll of a job.
        polling_max_interval: The cap the poll interval grows to (by ``polling_backoff`` each poll).
        polling_backoff: Factor the poll interval grows by after each poll that finds the job
            still running.
    """

    api_key: str | None = field(default=None, repr=False)
    base_url: str = ASSEMBLYAI_BASE_URL
    http_timeout: float = 30.0
    max_retries: int = 4
    polling_interval: float = 0.2
    polling_max_interval: float = 3.0
    polling_backoff: float = 1.2

    def __setattr__(self, name: str, value: object) -> None:
        # Checked when set, so a typo in a notebook fails on its own line, not at the first call.
        check = _CHECKS.get(name)
        if check is not None:
            check(f"speechkit.settings.{name}", value)
        super().__setattr__(name, value)


def check_string(name: str, value: object, *, optional: bool = True) -> None:
    """Raise :class:`InvalidInputError` unless ``value`` is a string (or ``None``)."""
    if (value is None and optional) or isinstance(value, str):
        return
    short = name.rsplit(".", 1)[-1]
    example = {"api_key": 'api_key=os.environ["ASSEMBLYAI_API_KEY"]'}.get(
        short, f'{short}="https://..."' if "url" in short else f'{short}="..."'
    )
    raise InvalidInputError(
        f"{name} must be a string, got {type(value).__name__}; pass it as text, e.g. {example}."
    )


def check_positive(name: str, value: object) -> None:
    """Raise :class:`InvalidInputError` unless ``value`` is a number above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(
            f"{name} must be a number, got {type(value).__name__} ({value!r}); "
            f"e.g. {name.rsplit('.', 1)[-1]}=30."
        )
    if value <= 0:
        raise InvalidInputError(f"{name} must be > 0, got {value}.")


def check_count(name: str, value: object) -> None:
    """Raise :class:`InvalidInputError` unless ``value`` is a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(
            f"{name} must be a whole number >= 0, got {type(value).__name__} ({value!r})."
        )
    if value < 0:
        raise InvalidInputError(f"{name} must be >= 0, got {value}.")


_CHECKS: dict[str, Callable[[str, object], None]] = {
    "api_key": check_string,
    "base_url": lambda name, value: check_string(name, value, optional=False),
    "http_timeout": check_positive,
    "max_retries": check_count,
    "polling_interval": check_positive,
    "polling_max_interval": check_positive,
    "polling_backoff": check_positive,
}


#: The module-level defaults (``speechkit.settings``).
settings = Settings()


def resolve_api_key(
    explicit: str | None, *, env_var: str = API_KEY_ENV, default: str | None
) -> str:
    """Return the key to use, or raise a :class:`ConfigurationError` that says how to give one."""
    for candidate in (explicit, os.environ.get(env_var), default):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    raise ConfigurationError(
        "No API key was given. Pass api_key=... to the client, or set the "
        f"{env_var} environment variable (or speechkit.settings.api_key in a notebook). "
        'To run offline without a key, use provider="local".'
    )


def resolve_base_url(explicit: str | None, *, env_var: str = BASE_URL_ENV, default: str) -> str:
    """Return the base URL to use (argument, then environment, then default), validated."""
    for candidate in (explicit, os.environ.get(env_var), default):
        if candidate:
            url = candidate.strip().rstrip("/")
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(
                    f"base_url must start with http:// or https://, got {candidate!r}."
                )
            return url
    raise ConfigurationError("No base URL is configured.")
