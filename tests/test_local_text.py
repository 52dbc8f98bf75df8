"""speechkit._core.text: local subtitles, sentences, paragraphs and word search from words."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from speechkit._core import text
from speechkit.errors import InvalidInputError, NotSupportedError
from speechkit.models import Transcript, Word

AAI_SPECS = Path(__file__).resolve().parent / "specs" / "assemblyai"
SRT_FIXTURE = (AAI_SPECS / "example.SrtSubtitlesResponse.srt").read_text()
VTT_FIXTURE = (AAI_SPECS / "example.VttSubtitlesResponse.vtt").read_text()

SRT_TIME = r"\d{2,}:\d{2}:\d{2},\d{3}"
VTT_TIME = r"(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}"


def spread(caption: str, start: int, end: int, speaker: str | None = None) -> list[Word]:
    """The caption's words, the first starting at ``start`` and the last ending at ``end``."""
    tokens = caption.split()
    step = (end - start) // len(tokens)
    words = []
    for i, token in enumerate(tokens):
        w_start = start + i * step
        w_end = end if i == len(tokens) - 1 else w_start + step - 10
        words.append(Word(text=token, start=w_start, end=w_end, confidence=0.9, speaker=speaker))
    return words


def cues(fixture: str, time: str) -> list[tuple[int, int, str]]:
    pattern = rf"({time}) --> ({time})\n(.+)"
    return [(_ms(a), _ms(b), line) for a, b, line in re.findall(pattern, fixture)]


def _ms(clock: str) -> int:
    """``HH:MM:SS,mmm`` or ``MM:SS.mmm`` as milliseconds."""
    *fields, seconds = clock.replace(",", ".").split(":")
    hours, minutes = (0, int(fields[0])) if len(fields) == 1 else (int(fields[0]), int(fields[1]))
    return round(((hours * 60 + minutes) * 60 + float(seconds)) * 1000)


def words_of(fixture: str, time: str) -> list[Word]:
    return [w for start, end, line in cues(fixture, time) for w in spread(line, start, end)]


def transcript(words: list[Word] | None, text_: str | None = "x") -> Transcript:
    return Transcript(id="t1", status="completed", text=text_, words=words, audio_duration=30.0)


# --- subtitles against AssemblyAI's own examples ---------------------------------------------------


def test_srt_reproduces_assemblyais_example_byte_for_byte() -> None:
    words = words_of(SRT_FIXTURE, SRT_TIME)
    assert text.render_subtitles(words, "srt", None) == SRT_FIXTURE


def test_vtt_uses_the_examples_header_and_timestamps() -> None:
    # The example's cue boundaries are not a pure character cap; give them as breaks and check
    # that the rendering (header, MM:SS.mmm times, text) matches, WebVTT blank lines aside.
    spans = []
    words: list[Word] = []
    for start, end, line in cues(VTT_FIXTURE, VTT_TIME):
        cue = spread(line, start, end)
        spans.append((len(words), len(words) + len(cue)))
        words.extend(cue)
    captions = text.build_captions(words, 100, breaks=spans)
    rendered = text.to_vtt(captions)
    assert rendered.startswith("WEBVTT\n\n")
    assert [line for line in rendered.splitlines() if line] == VTT_FIXTURE.splitlines()


def test_srt_format_rules() -> None:
    words = [
        Word(text="one", start=0, end=400, confidence=1.0),
        Word(text="two", start=3_723_004, end=3_723_999, confidence=1.0),
    ]
    srt = text.render_subtitles(words, "srt", 3)
    assert srt == (
        "1\n00:00:00,000 --> 00:00:00,400\none\n\n2\n01:02:03,004 --> 01:02:03,999\ntwo\n"
    )
    for block in srt.strip().split("\n\n"):
        number, timing, caption = block.split("\n")
        assert number.isdigit()
        assert re.fullmatch(rf"{SRT_TIME} --> {SRT_TIME}", timing)
        assert caption


def test_vtt_format_rules() -> None:
    words = [
        Word(text="one", start=5, end=400, confidence=1.0),
        Word(text="two", start=3_723_004, end=3_723_999, confidence=1.0),
    ]
    vtt = text.render_subtitles(words, "vtt", 3)
    assert vtt == "WEBVTT\n\n00:00.005 --> 00:00.400\none\n\n01:02:03.004 --> 01:02:03.999\ntwo\n"
    always = text.to_vtt(text.build_captions(words, 3), always_hours=True)
    assert "00:00:00.005 --> 00:00:00.400" in always


def test_empty_words_make_empty_subtitles() -> None:
    assert text.render_subtitles([], "srt", None) == ""
    assert text.render_subtitles([], "vtt", None) == "WEBVTT\n\n"


@pytest.mark.parametrize("cap", [1, 5, 12, 20, 32, 70])
def test_chars_per_caption_caps_and_breaks_between_words(cap: int) -> None:
    words = words_of(SRT_FIXTURE, SRT_TIME)
    captions = text.build_captions(words, cap)
    originals = [w.text for w in words]
    assert " ".join(c.text for c in captions).split() == originals
    for caption in captions:
        assert len(caption.text) <= cap or " " not in caption.text
    # Greedy: no caption could have taken the next caption's first word.
    for current, following in itertools.pairwise(captions):
        assert len(current.text) + 1 + len(following.text.split()[0]) > cap


def test_a_word_longer_than_the_cap_gets_its_own_caption() -> None:
    words = spread("a supercalifragilistic b", 0, 3000)
    assert [c.text for c in text.build_captions(words, 5)] == ["a", "supercalifragilistic", "b"]


def test_captions_break_where_the_speaker_changes() -> None:
    words = spread("hi there", 0, 1000, "A") + spread("hello", 1000, 1500, "B")
    captions = text.build_captions(words, 80)
    assert [(c.text, c.start, c.end) for c in captions] == [
        ("hi there", 0, 1000),
        ("hello", 1000, 1500),
    ]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_chars_per_caption(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="chars_per_caption"):
        text.build_captions([], bad)  # type: ignore[arg-type]


def test_bad_format() -> None:
    with pytest.raises(InvalidInputError, match="srt"):
        text.render_subtitles([], "ass", None)


# --- sentences and paragraphs ----------------------------------------------------------------------


def test_sentences_follow_punctuation_not_pauses() -> None:
    words = spread("Hello there.", 0, 1000) + spread("How are", 5000, 6000)
    words += spread("you? Fine", 6000, 7000) + spread("thanks!", 9000, 9500)
    result = text.build_sentences(words)
    assert [(s.text, s.start, s.end) for s in result] == [
        ("Hello there.", 0, 1000),
        ("How are you?", 5000, words[4].end),
        ("Fine thanks!", words[5].start, 9500),
    ]
    assert all(s.confidence == pytest.approx(0.9) for s in result)
    assert result[1].words[0].text == "How"


def test_unpunctuated_sentences_split_at_pauses() -> None:
    words = spread("hello there", 0, 1000) + spread("how are you", 1700, 3000)
    words += spread("fine", 3500, 3900)
    assert [s.text for s in text.build_sentences(words)] == ["hello there", "how are you fine"]


def test_sentence_breaks_at_speaker_change_closing_quote_and_max_words() -> None:
    words = spread('He said "stop." Then', 0, 2000, "A") + spread("ok", 2000, 2500, "B")
    assert [(s.text, s.speaker) for s in text.build_sentences(words)] == [
        ('He said "stop."', "A"),
        ("Then", "A"),
        ("ok", "B"),
    ]
    many = spread(" ".join(["word"] * (text.MAX_SENTENCE_WORDS + 5)) + ".", 0, 90_000)
    sizes = [len(s.words) for s in text.build_sentences(many)]
    assert sizes == [text.MAX_SENTENCE_WORDS, 5]


def test_paragraphs_group_sentences() -> None:
    words = spread("One. Two.", 0, 1000, "A") + spread("Three.", 1200, 1600, "A")
    words += spread("Four.", 1600 + text.PARAGRAPH_PAUSE_MS, 4000, "A")
    words += spread("Five.", 4000, 4500, "B")
    result = text.build_paragraphs(words)
    assert [(p.text, p.start, p.end) for p in result] == [
        ("One. Two. Three.", 0, 1600),
        ("Four.", 3100, 4000),
        ("Five.", 4000, 4500),
    ]


def test_paragraph_closes_at_max_words() -> None:
    sentence = " ".join(["w"] * 30) + "."
    words: list[Word] = []
    for n in range(6):
        words += spread(sentence, n * 10_000, n * 10_000 + 9_000)
    sizes = [len(p.words) for p in text.build_paragraphs(words)]
    assert sizes == [120, 60]


def test_transcript_entry_points_keep_ids_and_durations() -> None:
    t = transcript(spread("Hello world. Bye now.", 0, 2000))
    t.confidence = 0.8
    sentences = text.sentences(t)
    assert (sentences.id, sentences.confidence, sentences.audio_duration) == ("t1", 0.8, 30.0)
    assert [s.text for s in sentences.sentences] == ["Hello world.", "Bye now."]
    paragraphs = text.paragraphs(t)
    assert [p.text for p in paragraphs.paragraphs] == ["Hello world. Bye now."]
    assert text.subtitles(t, "srt", 12).count("-->") == 2


def test_text_only_transcripts_say_there_are_no_word_timings() -> None:
    t = transcript(None, "Some text")
    for call in (
        lambda: text.subtitles(t, "srt", None),
        lambda: text.sentences(t),
        lambda: text.paragraphs(t),
        lambda: text.word_search(t, ["text"]),
    ):
        with pytest.raises(NotSupportedError, match="word timings"):
            call()


def test_empty_transcripts_give_empty_results() -> None:
    t = transcript([], "")
    assert text.sentences(t).sentences == []
    assert text.paragraphs(t).paragraphs == []
    assert text.word_search(t, ["a"]).total_count == 0


# --- word search -----------------------------------------------------------------------------------

SEARCH_WORDS = spread(
    "Last year I showed these two slides. The Arctic ice cap, the ARCTIC! Don\u2019t worry: "
    "3,000,000 years",
    0,
    19_000,
)


def test_word_search_words_and_phrases() -> None:
    result = text.word_search(transcript(SEARCH_WORDS), ["arctic", "the arctic", "slides", "nope"])
    by_text = {m.text: m for m in result.matches}
    assert [m.text for m in result.matches] == ["arctic", "the arctic", "slides", "nope"]
    assert by_text["arctic"].indexes == [8, 12]
    assert by_text["arctic"].timestamps == [
        [SEARCH_WORDS[8].start, SEARCH_WORDS[8].end],
        [SEARCH_WORDS[12].start, SEARCH_WORDS[12].end],
    ]
    phrase = by_text["the arctic"]
    assert (phrase.count, phrase.indexes) == (2, [7, 11])
    assert phrase.timestamps[0] == [SEARCH_WORDS[7].start, SEARCH_WORDS[8].end]
    assert by_text["slides"].indexes == [6]  # "slides." matches without its period
    assert (by_text["nope"].count, by_text["nope"].timestamps) == (0, [])
    assert result.total_count == 5
    assert result.id == "t1"


def test_word_search_normalization() -> None:
    matches = text.search_words(SEARCH_WORDS, ["don't", "3,000,000", "WORRY", "  ", "cap ,"])
    assert [(m.text, m.indexes) for m in matches] == [
        ("don't", [13]),
        ("3,000,000", [15]),
        ("WORRY", [14]),
        ("cap ,", [10]),
    ]
    assert text.normalize_token("Don\u2019t!") == "don't"


def test_core_accepts_plain_word_objects() -> None:
    @dataclass(frozen=True)
    class ServerWord:
        text: str
        start: int
        end: int
        confidence: float
        speaker: str | None = None

    words = [ServerWord("Hi.", 0, 300, 0.5), ServerWord("Bye.", 400, 900, 1.0, "B")]
    [first, second] = text.build_sentences(words)
    assert (first.text, second.speaker, second.words[0].end) == ("Hi.", "B", 900)
    assert text.to_srt(text.build_captions(words)).count("-->") == 2
    assert text.search_words(words, ["bye"])[0].indexes == [1]
