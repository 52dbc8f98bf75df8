"""AssemblyAI REST v2 responses other than the transcript itself, plus two small request models.

Times are **integer milliseconds** from the beginning of the audio unless a field says otherwise;
``audio_duration`` is in **seconds**. Like every response model these are lenient: unknown
fields are kept and enum fields accept unknown strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from speechkit.models import _html
from speechkit.models._base import SpeechkitModel
from speechkit.models._request import RequestModel
from speechkit.models.enums import OpenEnum, RedactedAudioStatus, TranscriptStatus
from speechkit.models.transcript import Word

__all__ = [
    "CreateRealtimeTemporaryTokenParams",
    "ErrorBody",
    "ListTranscriptParams",
    "PageDetails",
    "Paragraph",
    "ParagraphsResponse",
    "RealtimeTemporaryTokenResponse",
    "RedactedAudioResponse",
    "Sentence",
    "SentencesResponse",
    "TranscriptList",
    "TranscriptListItem",
    "TranscriptReadyNotification",
    "UploadedFile",
    "WordSearchMatch",
    "WordSearchResponse",
]


# --- listing -----------------------------------------------------------------------------------


class TranscriptListItem(SpeechkitModel):
    """One row of ``GET /v2/transcript``: the job, without its result."""

    id: str
    status: OpenEnum[TranscriptStatus] | None = None
    resource_url: str | None = None
    """URL that fetches the full transcript."""
    audio_url: str | None = None
    created: str | None = None
    """Creation time as the server sent it: ISO 8601 without a timezone, e.g.
    ``"2024-03-11T21:29:59.936851"``."""
    completed: str | None = None
    """Completion time, same format; ``None`` while running or after an error."""
    error: str | None = None


class PageDetails(SpeechkitModel):
    """Paging for transcript lists. Pages run newest to oldest."""

    limit: int | None = None
    result_count: int | None = None
    current_url: str | None = None
    prev_url: str | None = None
    """Page of **older** transcripts, or ``None`` on the last page."""
    next_url: str | None = None
    """Page of **newer** transcripts, or ``None`` on the first page."""


class TranscriptList(SpeechkitModel):
    """A page of ``GET /v2/transcript``."""

    page_details: PageDetails | None = None
    transcripts: list[TranscriptListItem] = Field(default_factory=list)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # How many jobs and in which states, rather than every row.
        yield "transcripts", len(self.transcripts)
        yield from _html.status_counts(item.status for item in self.transcripts).items()

    def _repr_html_(self) -> str:
        """Notebook view: one row per job (id, status, times, error) and the paging links."""
        return _html.transcript_list_html(self)


class ListTranscriptParams(RequestModel):
    """Query parameters of ``GET /v2/transcript``. Raises ``InvalidInputError`` when invalid."""

    limit: int | None = Field(default=None, ge=1, le=200)
    """Page size, 1..200 (server default 10)."""
    status: OpenEnum[TranscriptStatus] | None = None
    created_on: str | None = None
    """A date, ``YYYY-MM-DD``."""
    before_id: str | None = None
    after_id: str | None = None
    throttled_only: bool | None = None
    """Deprecated; overrides ``status``."""

    def to_request_params(self) -> dict[str, Any]:
        """The query parameters to send: unset ones omitted, enums as their strings."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- sentences, paragraphs, word search --------------------------------------------------------


class Sentence(SpeechkitModel):
    """One sentence of ``GET /v2/transcript/{id}/sentences``."""

    text: str
    start: int
    """Start, in milliseconds from the beginning of the audio."""
    end: int
    """End, in milliseconds from the beginning of the audio."""
    confidence: float | None = None
    words: list[Word] = Field(default_factory=list)
    speaker: str | None = None
    channel: str | None = None

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        return _html.timed_text_repr_args(self)


class SentencesResponse(SpeechkitModel):
    """The transcript split into sentences."""

    id: str | None = None
    """The transcript id."""
    confidence: float | None = None
    audio_duration: float | None = None
    """Duration of the media in seconds."""
    sentences: list[Sentence] = Field(default_factory=list)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        yield "id", self.id
        yield "sentences", len(self.sentences)
        if self.audio_duration is not None:
            yield (
                "duration",
                _html.ReprValue(_html.format_duration(self.audio_duration, clock=False)),
            )

    def _repr_html_(self) -> str:
        """Notebook view: one row per sentence with its times (bounded)."""
        return _html.sentences_html(self)


class Paragraph(SpeechkitModel):
    """One paragraph of ``GET /v2/transcript/{id}/paragraphs``."""

    text: str
    start: int
    """Start, in milliseconds from the beginning of the audio."""
    end: int
    """End, in milliseconds from the beginning of the audio."""
    confidence: float | None = None
    words: list[Word] = Field(default_factory=list)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        return _html.timed_text_repr_args(self)


class ParagraphsResponse(SpeechkitModel):
    """The transcript split into paragraphs."""

    id: str | None = None
    """The transcript id."""
    confidence: float | None = None
    audio_duration: float | None = None
    """Duration of the media in seconds."""
    paragraphs: list[Paragraph] = Field(default_factory=list)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        yield "id", self.id
        yield "paragraphs", len(self.paragraphs)
        if self.audio_duration is not None:
            yield (
                "duration",
                _html.ReprValue(_html.format_duration(self.audio_duration, clock=False)),
            )

    def _repr_html_(self) -> str:
        """Notebook view: one row per paragraph with its times (bounded)."""
        return _html.paragraphs_html(self)


class WordSearchMatch(SpeechkitModel):
    """Where one searched word occurs."""

    text: str
    count: int | None = None
    """Occurrences of the word in the transcript."""
    timestamps: list[list[int]] = Field(default_factory=list)
    """``[start, end]`` pairs, in milliseconds from the beginning of the audio."""
    indexes: list[int] = Field(default_factory=list)
    """Positions in the transcript's ``words`` list."""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # A common word can occur thousands of times: count the positions, do not list them.
        yield "text", self.text
        yield "count", self.count
        yield "timestamps", len(self.timestamps)


class WordSearchResponse(SpeechkitModel):
    """Result of ``GET /v2/transcript/{id}/word-search``."""

    id: str | None = None
    """The transcript id."""
    total_count: int | None = None
    """Sum of the matches' counts."""
    matches: list[WordSearchMatch] = Field(default_factory=list)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        yield "id", self.id
        yield "total_count", self.total_count
        yield "matches", {match.text: match.count for match in self.matches}

    def _repr_html_(self) -> str:
        """Notebook view: each word, its count and the first times it occurs."""
        return _html.word_search_html(self)


# --- files, notifications, errors, tokens ------------------------------------------------------


class UploadedFile(SpeechkitModel):
    """Result of ``POST /v2/upload``."""

    upload_url: str
    """URL to pass as ``audio_url``; only AssemblyAI's servers can read it."""


class RedactedAudioResponse(SpeechkitModel):
    """Result of ``GET /v2/transcript/{id}/redacted-audio`` (also the redacted-audio webhook).

    The server answers 202 while the file is not ready and 400 once it expired (after 24 h).
    """

    status: OpenEnum[RedactedAudioStatus] | None = None
    redacted_audio_url: str | None = None


class TranscriptReadyNotification(SpeechkitModel):
    """Webhook body sent when a job completes or fails; fetch the transcript by id."""

    transcript_id: str
    status: OpenEnum[TranscriptStatus] | None = None
    """``completed`` or ``error``."""


class ErrorBody(SpeechkitModel):
    """JSON body of AssemblyAI's 4xx/5xx answers, e.g. ``{"error": "Not found"}``."""

    error: str
    status: str | None = None


class CreateRealtimeTemporaryTokenParams(RequestModel):
    """Body of ``POST /v2/realtime/token`` (legacy v2 streaming)."""

    expires_in: int = Field(ge=60)
    """Token lifetime in seconds, at least 60."""

    def to_request_body(self) -> dict[str, Any]:
        """The JSON body to send."""
        return self.model_dump(mode="json", exclude_none=True)


class RealtimeTemporaryTokenResponse(SpeechkitModel):
    """Result of ``POST /v2/realtime/token``: pass ``token`` as the ``token`` query parameter."""

    token: str
