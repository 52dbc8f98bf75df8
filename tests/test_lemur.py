"""LeMUR over the transcriber's own client: exact paths and bodies, typed responses."""

from __future__ import annotations

import json

import httpx
import pytest

from speechkit import AsyncTranscriber, Transcriber
from speechkit.errors import InvalidInputError
from speechkit.models import LemurQuestionAnswerResponse, LemurStringResponse
from speechkit.models.lemur import DEFAULT_LEMUR_MODEL
from tests.fakes import FakeAssemblyAI, load_spec


def answer_lemur(fake: FakeAssemblyAI) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        if request.method == "DELETE":
            return httpx.Response(
                200, json=load_spec("assemblyai", "schema.PurgeLemurRequestDataResponse.json")
            )
        if kind == "question-answer":
            return httpx.Response(
                200, json=load_spec("assemblyai", "schema.LemurQuestionAnswerResponse.json")
            )
        if request.method == "GET":
            return httpx.Response(
                200, json=load_spec("assemblyai", "schema.LemurTaskResponse.json")
            )
        return httpx.Response(200, json=load_spec("assemblyai", "schema.LemurTaskResponse.json"))

    for prefix in ("/lemur/v3/generate/", "/lemur/v3/"):
        for method in ("POST", "GET", "DELETE"):
            fake.inject(method, prefix, *[handle] * 5)


def sent(fake: FakeAssemblyAI, index: int = -1) -> tuple[str, str, dict[str, object]]:
    request = fake.requests[index]
    body = fake.bodies[index]
    return request.method, request.url.path, json.loads(body) if body else {}


def test_every_lemur_call(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    answer_lemur(fake)
    transcript = transcriber.transcribe("https://example.org/a.mp3")
    with pytest.warns(DeprecationWarning, match="LLM Gateway") as warned:
        task = transcriber.lemur.task(
            "List the speakers", transcript_ids=[transcript], temperature=0.2
        )
    assert warned[0].filename == __file__  # points at the caller's line
    assert isinstance(task, LemurStringResponse)
    assert task.response
    # final_model is always sent: the HEAD spec requires it.
    assert sent(fake) == (
        "POST",
        "/lemur/v3/generate/task",
        {
            "prompt": "List the speakers",
            "transcript_ids": [transcript.id],
            "temperature": 0.2,
            "final_model": DEFAULT_LEMUR_MODEL.value,
        },
    )
    transcriber.lemur.summarize(input_text="A: hi", answer_format="TLDR")
    assert sent(fake)[1:] == (
        "/lemur/v3/generate/summary",
        {"input_text": "A: hi", "answer_format": "TLDR", "final_model": DEFAULT_LEMUR_MODEL.value},
    )
    qa = transcriber.lemur.question(["Who spoke?"], transcript_ids=[transcript.id])
    assert isinstance(qa, LemurQuestionAnswerResponse)
    assert qa.response[0].answer
    assert sent(fake)[2]["questions"] == [{"question": "Who spoke?"}]
    transcriber.lemur.action_items(transcript_ids=[transcript.id])
    assert sent(fake)[1] == "/lemur/v3/generate/action-items"
    previous = transcriber.lemur.get_response(task.request_id)
    assert isinstance(previous, LemurStringResponse)
    assert sent(fake)[:2] == ("GET", f"/lemur/v3/{task.request_id}")
    purged = transcriber.lemur.purge_request_data(task.request_id)
    assert purged.deleted is True
    assert sent(fake)[0] == "DELETE"


def test_lemur_is_not_resent_after_a_timeout(
    transcriber: Transcriber, fake: FakeAssemblyAI
) -> None:
    fake.inject("POST", "/lemur/v3/generate/task", httpx.ReadTimeout("slow model"))
    with pytest.raises(Exception, match="timed out"):
        transcriber.lemur.task("x", input_text="y")
    assert fake.count("POST", "/lemur/v3/generate/task") == 1


def test_lemur_bad_input(transcriber: Transcriber, fake: FakeAssemblyAI) -> None:
    with pytest.raises(InvalidInputError, match="transcript_ids` or `input_text"):
        transcriber.lemur.task("prompt")
    with pytest.raises(InvalidInputError, match="list of ids"):
        transcriber.lemur.summarize(transcript_ids="abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="request_id"):
        transcriber.lemur.get_response("")
    assert fake.requests == []


async def test_async_lemur(atranscriber: AsyncTranscriber, fake: FakeAssemblyAI) -> None:
    answer_lemur(fake)
    task = await atranscriber.lemur.task("Summarize", input_text="hello")
    assert task.usage is not None
    qa = await atranscriber.lemur.question("Why?", input_text="because")
    assert qa.response[0].question
    assert (await atranscriber.lemur.purge_request_data(task.request_id)).deleted


async def test_both_facades_send_the_same_requests_and_return_the_same_models(
    transcriber: Transcriber, atranscriber: AsyncTranscriber, fake: FakeAssemblyAI
) -> None:
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = [
        ("task", ("Summarize",), {"input_text": "hello", "max_output_size": 50}),
        ("summarize", (), {"transcript_ids": ["t1"], "answer_format": "TLDR"}),
        ("question", (["Why?"],), {"input_text": "because", "context": {"k": 1}}),
        ("action_items", (), {"input_text": "x", "temperature": 0.5}),
        ("get_response", ("req-1",), {}),
        ("purge_request_data", ("req-1",), {}),
    ]
    answer_lemur(fake)
    sync_results = [getattr(transcriber.lemur, name)(*a, **kw) for name, a, kw in calls]
    sync_sent = [sent(fake, i) for i in range(len(fake.requests))]
    answer_lemur(fake)
    async_results = [await getattr(atranscriber.lemur, name)(*a, **kw) for name, a, kw in calls]
    async_sent = [sent(fake, i) for i in range(len(sync_sent), len(fake.requests))]
    assert async_sent == sync_sent
    assert len(sync_sent) == len(calls)
    assert [type(r) for r in async_results] == [type(r) for r in sync_results]
    assert async_results == sync_results
    assert isinstance(sync_results[2], LemurQuestionAnswerResponse)
