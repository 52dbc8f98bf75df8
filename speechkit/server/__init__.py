"""speechkit's embedded local speech server (the ``server`` extra).

It speaks AssemblyAI REST v2 + LeMUR, AssemblyAI realtime v2 and Universal Streaming v3, and the
AIML API speech-to-text endpoints on one loopback port, backed by an offline engine, with fault
injection for testing clients. Start it with :func:`local_server` (a context manager running
uvicorn in a background thread), from pytest with :mod:`speechkit.testing`, or from the shell
with ``speechkit serve``.

Importing this package is cheap: Starlette and uvicorn load on first use of a name below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from speechkit.server.app import create_app
    from speechkit.server.faults import EndpointFault, FaultConfig
    from speechkit.server.runner import LocalServer, PortInUseError, local_server
    from speechkit.server.state import ServerConfig

__all__ = [
    "EndpointFault",
    "FaultConfig",
    "LocalServer",
    "PortInUseError",
    "ServerConfig",
    "create_app",
    "local_server",
]

_LAZY = {
    "create_app": "speechkit.server.app",
    "EndpointFault": "speechkit.server.faults",
    "FaultConfig": "speechkit.server.faults",
    "LocalServer": "speechkit.server.runner",
    "PortInUseError": "speechkit.server.runner",
    "local_server": "speechkit.server.runner",
    "ServerConfig": "speechkit.server.state",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'speechkit.server' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
