"""The Transcript model, its parts and the other REST v2 responses, against the spec's fixtures."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from speechkit.errors import InvalidInputError
from speechkit.models import (
    AudioIntelligenceModelStatus,
    AutoHighlightResult,
    AutoHighlightsResult,
    Chapter,
    ContentSafetyLabel,
    ContentSafetyLabelResult,
    ContentSafetyLabelsResult,
    CreateRealtimeTemporaryTokenParams,
    CustomSpelling,
    Entity,
    EntityType,
    ErrorBody,
    LanguageCode,
    ListTranscriptParams,
    PageDetails,
    Paragraph,
    ParagraphsResponse,
    PIIPolicy,
    RealtimeTemporaryTokenResponse,
    RedactedAudioResponse,
    RedactedAudioStatus,
    RedactPiiAudioQuality,
    Sentence,
    SentencesResponse,
    Sentiment,
    SentimentAnalysisResult,
    SeverityScoreSummary,
    SpeechkitModel,
    SpeechModel,
    SubstitutionPolicy,
    Timestamp,
    TopicDetectionModelResult,
    TopicDetectionResult,
    Transcript,
    TranscriptList,
    TranscriptListItem,
    TranscriptReadyNotification,
    TranscriptStatus,
    UploadedFile,
    Utterance,
    Word,
    WordSearchMatch,
    WordSearchResponse,
)

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "tests" / "specs"
AAI = SPECS / "assemblyai"
AIML = SPECS / "aiml"

# Fixtures parsed by the other test modules: LeMUR ones in tests/models/test_lemur_models.py,
# request bodies in tests/test_config.py.
LEMUR_FIXTURES = {
    "schema.LemurActionItemsParams.json",
    "schema.LemurActionItemsResponse.json",
    "schema.LemurBaseParams.json",
    "schema.LemurBaseResponse.json",
    "schema.LemurQuestion.json",
    "schema.LemurQuestionAnswer.json",
    "schema.LemurQuestionAnswerParams.json",
    "schema.LemurQuestionAnswerResponse.json",
    "schema.LemurStringResponse.json",
    "schema.LemurSummaryParams.json",
    "schema.LemurSummaryResponse.json",
    "schema.LemurTaskParams.json",
    "schema.LemurTaskResponse.json",
    "schema.PurgeLemurRequestDataResponse.json",
}
CONFIG_FIXTURES = {"schema.TranscriptOptionalParams.json", "schema.TranscriptParams.json"}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def parse(model: type[SpeechkitModel], data: Any) -> Any:
    """Parse like providers do, and check nothing the server sent was lost or altered."""
    parsed = model.from_json_data(data)
    assert parsed.raw is data
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == data
    return parsed


# --- one check per fixture: parse it and look at real values ----------------------------------


def check_transcript(data: Any) -> None:
    t: Transcript = parse(Transcript, data)
    assert t.id == "9ea68fd3-f953-42c1-9742-976c447fb463"
    assert t.status is TranscriptStatus.completed
    assert t.is_completed
    assert not t.is_error
    assert t.language_code is LanguageCode.en_us
    assert t.language == "en_us"
    assert t.audio_duration == 281
    assert t.words is not None
    assert len(t.words) == 15
    first, last = t.words[0], t.words[-1]
    assert (first.text, first.start, first.end, first.confidence) == ("Smoke", 250, 650, 0.97465)
    assert isinstance(first.start, int)
    assert first.speaker is None
    assert (last.text, last.start, last.end) == ("US.", 5732, 6382)
    assert t.utterances is not None
    assert t.utterances[0].words[0].speaker == "A"
    assert t.speakers == ["A"]
    assert t.redact_pii_policies == [
        PIIPolicy.us_social_security_number,
        PIIPolicy.credit_card_number,
    ]
    assert t.redact_pii_sub is SubstitutionPolicy.hash
    assert t.redact_pii_audio_quality is RedactPiiAudioQuality.mp3
    assert t.entities is not None
    assert len(t.entities) == 12
    assert t.entities[0].entity_type is EntityType.location
    assert t.entities[0].text == "Canada"
    assert t.auto_highlights_result is not None
    assert t.auto_highlights_result.results[0].timestamps[0].start == 3978
    assert t.iab_categories_result is not None
    assert t.iab_categories_result.summary["NewsAndPolitics>Weather"] == 1
    assert t.content_safety_labels is not None
    assert t.content_safety_labels.severity_score_summary["disasters"].high == 0
    assert t.speech_model is None
    assert t.language_model == "assemblyai_default"


def check_queued(data: Any) -> None:
    t: Transcript = parse(Transcript, data)
    assert t.status is TranscriptStatus.queued
    assert not t.is_completed
    assert not t.is_error
    assert t.words is None
    assert t.text is None
    assert t.speakers == []


def check_error(data: Any) -> None:
    t: Transcript = parse(Transcript, data)
    assert t.is_error
    assert t.status == "error"
    assert t.error is not None
    assert t.error.startswith("Download error, unable to download")


def check_deleted(data: Any) -> None:
    t: Transcript = parse(Transcript, data)
    assert t.id == "47b95ba5-8889-44d8-bc80-5de38306e582"
    assert t.text == "Deleted by user."
    assert t.language_code is None
    assert t.audio_duration == 390
    # Not in the spec's Transcript schema, so kept as extras.
    assert t.model_extra is not None
    assert {"speaker_count", "cluster_id"} <= t.model_extra.keys()


def check_word(data: Any) -> None:
    word: Word = parse(Word, data)
    assert (word.text, word.start, word.end, word.confidence) == ("Smoke", 250, 650, 0.97465)
    assert word.channel is None
    assert word.speaker is None


def check_utterance(data: Any) -> None:
    utterance: Utterance = parse(Utterance, data)
    assert (utterance.speaker, utterance.start, utterance.end) == ("A", 250, 26950)
    assert [w.text for w in utterance.words][:3] == ["Smoke", "from", "hundreds"]
    assert utterance.words[-1].end == 6382


def check_sentences(data: Any) -> None:
    response: SentencesResponse = parse(SentencesResponse, data)
    assert response.id == "d5a3d302-066e-43fb-b63b-8f57baf185db"
    assert response.audio_duration == 281
    first = response.sentences[0]
    assert first.text.startswith("Smoke from hundreds")
    assert (first.start, first.end) == (250, 6350)
    assert first.words[1].text == "from"
    assert first.speaker is None


def check_sentence(data: Any) -> None:
    sentence: Sentence = parse(Sentence, data)
    assert (sentence.start, sentence.end, sentence.confidence) == (250, 6350, 0.72412)
    assert [w.end for w in sentence.words] == [650, 1022, 1466, 1646]
    assert sentence.speaker is None


def check_paragraph(data: Any) -> None:
    paragraph: Paragraph = parse(Paragraph, data)
    assert (paragraph.start, paragraph.end) == (250, 26950)
    assert paragraph.text.endswith("Good morning, professor.")
    assert len(paragraph.words) == 4


def check_paragraphs(data: Any) -> None:
    response: ParagraphsResponse = parse(ParagraphsResponse, data)
    assert len(response.paragraphs) == 2
    assert (response.paragraphs[0].start, response.paragraphs[0].end) == (250, 26950)
    assert response.paragraphs[0].words[0].confidence == 0.73033


def check_word_search(data: Any) -> None:
    response: WordSearchResponse = parse(WordSearchResponse, data)
    assert response.total_count == 10
    smoke = response.matches[0]
    assert (smoke.text, smoke.count) == ("smoke", 6)
    assert smoke.timestamps[0] == [250, 650]
    assert smoke.indexes[:2] == [0, 136]


def check_word_search_match(data: Any) -> None:
    match: WordSearchMatch = parse(WordSearchMatch, data)
    assert match.timestamps[-1] == [225944, 226170]
    assert match.indexes[-1] == 698


def check_word_search_timestamp(data: Any) -> None:
    field = WordSearchMatch.model_fields["timestamps"].annotation
    assert field is not None
    assert TypeAdapter(field).validate_python([data]) == [[250, 650]]


def check_list(data: Any) -> None:
    page: TranscriptList = parse(TranscriptList, data)
    assert page.page_details is not None
    assert page.page_details.limit == 3
    assert page.page_details.prev_url is not None
    assert "before_id=" in page.page_details.prev_url
    assert [item.status for item in page.transcripts] == ["completed", "error", "completed"]
    failed = page.transcripts[1]
    assert failed.status is TranscriptStatus.error
    assert failed.completed is None
    assert failed.error is not None
    assert "nbc.oopsie" in failed.error


def check_list_item(data: Any) -> None:
    item: TranscriptListItem = parse(TranscriptListItem, data)
    assert item.status is TranscriptStatus.completed
    assert item.resource_url is not None
    assert item.resource_url.endswith(item.id)


def check_page_details(data: Any) -> None:
    details: PageDetails = parse(PageDetails, data)
    assert (details.limit, details.result_count) == (10, 10)
    assert details.next_url is not None
    assert "after_id=" in details.next_url


def check_list_params(data: Any) -> None:
    params = ListTranscriptParams(**data)
    assert params.status is TranscriptStatus.completed
    assert params.to_request_params() == data


def check_token_params(data: Any) -> None:
    assert CreateRealtimeTemporaryTokenParams(**data).to_request_body() == {"expires_in": 480}


def check_token(data: Any) -> None:
    token: RealtimeTemporaryTokenResponse = parse(RealtimeTemporaryTokenResponse, data)
    assert token.token.startswith("fe4145dd")


def check_uploaded(data: Any) -> None:
    uploaded: UploadedFile = parse(UploadedFile, data)
    assert uploaded.upload_url.startswith("https://cdn.assemblyai.com/upload/")


def check_redacted(data: Any) -> None:
    response: RedactedAudioResponse = parse(RedactedAudioResponse, data)
    assert response.status is RedactedAudioStatus.redacted_audio_ready
    assert response.redacted_audio_url is not None
    assert ".wav" in response.redacted_audio_url


def check_audio_quality(data: Any) -> None:
    field = Transcript.model_fields["redact_pii_audio_quality"].annotation
    assert field is not None
    assert TypeAdapter(field).validate_python(data) is RedactPiiAudioQuality.mp3


def check_notification(data: Any) -> None:
    note: TranscriptReadyNotification = parse(TranscriptReadyNotification, data)
    assert note.transcript_id == "9ea68fd3-f953-42c1-9742-976c447fb463"
    assert note.status is TranscriptStatus.completed


def check_error_body(expected: str) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        body: ErrorBody = parse(ErrorBody, data)
        assert body.error == expected
        assert body.status is None

    return check


def check_custom_spelling(data: Any) -> None:
    spelling: CustomSpelling = parse(CustomSpelling, data)
    assert spelling.from_ == ["dicarlo"]
    assert spelling.to == "Decarlo"


def check_timestamp(data: Any) -> None:
    timestamp: Timestamp = parse(Timestamp, data)
    assert (timestamp.start, timestamp.end) == (3978, 5114)


def check_chapter(data: Any) -> None:
    chapter: Chapter = parse(Chapter, data)
    assert (chapter.start, chapter.end) == (250, 28840)
    assert chapter.gist == "Smoggy air quality alerts across US"


def check_entity(data: Any) -> None:
    entity: Entity = parse(Entity, data)
    assert entity.entity_type is EntityType.location
    assert (entity.start, entity.end) == (2548, 3130)


def check_sentiment(data: Any) -> None:
    result: SentimentAnalysisResult = parse(SentimentAnalysisResult, data)
    assert result.sentiment is Sentiment.negative
    assert result.end == 6350


def check_highlight(data: Any) -> None:
    highlight: AutoHighlightResult = parse(AutoHighlightResult, data)
    assert (highlight.text, highlight.count, highlight.rank) == ("air quality alerts", 1, 0.08)


def check_highlights(data: Any) -> None:
    result: AutoHighlightsResult = parse(AutoHighlightsResult, data)
    assert result.status is AudioIntelligenceModelStatus.success
    weather = next(r for r in result.results if r.text == "weather systems")
    assert weather.count == 3
    assert weather.timestamps[0].start == 47344


def check_safety_label(data: Any) -> None:
    label: ContentSafetyLabel = parse(ContentSafetyLabel, data)
    assert label.label == "disasters"
    assert label.severity == 0.4093044400215149


def check_safety_result(data: Any) -> None:
    result: ContentSafetyLabelResult = parse(ContentSafetyLabelResult, data)
    assert (result.sentences_idx_start, result.sentences_idx_end) == (0, 5)
    assert result.timestamp == Timestamp(start=250, end=28840)


def check_safety_results(data: Any) -> None:
    result: ContentSafetyLabelsResult = parse(ContentSafetyLabelsResult, data)
    assert result.summary["health_issues"] == 0.9216489289040967
    assert result.severity_score_summary["health_issues"].medium == 0.45014154926938227


def check_severity(data: Any) -> None:
    summary: SeverityScoreSummary = parse(SeverityScoreSummary, data)
    assert (summary.low, summary.high) == (0.5733263024656846, 0)


def check_topic_result(data: Any) -> None:
    result: TopicDetectionResult = parse(TopicDetectionResult, data)
    assert result.labels[0].label == "Home&Garden>IndoorEnvironmentalQuality"
    assert result.labels[0].relevance == 0.988274097442627


def check_topic_model(data: Any) -> None:
    result: TopicDetectionModelResult = parse(TopicDetectionModelResult, data)
    assert result.status is AudioIntelligenceModelStatus.success
    assert len(result.results) == 1
    assert result.summary["Science>Environment"] == 0.16117265820503235


CHECKS: dict[str, Callable[[Any], None]] = {
    "schema.Transcript.json": check_transcript,
    "transcript.queued.SYNTHETIC.json": check_queued,
    "transcript.error.SYNTHETIC.json": check_error,
    "example.DeleteTranscriptResponse.json": check_deleted,
    "schema.TranscriptWord.json": check_word,
    "schema.TranscriptUtterance.json": check_utterance,
    "schema.TranscriptSentence.json": check_sentence,
    "schema.SentencesResponse.json": check_sentences,
    "schema.TranscriptParagraph.json": check_paragraph,
    "schema.ParagraphsResponse.json": check_paragraphs,
    "schema.WordSearchResponse.json": check_word_search,
    "schema.WordSearchMatch.json": check_word_search_match,
    "schema.WordSearchTimestamp.json": check_word_search_timestamp,
    "schema.TranscriptList.json": check_list,
    "schema.TranscriptListItem.json": check_list_item,
    "schema.PageDetails.json": check_page_details,
    "schema.ListTranscriptParams.json": check_list_params,
    "schema.CreateRealtimeTemporaryTokenParams.json": check_token_params,
    "schema.RealtimeTemporaryTokenResponse.json": check_token,
    "schema.UploadedFile.json": check_uploaded,
    "schema.RedactedAudioResponse.json": check_redacted,
    "schema.RedactPiiAudioQuality.json": check_audio_quality,
    "schema.TranscriptReadyNotification.json": check_notification,
    "schema.Error.json": check_error_body("format_text must be a Boolean"),
    "response.BadRequest.json": check_error_body("This is a sample error message"),
    "response.CannotAccessUploadedFile.json": check_error_body("Cannot access uploaded file"),
    "response.InternalServerError.json": check_error_body("Internal Server Error"),
    "response.NotFound.json": check_error_body("Not found"),
    "response.TooManyRequests.json": check_error_body("Too Many Requests"),
    "response.Unauthorized.json": check_error_body(
        "Authentication error, API token missing/invalid"
    ),
    "schema.TranscriptCustomSpelling.json": check_custom_spelling,
    "schema.Timestamp.json": check_timestamp,
    "schema.Chapter.json": check_chapter,
    "schema.Entity.json": check_entity,
    "schema.SentimentAnalysisResult.json": check_sentiment,
    "schema.AutoHighlightResult.json": check_highlight,
    "schema.AutoHighlightsResult.json": check_highlights,
    "schema.ContentSafetyLabel.json": check_safety_label,
    "schema.ContentSafetyLabelResult.json": check_safety_result,
    "schema.ContentSafetyLabelsResult.json": check_safety_results,
    "schema.SeverityScoreSummary.json": check_severity,
    "schema.TopicDetectionResult.json": check_topic_result,
    "schema.TopicDetectionModelResult.json": check_topic_model,
}

ALL_FIXTURES = sorted(path.name for path in AAI.glob("*.json"))


def test_every_assemblyai_fixture_is_checked_somewhere() -> None:
    assert len(ALL_FIXTURES) >= 59, f"fixtures missing from {AAI}"
    unchecked = set(ALL_FIXTURES) - CHECKS.keys() - LEMUR_FIXTURES - CONFIG_FIXTURES
    assert not unchecked, f"add a check for: {sorted(unchecked)}"
    assert not (CHECKS.keys() | LEMUR_FIXTURES | CONFIG_FIXTURES) - set(ALL_FIXTURES)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_fixture_parses_with_real_values(name: str) -> None:
    CHECKS[name](load(AAI / name))


# --- the AIML-relayed AssemblyAI transcript ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "unwrap"),
    [("result.aai-universal.docs.json", False), ("get.completed.aai-universal.docs.json", True)],
)
def test_aiml_relayed_transcript_parses_with_its_extra_keys(name: str, unwrap: bool) -> None:
    data = load(AIML / name)
    if unwrap:
        assert data["generation_id"] == "0cff4e24-c1ba-419d-8b62-46f342985881"
        data = data["result"]
    t: Transcript = parse(Transcript, data)
    assert t.id == "04d07a4c-9238-4860-ac6f-534d58fdaf9a"
    assert t.is_completed
    assert t.speech_model is SpeechModel.universal
    # Fields dropped from newer specs are still typed...
    assert t.word_boost == []
    assert t.boost_param is None
    assert t.dual_channel is None
    assert t.speed_boost is False
    assert t.keyterms_prompt == []
    # ...and AIML's own keys are kept as extras.
    assert t.model_extra == {
        "custom_topics_results": None,
        "is_deleted": None,
        "project_id": 675898,
        "token_id": 1245789,
    }
    assert t.content_safety_labels is not None
    assert t.content_safety_labels.status is AudioIntelligenceModelStatus.unavailable
    assert t.content_safety_labels.severity_score_summary == {}
    assert t.words is not None
    assert len(t.words) == 33
    assert (t.words[-1].text, t.words[-1].start, t.words[-1].end) == ("fired.", 9720, 10050)
    assert t.speakers == []
    assert t.audio_duration == 11


# --- leniency ----------------------------------------------------------------------------------


def test_only_id_is_required() -> None:
    t = Transcript.from_json_data({"id": "abc"})
    assert t.status is TranscriptStatus.queued
    assert t.words is None
    assert t.speakers == []
    with pytest.raises(ValidationError):
        Transcript.from_json_data({"status": "completed"})


def test_unknown_fields_are_kept_everywhere() -> None:
    data = copy.deepcopy(load(AAI / "schema.Transcript.json"))
    data["brand_new_feature"] = {"x": 1}
    data["words"][0]["emotion"] = "calm"
    t = Transcript.from_json_data(data)
    assert t.model_extra is not None
    assert t.model_extra["brand_new_feature"] == {"x": 1}
    assert t.words is not None
    assert t.words[0].model_extra == {"emotion": "calm"}
    assert t.raw["brand_new_feature"] == {"x": 1}
    assert t.model_dump(mode="json", by_alias=True, exclude_unset=True) == data


def test_unknown_enum_values_stay_strings() -> None:
    data = copy.deepcopy(load(AAI / "schema.Transcript.json"))
    data["status"] = "archived"
    data["speech_model_used"] = "universal-9"
    data["language_code"] = "tlh"
    data["redact_pii_policies"] = ["person_name", "alien_name"]
    assert data["entities"] is not None
    data["entities"][0]["entity_type"] = "starship"
    t = Transcript.from_json_data(data)
    assert t.status == "archived"
    assert not isinstance(t.status, TranscriptStatus)
    assert not t.is_completed
    assert not t.is_error
    assert t.speech_model_used == "universal-9"
    assert t.language == "tlh"
    assert t.redact_pii_policies == [PIIPolicy.person_name, "alien_name"]
    assert isinstance(t.redact_pii_policies[0], PIIPolicy)
    assert t.entities is not None
    assert t.entities[0].entity_type == "starship"


def test_known_enum_values_become_members() -> None:
    t = Transcript.from_json_data({"id": "x", "status": "processing", "speech_models": ["slam-1"]})
    assert t.status is TranscriptStatus.processing
    assert t.speech_models == [SpeechModel.slam_1]
    assert t.model_dump(mode="json", exclude_unset=True)["speech_models"] == ["slam-1"]


def test_raw_when_built_in_code_is_the_json_form() -> None:
    t = Transcript(id="x", words=[Word(text="hi", start=0, end=120)])
    assert t.raw == {"id": "x", "words": [{"text": "hi", "start": 0, "end": 120}]}


def test_word_times_must_be_integer_milliseconds() -> None:
    assert Word.model_validate({"text": "a", "start": 250.0, "end": 650}).start == 250
    with pytest.raises(ValidationError):
        Word.model_validate({"text": "a", "start": 0.25, "end": 0.65})


# --- provider binding and conveniences ---------------------------------------------------------


def test_provider_defaults_to_assemblyai_and_the_transcript_itself() -> None:
    t = Transcript.from_json_data(load(AAI / "transcript.queued.SYNTHETIC.json"))
    assert t.provider == "assemblyai"
    assert t.provider_response is t


def test_bind_provider_records_the_original_response() -> None:
    original = {"generation_id": "g-1", "status": "completed"}
    t = Transcript(id="g-1", status="completed")
    assert t.bind_provider("aiml", original) is t
    assert t.provider == "aiml"
    assert t.provider_response is original
    copied = t.model_copy()
    assert copied.provider == "aiml"
    assert copied.provider_response is original
    # Private state: not a field, not serialized.
    assert "provider" not in t.model_dump()
    assert "_provider" not in t.model_dump()
    assert Transcript(id="y").bind_provider("deepgram").provider_response is None


def test_speakers_are_distinct_sorted_from_utterances_and_words() -> None:
    t = Transcript(
        id="x",
        utterances=[
            Utterance(text="hi", start=0, end=10, speaker="B"),
            Utterance(text="yo", start=10, end=20, speaker="A"),
        ],
        words=[
            Word(text="hi", start=0, end=10, speaker="B"),
            Word(text="x", start=20, end=30, speaker="C"),
            Word(text="y", start=30, end=40),
        ],
    )
    assert t.speakers == ["A", "B", "C"]


def test_every_known_status_maps_to_the_right_flags() -> None:
    flags = {
        status: (
            Transcript(id="x", status=status).is_completed,
            Transcript(id="x", status=status).is_error,
        )
        for status in TranscriptStatus
    }
    assert flags == {
        TranscriptStatus.queued: (False, False),
        TranscriptStatus.processing: (False, False),
        TranscriptStatus.completed: (True, False),
        TranscriptStatus.error: (False, True),
    }


def test_request_models_here_raise_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        ListTranscriptParams(limit=500)
    with pytest.raises(InvalidInputError, match="expires_in"):
        CreateRealtimeTemporaryTokenParams(expires_in=30)


def test_enums_cover_the_spec() -> None:
    spec = load(AAI / "spec" / "openapi.json")["components"]["schemas"]
    assert {c.value for c in LanguageCode} == set(spec["TranscriptLanguageCode"]["enum"])
    assert len(LanguageCode) == 102
    assert LanguageCode.is_.value == "is"
    assert LanguageCode("no") is LanguageCode.no
    assert {p.value for p in PIIPolicy} == set(spec["PiiPolicy"]["enum"])
    assert {e.value for e in EntityType} == set(spec["EntityType"]["enum"])
    assert {s.value for s in Sentiment} == set(spec["Sentiment"]["enum"])
    assert {"best", "nano", "slam-1", "universal", "conformer-2"} <= {m.value for m in SpeechModel}
