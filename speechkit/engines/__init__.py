"""Offline engines for the local server.

:func:`create_engine` builds one by name. Importing this package is cheap: pocketsphinx, numpy
and soundfile load only when an engine or :mod:`speechkit.engines.audio` needs them.
"""

from __future__ import annotations

from typing import Any

from speechkit.engines.base import (
    Engine,
    EngineError,
    RecognitionResult,
    RecognizedWord,
    Stream,
    StreamEvent,
)
from speechkit.errors import InvalidInputError

__all__ = [
    "ENGINE_NAMES",
    "Engine",
    "EngineError",
    "RecognitionResult",
    "RecognizedWord",
    "Stream",
    "StreamEvent",
    "create_engine",
]

#: Names :func:`create_engine` accepts ("offline" is an alias of "pocketsphinx").
ENGINE_NAMES = ("pocketsphinx", "offline", "fixed")


def create_engine(name: str, **options: Any) -> Engine:
    """Create an engine by name.

    Args:
        name: ``"pocketsphinx"`` (alias ``"offline"``): offline US English recognition in worker
            processes, see :class:`~speechkit.engines.pocketsphinx_engine.PocketsphinxEngine`.
            ``"fixed"``: returns configured text, see :class:`~speechkit.engines.fixed.FixedEngine`.
            Case and surrounding spaces are ignored.
        **options: Keyword arguments for the engine's constructor.

    Raises:
        InvalidInputError: Unknown name (the message lists the valid ones).
        TypeError: An option the engine does not take.
        EngineError: The engine's package is not installed (``pip install 'speechkit[server]'``).
    """
    key = name.strip().lower()
    if key in ("pocketsphinx", "offline"):
        from speechkit.engines.pocketsphinx_engine import PocketsphinxEngine

        return PocketsphinxEngine(**options)
    if key == "fixed":
        from speechkit.engines.fixed import FixedEngine

        return FixedEngine(**options)
    raise InvalidInputError(
        f"Unknown engine {name!r}; valid engines are: {', '.join(ENGINE_NAMES)}."
    )
