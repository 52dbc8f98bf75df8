"""Local fallbacks built from a transcript's words (placeholder; see the AIML provider work)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from speechkit.errors import NotSupportedError

if TYPE_CHECKING:
    from speechkit.models import (
        ParagraphsResponse,
        SentencesResponse,
        Transcript,
        WordSearchResponse,
    )


def subtitles(transcript: Transcript, fmt: str, chars_per_caption: int | None) -> str:
    raise NotSupportedError("Local subtitles are not available yet.")


def sentences(transcript: Transcript) -> SentencesResponse:
    raise NotSupportedError("Local sentences are not available yet.")


def paragraphs(transcript: Transcript) -> ParagraphsResponse:
    raise NotSupportedError("Local paragraphs are not available yet.")


def word_search(transcript: Transcript, words: Sequence[str]) -> WordSearchResponse:
    raise NotSupportedError("Local word search is not available yet.")
