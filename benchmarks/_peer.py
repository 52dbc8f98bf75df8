"""Drive the peer, AssemblyAI's official ``assemblyai`` package, against the local server.

The peer is pointed at the server through its settings: ``aai.settings.base_url`` is the
server's base URL (the package adds ``/v2/...`` itself) and ``aai.settings.api_key`` any
non-empty string (the package refuses to run without one; the benchmark server has no key).
Its polling interval is left at the package default (``aai.settings.polling_interval``, 3 s,
fixed, no backoff) unless a scenario says otherwise, so the peer runs as its users run it.

What the peer offers, for choosing like-with-like modes:

* ``aai.Transcriber(max_workers=N)``: blocking ``transcribe``; ``transcribe_async`` returns a
  ``concurrent.futures.Future`` from the transcriber's pool of ``N`` threads (default: CPU count
  minus one); ``transcribe_group`` submits (uploads and creates) on a fixed pool of 8 threads,
  then waits for every job at once, one polling thread per job, with no limit.
* ``aai.AsyncTranscriber()``: asyncio; ``transcribe_group(data, max_concurrency=N)`` (default 8)
  runs at most ``N`` whole transcriptions (upload, create, poll) at a time.
* No HTTP retries: any 429, 503, 5xx or dropped connection surfaces to the caller.

Import this module only in a process that measures the peer: it imports ``assemblyai``.
"""

from __future__ import annotations

from typing import Any

import assemblyai as aai

__all__ = [
    "API_KEY",
    "async_transcriber",
    "configure",
    "peer_version",
    "settings_summary",
    "sync_transcriber",
]

#: The key the peer sends; the benchmark server accepts any key (it runs without one).
API_KEY = "speechkit-bench"


def configure(base_url: str, *, polling_interval: float | None = None) -> None:
    """Point the peer's global settings (``aai.settings``) at the local server.

    Args:
        base_url: The server's base URL, e.g. ``http://127.0.0.1:PORT`` (no ``/v2``).
        polling_interval: Seconds between status polls; ``None`` keeps the default (3 s).
    """
    aai.settings.base_url = base_url
    aai.settings.api_key = API_KEY
    if polling_interval is not None:
        aai.settings.polling_interval = polling_interval


def sync_transcriber(base_url: str, *, max_workers: int | None = None) -> Any:
    """A blocking ``aai.Transcriber`` on the server (its own client, not the global default).

    Args:
        base_url: The server's base URL.
        max_workers: Threads behind ``transcribe_async`` futures (``None``: the package default).
    """
    configure(base_url)
    client = aai.Client(settings=aai.settings)
    return aai.Transcriber(client=client, max_workers=max_workers)


def async_transcriber(base_url: str) -> Any:
    """An asyncio ``aai.AsyncTranscriber`` on the server; close it with ``await t.aclose()``."""
    configure(base_url)
    return aai.AsyncTranscriber(client=aai.AsyncClient(settings=aai.settings))


def peer_version() -> str:
    """The installed ``assemblyai`` version."""
    return str(aai.__version__)


def settings_summary() -> str:
    """The peer settings in force, in words, for RESULTS.md."""
    return (
        f"assemblyai {peer_version()}: base_url = the local server, polling_interval = "
        f"{aai.settings.polling_interval} s (package default), http_timeout = "
        f"{aai.settings.http_timeout} s, no retries (the package has none)"
    )
