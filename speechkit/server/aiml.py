"""AIML API speech-to-text on the local server: ``POST /v1/stt/create``, ``GET /v1/stt/{id}``.

Implements (AIML docs and per-model OpenAPI files; ``protocols.md`` §3):

* ``POST /v1/stt/create`` with JSON ``{"model", "url", ...options}`` or ``multipart/form-data``
  with a ``model`` field and the file in ``audio`` (``file`` for
  ``openai/gpt-4o(-mini)-transcribe``; either name is accepted for every model). Exactly one of
  ``url`` and a file is required.
  Answers **201** ``{"generation_id"}`` (plus ``"status": "queued"`` for the OpenAI and Microsoft
  models, as their docs show).
* ``GET /v1/stt/{generation_id}`` → ``{generation_id, status, result}`` with status ``queued`` |
  ``generating`` | ``completed`` | ``error`` (then ``error: {name, message}`` instead of a result).
  Results expire ``aiml_retention`` seconds after the job ends (the service keeps them 1 h) → 404.
* ``result`` by model family:
  - Deepgram / Whisper models (``nova-2*``, ``nova-3*``, ``#g1_*``, ``whisper-*``): Deepgram
    prerecorded JSON, times in **seconds** (``metadata``, ``results.channels[0].alternatives[0]``
    with ``words[{word, start, end, confidence, punctuated_word}]``; ``paragraphs`` with
    ``paragraphs=true``, ``results.utterances`` with ``utterances=true``, ``speaker`` 0 with
    ``diarize=true``).
  - ``aai/*``: the AssemblyAI Transcript object (times in **milliseconds**), options as in REST v2.
  - ``openai/gpt-4o(-mini)-transcribe``: ``{text, usage}`` with token usage;
    ``microsoft/mai-transcribe-1.5``: ``{text, usage: {seconds, cost}}``.
* Auth: ``Authorization: Bearer <key>`` when the server has a key. Errors use the AIML body
  ``{message, path, requestId, statusCode, timestamp}``.

Departures: token counts are estimates (10 audio tokens per second, one output token per word) and
``cost`` is 0; Deepgram extras (summaries, topics, intents, sentiment, search, redaction) are not
computed; ``detect_language`` reports ``en``.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from speechkit.server import _text
from speechkit.server._transcript import ParamError, transcript_json, validate_transcript_params
from speechkit.server.jobs import Job, JobStatus
from speechkit.server.state import ServerState, get_state
from speechkit.server.uploads import UPLOAD_PATH_PREFIX, UploadTooLarge

__all__ = ["aiml_error", "model_family", "routes"]

_DEEPGRAM_RE = re.compile(
    r"^(#g1_)?(nova-2|nova-3|whisper-(tiny|base|small|medium|large))(-[a-z]+)?$"
)
_OPENAI = ("openai/gpt-4o-transcribe", "openai/gpt-4o-mini-transcribe")
_MICROSOFT = ("microsoft/mai-transcribe-1.5",)
_ASSEMBLYAI = ("aai/universal", "aai/slam-1", "aai/best", "aai/nano")
_STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.PROCESSING: "generating",
    JobStatus.COMPLETED: "completed",
    JobStatus.ERROR: "error",
}


def model_family(model: str) -> str | None:
    """``deepgram``, ``assemblyai``, ``openai``, ``microsoft``, or None for an unknown model."""
    if _DEEPGRAM_RE.match(model):
        return "deepgram"
    if model in _ASSEMBLYAI:
        return "assemblyai"
    if model in _OPENAI:
        return "openai"
    if model in _MICROSOFT:
        return "microsoft"
    return None


def aiml_error(status: int, message: str, path: str, **extra: Any) -> JSONResponse:
    """The documented AIML error body."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {
        "message": message,
        "path": path,
        "requestId": str(uuid.uuid4()),
        "statusCode": status,
        "timestamp": now,
        **extra,
    }
    return JSONResponse(body, status_code=status)


def _form_value(value: str) -> Any:
    """Multipart options arrive as text: booleans and numbers are converted, JSON arrays parsed."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d*", value.strip()):
        return float(value)
    if value.strip().startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Invalid(Exception):
    pass


class _TooLarge(Exception):
    pass


def _capped(request: Request, cap: int) -> Callable[[], Awaitable[Message]]:
    """The request's ``receive``, raising :class:`_TooLarge` once more than ``cap`` bytes came."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _TooLarge
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise _TooLarge
        return message

    return receive


async def _store_file(file: UploadFile, state: ServerState) -> str | None:
    """Copy an uploaded part into the upload store (spooled to disk when big); its id, or None
    when the part is empty."""
    writer = state.uploads.writer()
    try:
        while chunk := await file.read(1024 * 1024):
            await writer.write(chunk)
        if not writer.size:
            return None
        return await writer.commit()
    finally:
        await writer.discard()


async def _read_create(request: Request, state: ServerState) -> tuple[dict[str, Any], str | None]:
    """The options, and the upload id of the audio part of a multipart body (None for JSON)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        # Parsed as it arrives (Starlette spools file parts to disk), under the upload cap.
        receive = _capped(request, state.config.max_upload_bytes + 64 * 1024)
        try:
            form = await Request(request.scope, receive).form(
                max_part_size=state.config.max_upload_bytes
            )
        except _TooLarge:
            raise
        except Exception as exc:  # MultiPartException and parser errors
            raise _Invalid(f"malformed multipart body: {exc}") from None
        try:
            options: dict[str, Any] = {}
            upload_id: str | None = None
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if key not in ("audio", "file"):
                        raise _Invalid(f"unexpected file field {key!r} (use audio)")
                    upload_id = await _store_file(value, state)
                    if upload_id is None:
                        raise _Invalid("the file is empty")
                else:
                    options[key] = value if key == "model" else _form_value(value)
            return options, upload_id
        finally:
            await form.close()
    raw = await request.body()  # JSON: read under max_json_bytes by the middleware
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise _Invalid("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _Invalid("the body must be a JSON object")
    return body, None


async def create(request: Request) -> Response:
    state = get_state(request)
    path = request.url.path
    try:
        options, upload_id = await _read_create(request, state)
        model = options.pop("model", None)
        if not isinstance(model, str) or not model:
            raise _Invalid("model is required")
        family = model_family(model)
        if family is None:
            raise _Invalid(f"unknown speech-to-text model {model!r}")
        url = options.pop("url", None)
        options.pop("audio", None)
        options.pop("file", None)
        if (url is None) == (upload_id is None):
            raise _Invalid("provide either url or an audio file, exactly one")
        if url is not None and (not isinstance(url, str) or "://" not in url):
            raise _Invalid("url must be a URL")
    except _Invalid as exc:
        return aiml_error(400, "Body validation error!", path, details=str(exc))
    except _TooLarge:
        limit = state.config.max_upload_bytes
        return aiml_error(413, f"Payload too large: the limit is {limit} bytes", path)
    except UploadTooLarge as exc:
        return aiml_error(413, f"Payload too large: {exc}", path)
    if upload_id is not None:
        url = f"{str(request.base_url).rstrip('/')}{UPLOAD_PATH_PREFIX}{upload_id}"
    assert isinstance(url, str)
    params = options
    if family == "assemblyai":
        try:
            params = validate_transcript_params(
                {**options, "audio_url": url}, allow_file_urls=state.config.allow_file_urls
            )
        except ParamError as exc:
            return aiml_error(400, "Body validation error!", path, details=str(exc))
    job = Job(id=str(uuid.uuid4()), api="aiml", audio_url=url, params=params, model=model)
    state.start_job(job, state.job_context())
    body: dict[str, Any] = {"generation_id": job.id}
    if family in ("openai", "microsoft"):
        body["status"] = "queued"
    return JSONResponse(body, status_code=201)


def _expired(state: ServerState, job: Job, now: float) -> bool:
    return (
        job.finished_monotonic is not None
        and now - job.finished_monotonic > state.config.aiml_retention
    )


async def get_generation(request: Request) -> Response:
    state = get_state(request)
    job = state.jobs.get(request.path_params["generation_id"])
    if job is None or job.api != "aiml":
        return aiml_error(404, "Generation not found", request.url.path)
    if _expired(state, job, asyncio.get_running_loop().time()):
        state.jobs.remove(job.id)
        return aiml_error(
            404, "Generation not found (results are kept for 1 hour)", request.url.path
        )
    body: dict[str, Any] = {"generation_id": job.id, "status": _STATUS[job.status]}
    if job.status is JobStatus.COMPLETED:
        body["result"] = _result(job, state)
    elif job.status is JobStatus.ERROR:
        body["error"] = {"name": "Error", "message": job.error}
    return JSONResponse(body)


def _result(job: Job, state: ServerState) -> dict[str, Any]:
    family = model_family(job.model or "")
    if family == "assemblyai":
        return transcript_json(job)
    words, spans = _formatted(job)
    duration = job.audio_duration or 0.0
    if family == "deepgram":
        return _deepgram(job, state, words, spans)
    text = _text.words_text(words)
    if family == "openai":
        audio_tokens = math.ceil(duration * 10)
        output_tokens = len(words)
        return {
            "text": text,
            "usage": {
                "type": "tokens",
                "total_tokens": audio_tokens + output_tokens,
                "input_tokens": audio_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
                "output_tokens": output_tokens,
            },
        }
    return {"text": text, "usage": {"seconds": math.ceil(duration), "cost": 0.0}}


def _formatted(job: Job) -> tuple[list[_text.Word], list[tuple[int, int]]]:
    raw = [
        _text.Word(w.text, w.start, w.end, round(w.confidence, 5))
        for w in (job.result.words if job.result else ())
    ]
    return _text.format_words(raw, disfluencies=bool(job.params.get("filler_words")))


def _seconds(ms: int) -> float:
    return round(ms / 1000, 3)


def _deepgram(
    job: Job, state: ServerState, words: list[_text.Word], spans: list[tuple[int, int]]
) -> dict[str, Any]:
    p = job.params
    model = job.model or ""
    punctuated = bool(p.get("punctuate") or p.get("smart_format")) or "whisper" in model
    diarize = bool(p.get("diarize"))
    request_id = job.cache.setdefault("request_id", str(uuid.uuid4()))
    model_id = job.cache.setdefault("model_id", str(uuid.uuid4()))

    def word_json(w: _text.Word) -> dict[str, Any]:
        item: dict[str, Any] = {
            "word": _text.normalize(w.text) or w.text,
            "start": _seconds(w.start),
            "end": _seconds(w.end),
            "confidence": w.confidence,
            "punctuated_word": w.text,
        }
        if diarize:
            item["speaker"] = 0
        return item

    def text_of(part: list[_text.Word]) -> str:
        return " ".join(w.text if punctuated else _text.normalize(w.text) for w in part)

    confidence = round(sum(w.confidence for w in words) / len(words), 5) if words else 0.0
    alternative: dict[str, Any] = {
        "transcript": text_of(words),
        "confidence": confidence,
        "words": [word_json(w) for w in words],
    }
    if p.get("paragraphs"):
        paras = []
        for begin, end in _text.paragraph_spans(words, spans):
            sentences = [
                {
                    "text": text_of(words[a:b]),
                    "start": _seconds(words[a].start),
                    "end": _seconds(words[b - 1].end),
                }
                for a, b in spans
                if begin <= a and b <= end
            ]
            para: dict[str, Any] = {
                "sentences": sentences,
                "start": _seconds(words[begin].start),
                "end": _seconds(words[end - 1].end),
                "num_words": end - begin,
            }
            if diarize:
                para["speaker"] = 0
            paras.append(para)
        joined = "\n\n".join(" ".join(s["text"] for s in para["sentences"]) for para in paras)
        alternative["paragraphs"] = {"transcript": "\n" + joined, "paragraphs": paras}
    channel: dict[str, Any] = {"alternatives": [alternative]}
    if p.get("detect_language"):
        channel.update(detected_language="en", language_confidence=1.0)
    results: dict[str, Any] = {"channels": [channel]}
    if p.get("utterances"):
        results["utterances"] = [
            {
                "start": _seconds(words[a].start),
                "end": _seconds(words[b - 1].end),
                "confidence": round(sum(w.confidence for w in words[a:b]) / (b - a), 5),
                "channel": 0,
                "transcript": text_of(words[a:b]),
                "words": [word_json(w) for w in words[a:b]],
                "speaker": 0,
                "id": str(uuid.uuid5(uuid.UUID(request_id), str(a))),
            }
            for a, b in spans
        ]
    created = job.created.isoformat(timespec="milliseconds") + "Z"
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": request_id,
            "sha256": job.audio_sha256,
            "created": created,
            "duration": round(job.audio_duration or 0.0, 3),
            "channels": 1,
            "models": [model_id],
            "model_info": {
                model_id: {
                    "name": model.removeprefix("#g1_"),
                    "version": "local",
                    "arch": state.engine.name,
                }
            },
        },
        "results": results,
    }


def routes() -> list[Route]:
    return [
        Route("/v1/stt/create", create, methods=["POST"]),
        Route("/v1/stt/{generation_id}", get_generation, methods=["GET"]),
    ]
