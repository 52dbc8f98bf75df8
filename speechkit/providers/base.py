"""The provider seam: a provider maps neutral operations to wire requests and parses the answers.

A provider is a pure adapter (design.md, principle 2): it builds
:class:`~speechkit._core.http.Request` values and parses :class:`~speechkit._core.http.Response`
values into models, and never does I/O. Adding another create-then-poll API is one new module
that subclasses :class:`Provider`.

Operations a provider's API does not serve return ``None`` from their ``build_*`` method when
speechkit can do them locally from the transcript's words (subtitles, sentences, paragraphs,
word search), and raise :class:`~speechkit.errors.NotSupportedError` when it cannot (listing,
deleting, LeMUR on some providers).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from speechkit._core.http import Body, Request, Response
from speechkit.errors import APIError, APIStatusError, NotSupportedError

if TYPE_CHECKING:
    from speechkit._core.audio_input import AudioSource
    from speechkit.config import TranscriptionConfig
    from speechkit.models import (
        ParagraphsResponse,
        SentencesResponse,
        Transcript,
        TranscriptList,
        WordSearchResponse,
    )
    from speechkit.models._base import SpeechkitModel

__all__ = ["JobState", "Provider", "parse_body"]


M = TypeVar("M", bound="SpeechkitModel")


def parse_body(model: type[M], response: Response, what: str) -> M:
    """Validate a JSON response body as ``model``; a body that is not JSON, or not that shape,
    becomes an :class:`~speechkit.errors.APIError` naming the request rather than a raw
    ``ValueError`` from deep inside the parser."""
    try:
        return model.from_json_bytes(response.content)
    except ValueError as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise APIError(
            f"The API answered {response.status_code} with a body that is not a valid {what} "
            f"({first_line}). Is the base URL right? [{response.url or 'unknown URL'}]"
        ) from err


class JobState(enum.Enum):
    """Where a job is, in the terms the polling loop needs."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class Provider(ABC):
    """A create-then-poll speech-to-text API.

    Attributes:
        name: The provider's name (``"assemblyai"``, ``"aiml"``, ...), shown on transcripts.
        base_url: The API's base URL, without a trailing slash.
        uploads_local_audio: True when local audio is uploaded first and the job is created from
            the upload's URL; False when the create request carries the audio itself.
    """

    name: str = "provider"
    base_url: str
    uploads_local_audio: bool = True

    # -- transport -------------------------------------------------------------------------
    @abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request to :attr:`base_url` (never sent elsewhere)."""

    def safe_repr_fields(self) -> dict[str, Any]:
        """Fields shown by ``repr`` (never the key)."""
        return {"name": self.name, "base_url": self.base_url}

    # -- create, then poll -----------------------------------------------------------------
    def build_upload(self, body: Body) -> Request:
        """Request that uploads local audio (only when :attr:`uploads_local_audio`)."""
        raise NotSupportedError(f"The {self.name} provider does not take uploads.")

    def parse_upload(self, response: Response) -> str:
        """The URL the uploaded audio can be transcribed from."""
        raise NotSupportedError(f"The {self.name} provider does not take uploads.")

    @abstractmethod
    def build_create(self, audio: AudioSource, config: TranscriptionConfig | None) -> Request:
        """Request that creates a transcription job (``creates_job=True``)."""

    @abstractmethod
    def parse_transcript(
        self, response: Response, *, transcript_id: str | None = None
    ) -> Transcript:
        """Parse a create or get answer into the unified :class:`~speechkit.models.Transcript`.

        ``transcript_id`` is the id the caller asked for, used when the answer omits it.
        """

    @abstractmethod
    def build_get(self, transcript_id: str) -> Request:
        """Request that fetches a job's current state."""

    @abstractmethod
    def job_state(self, transcript: Transcript) -> JobState:
        """Whether the job is still running, done, or failed."""

    def map_status_error(
        self, error: APIStatusError, *, transcript_id: str | None = None
    ) -> APIStatusError:
        """Return the error to raise for a status error on a job request (get, delete, ...).

        Providers override this to explain what a status means on their API (AIML: a 404 is an
        expired result). The default keeps ``error`` as it is.
        """
        return error

    def job_error(self, transcript: Transcript) -> str | None:
        """The server's explanation of a failed job."""
        error = getattr(transcript, "error", None)
        return error if isinstance(error, str) else None

    # -- other operations (override what the API serves) -------------------------------------
    def build_delete(self, transcript_id: str) -> Request:
        raise NotSupportedError(f"The {self.name} provider cannot delete transcripts.")

    def build_list(self, params: Mapping[str, Any]) -> Request:
        raise NotSupportedError(f"The {self.name} provider cannot list transcripts.")

    def build_list_page(self, url: str) -> Request:
        """Request for a page URL the service returned in ``page_details``."""
        raise NotSupportedError(f"The {self.name} provider cannot list transcripts.")

    def parse_list(self, response: Response) -> TranscriptList:
        raise NotSupportedError(f"The {self.name} provider cannot list transcripts.")

    def build_subtitles(
        self, transcript_id: str, fmt: str, chars_per_caption: int | None
    ) -> Request | None:
        """Request for SRT/VTT subtitles, or ``None`` to build them locally from the words."""
        return None

    def build_sentences(self, transcript_id: str) -> Request | None:
        return None

    def parse_sentences(self, response: Response) -> SentencesResponse:
        raise NotSupportedError(f"The {self.name} provider does not serve sentences.")

    def build_paragraphs(self, transcript_id: str) -> Request | None:
        return None

    def parse_paragraphs(self, response: Response) -> ParagraphsResponse:
        raise NotSupportedError(f"The {self.name} provider does not serve paragraphs.")

    def build_word_search(self, transcript_id: str, words: Sequence[str]) -> Request | None:
        return None

    def parse_word_search(self, response: Response) -> WordSearchResponse:
        raise NotSupportedError(f"The {self.name} provider does not serve word search.")

    def build_redacted_audio(self, transcript_id: str) -> Request:
        raise NotSupportedError(f"The {self.name} provider does not serve redacted audio.")

    def build_lemur(self, method: str, path: str, body: Any = None) -> Request:
        raise NotSupportedError(f"The {self.name} provider does not offer LeMUR.")
