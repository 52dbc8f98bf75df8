"""A durable record of a batch, so a rerun after any crash never pays for a job twice.

One SQLite file (the standard library's ``sqlite3``, in WAL mode, each change its own
transaction) records, per input and options, every step before the next one starts::

    claimed -> uploaded (upload URL) -> creating -> running (job id) -> done (the transcript)
            -> written (your outputs)                              \\-> failed (the error)

A rerun with the same ledger:

* returns **done** inputs from the ledger, with no request at all (re-export is free);
* waits for **running** jobs instead of creating them again;
* for an input left in **creating** (the crash fell between sending the create and recording
  its answer) searches the job list for the job made from its upload URL before creating one;
* creates the rest. **failed** inputs get a new job.

Several processes (or machines sharing the file system) may use one ledger at once: an input is
claimed in a transaction before its job is created, so two processes never create a job for the
same input; a process that finds an input claimed by another waits for its job instead. A claim
that made no job within ``lease`` seconds (its process died) is taken over.

Use it with ``Transcriber.transcribe_group(..., ledger="batch.db")``, ``speechkit transcribe
DIR`` (the ledger is ``<out>/.speechkit-ledger.db``) or :func:`speechkit.dask.transcribe_files`.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechkit.errors import InvalidInputError

if TYPE_CHECKING:
    from speechkit.config import TranscriptionConfig
    from speechkit.models import Transcript

__all__ = ["Entry", "Ledger", "audio_identity", "options_identity"]

#: Seconds a claim without a job protects an input from other processes.
DEFAULT_LEASE = 600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    audio TEXT NOT NULL,
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    upload_url TEXT,
    transcript_id TEXT,
    transcript TEXT,
    error TEXT,
    outputs TEXT,
    owner TEXT,
    claimed_at REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (audio, options)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def audio_identity(audio: Any) -> str:
    """A stable name for an input: a URL as is; a local file by its absolute path, size and
    modification time (a changed file is a new input); bytes by their SHA-256."""
    if isinstance(audio, str) and audio.startswith(("http://", "https://")):
        return audio
    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio).resolve()
        try:
            stat = path.stat()
        except OSError as err:
            raise InvalidInputError(f"cannot read the audio file {str(path)!r}: {err}") from err
        return f"file:{path}:{stat.st_size}:{stat.st_mtime_ns}"
    if isinstance(audio, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(audio)).hexdigest()
    name = getattr(audio, "name", None)
    if isinstance(name, str) and os.path.exists(name):
        return audio_identity(name)
    raise InvalidInputError(
        f"a ledger needs inputs it can recognize on a rerun (URLs, paths or bytes), got "
        f"{type(audio).__name__}; pass the file's path instead of an open file."
    )


def options_identity(service: str, config: TranscriptionConfig | None) -> str:
    """A hash of where and how jobs are made (the service and the options, never the key)."""
    params = config.to_request_params() if config is not None else {}
    for name in ("webhook_url", "webhook_auth_header_name", "webhook_auth_header_value"):
        params.pop(name, None)  # where to be told is not what is transcribed
    canonical = json.dumps([service, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Entry:
    """What the ledger knows about one input (see the module docstring for the states)."""

    audio: str
    state: str
    upload_url: str | None = None
    transcript_id: str | None = None
    transcript_json: str | None = None
    error: str | None = None
    outputs: tuple[str, ...] = ()
    owner: str | None = None
    claimed_at: float | None = None

    @property
    def transcript(self) -> Transcript | None:
        """The stored transcript of a done input (no request made)."""
        if self.transcript_json is None:
            return None
        from speechkit.models import Transcript

        return Transcript.model_validate_json(self.transcript_json)


class Ledger:
    """The SQLite ledger at ``path`` (created if absent). Pickles as its path.

    Args:
        path: The database file.
        lease: Seconds a claim that has made no job yet keeps other processes off an input.
    """

    def __init__(self, path: str | os.PathLike[str], *, lease: float = DEFAULT_LEASE) -> None:
        self.path = Path(path)
        self.lease = lease
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Ledger, (str(self.path),), {"lease": self.lease})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.lease = state["lease"]

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    # -- connections and transactions ------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        if db.in_transaction:  # left open by an interrupt that landed just after its BEGIN
            db.execute("ROLLBACK")
        try:
            # Inside the try: Ctrl-C is raised when a C call returns, so one that lands during
            # BEGIN must still roll back, or the write lock stays held and the next BEGIN (the
            # CLI's release at Ctrl-C) fails with "cannot start a transaction within a
            # transaction".
            db.execute("BEGIN IMMEDIATE")  # take the write lock now: no two claims interleave
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- reading -----------------------------------------------------------------------------------
    def get(self, audio: str, options: str) -> Entry | None:
        """The entry of one input, or ``None``."""
        row = (
            self._db()
            .execute(
                "SELECT audio, state, upload_url, transcript_id, transcript, error, outputs, "
                "owner, claimed_at FROM jobs WHERE audio = ? AND options = ?",
                (audio, options),
            )
            .fetchone()
        )
        return None if row is None else _entry(row)

    def entries(self, options: str | None = None) -> list[Entry]:
        """Every entry (of one set of options, when given)."""
        sql = (
            "SELECT audio, state, upload_url, transcript_id, transcript, error, outputs, owner, "
            "claimed_at FROM jobs"
        )
        rows = (
            self._db().execute(sql + " WHERE options = ?", (options,))
            if options is not None
            else self._db().execute(sql)
        )
        return [_entry(row) for row in rows]

    def counts(self, options: str | None = None) -> dict[str, int]:
        """How many inputs are in each state."""
        counts: dict[str, int] = {}
        for entry in self.entries(options):
            counts[entry.state] = counts.get(entry.state, 0) + 1
        return counts

    # -- the plan of a run -----------------------------------------------------------------------
    def claim(self, audios: Sequence[str], options: str) -> list[Entry | None]:
        """In one transaction: for each input, what an earlier run left, or ``None`` when this
        process has just claimed it (it must create its job).

        An entry claimed by another process within the lease is returned as is (state
        ``claimed``/``uploaded``/``creating``, another owner): wait for it, do not create it.
        """
        now = time.time()
        result: list[Entry | None] = []
        with self._transaction() as db:
            for audio in audios:
                row = db.execute(
                    "SELECT audio, state, upload_url, transcript_id, transcript, error, outputs, "
                    "owner, claimed_at FROM jobs WHERE audio = ? AND options = ?",
                    (audio, options),
                ).fetchone()
                entry = None if row is None else _entry(row)
                if entry is not None and not self._claimable(entry, now):
                    result.append(entry)
                    continue
                if entry is not None and entry.state in ("uploaded", "creating"):
                    # ours now; keep the upload URL (and the creating mark: search first)
                    db.execute(
                        "UPDATE jobs SET owner = ?, claimed_at = ?, updated_at = ? "
                        "WHERE audio = ? AND options = ?",
                        (self.owner, now, now, audio, options),
                    )
                    result.append(_replace(entry, owner=self.owner))
                    continue
                db.execute(
                    "INSERT INTO jobs (audio, options, state, owner, claimed_at, updated_at) "
                    "VALUES (?, ?, 'claimed', ?, ?, ?) ON CONFLICT (audio, options) DO UPDATE "
                    "SET state = 'claimed', upload_url = NULL, transcript_id = NULL, "
                    "transcript = NULL, error = NULL, outputs = NULL, owner = excluded.owner, "
                    "claimed_at = excluded.claimed_at, updated_at = excluded.updated_at",
                    (audio, options, self.owner, now, now),
                )
                result.append(None)
        return result

    def _claimable(self, entry: Entry, now: float) -> bool:
        if entry.state == "failed":
            return True  # a failed job is transcribed again
        if entry.state not in ("claimed", "uploaded", "creating"):
            return False  # running, done, written: nothing to create
        if entry.owner is None or entry.owner == self.owner or entry.claimed_at is None:
            return True
        if _dead(entry.owner):
            return True  # its process on this machine is gone (a crash, kill -9)
        return now - entry.claimed_at > self.lease

    # -- recording each step -----------------------------------------------------------------
    def _set(self, audio: str, options: str, **fields: Any) -> None:
        fields["updated_at"] = time.time()
        names = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction() as db:
            db.execute(
                f"UPDATE jobs SET {names} WHERE audio = ? AND options = ?",
                (*fields.values(), audio, options),
            )

    def uploaded(self, audio: str, options: str, upload_url: str) -> None:
        """Local audio is uploaded; its job is not created yet."""
        self._set(audio, options, state="uploaded", upload_url=upload_url)

    def creating(self, audio: str, options: str) -> None:
        """The create request is about to be sent (a crash now: search before creating)."""
        self._set(audio, options, state="creating")

    def created(self, audio: str, options: str, transcript_id: str) -> None:
        """The job exists: from now on, every run waits for it instead of creating one."""
        self._set(audio, options, state="running", transcript_id=transcript_id)

    def done(self, audio: str, options: str, transcript: Transcript) -> None:
        """The job completed: keep the transcript, so outputs can be written again for free."""
        self._set(
            audio,
            options,
            state="done",
            transcript_id=transcript.id,
            transcript=transcript.model_dump_json(by_alias=True),
            error=None,
        )

    def failed(self, audio: str, options: str, error: str, *, job_ended: bool) -> None:
        """The input failed. ``job_ended``: the job itself failed (a rerun makes a new one);
        otherwise the failure was on this side and a job, if any, stays recorded."""
        if job_ended:
            self._set(audio, options, state="failed", error=error)
        else:
            self._set(audio, options, error=error)

    def written(self, audio: str, options: str, outputs: Iterable[str | os.PathLike[str]]) -> None:
        """The outputs of a done input are written."""
        paths = json.dumps([str(p) for p in outputs])
        self._set(audio, options, state="written", outputs=paths)

    def release(self, audio: str, options: str, error: str | None = None) -> None:
        """Give up this process's claim on an input that has no job recorded (a failure before
        or during its create, an interrupt): the next run takes it at once. An input left in
        ``creating`` is searched for before it is created again."""
        self._set(audio, options, owner=None, error=error)  # claimed_at dates a lost create

    def release_all(self) -> None:
        """:meth:`release` every input this ledger object still claims (at the end of a run)."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET owner = NULL WHERE owner = ?", (self.owner,))

    def record(
        self,
        audio: str,
        options: str,
        state: str,
        *,
        upload_url: str | None = None,
        transcript_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Write an entry as is, unclaimed (importing an older record of a run)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO jobs (audio, options, state, upload_url, transcript_id, "
                "error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (audio, options, state, upload_url, transcript_id, error, time.time()),
            )

    def get_meta(self, name: str) -> str | None:
        """A value stored beside the entries (what run made this ledger, for example)."""
        row = self._db().execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def forget_unfinished(self) -> None:
        """Drop every entry not done (their jobs are gone, e.g. with an embedded server)."""
        with self._transaction() as db:
            db.execute("DELETE FROM jobs WHERE state NOT IN ('done', 'written')")

    def forget(self, audio: str, options: str) -> None:
        """Drop an input's entry (its job, if any, is not deleted on the server)."""
        with self._transaction() as db:
            db.execute("DELETE FROM jobs WHERE audio = ? AND options = ?", (audio, options))


def _entry(row: tuple[Any, ...]) -> Entry:
    audio, state, upload_url, tid, transcript, error, outputs, owner, claimed_at = row
    return Entry(
        audio=audio,
        state=state,
        upload_url=upload_url,
        transcript_id=tid,
        transcript_json=transcript,
        error=error,
        outputs=tuple(json.loads(outputs)) if outputs else (),
        owner=owner,
        claimed_at=claimed_at,
    )


def _dead(owner: str) -> bool:
    """Whether ``owner`` (``host:pid:token``) was a process on this machine that has ended."""
    if os.name != "posix":
        return False  # os.kill(pid, 0) would end the process on Windows
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _replace(entry: Entry, **changes: Any) -> Entry:
    import dataclasses

    return dataclasses.replace(entry, **changes)
