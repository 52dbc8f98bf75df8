"""LeMUR request and response models, against the spec's fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from speechkit.errors import InvalidInputError
from speechkit.models import (
    LemurActionItemsParams,
    LemurActionItemsResponse,
    LemurBaseParams,
    LemurBaseResponse,
    LemurModel,
    LemurQuestion,
    LemurQuestionAnswer,
    LemurQuestionAnswerParams,
    LemurQuestionAnswerResponse,
    LemurStringResponse,
    LemurSummaryParams,
    LemurSummaryResponse,
    LemurTaskParams,
    LemurTaskResponse,
    PurgeLemurRequestDataResponse,
    SpeechkitModel,
    parse_lemur_response,
)

AAI = Path(__file__).resolve().parents[1] / "specs" / "assemblyai"
REQUEST_ID = "5e1b27c2-691f-4414-8bc5-f14678442f9e"


def load(name: str) -> Any:
    return json.loads((AAI / name).read_text(encoding="utf-8"))


# --- requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("schema.LemurBaseParams.json", LemurBaseParams),
        ("schema.LemurTaskParams.json", LemurTaskParams),
        ("schema.LemurSummaryParams.json", LemurSummaryParams),
        ("schema.LemurActionItemsParams.json", LemurActionItemsParams),
        ("schema.LemurQuestionAnswerParams.json", LemurQuestionAnswerParams),
    ],
)
def test_request_fixture_round_trips_to_the_same_body(
    name: str, model: type[LemurBaseParams]
) -> None:
    data = load(name)
    params = model(**data)
    assert params.final_model is LemurModel.claude_sonnet_4_20250514
    assert params.max_output_size == 3000
    assert params.context == data.get("context")
    assert params.to_request_body() == data


def test_question_answer_fixture_values() -> None:
    params = LemurQuestionAnswerParams(**load("schema.LemurQuestionAnswerParams.json"))
    assert [q.question for q in params.questions] == [
        "Where are there wildfires?",
        "Is global warming affecting wildfires?",
    ]
    # The spec says answer_format and answer_options exclude each other, but its own example
    # combines them, so speechkit does not reject it.
    assert params.questions[0].answer_format is not None
    assert params.questions[0].answer_options == ["US", "CA"]
    assert params.questions[1].answer_options == ["yes", "no"]


def test_question_fixture() -> None:
    question = LemurQuestion.from_json_data(load("schema.LemurQuestion.json"))
    assert question.question == "Where are there wildfires?"
    assert question.answer_format == "List of countries in ISO 3166-1 alpha-2 format"
    assert question.answer_options is None


def test_task_body_defaults_and_enum_strings() -> None:
    params = LemurTaskParams(prompt="List the speakers", input_text="A: hi\nB: hello")
    assert params.to_request_body() == {
        "prompt": "List the speakers",
        "input_text": "A: hi\nB: hello",
        "final_model": "anthropic/claude-sonnet-4-20250514",
    }  # final_model is required by the HEAD spec: speechkit sends its default
    params.final_model = LemurModel.claude3_5_haiku_20241022
    params.temperature = 0.5
    body = params.to_request_body()
    assert body["final_model"] == "anthropic/claude-3-5-haiku-20241022"
    assert body["temperature"] == 0.5


def test_a_retired_final_model_warns_and_is_still_sent() -> None:
    with pytest.warns(DeprecationWarning, match="'default' was retired"):
        params = LemurTaskParams(prompt="p", input_text="t", final_model="default")
    assert params.to_request_body()["final_model"] == "default"


def test_unknown_model_and_unknown_options_pass_through() -> None:
    params = LemurSummaryParams(
        transcript_ids=["t1"], final_model="anthropic/claude-9", new_knob=True
    )
    assert params.final_model == "anthropic/claude-9"
    body = params.to_request_body()
    assert body["final_model"] == "anthropic/claude-9"
    assert body["new_knob"] is True


def test_context_may_be_an_object() -> None:
    context = {"meeting": "standup", "attendees": ["a", "b"]}
    params = LemurActionItemsParams(transcript_ids=["t1"], context=context)
    assert params.to_request_body()["context"] == context


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prompt": "x"}, "transcript_ids` or `input_text"),
        ({"prompt": "x", "transcript_ids": ["t"], "input_text": "y"}, "not both"),
        ({"prompt": "   ", "transcript_ids": ["t"]}, "prompt"),
        ({"transcript_ids": ["t"]}, "`prompt` is required"),
        ({"prompt": "x", "transcript_ids": ["t"], "temperature": 1.5}, "temperature"),
        ({"prompt": "x", "transcript_ids": ["t"], "max_output_size": 0}, "max_output_size"),
    ],
)
def test_invalid_task_params_raise_invalid_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        LemurTaskParams(**kwargs)


def test_assignment_is_validated() -> None:
    params = LemurTaskParams(prompt="x", transcript_ids=["t"])
    with pytest.raises(InvalidInputError, match="temperature"):
        params.temperature = -0.1
    assert params.temperature is None


def test_questions_must_be_present_and_non_empty() -> None:
    with pytest.raises(InvalidInputError, match="at least one question"):
        LemurQuestionAnswerParams(transcript_ids=["t"], questions=[])
    with pytest.raises(InvalidInputError, match="question is empty"):
        LemurQuestionAnswerParams(transcript_ids=["t"], questions=[{"question": " "}])


# --- responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model", "start"),
    [
        ("schema.LemurStringResponse.json", LemurStringResponse, "Based on the transcript"),
        ("schema.LemurTaskResponse.json", LemurTaskResponse, "Based on the transcript"),
        ("schema.LemurSummaryResponse.json", LemurSummaryResponse, "- Wildfires in Canada"),
        ("schema.LemurActionItemsResponse.json", LemurActionItemsResponse, "Here are some"),
    ],
)
def test_string_response_fixtures(name: str, model: type[LemurStringResponse], start: str) -> None:
    data = load(name)
    response = model.from_json_data(data)
    assert response.request_id == REQUEST_ID
    assert response.response.startswith(start)
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (27, 3)
    assert response.raw is data


def test_base_response_fixture() -> None:
    response = LemurBaseResponse.from_json_data(load("schema.LemurBaseResponse.json"))
    assert response.request_id == REQUEST_ID
    assert response.usage is not None
    assert response.usage.output_tokens == 3


def test_question_answer_response_fixtures() -> None:
    response = LemurQuestionAnswerResponse.from_json_data(
        load("schema.LemurQuestionAnswerResponse.json")
    )
    assert [(a.question, a.answer) for a in response.response] == [
        ("Where are there wildfires?", "CA, US"),
        ("Is global warming affecting wildfires?", "yes"),
    ]
    answer = LemurQuestionAnswer.from_json_data(load("schema.LemurQuestionAnswer.json"))
    assert (answer.question, answer.answer) == ("Where are there wildfires?", "CA, US")


def test_purge_response_fixture() -> None:
    purge = PurgeLemurRequestDataResponse.from_json_data(
        load("schema.PurgeLemurRequestDataResponse.json")
    )
    assert purge.request_id == "914fe7e4-f10a-4364-8946-34614c2873f6"
    assert purge.request_id_to_purge == "b7eb03ec-1650-4181-949b-75d9de317de1"
    assert purge.deleted is True


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("schema.LemurQuestionAnswerResponse.json", LemurQuestionAnswerResponse),
        ("schema.LemurStringResponse.json", LemurStringResponse),
        ("schema.LemurSummaryResponse.json", LemurStringResponse),
    ],
)
def test_parse_lemur_response_tells_the_kinds_apart(
    name: str, expected: type[SpeechkitModel]
) -> None:
    data = load(name)
    parsed = parse_lemur_response(data)
    assert type(parsed) is expected
    assert parsed.raw is data


def test_parse_lemur_response_keeps_unknown_fields() -> None:
    parsed = parse_lemur_response(
        {"request_id": "r", "response": [], "usage": {"input_tokens": 1}, "model": "x"}
    )
    assert isinstance(parsed, LemurQuestionAnswerResponse)
    assert parsed.response == []
    assert parsed.model_extra == {"model": "x"}
