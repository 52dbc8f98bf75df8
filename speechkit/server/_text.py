"""How the local server turns an engine's raw words into the text its REST API presents.

Segmentation, captions, SRT/VTT and word search are the SDK's own rules in
:mod:`speechkit._core.text` (the same ones that build subtitles, sentences, paragraphs and word
search locally for providers that do not serve them). What stays here is server-specific: the
server's :class:`Word` (with its ``TranscriptWord`` JSON), and the formatting the real service
does with models and the local server does with fixed rules:

* Filler words (:data:`FILLER_WORDS`) are dropped unless ``disfluencies`` is on.
* With ``format_text`` on, ``i`` becomes ``I``.
* With ``punctuate`` on, the first word of each sentence (split by
  :func:`speechkit._core.text.sentence_spans` over the raw words) is capitalized and a period
  is added to its last word when it has no terminal punctuation. With it off, words lose the
  punctuation and case an engine may have written (Whisper does; pocketsphinx does not).
* ``custom_spelling`` rules replace whole words, keeping trailing punctuation.

All times are integer milliseconds. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from speechkit._core.text import normalize_token, paragraph_spans, sentence_spans

__all__ = [
    "FILLER_WORDS",
    "Word",
    "apply_custom_spelling",
    "capitalize_first",
    "ensure_final_period",
    "format_words",
    "normalize",
    "paragraph_spans",
    "words_text",
]

FILLER_WORDS = frozenset({"um", "uh", "uhm", "umm", "hmm", "mm", "er", "ah", "eh"})
_TERMINAL = (".", "?", "!")


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


def normalize(text: str) -> str:
    """``text``'s whitespace-separated words, each as word search compares it
    (:func:`speechkit._core.text.normalize_token`), joined by single spaces."""
    return " ".join(t for t in (normalize_token(part) for part in text.split()) if t)


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


def _unpunctuated(text: str, *, keep_i: bool) -> str:
    bare = text.strip('.,?!;:"()[]\u2014\u2026-')
    if not bare:
        return text
    return "I" if keep_i and bare in ("I", "i") else bare.lower()


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
        # An engine that punctuates and cases (Whisper) loses both, like pocketsphinx's words.
        plain = [replace(w, text=_unpunctuated(w.text, keep_i=format_text)) for w in kept]
        return plain, spans
    out = list(kept)
    for begin, end in spans:
        out[begin] = replace(out[begin], text=capitalize_first(out[begin].text))
        out[end - 1] = replace(out[end - 1], text=ensure_final_period(out[end - 1].text))
    return out, spans
