"""Compact reprs: bounded for huge results, informative, secret-free, pydantic untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from speechkit.errors import InvalidInputError, TranscriptionError
from speechkit.group import GroupFailure, TranscriptGroup
from speechkit.models import (
    LemurQuestionAnswerResponse,
    LemurTaskResponse,
    Paragraph,
    ParagraphsResponse,
    Sentence,
    SentencesResponse,
    Transcript,
    TranscriptList,
    Utterance,
    Word,
    WordSearchMatch,
    WordSearchResponse,
)
from speechkit.models.aiml import AIMLTextResult, AIMLTranscriptionResponse, DeepgramResponse
from speechkit.models.realtime import (
    FinalTranscript,
    PartialTranscript,
    Turn,
    V2FinalTranscript,
    V3Turn,
)
from speechkit.models.realtime import Word as RealtimeWord

SPECS = Path(__file__).resolve().parents[1] / "specs"
SECRET = "sk-very-secret-0123456789"


def load(path: str) -> Any:
    return json.loads((SPECS / path).read_text(encoding="utf-8"))


def big_transcript(count: int = 30_000) -> Transcript:
    words = [Word(text=f"word{i}", start=i * 300, end=i * 300 + 250) for i in range(count)]
    return Transcript(
        id="big-1",
        status="completed",
        text=" ".join(w.text for w in words),
        words=words,
        audio_duration=count * 0.3,
    )


# --- Transcript --------------------------------------------------------------------------------


def test_transcript_repr_is_compact_and_informative() -> None:
    transcript = Transcript.model_validate(load("assemblyai/schema.Transcript.json"))
    text = repr(transcript)
    assert text == (
        "Transcript(id='9ea68fd3-f953-42c1-9742-976c447fb463', status='completed', "
        "provider='assemblyai', duration=281s, words=15, utterances=1, "
        "text='Smoke from hundreds of wildfires in Can…')"
    )
    assert str(transcript).startswith("id='9ea68fd3-f953-42c1-9742-976c447fb463' status=")
    assert "Word(" not in str(transcript)


def test_repr_of_a_30k_word_transcript_stays_short() -> None:
    transcript = big_transcript()
    for text in (repr(transcript), str(transcript)):
        assert len(text) < 200
        assert "words=30000" in text
        assert "word29999" not in text
    # rich and devtools use the same arguments: a handful of scalars, no lists.
    rich_args = list(cast(Any, transcript).__rich_repr__())
    assert [name for name, _ in rich_args] == [
        "id",
        "status",
        "provider",
        "duration",
        "words",
        "text",
    ]
    assert not any(isinstance(value, list) for _, value in rich_args)


def test_queued_and_failed_transcripts() -> None:
    queued = Transcript.model_validate(load("assemblyai/transcript.queued.SYNTHETIC.json"))
    assert repr(queued) == (
        "Transcript(id='9ea68fd3-f953-42c1-9742-976c447fb463', status='queued', "
        "provider='assemblyai')"
    )
    failed = Transcript.model_validate(load("assemblyai/transcript.error.SYNTHETIC.json"))
    text = repr(failed)
    assert "status='error'" in text
    assert "error='Download error, unable to download" in text
    assert text.endswith("…')")


def test_repr_names_the_provider_and_keeps_secrets_out() -> None:
    transcript = Transcript.model_validate(
        {
            "id": "t-1",
            "status": "completed",
            "text": "hi",
            "audio_url": f"https://bucket.example/a.wav?X-Amz-Signature={SECRET}",
            "webhook_url": f"https://hooks.example/cb?token={SECRET}",
            "webhook_auth_header_name": "X-Secret",
            "api_key": SECRET,  # an unknown field a relay might forward
        }
    ).bind_provider("aiml")
    assert "provider='aiml'" in repr(transcript)
    assert SECRET not in repr(transcript)
    assert SECRET not in str(transcript)
    assert SECRET not in transcript._repr_html_()
    assert transcript.model_extra == {"api_key": SECRET}  # kept, only not shown


def test_pydantic_behaviour_is_unchanged() -> None:
    data = load("assemblyai/schema.Transcript.json")
    transcript = Transcript.from_json_data(data)
    assert transcript.raw is data
    dumped = transcript.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped["words"][0] == data["words"][0]
    assert len(dumped["words"]) == len(data["words"])
    again = Transcript.model_validate_json(transcript.model_dump_json())
    assert again == transcript
    assert again.model_copy() == transcript
    assert again != Transcript(id=transcript.id)


# --- spans and REST responses ------------------------------------------------------------------


def test_spans_show_times_speaker_and_word_count() -> None:
    words = [Word(text="hi", start=0, end=10)] * 1000
    utterance = Utterance(text="hi " * 1000, start=250, end=26950, speaker="A", words=words)
    assert repr(utterance) == (
        "Utterance(start=250, end=26950, speaker='A', words=1000, "
        "text='hi hi hi hi hi hi hi hi hi hi hi hi hi…')"
    )
    sentence = Sentence(text="Hello.", start=1, end=2, channel="2", words=words[:2])
    assert repr(sentence) == "Sentence(start=1, end=2, channel='2', words=2, text='Hello.')"
    paragraph = Paragraph(text="Hello.", start=1, end=2)
    assert repr(paragraph) == "Paragraph(start=1, end=2, words=0, text='Hello.')"


def test_sentences_paragraphs_and_word_search_responses() -> None:
    sentences = SentencesResponse.model_validate(load("assemblyai/schema.SentencesResponse.json"))
    assert repr(sentences) == (
        "SentencesResponse(id='d5a3d302-066e-43fb-b63b-8f57baf185db', sentences=2, duration=281s)"
    )
    paragraphs = ParagraphsResponse.model_validate(
        load("assemblyai/schema.ParagraphsResponse.json")
    )
    assert "paragraphs=2" in repr(paragraphs)
    search = WordSearchResponse.model_validate(load("assemblyai/schema.WordSearchResponse.json"))
    assert repr(search) == (
        "WordSearchResponse(id='d5a3d302-066e-43fb-b63b-8f57baf185db', total_count=10, "
        "matches={'smoke': 6, 'wildfires': 4})"
    )
    common = WordSearchMatch(text="the", count=5000, timestamps=[[i, i + 1] for i in range(5000)])
    assert repr(common) == "WordSearchMatch(text='the', count=5000, timestamps=5000)"


def test_transcript_list_counts_statuses() -> None:
    page = TranscriptList.model_validate(load("assemblyai/schema.TranscriptList.json"))
    assert repr(page) == "TranscriptList(transcripts=3, completed=2, error=1)"
    assert repr(TranscriptList()) == "TranscriptList(transcripts=0)"


def test_lemur_responses() -> None:
    task = LemurTaskResponse(request_id="r-1", response="Answer. " * 2000)
    text = repr(task)
    assert text.startswith("LemurTaskResponse(request_id='r-1', usage=None, response='Answer.")
    assert len(text) < 150
    qa = LemurQuestionAnswerResponse.model_validate(
        load("assemblyai/schema.LemurQuestionAnswerResponse.json")
    )
    assert repr(qa) == (
        "LemurQuestionAnswerResponse(request_id='5e1b27c2-691f-4414-8bc5-f14678442f9e', "
        "usage=LemurUsage(input_tokens=27, output_tokens=3), answers=2)"
    )


# --- realtime ----------------------------------------------------------------------------------


def test_realtime_transcripts_and_turns() -> None:
    words = [RealtimeWord(text="yes", start=i, end=i + 1) for i in range(2000)]
    final = FinalTranscript(text="yes " * 2000, words=words, audio_start=5, audio_end=2005)
    text = repr(final)
    assert text.startswith("FinalTranscript(audio_start=5, audio_end=2005, words=2000, text='yes")
    assert len(text) < 150
    partial = PartialTranscript(text="hel", turn_order=3)
    assert repr(partial) == (
        "PartialTranscript(turn_order=3, audio_start=0, audio_end=0, words=0, text='hel')"
    )
    turn = Turn(turn_order=4, transcript="Hello there.", end_of_turn=True, words=words)
    assert repr(turn) == "Turn(turn_order=4, end_of_turn=True, words=2000, text='Hello there.')"


def test_realtime_wire_messages_from_the_spec() -> None:
    v3 = V3Turn.model_validate(load("realtime/v3/Turn.end_of_turn.json"))
    assert repr(v3).startswith(f"V3Turn(turn_order={v3.turn_order}, end_of_turn=True, words=")
    v2 = V2FinalTranscript.model_validate(load("realtime/v2/FinalTranscript.json"))
    assert f"words={len(v2.words)}" in repr(v2)
    assert "V2Word(" not in repr(v2)


# --- groups ------------------------------------------------------------------------------------


def test_group_repr_counts_outcomes() -> None:
    done = Transcript(id="a", status="completed", text="hello")
    pending = Transcript(id="b", status="processing")
    failure = GroupFailure(
        1,
        b"\x00" * 200_000,
        TranscriptionError("Transcript c failed: bad audio", transcript_id="c"),
    )
    group = TranscriptGroup((done, failure, pending))
    assert repr(group) == "TranscriptGroup(items=3, completed=1, failed=1, pending=1)"
    assert repr(TranscriptGroup((done,))) == "TranscriptGroup(items=1, completed=1, failed=0)"
    assert repr(failure) == (
        "GroupFailure(index=1, audio='200,000 bytes', "
        "error=TranscriptionError('Transcript c failed: bad audio'))"
    )


def test_group_failure_repr_hides_url_credentials() -> None:
    url = f"https://user:{SECRET}@bucket.example/a.wav?sig={SECRET}#x"
    failure = GroupFailure(0, url, InvalidInputError("audio: unreachable"))
    assert repr(failure) == (
        "GroupFailure(index=0, audio='https://bucket.example/a.wav', "
        "error=InvalidInputError('audio: unreachable'))"
    )
    assert failure.audio == url  # the input itself is untouched


# --- AIML ----------------------------------------------------------------------------------------


def test_aiml_results_are_compact() -> None:
    deepgram = AIMLTranscriptionResponse.model_validate(
        load("aiml/get.completed.deepgram.nova-3.docs.json")
    )
    assert isinstance(deepgram.result, DeepgramResponse)
    text = repr(deepgram.result)
    assert text.startswith(
        "DeepgramResponse(request_id='a1b2c3d4-e5f6-7890-abcd-ef1234567890', duration=11.4s, "
        "channels=1, words="
    )
    assert "DeepgramWord(" not in repr(deepgram)
    relayed = AIMLTranscriptionResponse.model_validate(
        load("aiml/get.completed.aai-universal.docs.json")
    )
    assert "result=Transcript(id='04d07a4c-9238-4860-ac6f-534d58fdaf9a', status='completed'" in (
        repr(relayed)
    )
    assert "Word(" not in repr(relayed)
    text_only = AIMLTextResult(text="word " * 5000)
    assert (
        repr(text_only)
        == "AIMLTextResult(text='word word word word word word word word…', usage=None)"
    )
