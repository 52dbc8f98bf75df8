"""Deterministic text logic for the local server: formatting, segmentation, captions, search.

The real service uses models for punctuation, sentence and paragraph segmentation. The local server
does it with fixed rules so that results are reproducible and testable:

* A **sentence** ends at a word that already ends with ``.``, ``?`` or ``!``, at a pause of at least
  :data:`SENTENCE_PAUSE_MS` between two words, or after :data:`MAX_SENTENCE_WORDS` words.
* With ``punctuate`` on, the first word of each sentence is capitalized and a period is added to
  its last word when it has no terminal punctuation. With ``format_text`` on, ``i`` becomes ``I``.
* A **paragraph** groups whole sentences; it ends at a pause of at least :data:`PARAGRAPH_PAUSE_MS`
  or once it holds :data:`MAX_PARAGRAPH_WORDS` words.
* **Captions** never cross a sentence boundary and hold at most ``chars_per_caption`` characters
  (default :data:`DEFAULT_CHARS_PER_CAPTION`), unless a single word is longer.
* **Word search** is case-insensitive and ignores punctuation; a query of several words matches
  consecutive words, and ``indexes`` gives the index of the first word of each match.

All times are integer milliseconds. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "DEFAULT_CHARS_PER_CAPTION",
    "FILLER_WORDS",
    "MAX_PARAGRAPH_WORDS",
    "MAX_SENTENCE_WORDS",
    "PARAGRAPH_PAUSE_MS",
    "SENTENCE_PAUSE_MS",
    "Caption",
    "Word",
    "apply_custom_spelling",
    "build_captions",
    "capitalize_first",
    "ensure_final_period",
    "format_words",
    "normalize",
    "paragraph_spans",
    "sentence_spans",
    "to_srt",
    "to_vtt",
    "word_search",
    "words_text",
]

SENTENCE_PAUSE_MS = 700
"""A pause this long between two words ends a sentence (the v2 realtime endpointing default)."""
MAX_SENTENCE_WORDS = 40
PARAGRAPH_PAUSE_MS = 1500
MAX_PARAGRAPH_WORDS = 120
DEFAULT_CHARS_PER_CAPTION = 80
FILLER_WORDS = frozenset({"um", "uh", "uhm", "umm", "hmm", "mm", "er", "ah", "eh"})
_TERMINAL = (".", "?", "!")
_PUNCT_RE = re.compile(r"[^\w']+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Word:
    """A transcript word. ``start``/``end`` are milliseconds; ``speaker`` is ``"A"`` or None."""

    text: str
    start: int
    end: int
    confidence: float
    speaker: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The AssemblyAI ``TranscriptWord`` shape."""
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "speaker": self.speaker,
        }


@dataclass(frozen=True, slots=True)
class Caption:
    """One subtitle cue. Times are milliseconds."""

    start: int
    end: int
    text: str


def normalize(text: str) -> str:
    """Lowercase and strip punctuation (apostrophes inside words are kept)."""
    tokens = (t.strip("'") for t in _PUNCT_RE.sub(" ", text.lower()).split())
    return " ".join(t for t in tokens if t)


def words_text(words: Iterable[Word]) -> str:
    return " ".join(w.text for w in words)


def capitalize_first(text: str) -> str:
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1 :]
    return text


def ensure_final_period(text: str) -> str:
    stripped = text.rstrip()
    if not stripped or stripped.endswith(_TERMINAL):
        return stripped
    return stripped.rstrip(",;:") + "."


def sentence_spans(words: Sequence[Word]) -> list[tuple[int, int]]:
    """Split ``words`` into sentences; returns ``[start_index, end_index)`` spans."""
    spans: list[tuple[int, int]] = []
    begin = 0
    for i, word in enumerate(words):
        is_last = i == len(words) - 1
        boundary = (
            is_last
            or word.text.endswith(_TERMINAL)
            or words[i + 1].start - word.end >= SENTENCE_PAUSE_MS
            or i + 1 - begin >= MAX_SENTENCE_WORDS
        )
        if boundary:
            spans.append((begin, i + 1))
            begin = i + 1
    return spans


def paragraph_spans(
    words: Sequence[Word], sentences: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Group sentence spans into paragraph spans (``[start_index, end_index)`` over ``words``)."""
    spans: list[tuple[int, int]] = []
    begin: int | None = None
    for n, (s_begin, s_end) in enumerate(sentences):
        if begin is None:
            begin = s_begin
        is_last = n == len(sentences) - 1
        if (
            is_last
            or words[sentences[n + 1][0]].start - words[s_end - 1].end >= PARAGRAPH_PAUSE_MS
            or s_end - begin >= MAX_PARAGRAPH_WORDS
        ):
            spans.append((begin, s_end))
            begin = None
    return spans


def apply_custom_spelling(
    words: Sequence[Word], rules: Sequence[dict[str, Any]] | None
) -> list[Word]:
    """Apply AssemblyAI ``custom_spelling`` rules (``{"from": [...], "to": "..."}``) word by word.

    Matching is case-insensitive on the word without punctuation; trailing punctuation is kept.
    """
    if not rules:
        return list(words)
    mapping: dict[str, str] = {}
    for rule in rules:
        for source in rule.get("from", []):
            mapping[normalize(str(source))] = str(rule.get("to", ""))
    out: list[Word] = []
    for word in words:
        target = mapping.get(normalize(word.text))
        if target is None:
            out.append(word)
            continue
        trailing = word.text[len(word.text.rstrip(".,?!;:")) :]
        out.append(replace(word, text=target + trailing))
    return out


def format_words(
    words: Sequence[Word],
    *,
    punctuate: bool = True,
    format_text: bool = True,
    disfluencies: bool = False,
) -> tuple[list[Word], list[tuple[int, int]]]:
    """Format raw engine words the way the REST API presents them.

    Returns the formatted words and the sentence spans over them (the same segmentation that
    placed the periods, so ``/sentences`` agrees with ``text``).
    """
    kept = [w for w in words if w.text.strip()]
    if not disfluencies:
        kept = [w for w in kept if normalize(w.text) not in FILLER_WORDS]
    if format_text:
        kept = [replace(w, text="I") if w.text == "i" else w for w in kept]
    spans = sentence_spans(kept)
    if not punctuate:
        return kept, spans
    out = list(kept)
    for begin, end in spans:
        out[begin] = replace(out[begin], text=capitalize_first(out[begin].text))
        out[end - 1] = replace(out[end - 1], text=ensure_final_period(out[end - 1].text))
    return out, spans


def build_captions(
    words: Sequence[Word],
    sentences: Sequence[tuple[int, int]],
    chars_per_caption: int | None = None,
) -> list[Caption]:
    """Cut captions: never across a sentence, at most ``chars_per_caption`` characters each."""
    limit = chars_per_caption or DEFAULT_CHARS_PER_CAPTION
    captions: list[Caption] = []
    for begin, end in sentences:
        current: list[Word] = []
        length = 0
        for word in words[begin:end]:
            extra = len(word.text) + (1 if current else 0)
            if current and length + extra > limit:
                captions.append(Caption(current[0].start, current[-1].end, words_text(current)))
                current, length = [], 0
                extra = len(word.text)
            current.append(word)
            length += extra
        if current:
            captions.append(Caption(current[0].start, current[-1].end, words_text(current)))
    return captions


def _clock(ms: int, *, sep: str, force_hours: bool) -> str:
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if force_hours or hours:
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"
    return f"{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


def to_srt(captions: Sequence[Caption]) -> str:
    """SubRip text, as in the spec's ``SrtSubtitlesResponse`` example."""
    blocks = [
        f"{n}\n{_clock(c.start, sep=',', force_hours=True)} --> "
        f"{_clock(c.end, sep=',', force_hours=True)}\n{c.text}"
        for n, c in enumerate(captions, start=1)
    ]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def to_vtt(captions: Sequence[Caption]) -> str:
    """WebVTT text. Cue times are ``mm:ss.mmm`` (hours only when needed), like the spec example;
    cues are separated by blank lines, as WebVTT requires."""
    blocks = [
        f"{_clock(c.start, sep='.', force_hours=False)} --> "
        f"{_clock(c.end, sep='.', force_hours=False)}\n{c.text}"
        for c in captions
    ]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + ("\n" if blocks else "")


def word_search(words: Sequence[Word], queries: Sequence[str]) -> list[dict[str, Any]]:
    """The ``WordSearchMatch`` list for ``queries`` (one entry per query, in order)."""
    normalized = [normalize(w.text) for w in words]
    matches: list[dict[str, Any]] = []
    for query in queries:
        terms = normalize(query).split()
        if not terms:
            continue
        timestamps: list[list[int]] = []
        indexes: list[int] = []
        size = len(terms)
        for i in range(len(normalized) - size + 1):
            if normalized[i : i + size] == terms:
                timestamps.append([words[i].start, words[i + size - 1].end])
                indexes.append(i)
        matches.append(
            {
                "text": query.strip(),
                "count": len(indexes),
                "timestamps": timestamps,
                "indexes": indexes,
            }
        )
    return matches
