"""The result of ``transcribe_group`` / ``submit_group``: every outcome, in input order."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from speechkit.models import _html

if TYPE_CHECKING:
    from speechkit.models import Transcript

__all__ = ["GroupFailure", "TranscriptGroup"]


@dataclass(frozen=True, slots=True, repr=False)
class GroupFailure:
    """One input of a group that did not produce a transcript.

    Attributes:
        index: Position of the input in the list passed to the group call.
        audio: The input itself (URL, path, bytes or file object).
        error: Why it failed (a :class:`~speechkit.errors.SpeechkitError`; a failed job's
            :class:`~speechkit.errors.TranscriptionError` carries its transcript id).
    """

    index: int
    audio: Any
    error: BaseException

    def __repr__(self) -> str:
        # The input may be megabytes of audio or a pre-signed URL: describe it, never dump it.
        return _html.failure_repr(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # An open file object cannot cross a process boundary: it travels as its name.
        audio = self.audio
        try:
            pickle.dumps(audio)
        except Exception:
            audio = str(getattr(audio, "name", None) or type(audio).__name__)
        return (GroupFailure, (self.index, audio, self.error))


@dataclass(frozen=True, slots=True, repr=False)
class TranscriptGroup(Sequence["Transcript | GroupFailure"]):
    """Outcomes of a group call, one per input, in input order.

    Indexing and iterating give each input's :class:`~speechkit.models.Transcript`, or its
    :class:`GroupFailure`. :attr:`transcripts` and :attr:`failures` split them.
    """

    results: tuple[Transcript | GroupFailure, ...]

    @overload
    def __getitem__(self, index: int) -> Transcript | GroupFailure: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Transcript | GroupFailure]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[Transcript | GroupFailure]:
        return iter(self.results)

    @property
    def transcripts(self) -> list[Transcript]:
        """The transcripts that succeeded, in input order."""
        return [r for r in self.results if not isinstance(r, GroupFailure)]

    @property
    def failures(self) -> list[GroupFailure]:
        """The inputs that failed, in input order."""
        return [r for r in self.results if isinstance(r, GroupFailure)]

    @property
    def ok(self) -> bool:
        """True when every input produced a transcript."""
        return not self.failures

    def __repr__(self) -> str:
        # Counts only: ``TranscriptGroup(items=3, completed=2, failed=1)``.
        return _html.group_repr(self)

    def _repr_html_(self) -> str:
        """Notebook view: one row per input (input, status, transcript id, first words or error)."""
        return _html.group_html(self)
