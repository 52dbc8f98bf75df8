"""Provider adapters, and how a ``provider=`` argument becomes one.

``provider`` may be a name (``"assemblyai"``, ``"aiml"``, ``"local"``) or a
:class:`~speechkit.providers.base.Provider` instance with its own key and base URL.
"""

from __future__ import annotations

from typing import Any, Protocol

from speechkit._settings import resolve_api_key, resolve_base_url, settings
from speechkit.errors import InvalidInputError
from speechkit.providers.assemblyai import AssemblyAIProvider
from speechkit.providers.base import JobState, Provider

__all__ = ["AssemblyAIProvider", "JobState", "Provider", "resolve_provider"]

PROVIDER_NAMES = ("assemblyai", "aiml", "local")


class _Closeable(Protocol):
    def close(self) -> None: ...


def resolve_provider(
    provider: str | Provider,
    *,
    api_key: str | None,
    base_url: str | None,
    model: str | None,
    engine: str | None = None,
) -> tuple[Provider, _Closeable | None]:
    """Build the provider adapter; also return a local server it started (the caller owns it).

    ``provider="local"`` starts the embedded local server (``pip install "speechkit-stt[server]"``)
    on a free loopback port and talks to it over real HTTP, recognizing with ``engine``
    (default ``"offline"``: Whisper when ``speechkit-stt[whisper]`` is installed, else
    pocketsphinx; or ``"whisper"``, ``"pocketsphinx"``, ``"fixed"``). It is never chosen
    silently: a missing API key is an error, not a fallback.
    """
    if engine is not None and (
        not isinstance(provider, str) or provider.strip().lower() != "local"
    ):
        raise InvalidInputError(
            'engine= chooses the recognizer of provider="local"; other providers have none.'
        )
    if isinstance(provider, Provider):
        if api_key is not None or base_url is not None or model is not None:
            raise InvalidInputError(
                "api_key, base_url and model belong to the provider object when you pass one; "
                "set them there instead."
            )
        return provider, None
    if not isinstance(provider, str):
        raise InvalidInputError(
            f"provider must be one of {', '.join(PROVIDER_NAMES)} or a Provider instance, "
            f"got {type(provider).__name__}."
        )
    name = provider.strip().lower()
    if name == "assemblyai":
        if model is not None:
            raise InvalidInputError(
                "model= selects an AIML model; for AssemblyAI pass "
                "TranscriptionConfig(speech_models=[...]) instead."
            )
        key = resolve_api_key(api_key, default=settings.api_key)
        url = resolve_base_url(base_url, default=settings.base_url)
        return AssemblyAIProvider(key, url), None
    if name == "aiml":
        from speechkit.providers.aiml import AIMLProvider

        return AIMLProvider(api_key=api_key, base_url=base_url, model=model), None
    if name == "local":
        return _start_local(api_key=api_key, base_url=base_url, model=model, engine=engine)
    raise InvalidInputError(
        f"Unknown provider {provider!r}; choose one of {', '.join(PROVIDER_NAMES)} "
        "or pass a Provider instance."
    )


def _start_local(
    *, api_key: str | None, base_url: str | None, model: str | None, engine: str | None
) -> tuple[Provider, _Closeable | None]:
    if base_url is not None:
        raise InvalidInputError(
            'provider="local" starts its own server; to use a running one, pass '
            'provider="assemblyai" with base_url=server.base_url.'
        )
    try:
        from speechkit.server import LocalServer
    except ImportError as err:
        raise InvalidInputError(
            'provider="local" needs the local server: pip install "speechkit-stt[server]"'
        ) from err
    options: dict[str, Any] = {}
    if api_key is not None:
        options["api_key"] = api_key
    if engine is not None:
        from speechkit.engines import resolve_engine_name

        options["engine"] = resolve_engine_name(engine)
    server = LocalServer(**options)
    server.start()
    key = server.api_key or "local"
    if model is not None:
        from speechkit.providers.aiml import AIMLProvider

        aiml = AIMLProvider(api_key=key, base_url=server.base_url + "/v1", model=model)
        return aiml, server
    return AssemblyAIProvider(key, server.base_url), server
