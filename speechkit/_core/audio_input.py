"""Turn what users pass as audio (a URL, a path, bytes, a file object) into a neutral source.

Checks happen here, before anything is sent, so bad input gets a clear
:class:`~speechkit.errors.InvalidInputError` instead of a failure deep inside the HTTP stack.
"""

from __future__ import annotations

import io
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from speechkit._core.http import Body, BytesBody, FileBody, StreamBody
from speechkit.errors import InvalidInputError

__all__ = ["AudioInput", "AudioSource", "LocalAudio", "RemoteAudio", "to_audio_source", "to_body"]

#: What users may pass as audio.
AudioInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

#: URL schemes sent to the service as they are (it fetches them); ``file`` is for local servers.
URL_SCHEMES = frozenset({"http", "https", "s3", "gs", "file"})


@dataclass(frozen=True, slots=True)
class RemoteAudio:
    """Audio the service fetches itself from ``url``."""

    url: str


@dataclass(frozen=True, slots=True)
class LocalAudio:
    """Audio that must be sent by the client (uploaded, or attached to a multipart create)."""

    body: Body
    filename: str
    content_type: str


AudioSource = RemoteAudio | LocalAudio


def _looks_like_url(value: str) -> bool:
    scheme = urlsplit(value).scheme.lower()
    return scheme in URL_SCHEMES and "://" in value


def _content_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def to_body(data: Any, *, argument: str = "audio") -> tuple[Body, str]:
    """Turn local data into a streamable body and a filename; raise ``InvalidInputError`` if not."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if not raw:
            raise InvalidInputError(f"{argument} is empty (0 bytes); pass the audio's bytes.")
        return BytesBody(raw), "audio"
    if isinstance(data, (str, os.PathLike)):
        path = Path(os.fspath(data)).expanduser()
        if not path.exists():
            raise InvalidInputError(
                f"{argument}: no such file {str(path)!r}. Pass an existing file path, "
                "or an http(s) URL the service can fetch."
            )
        if path.is_dir():
            raise InvalidInputError(
                f"{argument}: {str(path)!r} is a directory; pass one audio file "
                "(use transcribe_group() for many files)."
            )
        if path.stat().st_size == 0:
            raise InvalidInputError(f"{argument}: the file {str(path)!r} is empty.")
        return FileBody(path), path.name
    if isinstance(data, io.TextIOBase):
        raise InvalidInputError(
            f"{argument} is a text-mode file; open it in binary mode: open(path, 'rb')."
        )
    if hasattr(data, "read") and getattr(data, "closed", False) is True:
        shown = getattr(data, "name", type(data).__name__)
        raise InvalidInputError(
            f"{argument} is a closed file object ({shown!r}); pass it while it is open (inside "
            "its `with open(...)` block), or pass the path."
        )
    if hasattr(data, "read"):
        name = getattr(data, "name", None)
        filename = Path(name).name if isinstance(name, str) else "audio"
        return StreamBody(data), filename
    raise InvalidInputError(
        f"{argument} must be a URL, a file path, bytes or a binary file object; "
        f"got {type(data).__name__}."
    )


def to_audio_source(audio: Any) -> AudioSource:
    """Classify ``audio``: a URL string stays remote; anything else becomes local data."""
    if isinstance(audio, str):
        if not audio.strip():
            raise InvalidInputError("audio is an empty string; pass a URL or a file path.")
        if _looks_like_url(audio.strip()):
            return RemoteAudio(audio.strip())
    body, filename = to_body(audio)
    return LocalAudio(body, filename, _content_type(filename))
