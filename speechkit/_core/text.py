"""Subtitles, sentences, paragraphs and word search built locally from a transcript's words.

Providers that do not serve these (the AIML API) return ``None`` from their ``build_*``
methods and speechkit computes them here, in AssemblyAI's formats, so the same code works on
every provider. Nothing here does I/O.

Two layers:

* **The core**, over any sequence of :class:`TimedWord` (anything with ``text``, ``start``,
  ``end``, ``confidence`` and ``speaker``; ``channel`` is optional):
  :func:`sentence_spans`, :func:`paragraph_spans`, :func:`build_captions`, :func:`to_srt`,
  :func:`to_vtt`, :func:`render_subtitles`, :func:`build_sentences`, :func:`build_paragraphs`
  and :func:`search_words`. It is public so the local server can share these rules.
* **Transcript entry points** used by ``speechkit._core.operations``: :func:`subtitles`,
  :func:`sentences`, :func:`paragraphs` and :func:`word_search`.

All times are **integer milliseconds** from the beginning of the audio. The rules:

* A **sentence** ends at a word ending in ``.``, ``?`` or ``!`` (closing quotes and brackets
  after it are ignored), where the speaker or channel changes, or after
  :data:`MAX_SENTENCE_WORDS` words. In a transcript without any such punctuation (a raw engine's
  words), a pause of at least :data:`SENTENCE_PAUSE_MS` also ends a sentence.
* A **paragraph** groups whole sentences; it ends where the speaker or channel changes, at a
  pause of at least :data:`PARAGRAPH_PAUSE_MS` between sentences, or once it holds
  :data:`MAX_PARAGRAPH_WORDS` words.
* A **caption** holds at most ``chars_per_caption`` characters (default
  :data:`DEFAULT_CHARS_PER_CAPTION`), counting the spaces between words, and breaks only between
  words; a single longer word gets a caption of its own. Captions also break where the speaker
  or channel changes, and :func:`render_subtitles` never lets one cross a sentence end (as the
  local server's subtitles). A caption runs from its first word's start to its last word's end.
* **SRT**: cues numbered from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line between cues
  (AssemblyAI's ``SrtSubtitlesResponse`` example). **VTT**: a ``WEBVTT`` header, then cues
  timed ``MM:SS.mmm --> MM:SS.mmm`` as in AssemblyAI's ``VttSubtitlesResponse`` example, with
  hours (``HH:MM:SS.mmm``) once a time reaches one hour, and blank lines between cues as WebVTT
  requires.
* **Word search** is case-insensitive and ignores punctuation (``"Arctic,"`` matches
  ``arctic``); a query of several words matches consecutive words. Each match reports
  ``[start, end]`` of the matched words and the index (in ``words``) of its first word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from speechkit.errors import InvalidInputError, NotSupportedError

if TYPE_CHECKING:
    from speechkit.models import (
        Paragraph,
        ParagraphsResponse,
        Sentence,
        SentencesResponse,
        Transcript,
        Word,
        WordSearchMatch,
        WordSearchResponse,
    )

__all__ = [
    "DEFAULT_CHARS_PER_CAPTION",
    "MAX_PARAGRAPH_WORDS",
    "MAX_SENTENCE_WORDS",
    "PARAGRAPH_PAUSE_MS",
    "SENTENCE_PAUSE_MS",
    "Caption",
    "TimedWord",
    "build_captions",
    "build_paragraphs",
    "build_sentences",
    "normalize_token",
    "paragraph_spans",
    "paragraphs",
    "render_subtitles",
    "search_words",
    "sentence_spans",
    "sentences",
    "subtitles",
    "to_srt",
    "to_vtt",
    "word_search",
]

#: In unpunctuated text, a pause this long (ms) between two words ends a sentence.
SENTENCE_PAUSE_MS = 700
#: A sentence is cut after this many words.
MAX_SENTENCE_WORDS = 40
#: A pause this long (ms) between two sentences starts a new paragraph.
PARAGRAPH_PAUSE_MS = 1500
#: A paragraph is closed after the sentence that brings it to this many words.
MAX_PARAGRAPH_WORDS = 120
#: Characters per caption when ``chars_per_caption`` is not given. 70 reproduces AssemblyAI's
#: own ``SrtSubtitlesResponse`` example (captions of 68, 69 and 42 characters, each cut before
#: the word that would make it 72).
DEFAULT_CHARS_PER_CAPTION = 70

_TERMINAL = (".", "?", "!")
#: Closing quotes and brackets that may follow a sentence's final punctuation.
_CLOSERS = "\"')]}\u201d\u2019\u00bb"


class TimedWord(Protocol):
    """What the core needs of a word (``speechkit.models.Word`` and the server's words fit).

    ``start`` and ``end`` are integer milliseconds; ``confidence`` is 0..1 or ``None``;
    ``speaker`` is a label such as ``"A"`` or ``None``. An optional ``channel`` attribute
    (``"1"``, ``"2"``, ...) is read when present.
    """

    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def confidence(self) -> float | None: ...
    @property
    def speaker(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Caption:
    """One subtitle cue. ``start`` and ``end`` are milliseconds."""

    start: int
    end: int
    text: str


# --- segmentation --------------------------------------------------------------------------------


def _voice(word: TimedWord) -> tuple[str | None, str | None]:
    return word.speaker, getattr(word, "channel", None)


def _ends_sentence(text: str) -> bool:
    return text.rstrip().rstrip(_CLOSERS).endswith(_TERMINAL)


def sentence_spans(words: Sequence[TimedWord]) -> list[tuple[int, int]]:
    """Split ``words`` into sentences (rules in the module docstring).

    Returns:
        ``(begin, end)`` index pairs, ``end`` exclusive, covering every word in order.
    """
    punctuated = any(_ends_sentence(w.text) for w in words)
    spans: list[tuple[int, int]] = []
    begin = 0
    for i, word in enumerate(words):
        if i + 1 == len(words):
            spans.append((begin, i + 1))
            break
        following = words[i + 1]
        if (
            _ends_sentence(word.text)
            or _voice(word) != _voice(following)
            or i + 1 - begin >= MAX_SENTENCE_WORDS
            or (not punctuated and following.start - word.end >= SENTENCE_PAUSE_MS)
        ):
            spans.append((begin, i + 1))
            begin = i + 1
    return spans


def paragraph_spans(
    words: Sequence[TimedWord], sentences: Sequence[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """Group sentences into paragraphs (rules in the module docstring).

    Args:
        words: The words.
        sentences: Their sentence spans; computed with :func:`sentence_spans` when omitted.

    Returns:
        ``(begin, end)`` word index pairs, ``end`` exclusive.
    """
    if sentences is None:
        sentences = sentence_spans(words)
    spans: list[tuple[int, int]] = []
    begin: int | None = None
    for n, (s_begin, s_end) in enumerate(sentences):
        if begin is None:
            begin = s_begin
        if n + 1 == len(sentences):
            spans.append((begin, s_end))
            break
        last, following = words[s_end - 1], words[sentences[n + 1][0]]
        if (
            _voice(last) != _voice(following)
            or following.start - last.end >= PARAGRAPH_PAUSE_MS
            or s_end - begin >= MAX_PARAGRAPH_WORDS
        ):
            spans.append((begin, s_end))
            begin = None
    return spans


# --- captions ----------------------------------------------------------------------------------


def _check_chars(chars_per_caption: int | None) -> int:
    if chars_per_caption is None:
        return DEFAULT_CHARS_PER_CAPTION
    if isinstance(chars_per_caption, bool) or not isinstance(chars_per_caption, int):
        raise InvalidInputError(
            f"chars_per_caption must be an integer, got {type(chars_per_caption).__name__}."
        )
    if chars_per_caption < 1:
        raise InvalidInputError(f"chars_per_caption must be >= 1, got {chars_per_caption}.")
    return chars_per_caption


def build_captions(
    words: Sequence[TimedWord],
    chars_per_caption: int | None = None,
    *,
    breaks: Sequence[tuple[int, int]] | None = None,
) -> list[Caption]:
    """Cut ``words`` into captions of at most ``chars_per_caption`` characters.

    Args:
        words: The words, in order. Words with empty text are skipped.
        chars_per_caption: The cap, counting spaces between words (default
            :data:`DEFAULT_CHARS_PER_CAPTION`). A single longer word gets its own caption.
        breaks: Optional ``(begin, end)`` spans (for example :func:`sentence_spans`) that a
            caption never crosses.

    Raises:
        InvalidInputError: ``chars_per_caption`` is not a positive integer.
    """
    limit = _check_chars(chars_per_caption)
    hard_starts = {begin for begin, _ in breaks or ()}
    captions: list[Caption] = []
    current: list[TimedWord] = []
    length = 0

    def flush() -> None:
        nonlocal current, length
        if current:
            text = " ".join(w.text.strip() for w in current)
            captions.append(Caption(current[0].start, current[-1].end, text))
        current, length = [], 0

    for index, word in enumerate(words):
        text = word.text.strip()
        if not text:
            continue
        if current and (
            index in hard_starts
            or _voice(current[-1]) != _voice(word)
            or length + 1 + len(text) > limit
        ):
            flush()
        length += len(text) + (1 if current else 0)
        current.append(word)
    flush()
    return captions


def _clock(ms: int, *, separator: str, hours: bool) -> str:
    hh, rest = divmod(max(int(ms), 0), 3_600_000)
    mm, rest = divmod(rest, 60_000)
    ss, mmm = divmod(rest, 1000)
    if hours or hh:
        return f"{hh:02d}:{mm:02d}:{ss:02d}{separator}{mmm:03d}"
    return f"{mm:02d}:{ss:02d}{separator}{mmm:03d}"


def to_srt(captions: Sequence[Caption]) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm`` times, a blank line between cues."""
    blocks = [
        f"{number}\n{_clock(c.start, separator=',', hours=True)} --> "
        f"{_clock(c.end, separator=',', hours=True)}\n{c.text}"
        for number, c in enumerate(captions, start=1)
    ]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def to_vtt(captions: Sequence[Caption], *, always_hours: bool = False) -> str:
    """WebVTT text: ``WEBVTT``, then cues timed ``MM:SS.mmm`` (``HH:MM:SS.mmm`` from one hour).

    Args:
        captions: The cues.
        always_hours: Write ``HH:MM:SS.mmm`` for every time (both forms are valid WebVTT).
    """
    blocks = [
        f"{_clock(c.start, separator='.', hours=always_hours)} --> "
        f"{_clock(c.end, separator='.', hours=always_hours)}\n{c.text}"
        for c in captions
    ]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + ("\n" if blocks else "")


def render_subtitles(
    words: Sequence[TimedWord], fmt: Literal["srt", "vtt"] | str, chars_per_caption: int | None
) -> str:
    """SRT or VTT text for ``words`` (see :func:`build_captions`, :func:`to_srt`, :func:`to_vtt`).

    Raises:
        InvalidInputError: ``fmt`` is not ``"srt"`` or ``"vtt"``, or a bad ``chars_per_caption``.
    """
    fmt = str(fmt).lower()
    if fmt not in ("srt", "vtt"):
        raise InvalidInputError(f'subtitle format must be "srt" or "vtt", got {fmt!r}.')
    captions = build_captions(words, chars_per_caption, breaks=sentence_spans(words))
    return to_srt(captions) if fmt == "srt" else to_vtt(captions)


# --- sentences and paragraphs as AssemblyAI models ----------------------------------------------


def _model_word(word: TimedWord) -> Word:
    from speechkit.models import Word

    if isinstance(word, Word):
        return word
    return Word(
        text=word.text,
        start=word.start,
        end=word.end,
        confidence=word.confidence,
        speaker=word.speaker,
        channel=getattr(word, "channel", None),
    )


def _mean_confidence(words: Sequence[TimedWord]) -> float | None:
    values = [w.confidence for w in words if w.confidence is not None]
    return sum(values) / len(values) if values else None


def build_sentences(words: Sequence[TimedWord]) -> list[Sentence]:
    """AssemblyAI ``TranscriptSentence`` models for ``words`` (times in ms).

    Each sentence's confidence is the mean of its words'; its speaker and channel are its first
    word's (a sentence never spans two speakers).
    """
    from speechkit.models import Sentence

    result = []
    for begin, end in sentence_spans(words):
        part = words[begin:end]
        result.append(
            Sentence(
                text=" ".join(w.text.strip() for w in part if w.text.strip()),
                start=part[0].start,
                end=part[-1].end,
                confidence=_mean_confidence(part),
                words=[_model_word(w) for w in part],
                speaker=part[0].speaker,
                channel=getattr(part[0], "channel", None),
            )
        )
    return result


def build_paragraphs(words: Sequence[TimedWord]) -> list[Paragraph]:
    """AssemblyAI ``TranscriptParagraph`` models for ``words`` (times in ms)."""
    from speechkit.models import Paragraph

    result = []
    for begin, end in paragraph_spans(words):
        part = words[begin:end]
        result.append(
            Paragraph(
                text=" ".join(w.text.strip() for w in part if w.text.strip()),
                start=part[0].start,
                end=part[-1].end,
                confidence=_mean_confidence(part),
                words=[_model_word(w) for w in part],
            )
        )
    return result


# --- word search -------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^\w']+")


def normalize_token(text: str) -> str:
    """A word as search compares it: case-folded, without punctuation (inner apostrophes kept).

    ``"Arctic,"`` -> ``"arctic"``, ``"3,000,000"`` -> ``"3000000"``; a typographic apostrophe
    counts as ``'``.
    """
    folded = unicodedata.normalize("NFKC", text).replace("\u2019", "'").casefold()
    return _NOT_WORD.sub("", folded).strip("'")


def search_words(words: Sequence[TimedWord], queries: Sequence[str]) -> list[WordSearchMatch]:
    """AssemblyAI ``WordSearchMatch`` models, one per query, in query order.

    A query of several words (split on whitespace) matches that many consecutive words. Each
    match gives ``[start, end]`` in ms (first word's start, last word's end) and the index of
    its first word in ``words``. Queries with no word characters are skipped; queries that
    match nothing are reported with ``count`` 0.
    """
    from speechkit.models import WordSearchMatch

    tokens = [normalize_token(w.text) for w in words]
    matches = []
    for query in queries:
        terms = [t for t in (normalize_token(part) for part in query.split()) if t]
        if not terms:
            continue
        size = len(terms)
        timestamps: list[list[int]] = []
        indexes: list[int] = []
        for i in range(len(tokens) - size + 1):
            if tokens[i : i + size] == terms:
                timestamps.append([words[i].start, words[i + size - 1].end])
                indexes.append(i)
        matches.append(
            WordSearchMatch(
                text=query.strip(), count=len(indexes), timestamps=timestamps, indexes=indexes
            )
        )
    return matches


# --- transcript entry points (speechkit._core.operations) ---------------------------------------


def _timed_words(transcript: Transcript, what: str) -> list[Word]:
    """The transcript's words, or a clear error when its provider returned none."""
    if transcript.words is None and not transcript.is_completed:
        raise NotSupportedError(
            f"Cannot build {what} for transcript {transcript.id}: it is {transcript.status}, "
            "not completed. Wait for it first (transcriber.wait_for_completion(transcript))."
        )
    if transcript.words is None:
        text_only = bool(transcript.text)
        reason = (
            "its model returned text without word timings (for example AIML's "
            "openai/gpt-4o-transcribe and microsoft/mai-transcribe-1.5)"
            if text_only
            else "it has no words"
        )
        raise NotSupportedError(
            f"Cannot build {what} for transcript {transcript.id} ({transcript.provider}): "
            f"{reason}. Choose a model that returns word timings (nova-*, whisper, aai/*)."
        )
    return transcript.words


def subtitles(transcript: Transcript, fmt: str, chars_per_caption: int | None) -> str:
    """SRT or VTT subtitles for a completed transcript, built from its words.

    Raises:
        NotSupportedError: The transcript has no word timings (a text-only model).
        InvalidInputError: A bad ``fmt`` or ``chars_per_caption``.
    """
    words = _timed_words(transcript, f"{fmt} subtitles")
    return render_subtitles(words, fmt, chars_per_caption)


def sentences(transcript: Transcript) -> SentencesResponse:
    """The transcript split into sentences, as AssemblyAI's ``SentencesResponse``.

    Raises:
        NotSupportedError: The transcript has no word timings (a text-only model).
    """
    from speechkit.models import SentencesResponse

    words = _timed_words(transcript, "sentences")
    return SentencesResponse(
        id=transcript.id,
        confidence=transcript.confidence,
        audio_duration=transcript.audio_duration,
        sentences=build_sentences(words),
    )


def paragraphs(transcript: Transcript) -> ParagraphsResponse:
    """The transcript split into paragraphs, as AssemblyAI's ``ParagraphsResponse``.

    Raises:
        NotSupportedError: The transcript has no word timings (a text-only model).
    """
    from speechkit.models import ParagraphsResponse

    words = _timed_words(transcript, "paragraphs")
    return ParagraphsResponse(
        id=transcript.id,
        confidence=transcript.confidence,
        audio_duration=transcript.audio_duration,
        paragraphs=build_paragraphs(words),
    )


def word_search(transcript: Transcript, words: Sequence[str]) -> WordSearchResponse:
    """Where each word or phrase occurs, as AssemblyAI's ``WordSearchResponse``.

    Raises:
        NotSupportedError: The transcript has no word timings (a text-only model).
    """
    from speechkit.models import WordSearchResponse

    timed = _timed_words(transcript, "a word search")
    matches = search_words(timed, words)
    return WordSearchResponse(
        id=transcript.id, total_count=sum(m.count or 0 for m in matches), matches=matches
    )
