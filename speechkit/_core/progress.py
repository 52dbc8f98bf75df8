"""Progress events for batch calls: what a ``progress=`` callback receives (sans-I/O).

Every blocking, futures and asyncio call that uploads or waits accepts ``progress=``, a callable
taking one :class:`TranscriptionProgress`. Events arrive in order, from the thread (or event loop)
doing the work; a callback should return quickly. Displays built on these events live in
:mod:`speechkit.progress`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

__all__ = [
    "ProgressArg",
    "ProgressCallback",
    "ProgressReporter",
    "ProgressStage",
    "TranscriptionProgress",
]

logger = logging.getLogger("speechkit")

ProgressStage: TypeAlias = Literal["upload", "submitted", "waiting", "done"]


@dataclass(frozen=True, slots=True)
class TranscriptionProgress:
    """One step of an upload, a job creation or a wait.

    Attributes:
        stage: ``"upload"`` while local audio is sent (``bytes_sent`` grows), ``"submitted"``
            once the job exists, ``"waiting"`` after each poll, ``"done"`` when the job has
            ended (``status`` is ``completed`` or ``error``).
        elapsed: Seconds since the call began.
        bytes_sent: Audio bytes sent so far (upload stage; the total afterwards).
        bytes_total: Size of the upload when known, else ``None``.
        transcript_id: The job's id once it exists.
        status: The job's latest status (``queued``, ``processing``, ``completed``, ``error``).
    """

    stage: ProgressStage
    elapsed: float
    bytes_sent: int = 0
    bytes_total: int | None = None
    transcript_id: str | None = None
    status: str | None = None


ProgressCallback: TypeAlias = Callable[[TranscriptionProgress], None]
"""A callable taking one :class:`TranscriptionProgress`."""

ProgressArg: TypeAlias = ProgressCallback | bool | None
"""What ``progress=`` accepts: a callback, ``True`` for :func:`speechkit.progress.auto`'s display
(a bar on a terminal, an updating output in Jupyter, nothing when piped), or ``None``/``False``."""


class ProgressReporter:
    """Turns one call's steps into :class:`TranscriptionProgress` events (sans-I/O).

    Flows call it as they go; it does nothing without a callback. A callback that raises is
    logged once and then ignored for the rest of the call: a broken display must not cost the
    caller the transcript (or a billed job).
    """

    __slots__ = (
        "_broken",
        "_bytes_sent",
        "_bytes_total",
        "_callback",
        "_monotonic",
        "_started",
        "_upload_reported",
    )

    def __init__(self, callback: ProgressCallback | None, monotonic: Callable[[], float]) -> None:
        if callback is not None and not callable(callback):
            from speechkit.errors import InvalidInputError

            raise InvalidInputError(
                "progress must be a callable taking a TranscriptionProgress (for example "
                f"speechkit.progress.auto()), True or None; got {type(callback).__name__}."
            )
        self._callback = callback
        self._monotonic = monotonic
        self._started = monotonic()
        self._bytes_sent = 0
        self._bytes_total: int | None = None
        self._broken = False
        self._upload_reported = False

    @property
    def enabled(self) -> bool:
        """Whether events are wanted (a callback was given and has not failed)."""
        return self._callback is not None and not self._broken

    def upload_started(self, total: int | None) -> None:
        self._bytes_total = total
        self._bytes_sent = 0
        self._upload_reported = False
        self.uploaded(0)

    def uploaded(self, sent: int) -> None:
        """Report ``sent`` bytes of the upload handed to the transport so far (repeats dropped)."""
        if sent == self._bytes_sent and self._upload_reported:
            return
        self._bytes_sent = sent
        self._upload_reported = True
        self._emit("upload")

    def job(self, stage: ProgressStage, transcript: Any) -> None:
        """Report a job step (``submitted``, ``waiting`` or ``done``) from its latest state."""
        status = getattr(transcript, "status", None)
        self._emit(
            stage,
            transcript_id=getattr(transcript, "id", None),
            status=None if status is None else str(getattr(status, "value", status)),
        )

    def _emit(
        self, stage: ProgressStage, *, transcript_id: str | None = None, status: str | None = None
    ) -> None:
        if self._callback is None or self._broken:
            return
        event = TranscriptionProgress(
            stage=stage,
            elapsed=max(self._monotonic() - self._started, 0.0),
            bytes_sent=self._bytes_sent,
            bytes_total=self._bytes_total,
            transcript_id=transcript_id,
            status=status,
        )
        try:
            self._callback(event)
        except Exception:
            self._broken = True
            logger.warning(
                "The progress callback raised; no more progress for this call", exc_info=True
            )
