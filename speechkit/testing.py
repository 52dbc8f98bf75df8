"""pytest fixtures that run speechkit's local speech server for your own tests.

Enable them in a ``conftest.py``::

    pytest_plugins = ["speechkit.testing"]

Fixtures:

* ``speechkit_server`` (session-scoped): a :class:`~speechkit.server.runner.LocalServer` with the
  fixed engine (every recording is recognized as :data:`DEFAULT_FIXED_TEXT`) and no API key.
  Shared by the whole session, so leave its faults as you found them (``server.faults.clear()``).
* ``speechkit_server_factory`` (function-scoped): ``factory(engine="fixed", api_key=None,
  faults=None, **options)`` starts a fresh server with those settings; every server it started
  is closed when the test ends.

Unlike a server started by hand, fixture servers may fetch ``audio_url``/``webhook_url`` on
loopback and private addresses and read ``file://`` URLs under the temporary directory and the
current directory (tests serve audio and receive webhooks locally); pass
``allow_private_urls=False`` or ``allow_file_urls=False`` to the factory to test the defaults.

Both need the ``server`` extra (``pip install speechkit-stt[server]``). This module imports pytest,
so import it only from tests; nothing in speechkit imports it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from speechkit.server.runner import LocalServer

__all__ = [
    "DEFAULT_FIXED_TEXT",
    "fixture_server_options",
    "speechkit_server",
    "speechkit_server_factory",
]

DEFAULT_FIXED_TEXT = "the quick brown fox jumps over the lazy dog"


def _start(engine: Any = "fixed", **options: Any) -> LocalServer:
    from speechkit.server.runner import LocalServer

    if engine == "fixed" and "engine_options" not in options:
        options["engine_options"] = {"text": DEFAULT_FIXED_TEXT}
    options = {**fixture_server_options(), **options}
    return LocalServer(engine=engine, **options).start()


def fixture_server_options() -> dict[str, Any]:
    """The safety settings the fixtures' servers start with.

    Tests serve audio and receive webhooks on loopback and pass temporary files as ``file://``
    URLs, so these allow them explicitly (a server started by hand refuses them): private and
    loopback ``audio_url``/``webhook_url``, and ``file://`` URLs under the temporary directory and
    the current directory. Pass them to your own ``LocalServer(**fixture_server_options())``.
    """
    return {
        "allow_private_urls": True,
        "allow_file_urls": True,
        "file_url_roots": (tempfile.gettempdir(), os.getcwd()),
    }


@pytest.fixture(scope="session")
def speechkit_server() -> Iterator[LocalServer]:
    """A local speech server with the fixed engine, shared by the test session."""
    server = _start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def speechkit_server_factory() -> Iterator[Callable[..., LocalServer]]:
    """Start local servers with chosen engine, key and faults; all are closed after the test."""
    servers: list[LocalServer] = []

    def factory(
        engine: Any = "fixed",
        *,
        api_key: str | None = None,
        faults: Any = None,
        **options: Any,
    ) -> LocalServer:
        server = _start(engine, api_key=api_key, faults=faults, **options)
        servers.append(server)
        return server

    try:
        yield factory
    finally:
        for server in reversed(servers):
            server.close()
