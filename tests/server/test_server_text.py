"""The deterministic text rules behind sentences, paragraphs, captions and word search.

Segmentation, captions and search are :mod:`speechkit._core.text`'s; formatting is the server's.
"""

from __future__ import annotations

from speechkit._core import text as core_text
from speechkit.server import _text
from speechkit.server._text import Word


def words(spec: str, gap: int = 100, length: int = 300) -> list[Word]:
    """Words with ``length`` ms each and ``gap`` ms between them; ``|`` marks a 1 s pause and
    ``||`` a 2 s pause."""
    out: list[Word] = []
    t = 0
    for token in spec.split():
        if token == "|":
            t += 1000
            continue
        if token == "||":
            t += 2000
            continue
        out.append(Word(token, t, t + length, 0.9))
        t += length + gap
    return out


def test_sentences_split_on_pauses_and_punctuation() -> None:
    # In punctuated text only punctuation ends a sentence (the SDK's rule, which reproduces
    # AssemblyAI's published examples); a pause ends one only in unpunctuated text.
    ws = words("hello there | how are you doing? fine thanks")
    assert core_text.sentence_spans(ws) == [(0, 6), (6, 8)]
    ws = words("hello there | how are you doing fine thanks")
    assert core_text.sentence_spans(ws) == [(0, 2), (2, 8)]


def test_long_sentences_are_cut() -> None:
    ws = words(" ".join(["word"] * 100))
    spans = core_text.sentence_spans(ws)
    assert [b - a for a, b in spans] == [40, 40, 20]


def test_format_words_punctuates_and_capitalizes() -> None:
    formatted, spans = _text.format_words(words("i think so | um yes i do"))
    assert _text.words_text(formatted) == "I think so. Yes I do."
    assert spans == [(0, 3), (3, 6)]
    raw, _ = _text.format_words(words("i think so"), punctuate=False, format_text=False)
    assert _text.words_text(raw) == "i think so"
    kept, _ = _text.format_words(words("um yes"), disfluencies=True)
    assert _text.words_text(kept) == "Um yes."


def test_paragraphs_group_sentences() -> None:
    ws, spans = _text.format_words(words("one two | three four || five six"))
    assert core_text.paragraph_spans(ws, spans) == [(0, 4), (4, 6)]


def test_captions_and_formats() -> None:
    ws, spans = _text.format_words(words("the quick brown fox jumps | over the lazy dog"))
    captions = core_text.build_captions(ws, 15, breaks=spans)
    assert [c.text for c in captions] == ["The quick brown", "fox jumps.", "Over the lazy", "dog."]
    assert all(len(c.text) <= 15 for c in captions)
    srt = core_text.to_srt(captions[:2])
    assert srt == (
        "1\n00:00:00,000 --> 00:00:01,100\nThe quick brown\n\n"
        "2\n00:00:01,200 --> 00:00:01,900\nfox jumps.\n"
    )
    vtt = core_text.to_vtt([core_text.Caption(3_723_004, 3_724_000, "late")])
    assert vtt == "WEBVTT\n\n01:02:03.004 --> 01:02:04.000\nlate\n"
    assert core_text.to_srt([]) == ""
    assert core_text.to_vtt([]) == "WEBVTT\n\n"


def test_single_long_word_gets_its_own_caption() -> None:
    ws, spans = _text.format_words(words("supercalifragilistic yes"))
    assert [c.text for c in core_text.build_captions(ws, 5, breaks=spans)] == [
        "Supercalifragilistic",
        "yes.",
    ]


def test_word_search() -> None:
    ws, _ = _text.format_words(words("New York is big. I love new york"))
    matches = core_text.search_words(ws, ["new york", "BIG", "paris", " "])
    assert [(m.text, m.count, m.indexes) for m in matches] == [
        ("new york", 2, [0, 6]),
        ("BIG", 1, [3]),
        ("paris", 0, []),
    ]
    assert matches[0].timestamps[0] == [ws[0].start, ws[1].end]


def test_custom_spelling_keeps_punctuation() -> None:
    ws, _ = _text.format_words(words("call gpt now"))
    spelled = _text.apply_custom_spelling(ws, [{"from": ["gpt", "now"], "to": "GPT-4"}])
    assert _text.words_text(spelled) == "Call GPT-4 GPT-4."
    assert _text.apply_custom_spelling(ws, None) == ws


def test_normalize() -> None:
    assert _text.normalize("Don't!") == "don't"
    assert _text.normalize("'quoted,'") == "quoted"
