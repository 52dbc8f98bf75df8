"""The LeMUR stand-in: spec-shaped, deterministic, extractive."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from speechkit.server.lemur import STAND_IN_MODEL, action_items, best_overlap, summarize
from speechkit.server.runner import LocalServer

MEETING = (
    "Welcome everyone to the planning meeting. The budget for the garden project is ready. "
    "We will order the new garden tools on Monday. The garden budget covers tools and seeds. "
    "Send the invoice to finance by Friday. The weather was nice last week. "
    "Maria should call the supplier about the seeds."
)


@pytest.fixture(scope="module")
def api(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def transcript_id(api: httpx.Client, wav: Callable[..., bytes]) -> str:
    url = api.post("/v2/upload", content=wav(1.0)).json()["upload_url"]
    tid = str(api.post("/v2/transcript", json={"audio_url": url}).json()["id"])
    deadline = time.monotonic() + 10
    while api.get(f"/v2/transcript/{tid}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return tid


def check_shape(body: dict[str, object]) -> None:
    assert set(body) == {"request_id", "usage", "response"}  # nothing outside the spec
    uuid.UUID(str(body["request_id"]))
    usage = body["usage"]
    assert isinstance(usage, dict)
    assert set(usage) == {"input_tokens", "output_tokens"}


def test_summary_from_transcript(api: httpx.Client, transcript_id: str) -> None:
    response = api.post("/lemur/v3/generate/summary", json={"transcript_ids": [transcript_id]})
    assert response.status_code == 200
    assert "not a language model" in response.headers["x-speechkit-lemur"]
    assert response.headers["x-speechkit-lemur-model"] == STAND_IN_MODEL
    body = response.json()
    check_shape(body)
    assert body["response"] == "Hello world this is a test of the local server."
    assert body["usage"]["input_tokens"] == 10
    assert body["usage"]["output_tokens"] == 10


def test_summary_of_input_text_is_central_sentences(api: httpx.Client) -> None:
    body = api.post(
        "/lemur/v3/generate/summary",
        json={"input_text": MEETING, "answer_format": "Bullet points", "final_model": "default"},
    ).json()
    check_shape(body)
    lines = body["response"].split("\n")
    # 7 sentences -> 2; ranked by the mean frequency of their content words ("garden" x3,
    # "budget" x2, ...), shown in transcript order.
    assert lines == [
        "- The budget for the garden project is ready.",
        "- The garden budget covers tools and seeds.",
    ]


def test_task_picks_overlapping_sentences(api: httpx.Client) -> None:
    body = api.post(
        "/lemur/v3/generate/task",
        json={"input_text": MEETING, "prompt": "What happens with the invoice and finance?"},
    ).json()
    check_shape(body)
    assert body["response"] == "Send the invoice to finance by Friday."
    missing = api.post("/lemur/v3/generate/task", json={"input_text": MEETING})
    assert missing.status_code == 400
    assert "prompt" in missing.json()["error"]


def test_question_answer(api: httpx.Client) -> None:
    body = api.post(
        "/lemur/v3/generate/question-answer",
        json={
            "input_text": MEETING,
            "questions": [
                {"question": "When will the tools be ordered?"},
                {
                    "question": "Which project has a budget?",
                    "answer_options": ["kitchen", "garden"],
                },
                {"question": "Quantum chromodynamics?"},
            ],
        },
    ).json()
    check_shape(body)
    assert body["response"] == [
        {
            "question": "When will the tools be ordered?",
            "answer": "We will order the new garden tools on Monday.",
        },
        {"question": "Which project has a budget?", "answer": "garden"},
        {"question": "Quantum chromodynamics?", "answer": "The transcript does not say."},
    ]


def test_action_items(api: httpx.Client) -> None:
    body = api.post("/lemur/v3/generate/action-items", json={"input_text": MEETING}).json()
    check_shape(body)
    assert body["response"].split("\n") == [
        "- We will order the new garden tools on Monday.",
        "- Send the invoice to finance by Friday.",
        "- Maria should call the supplier about the seeds.",
    ]


def test_get_and_purge(api: httpx.Client) -> None:
    created = api.post("/lemur/v3/generate/summary", json={"input_text": MEETING}).json()
    fetched = api.get(f"/lemur/v3/{created['request_id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created
    purged = api.delete(f"/lemur/v3/{created['request_id']}").json()
    assert purged["request_id_to_purge"] == created["request_id"]
    assert purged["deleted"] is True
    uuid.UUID(purged["request_id"])
    assert api.get(f"/lemur/v3/{created['request_id']}").status_code == 404


def test_errors(api: httpx.Client, server: LocalServer) -> None:
    for body in (
        {},
        {"transcript_ids": [str(uuid.uuid4())]},
        {"transcript_ids": "abc"},
        {"input_text": MEETING, "questions": []},
    ):
        kind = "question-answer" if "questions" in body else "summary"
        response = api.post(f"/lemur/v3/generate/{kind}", json=body)
        assert response.status_code == 400, body
        assert isinstance(response.json()["error"], str)


def test_max_output_size_caps_words(api: httpx.Client) -> None:
    body = api.post(
        "/lemur/v3/generate/summary", json={"input_text": MEETING, "max_output_size": 3}
    ).json()
    assert body["response"] == "The budget for"
    assert body["usage"]["output_tokens"] == 3


def test_helpers_are_deterministic() -> None:
    sentences = ["a cat sat", "the cat ran home", "dogs bark"]
    assert summarize(sentences) == ["a cat sat"]  # "cat" (x2) weighs most in the shortest
    assert best_overlap(sentences, "where did the cat run home", count=2) == [
        "a cat sat",
        "the cat ran home",
    ]
    assert action_items(["Please review it.", "It rained.", "Book the room."]) == [
        "Please review it.",
        "Book the room.",
    ]


def test_sources_form_of_the_0x_sdk_is_accepted(api: httpx.Client, transcript_id: str) -> None:
    sources = [{"id": transcript_id, "type": "transcript"}]
    by_sources = api.post("/lemur/v3/generate/summary", json={"sources": sources})
    by_ids = api.post("/lemur/v3/generate/summary", json={"transcript_ids": [transcript_id]})
    assert by_sources.status_code == 200
    check_shape(by_sources.json())
    assert by_sources.json()["response"] == by_ids.json()["response"]
    bad = api.post("/lemur/v3/generate/summary", json={"sources": [{"id": transcript_id}]})
    assert bad.status_code == 400
    assert "sources must be" in bad.json()["error"]
