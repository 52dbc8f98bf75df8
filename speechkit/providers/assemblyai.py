"""AssemblyAI REST v2 and LeMUR as a pure adapter (protocols.md, section 1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from speechkit._core.audio_input import LocalAudio, RemoteAudio
from speechkit._core.http import Body, Request, Response
from speechkit._core.options.batch import DEFAULT_SPEECH_MODELS
from speechkit._settings import ASSEMBLYAI_BASE_URL
from speechkit.errors import InvalidInputError
from speechkit.providers.base import JobState, Provider, parse_body

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

__all__ = ["AssemblyAIProvider"]

_DONE = {"completed": JobState.COMPLETED, "error": JobState.FAILED}


def _check_id(transcript_id: str) -> str:
    if not isinstance(transcript_id, str) or not transcript_id.strip():
        raise InvalidInputError("transcript_id must be a non-empty string.")
    if "/" in transcript_id or "?" in transcript_id or "#" in transcript_id:
        raise InvalidInputError(f"transcript_id {transcript_id!r} is not a valid id.")
    return transcript_id.strip()


class AssemblyAIProvider(Provider):
    """AssemblyAI's REST API: ``/v2/upload``, ``/v2/transcript`` and LeMUR.

    Args:
        api_key: The key, sent raw in ``Authorization`` (no ``Bearer``; the spec's ``ApiKey``
            scheme).
        base_url: ``https://api.assemblyai.com``, the EU host, or a local server.
    """

    name = "assemblyai"
    uploads_local_audio = True

    def __init__(self, api_key: str, base_url: str = ASSEMBLYAI_BASE_URL) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"AssemblyAIProvider(base_url={self.base_url!r})"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self._api_key}

    # -- create, then poll -----------------------------------------------------------------
    def build_upload(self, body: Body) -> Request:
        # Repeatable: a lost answer only means the audio may be stored twice; no job starts.
        return Request(
            "POST",
            "/v2/upload",
            body=body,
            headers={"Content-Type": "application/octet-stream"},
            repeatable=True,
        )

    def parse_upload(self, response: Response) -> str:
        from speechkit.models import UploadedFile

        return parse_body(UploadedFile, response, "upload answer").upload_url

    def build_create(self, audio: AudioSource, config: TranscriptionConfig | None) -> Request:
        if isinstance(audio, LocalAudio):
            raise InvalidInputError("Local audio must be uploaded before creating the job.")
        assert isinstance(audio, RemoteAudio)
        params: dict[str, Any] = config.to_request_params() if config is not None else {}
        if "speech_models" not in params and "speech_model" not in params:
            # The HEAD spec requires speech_models; today's default pair, newest first.
            params["speech_models"] = list(DEFAULT_SPEECH_MODELS)
        params["audio_url"] = audio.url
        return Request("POST", "/v2/transcript", json=params, creates_job=True)

    def parse_transcript(
        self, response: Response, *, transcript_id: str | None = None
    ) -> Transcript:
        from speechkit.models import Transcript

        return parse_body(Transcript, response, "transcript")

    def build_get(self, transcript_id: str) -> Request:
        return Request("GET", f"/v2/transcript/{_check_id(transcript_id)}")

    def job_state(self, transcript: Transcript) -> JobState:
        return _DONE.get(str(transcript.status), JobState.PENDING)

    # -- other operations ------------------------------------------------------------------
    def build_delete(self, transcript_id: str) -> Request:
        return Request("DELETE", f"/v2/transcript/{_check_id(transcript_id)}")

    def build_list(self, params: Mapping[str, Any]) -> Request:
        return Request("GET", "/v2/transcript", params=params)

    def build_list_page(self, url: str) -> Request:
        # page_details URLs are absolute and may name the public host even when a local server
        # or a proxy answered; keep our own origin and take only the path and query.
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return Request("GET", path)

    def parse_list(self, response: Response) -> TranscriptList:
        from speechkit.models import TranscriptList

        return parse_body(TranscriptList, response, "transcript list")

    def build_subtitles(
        self, transcript_id: str, fmt: str, chars_per_caption: int | None
    ) -> Request | None:
        params = {"chars_per_caption": chars_per_caption} if chars_per_caption else None
        return Request(
            "GET", f"/v2/transcript/{_check_id(transcript_id)}/{fmt}", params=params, expect="text"
        )

    def build_sentences(self, transcript_id: str) -> Request | None:
        return Request("GET", f"/v2/transcript/{_check_id(transcript_id)}/sentences")

    def parse_sentences(self, response: Response) -> SentencesResponse:
        from speechkit.models import SentencesResponse

        return parse_body(SentencesResponse, response, "sentences answer")

    def build_paragraphs(self, transcript_id: str) -> Request | None:
        return Request("GET", f"/v2/transcript/{_check_id(transcript_id)}/paragraphs")

    def parse_paragraphs(self, response: Response) -> ParagraphsResponse:
        from speechkit.models import ParagraphsResponse

        return parse_body(ParagraphsResponse, response, "paragraphs answer")

    def build_word_search(self, transcript_id: str, words: Sequence[str]) -> Request | None:
        # The spec's ``style: form, explode: false``: one comma-joined value (protocols.md 1.2).
        return Request(
            "GET",
            f"/v2/transcript/{_check_id(transcript_id)}/word-search",
            params={"words": ",".join(words)},
        )

    def parse_word_search(self, response: Response) -> WordSearchResponse:
        from speechkit.models import WordSearchResponse

        return parse_body(WordSearchResponse, response, "word search answer")

    def build_redacted_audio(self, transcript_id: str) -> Request:
        # 202: not ready yet; 400: expired (kept 24 h). Both are answers the caller reads.
        return Request(
            "GET",
            f"/v2/transcript/{_check_id(transcript_id)}/redacted-audio",
            ok_statuses=frozenset({202}),
        )

    def build_lemur(self, method: str, path: str, body: Any = None) -> Request:
        return Request(method, path, json=body, creates_job=method == "POST")
