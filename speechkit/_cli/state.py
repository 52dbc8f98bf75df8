"""The state file that makes a folder run resumable.

``<out>/.speechkit-run.json`` records, per input file (keyed by its path relative to the folder,
valid while its size and modification time are unchanged):

1. ``upload_url`` right after the upload, before the job is created;
2. ``status: "creating"`` just before the create request is sent;
3. ``transcript_id`` (``status: "submitted"``) right after the job exists;
4. ``status: "done"`` once its output file is written (or ``"failed"`` with the error).

Every change is written at once, atomically (a temporary file and ``os.replace``), so a crash or
``kill -9`` leaves the previous or the new state, never a torn file. A rerun skips done files,
waits for recorded jobs instead of creating them again, and for an entry that has an upload URL
but no id (the crash fell between sending the create request and recording its answer) looks
for a job with that ``audio_url`` before creating one. The file never holds the API key or the
options themselves: a hash of the options tells a rerun whether they changed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from speechkit._cli.exitcodes import USAGE, CLIError
from speechkit._cli.output import write_atomic

__all__ = ["STATE_NAME", "RunState", "options_fingerprint"]

STATE_NAME = ".speechkit-run.json"
VERSION = 1

#: Service label of the embedded server: its jobs end with the command that started it.
LOCAL_SERVICE = "local"


def options_fingerprint(options: dict[str, Any]) -> str:
    """A hash of the job options (so the state file can tell a changed run without storing
    secrets such as a webhook header value)."""
    canonical = json.dumps(options, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class RunState:
    """The per-file records of one folder run; thread-safe; saved after every change."""

    def __init__(self, path: Path, service: str, options: str) -> None:
        self.path = path
        self.service = service
        self.options = options
        self._files: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, *, service: str, options: str, restart: bool) -> RunState:
        """Read the state at ``path`` (a new one if absent or ``restart``).

        Raises:
            CLIError: The file is unreadable, or belongs to a run against another service or
                with other options (the message says how to resume it or start over).
        """
        state = cls(path, service, options)
        if restart or not path.exists():
            return state
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = data["files"]
            if data.get("version") != VERSION or not isinstance(files, dict):
                raise ValueError(f"unknown layout (version {data.get('version')!r})")
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CLIError(
                f"cannot read the run state {str(path)!r} ({err}); delete it or pass --restart "
                "(jobs it recorded are not cancelled)",
                USAGE,
            ) from err
        if data.get("service") != service:
            raise CLIError(
                f"{str(path)!r} records a run against {data.get('service')!r}, not {service!r}; "
                "rerun with the same --provider/--base-url to resume it, or pass --restart",
                USAGE,
            )
        if data.get("options") != options:
            raise CLIError(
                f"{str(path)!r} records a run with other transcription options; rerun with the "
                "same options to resume it, or pass --restart to start over",
                USAGE,
            )
        for key, entry in files.items():
            if service == LOCAL_SERVICE and entry.get("status") != "done":
                continue  # the embedded server that ran those jobs is gone
            if isinstance(entry, dict):
                state._files[key] = dict(entry)
        return state

    def get(self, key: str, size: int, mtime_ns: int) -> dict[str, Any] | None:
        """A copy of the record of ``key``, or ``None`` (also when the file has changed)."""
        with self._lock:
            entry = self._files.get(key)
            if entry is None:
                return None
            if entry.get("size") != size or entry.get("mtime_ns") != mtime_ns:
                del self._files[key]
                return None
            return dict(entry)

    def entries(self) -> dict[str, dict[str, Any]]:
        """A copy of every record."""
        with self._lock:
            return {key: dict(entry) for key, entry in self._files.items()}

    def update(self, key: str, size: int, mtime_ns: int, **fields: Any) -> None:
        """Change the record of ``key`` (``None`` removes a field) and save at once."""
        with self._lock:
            entry = self._files.setdefault(key, {})
            entry["size"] = size
            entry["mtime_ns"] = mtime_ns
            for name, value in fields.items():
                if value is None:
                    entry.pop(name, None)
                else:
                    entry[name] = value
            self._save()

    def reset(self, key: str) -> None:
        """Forget ``key`` (to start its transcription over) and save."""
        with self._lock:
            if self._files.pop(key, None) is not None:
                self._save()

    def save(self) -> None:
        """Write the state now."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        data = {
            "version": VERSION,
            "service": self.service,
            "options": self.options,
            "files": self._files,
        }
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True), durable=True)
