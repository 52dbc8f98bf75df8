"""Notebook HTML (``_repr_html_``): readable content, escaped values, bounded size."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from speechkit import Transcriber
from speechkit.errors import TranscriptionError
from speechkit.group import GroupFailure, TranscriptGroup
from speechkit.models import (
    LemurQuestionAnswerResponse,
    LemurTaskResponse,
    ParagraphsResponse,
    SentencesResponse,
    Transcript,
    TranscriptList,
    Utterance,
    Word,
    WordSearchResponse,
)
from speechkit.models._html import (
    MAX_ROWS,
    MAX_TABLE_CHARS,
    MAX_TEXT_CHARS,
    format_duration,
    format_ms,
    shorten,
)
from speechkit.server import LocalServer, local_server

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "specs"
AUDIO = ROOT / "examples" / "audio"
ATTACK = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


def load(path: str) -> Any:
    return json.loads((SPECS / path).read_text(encoding="utf-8"))


def body_rows(html: str) -> int:
    """Rows in the tables' bodies (header rows and the label/value header table excluded)."""
    return sum(tbody.count("<tr>") for tbody in re.findall(r"<tbody>(.*?)</tbody>", html))


# --- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "00:00.000"),
        (250, "00:00.250"),
        (26_950, "00:26.950"),
        (61_001, "01:01.001"),
        (3_723_456, "1:02:03.456"),
        (10_800_000, "3:00:00.000"),
    ],
)
def test_times_are_minutes_seconds_milliseconds(ms: int, text: str) -> None:
    assert format_ms(ms) == text


def test_durations_are_seconds_with_a_clock_from_a_minute_on() -> None:
    assert format_duration(12.3) == "12.3s"
    assert format_duration(281) == "281s (4:41)"
    assert format_duration(10_800) == "10800s (3:00:00)"
    assert format_duration(281, clock=False) == "281s"


def test_shorten_is_one_line_and_bounded() -> None:
    assert shorten("Hello\n\n  world") == "Hello world"
    assert shorten("a" * 100, 10) == "aaaaaaaaa…"
    assert shorten("a" + " " * 1000 + "b", 10) == "a…"  # only the start is looked at
    assert shorten(None) == ""


# --- Transcript --------------------------------------------------------------------------------


def test_transcript_html_from_the_spec_example() -> None:
    transcript = Transcript.model_validate(load("assemblyai/schema.Transcript.json"))
    html = transcript._repr_html_()
    assert "9ea68fd3-f953-42c1-9742-976c447fb463" in html
    assert ">completed</span>" in html
    assert "<th>Provider</th><td>assemblyai</td>" in html
    assert "<th>Audio duration</th><td>281s (4:41)</td>" in html
    assert "<th>Language</th><td>en_us (0.996)</td>" in html
    assert "<th>Confidence</th><td>0.940</td>" in html
    assert "Smoke from hundreds of wildfires in Canada" in html
    # Utterances win over words: speaker, start and end, text.
    assert "<summary>Utterances (1)</summary>" in html
    assert '<td>A</td><td><span class="sk-mono">00:00.250\u201300:26.950</span></td>' in html
    assert "Words (" not in html


def test_everything_is_escaped() -> None:
    transcript = Transcript(
        id=f"id-{ATTACK}",
        status="error",
        error=f"failed: {ATTACK}",
        text=f"text {ATTACK}",
        language_code=ATTACK,
        utterances=[Utterance(text=ATTACK, start=0, end=1, speaker=ATTACK)],
    )
    html = transcript._repr_html_()
    assert "<script>" not in html
    assert html.count(ESCAPED) == 6  # id, error, language, text, utterance speaker and text

    words = Transcript(id="w", status="completed", words=[Word(text=ATTACK, start=0, end=1)])
    assert "<script>" not in words._repr_html_()
    assert f"<td>{ESCAPED}</td>" in words._repr_html_()


def test_words_table_is_capped_with_a_count_of_the_rest() -> None:
    words = [
        Word(text=f"word{i}", start=i * 300, end=i * 300 + 250, confidence=0.5)
        for i in range(30_000)
    ]
    transcript = Transcript(
        id="big", status="completed", text=" ".join(w.text for w in words), words=words
    )
    html = transcript._repr_html_()
    assert body_rows(html) == MAX_ROWS
    assert f"… {30_000 - MAX_ROWS:,} more words" in html  # "… 29,500 more words"
    assert "<summary>Words (30,000)</summary>" in html
    assert f"<td>word{MAX_ROWS - 1}</td>" in html
    assert f"<td>word{MAX_ROWS}</td>" not in html
    # The text is cut too: a 3-hour transcript stays light in the notebook.
    assert "more characters" in html
    assert len(html) < 100_000


def test_utterances_table_is_capped() -> None:
    utterances = [
        Utterance(text=f"turn {i}", start=i * 1000, end=i * 1000 + 900, speaker="AB"[i % 2])
        for i in range(MAX_ROWS + 123)
    ]
    html = Transcript(id="u", status="completed", text="x", utterances=utterances)._repr_html_()
    assert body_rows(html) == MAX_ROWS
    assert "… 123 more utterances" in html
    assert "00:01.000\u201300:01.900" in html


def test_tables_of_very_long_rows_stop_at_a_size_budget() -> None:
    utterances = [
        Utterance(text=f"{i} " + "long " * 300, start=i, end=i + 1, speaker="A") for i in range(600)
    ]
    html = Transcript(id="l", status="completed", utterances=utterances)._repr_html_()
    shown = body_rows(html)
    assert shown < MAX_ROWS
    assert f"… {600 - shown:,} more utterances" in html
    assert len(html) < MAX_TABLE_CHARS + 10_000


def test_long_text_is_cut_with_the_count_of_the_rest() -> None:
    html = Transcript(id="t", status="completed", text="a" * (MAX_TEXT_CHARS + 42))._repr_html_()
    assert "… 42 more characters" in html
    assert "a" * MAX_TEXT_CHARS in html
    assert "a" * (MAX_TEXT_CHARS + 1) not in html


def test_word_speakers_get_a_column_only_when_present() -> None:
    plain = Transcript(id="p", status="completed", words=[Word(text="hi", start=0, end=5)])
    assert "<th>Speaker</th>" not in plain._repr_html_()
    labelled = Transcript(
        id="s", status="completed", words=[Word(text="hi", start=0, end=5, speaker="B")]
    )
    assert "<th>Speaker</th>" in labelled._repr_html_()
    assert "<td>B</td>" in labelled._repr_html_()


def test_queued_and_failed_transcripts_render_sensibly() -> None:
    queued = Transcript.model_validate(load("assemblyai/transcript.queued.SYNTHETIC.json"))
    html = queued._repr_html_()
    assert ">queued</span>" in html
    assert "No text yet: the job is queued." in html
    assert "<tbody>" not in html
    # The pre-signed part of a URL never shows.
    signed = Transcript(
        id="s", status="processing", audio_url="https://b.example/a.wav?X-Amz-Signature=abc"
    )
    assert "<td>https://b.example/a.wav</td>" in signed._repr_html_()
    assert "X-Amz-Signature" not in signed._repr_html_()
    assert "No text yet: the job is processing." in signed._repr_html_()

    failed = Transcript.model_validate(load("assemblyai/transcript.error.SYNTHETIC.json"))
    html = failed._repr_html_()
    assert ">error</span>" in html
    assert '<div class="sk-error">Download error, unable to download' in html
    silent = Transcript(id="e", status="error")._repr_html_()
    assert "The job failed; the server gave no reason." in silent


# --- group, list, sentences, paragraphs, word search, LeMUR -------------------------------------


def test_group_html_has_one_row_per_input() -> None:
    done = Transcript(
        id="t-ok", status="completed", text="hello world", audio_url="https://x.example/a.wav?k=1"
    )
    error = TranscriptionError(f"Transcript t-bad failed: {ATTACK}", transcript_id="t-bad")
    group = TranscriptGroup((done, GroupFailure(1, b"\x00" * 2048, error)))
    html = group._repr_html_()
    assert "2 inputs: 1 completed, 1 failed" in html
    assert body_rows(html) == 2
    assert "<td>0</td><td>https://x.example/a.wav</td>" in html
    assert ">completed</span>" in html
    assert ">failed</span>" in html
    assert "t-ok" in html
    assert "<td>hello world</td>" in html
    assert "<td>1</td><td>2,048 bytes</td>" in html
    assert "t-bad" in html
    assert f"TranscriptionError: Transcript t-bad failed: {ESCAPED}" in html
    assert "<script>" not in html


def test_transcript_list_html() -> None:
    page = TranscriptList.model_validate(load("assemblyai/schema.TranscriptList.json"))
    html = page._repr_html_()
    assert "3 transcripts (2 completed, 1 error)" in html
    assert body_rows(html) == 3
    assert "ce522f10-d204-42e8-a838-6b95098145cc" in html
    assert "2024-03-11T21:29:59.936851" in html
    assert "Download error, unable to download" in html
    assert "<th>Older page</th>" in html
    assert "before_id=28a73d01" in html


def test_sentences_and_paragraphs_html() -> None:
    sentences = SentencesResponse.model_validate(load("assemblyai/schema.SentencesResponse.json"))
    html = sentences._repr_html_()
    first = sentences.sentences[0]
    assert "d5a3d302-066e-43fb-b63b-8f57baf185db" in html
    assert "2 sentences" in html
    assert body_rows(html) == 2
    assert f"{format_ms(first.start)}\u2013{format_ms(first.end)}" in html
    assert first.text[:30] in html

    paragraphs = ParagraphsResponse.model_validate(
        load("assemblyai/schema.ParagraphsResponse.json")
    )
    html = paragraphs._repr_html_()
    assert "2 paragraphs" in html
    assert paragraphs.paragraphs[1].text[:30] in html
    assert "<th>Audio duration</th><td>281s (4:41)</td>" in html


def test_word_search_html() -> None:
    search = WordSearchResponse.model_validate(load("assemblyai/schema.WordSearchResponse.json"))
    html = search._repr_html_()
    assert "<td>smoke</td><td>6</td>" in html
    assert "00:00.250\u201300:00.650, 00:49.168\u201300:49.398" in html
    assert "<th>Total count</th><td>10</td>" in html


def test_lemur_html() -> None:
    task = LemurTaskResponse.model_validate(load("assemblyai/schema.LemurTaskResponse.json"))
    html = task._repr_html_()
    assert task.request_id in html
    assert "<th>Input tokens</th><td>27</td>" in html
    assert task.response[:40] in html

    qa = LemurQuestionAnswerResponse.model_validate(
        load("assemblyai/schema.LemurQuestionAnswerResponse.json")
    )
    html = qa._repr_html_()
    assert "<td>Where are there wildfires?</td><td>CA, US</td>" in html
    assert body_rows(html) == 2

    hostile = LemurTaskResponse(request_id="r", response=ATTACK)
    assert ESCAPED in hostile._repr_html_()
    assert "<script>" not in hostile._repr_html_()


# --- end to end: what a notebook gets from the real local server ---------------------------------


@pytest.fixture
def fixed() -> Iterator[LocalServer]:
    with local_server(engine="fixed", engine_options={"text": f"hello {ATTACK} there"}) as server:
        yield server


def test_real_results_from_the_local_server_render(fixed: LocalServer) -> None:
    with Transcriber(
        api_key=fixed.api_key or "local",
        base_url=fixed.base_url,
        polling_interval=0.02,
        polling_max_interval=0.1,
    ) as transcriber:
        group = transcriber.transcribe_group(
            [AUDIO / "sample.wav", b"not audio at all"], return_failures=True
        )
        transcript = group[0]
        assert isinstance(transcript, Transcript)
        sentences = transcriber.get_sentences(transcript)

    assert repr(group) == "TranscriptGroup(items=2, completed=1, failed=1)"
    html = transcript._repr_html_()
    assert transcript.id in html
    assert ESCAPED in html
    assert "<script>" not in html
    words = transcript.words or []
    assert len(words) >= 3
    assert f"<summary>Words ({len(words)})</summary>" in html
    assert f"{format_ms(words[0].start)}\u2013{format_ms(words[0].end)}" in html
    assert body_rows(html) == len(words)
    assert f'words={len(words)}, text="Hello <script>' in repr(transcript)  # plain, not HTML

    group_html = group._repr_html_()
    failure = group[1]
    assert isinstance(failure, GroupFailure)
    assert isinstance(failure.error, TranscriptionError)
    assert failure.error.transcript_id is not None
    assert failure.error.transcript_id in group_html
    assert "does not appear to contain audio" in group_html

    assert sentences.sentences[0].text.split()[0] in sentences._repr_html_()


def test_urls_quoted_in_server_errors_lose_their_credentials() -> None:
    signed = "https://user:pw@bucket.example/a.wav?X-Amz-Signature=s3cr3t"
    message = f"Download error, unable to download {signed}. Please make sure the file exists."
    transcript = Transcript(id="e", status="error", error=message)
    failure = GroupFailure(0, signed, TranscriptionError(message, transcript_id="e"))
    page = TranscriptList.model_validate({"transcripts": [{"id": "e", "error": message}]})
    outputs = [
        repr(transcript),
        transcript._repr_html_(),
        repr(failure),
        TranscriptGroup((failure,))._repr_html_(),
        page._repr_html_(),
    ]
    for output in outputs:
        assert "s3cr3t" not in output
        assert "pw@" not in output
    assert "unable to download https://bucket.example/a.wav?…. Please make sure" in outputs[1]
