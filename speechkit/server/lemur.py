"""LeMUR on the local server: a deterministic, extractive **stand-in**, not a language model.

Implements the LeMUR v3 paths of the 2025-10 spec (``openapi-2025-10-21_with-lemur-paths.json``),
with spec-shaped bodies (``protocols.md`` §1.4):

* ``POST /lemur/v3/generate/task``, ``.../summary``, ``.../question-answer``, ``.../action-items``
  → ``{request_id, usage: {input_tokens, output_tokens}, response}`` (for Q&A ``response`` is
  ``[{question, answer}]``);
* ``GET /lemur/v3/{request_id}`` returns a stored response; ``DELETE /lemur/v3/{request_id}``
  purges it → ``{request_id, request_id_to_purge, deleted: true}``.

Inputs are the sentences of completed ``transcript_ids`` (400 for unknown or unfinished ones) or of
``input_text``. What each endpoint returns, always from those sentences and never invented text:

* **summary**: the most central sentences (highest mean frequency of their content words across
  the input), up to one in five and at most five, in their original order; bullet lines when
  ``answer_format`` mentions bullets.
* **task**: the sentences sharing the most content words with ``prompt`` (up to three), or the
  summary when none share any.
* **question-answer**: per question, the answer option mentioned most in the input (when
  ``answer_options`` is given), else the sentence with the most content-word overlap with the
  question, else ``"The transcript does not say."``.
* **action-items**: bullet lines of the sentences with action cues ("will", "should", "need to",
  "let's", "please", ... or an imperative first word).

``usage`` counts words, not model tokens. ``max_output_size`` caps the response's words.
``final_model``, ``temperature`` and ``context`` are accepted and ignored. The older request
form ``sources: [{"id": ..., "type": "transcript"}]`` (AssemblyAI's 0.x SDK) is accepted as
``transcript_ids``. Response bodies carry exactly the spec's fields; the ``X-Speechkit-Lemur``
and ``X-Speechkit-Lemur-Model: speechkit/extractive-stand-in`` headers say they are a stand-in,
so nobody mistakes them for model output.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from speechkit.server import _text
from speechkit.server._transcript import present_words
from speechkit.server.assemblyai_rest import error
from speechkit.server.jobs import JobStatus
from speechkit.server.state import ServerState, get_state

__all__ = ["STAND_IN_MODEL", "routes"]

STAND_IN_MODEL = "speechkit/extractive-stand-in"
_HEADERS = {
    "X-Speechkit-Lemur": "extractive stand-in, not a language model",
    "X-Speechkit-Lemur-Model": STAND_IN_MODEL,
    "X-RateLimit-Limit": "1000",
    "X-RateLimit-Remaining": "999",
    "X-RateLimit-Reset": "60",
}
_STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it
    its this that these those there here i you he she we they me him her us them my your our their
    do does did so not no yes what who whom which when where why how can could would shall may might
    will should just than then also very about into over up down out all any some such only own
    same too s t don't it's i'm that's""".split()  # noqa: SIM905 - a word list reads better so
)
_CUE_RE = re.compile(
    r"\b(will|should|need to|needs to|must|have to|has to|going to|let's|let us|please|"
    r"make sure|follow up|action item|to-do|todo)\b",
    re.IGNORECASE,
)
_IMPERATIVES = frozenset(
    """send call schedule review check email prepare update create fix write book plan share
    finish complete submit confirm organize set arrange remember ask contact draft order buy
    """.split()  # noqa: SIM905
)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")


class _BadRequest(Exception):
    pass


def _content_words(text: str) -> list[str]:
    return [w for w in _text.normalize(text).split() if w not in _STOPWORDS]


def _source_ids(sources: Any) -> list[str]:
    """Transcript ids of the 0.x SDK's ``sources`` form: ``[{"id": ..., "type": "transcript"}]``."""
    if not isinstance(sources, list) or not all(
        isinstance(s, dict) and s.get("type") == "transcript" and isinstance(s.get("id"), str)
        for s in sources
    ):
        raise _BadRequest('sources must be an array of {"id": ..., "type": "transcript"} objects.')
    return [s["id"] for s in sources]


def _sentences(state: ServerState, body: dict[str, Any]) -> list[str]:
    ids = body.get("transcript_ids")
    if ids is None and body.get("sources") is not None:
        ids = _source_ids(body["sources"])
    input_text = body.get("input_text")
    if ids is None and not input_text:
        raise _BadRequest("Either transcript_ids or input_text must be provided.")
    sentences: list[str] = []
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _BadRequest("transcript_ids must be an array of transcript ids.")
        for transcript_id in ids:
            job = state.jobs.get(transcript_id)
            if job is None or job.api != "assemblyai" or job.deleted:
                raise _BadRequest(f"Transcript {transcript_id} was not found.")
            if job.status is not JobStatus.COMPLETED:
                raise _BadRequest(f"Transcript {transcript_id} is not completed.")
            words, spans = present_words(job)
            sentences.extend(_text.words_text(words[a:b]) for a, b in spans)
    if input_text:
        if not isinstance(input_text, str):
            raise _BadRequest("input_text must be a string.")
        sentences.extend(s.strip() for s in _SENTENCE_END_RE.split(input_text) if s.strip())
    return sentences


def summarize(sentences: list[str], *, limit: int | None = None) -> list[str]:
    """The most central sentences (see module docstring), in original order."""
    if not sentences:
        return []
    freq = Counter(w for s in sentences for w in _content_words(s))

    def score(sentence: str) -> float:
        words = _content_words(sentence)
        return sum(freq[w] for w in words) / len(words) if words else 0.0

    count = limit or min(5, max(1, math.ceil(len(sentences) / 5)))
    ranked = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))[:count]
    return [sentences[i] for i in sorted(ranked)]


def best_overlap(sentences: list[str], query: str, *, count: int = 1) -> list[str]:
    """The ``count`` sentences sharing the most content words with ``query`` (none if 0 overlap)."""
    terms = set(_content_words(query))
    scored = [(len(terms & set(_content_words(s))), i) for i, s in enumerate(sentences)]
    best = sorted((x for x in scored if x[0] > 0), key=lambda x: (-x[0], x[1]))[:count]
    return [sentences[i] for _, i in sorted(best, key=lambda x: x[1])]


def action_items(sentences: list[str]) -> list[str]:
    items = []
    for sentence in sentences:
        words = _text.normalize(sentence).split()
        if _CUE_RE.search(sentence) or (words and words[0] in _IMPERATIVES):
            items.append(sentence)
    return items


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _cap_words(text: str, max_words: Any) -> str:
    if isinstance(max_words, int) and not isinstance(max_words, bool) and max_words > 0:
        words = text.split(" ")
        if len(words) > max_words:
            return " ".join(words[:max_words])
    return text


def _count_words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_count_words(v) for v in value)
    if isinstance(value, dict):
        return sum(_count_words(v) for v in value.values())
    return 0


def _answer(sentences: list[str], kind: str, body: dict[str, Any]) -> str | list[dict[str, str]]:
    if kind == "summary":
        picked = summarize(sentences)
        fmt = str(body.get("answer_format") or "")
        return _bullets(picked) if "bullet" in fmt.lower() else " ".join(picked)
    if kind == "task":
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise _BadRequest("prompt is required.")
        return " ".join(best_overlap(sentences, prompt, count=3) or summarize(sentences))
    if kind == "action-items":
        items = action_items(sentences)
        return _bullets(items) if items else "No action items were found."
    questions = body.get("questions")
    if not isinstance(questions, list) or not questions:
        raise _BadRequest("questions is required: an array of {question, ...} objects.")
    answers: list[dict[str, str]] = []
    corpus = " ".join(_text.normalize(s) for s in sentences)
    for item in questions:
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise _BadRequest("Each question must be an object with a question string.")
        options = item.get("answer_options")
        if isinstance(options, list) and options:
            hits = [
                (corpus.count(_text.normalize(str(o))), -n, str(o)) for n, o in enumerate(options)
            ]
            answer = max(hits)[2]
        else:
            found = best_overlap(sentences, item["question"])
            answer = found[0] if found else "The transcript does not say."
        answers.append({"question": item["question"], "answer": answer})
    return answers


async def _generate(request: Request, kind: str) -> Response:
    state = get_state(request)
    try:
        body = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        return error(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return error(400, "The request body must be a JSON object.")
    try:
        sentences = _sentences(state, body)
        response = _answer(sentences, kind, body)
    except _BadRequest as exc:
        return error(400, str(exc))
    if isinstance(response, str):
        response = _cap_words(response, body.get("max_output_size"))
    extra = [body.get("prompt"), body.get("questions"), body.get("context")]
    data: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "usage": {
            "input_tokens": sum(_count_words(s) for s in sentences) + _count_words(extra),
            "output_tokens": _count_words(response),
        },
        "response": response,
    }
    state.lemur[data["request_id"]] = data
    return JSONResponse(data, headers=_HEADERS)


async def task(request: Request) -> Response:
    return await _generate(request, "task")


async def summary(request: Request) -> Response:
    return await _generate(request, "summary")


async def question_answer(request: Request) -> Response:
    return await _generate(request, "question-answer")


async def action_items_endpoint(request: Request) -> Response:
    return await _generate(request, "action-items")


async def get_response(request: Request) -> Response:
    data = get_state(request).lemur.get(request.path_params["request_id"])
    if data is None:
        return error(404, "LeMUR request not found")
    return JSONResponse(data, headers=_HEADERS)


async def purge(request: Request) -> Response:
    request_id = request.path_params["request_id"]
    if get_state(request).lemur.pop(request_id, None) is None:
        return error(404, "LeMUR request not found")
    return JSONResponse(
        {"request_id": str(uuid.uuid4()), "request_id_to_purge": request_id, "deleted": True}
    )


def routes() -> list[Route]:
    return [
        Route("/lemur/v3/generate/task", task, methods=["POST"]),
        Route("/lemur/v3/generate/summary", summary, methods=["POST"]),
        Route("/lemur/v3/generate/question-answer", question_answer, methods=["POST"]),
        Route("/lemur/v3/generate/action-items", action_items_endpoint, methods=["POST"]),
        Route("/lemur/v3/{request_id}", get_response, methods=["GET"]),
        Route("/lemur/v3/{request_id}", purge, methods=["DELETE"]),
    ]
