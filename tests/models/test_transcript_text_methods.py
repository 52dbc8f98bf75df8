"""Transcript.export_subtitles_srt/vtt, get_sentences, get_paragraphs and word_search: computed
locally from the transcript's words, without a transcriber (AssemblyAI's SDK surface)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from speechkit import Transcriber
from speechkit.errors import InvalidInputError, NotSupportedError
from speechkit.models import Transcript, Word
from speechkit.server import LocalServer, local_server

AAI_SPECS = Path(__file__).resolve().parents[1] / "specs" / "assemblyai"
SRT = (AAI_SPECS / "example.SrtSubtitlesResponse.srt").read_text()
VTT = (AAI_SPECS / "example.VttSubtitlesResponse.vtt").read_text()
AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio" / "sample.wav"


def _ms(clock: str) -> int:
    *fields, seconds = clock.replace(",", ".").split(":")
    minutes = sum(int(f) * 60**i for i, f in enumerate(reversed(fields)))
    total: int = round((minutes * 60 + float(seconds)) * 1000)
    return total


def words_from_srt(fixture: str) -> list[Word]:
    """Words spread evenly over each cue of the example, so the cues are recoverable."""
    words: list[Word] = []
    for a, b, line in re.findall(r"(\S+) --> (\S+)\n(.+)", fixture):
        start, end, tokens = _ms(a), _ms(b), line.split()
        step = (end - start) // len(tokens)
        for i, token in enumerate(tokens):
            w_start = start + i * step
            w_end = end if i == len(tokens) - 1 else w_start + step - 10
            words.append(Word(text=token, start=w_start, end=w_end, confidence=0.9))
    return words


def completed(words: list[Word] | None, text: str | None = "x") -> Transcript:
    return Transcript(id="t1", status="completed", text=text, words=words)


def test_srt_on_the_transcript_reproduces_the_services_example() -> None:
    assert completed(words_from_srt(SRT)).export_subtitles_srt() == SRT


def test_vtt_on_the_transcript_has_the_srt_cues_in_the_vtt_examples_format() -> None:
    t = completed(words_from_srt(SRT))
    vtt = t.export_subtitles_vtt()
    assert vtt.startswith("WEBVTT\n\n")
    vtt_time = r"(\d{2}:\d{2}\.\d{3})"
    # The service's VTT example times its cues MM:SS.mmm: ours use that form too.
    assert re.match(rf"{vtt_time} --> {vtt_time}\n", VTT.splitlines()[1] + "\n")
    produced = re.findall(rf"{vtt_time} --> {vtt_time}\n(.+)", vtt)
    srt_cues = re.findall(r"(\S+) --> (\S+)\n(.+)", SRT)
    assert [(_ms(a), _ms(b), line) for a, b, line in produced] == [
        (_ms(a), _ms(b), line) for a, b, line in srt_cues
    ]


def test_chars_per_caption_is_honoured_and_checked() -> None:
    t = completed(words_from_srt(SRT))
    lines = [ln for ln in t.export_subtitles_srt(chars_per_caption=20).splitlines() if ln]
    texts = [ln for ln in lines if not ln.isdigit() and "-->" not in ln]
    assert len(texts) > 3
    assert all(len(text) <= 20 or " " not in text for text in texts)
    with pytest.raises(InvalidInputError, match="chars_per_caption"):
        t.export_subtitles_vtt(chars_per_caption=0)


def test_sentences_paragraphs_and_search_are_lists_like_assemblyais_sdk() -> None:
    words = [
        Word(text="Hello", start=0, end=300, confidence=0.8),
        Word(text="world.", start=300, end=600, confidence=1.0),
        Word(text="Hello", start=3000, end=3300, confidence=0.9),
        Word(text="again.", start=3300, end=3600, confidence=0.9),
    ]
    t = completed(words)
    assert [s.text for s in t.get_sentences()] == ["Hello world.", "Hello again."]
    assert t.get_sentences()[0].confidence == pytest.approx(0.9)
    assert [p.text for p in t.get_paragraphs()] == ["Hello world.", "Hello again."]
    hello, phrase = t.word_search(["hello", "hello again"])
    assert (hello.count, hello.indexes, hello.timestamps) == (2, [0, 2], [[0, 300], [3000, 3300]])
    assert (phrase.count, phrase.timestamps) == (1, [[3000, 3600]])
    assert [m.text for m in t.word_search("world")] == ["world"]


def test_bad_search_words_are_a_typed_error() -> None:
    with pytest.raises(InvalidInputError, match="word_search"):
        completed([]).word_search([1, 2])  # type: ignore[list-item]


def test_a_queued_transcript_says_to_wait_and_a_text_only_one_says_why() -> None:
    with pytest.raises(NotSupportedError, match=r"not completed.*wait_for_completion"):
        Transcript(id="q1").get_sentences()
    with pytest.raises(NotSupportedError, match="word timings"):
        completed(None, "only text").export_subtitles_srt()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(
        engine="fixed",
        engine_options={"text": "hello from the fixed engine. the engine says hello again"},
    ) as srv:
        yield srv


def test_local_results_match_what_the_service_returns(server: LocalServer) -> None:
    """The transcriber's methods fetch the server's versions; the transcript's own methods
    compute the same thing from the words it already holds."""
    with Transcriber(
        api_key="local", base_url=server.base_url, polling_interval=0.02
    ) as transcriber:
        transcript = transcriber.transcribe(str(AUDIO))
        assert transcript.words
        assert transcript.export_subtitles_srt() == transcriber.export_subtitles_srt(transcript)
        assert transcript.export_subtitles_vtt(
            chars_per_caption=12
        ) == transcriber.export_subtitles_vtt(transcript, chars_per_caption=12)
        assert transcript.get_sentences() == transcriber.get_sentences(transcript).sentences
        assert transcript.get_paragraphs() == transcriber.get_paragraphs(transcript).paragraphs
        local = transcript.word_search(["hello", "the engine"])
        remote = transcriber.word_search(transcript, ["hello", "the engine"]).matches
        assert [(m.count, m.timestamps) for m in local] == [(m.count, m.timestamps) for m in remote]
        assert local[0].count == 2
