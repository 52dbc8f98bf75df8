"""Offline engines for the local server.

:func:`create_engine` builds one by name. Importing this package is cheap: pocketsphinx,
faster-whisper, numpy and soundfile load only when an engine or :mod:`speechkit.engines.audio`
needs them.
"""

from __future__ import annotations

from typing import Any

from speechkit.engines.base import (
    Engine,
    EngineError,
    ModelIntegrityError,
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
    "ModelIntegrityError",
    "RecognitionResult",
    "RecognizedWord",
    "Stream",
    "StreamEvent",
    "create_engine",
    "resolve_engine_name",
]

#: Names :func:`create_engine` accepts ("offline" picks "whisper" when it is installed, else
#: "pocketsphinx").
ENGINE_NAMES = ("whisper", "pocketsphinx", "offline", "fixed")


def resolve_engine_name(name: str) -> str:
    """The engine a name stands for: ``"offline"`` is ``"whisper"`` when faster-whisper and its
    default model are installed (``pip install 'speechkit-stt[whisper]'``), else ``"pocketsphinx"``.

    Raises:
        InvalidInputError: Unknown name (the message lists the valid ones).
    """
    key = name.strip().lower()
    if key == "offline":
        from speechkit.engines.whisper_engine import whisper_available

        return "whisper" if whisper_available() else "pocketsphinx"
    if key not in ENGINE_NAMES:
        raise InvalidInputError(
            f"Unknown engine {name!r}; valid engines are: {', '.join(ENGINE_NAMES)}."
        )
    return key


def create_engine(name: str, **options: Any) -> Engine:
    """Create an engine by name.

    Args:
        name: ``"whisper"``: accurate offline recognition with Whisper ``tiny.en``, see
            :class:`~speechkit.engines.whisper_engine.WhisperEngine`. ``"pocketsphinx"``: small,
            fast offline US English recognition, see
            :class:`~speechkit.engines.pocketsphinx_engine.PocketsphinxEngine`. ``"offline"``:
            Whisper when it is installed, else pocketsphinx (:func:`resolve_engine_name`).
            ``"fixed"``: returns configured text, see :class:`~speechkit.engines.fixed.FixedEngine`.
            Case and surrounding spaces are ignored.
        **options: Keyword arguments for the engine's constructor.

    Raises:
        InvalidInputError: Unknown name (the message lists the valid ones).
        TypeError: An option the engine does not take.
        EngineError: The engine's package is not installed (``pip install 'speechkit-stt[server]'``,
            ``pip install 'speechkit-stt[whisper]'``).
        ModelIntegrityError: The Whisper default model's file differs from the published one.
    """
    key = resolve_engine_name(name)
    if key == "whisper":
        from speechkit.engines.whisper_engine import WhisperEngine

        return WhisperEngine(**options)
    if key == "pocketsphinx":
        from speechkit.engines.pocketsphinx_engine import PocketsphinxEngine

        return PocketsphinxEngine(**options)
    from speechkit.engines.fixed import FixedEngine

    return FixedEngine(**options)
