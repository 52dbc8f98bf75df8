"""AssemblyAI REST v2 on the local server: uploads, transcripts and their exports.

Implements (spec: ``openapi.json`` HEAD, notes in ``protocols.md`` §1):

* ``POST /v2/upload``: raw body (``Content-Length`` or chunked), capped → ``{"upload_url"}``,
  where ``upload_url`` is ``{base_url}/upload/{uuid}`` (``GET`` on it returns the bytes). The
  body is streamed into the store: uploads over ``upload_spool_bytes`` go to a temporary file.
* ``POST /v2/transcript``: validates like the service (``audio_url`` required; option types,
  ranges, enum values and combinations checked from ``speechkit._core.options.batch``; unknown
  options ignored) → the Transcript, ``status: queued``; the job then runs in the
  background (``processing`` → ``completed`` / ``error``).
* ``GET /v2/transcript/{id}``, ``DELETE`` (only once done; answers the spec's deleted form).
* ``GET /v2/transcript``: ``limit`` 1-200 (default 10), ``status``, ``created_on``,
  ``before_id``/``after_id``; newest first; ``prev_url`` pages to older, ``next_url`` to newer
  transcripts, each null when there is nothing there.
* ``GET .../srt|vtt?chars_per_caption=``, ``.../sentences``, ``.../paragraphs``,
  ``.../word-search?words=a,b`` (the SDK's rules in :mod:`speechkit._core.text`; captions also
  never cross a sentence).
* ``GET .../redacted-audio``: 400 when redacted audio was not requested, the job failed or the
  file expired; 202 while the job runs; then
  ``{"status": "redacted_audio_ready", "redacted_audio_url"}``.
* Webhooks: when ``webhook_url`` is set the server POSTs ``{"transcript_id", "status"}`` there
  once (with the optional auth header) and reports ``webhook_status_code``.

Departures from the real service:

* Text formatting, sentences and paragraphs are rule-based (:mod:`speechkit.server._text`,
  :mod:`speechkit._core.text`);
  ``speaker_labels`` gives paragraphs to speakers in turn (``"A"`` only, unless
  ``speakers_expected`` says more; no diarization) and ``utterances`` are the paragraphs;
  ``multichannel`` audio is down-mixed; ``language_detection`` reports the engine's language with
  confidence 1.0.
* Audio intelligence (highlights, content safety, topics, sentiment, entities, chapters, summary)
  is rule-based (:mod:`speechkit.server._intelligence`): every field has the service's shape, but
  the labels come from keyword lists, not models.
  ``filter_profanity`` and ``speech_threshold`` are echoed but not applied.
* PII redaction is rule-based (:mod:`speechkit.server._pii`): it finds names, numbers, phone
  numbers, e-mail addresses, URLs, dates, times, money amounts, ages and the gazetteer's places,
  organizations, ...; other policies are accepted and find nothing. Redacted audio (``mp3`` by
  default, ``wav`` per ``redact_pii_audio_quality``) has each redacted span beeped, or silenced
  with ``redact_pii_audio_options.override_audio_redaction_method = "silence"``.
* ``speech_models`` is not required (older SDKs do not send it).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import uuid
import wave
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from speechkit._core import text as core_text
from speechkit.server import _pii, webhooks
from speechkit.server._transcript import (
    DELETED_URL,
    ParamError,
    mean_confidence,
    present_words,
    segment_json,
    transcript_json,
    validate_transcript_params,
)
from speechkit.server.jobs import Job, JobStatus
from speechkit.server.state import ServerState, get_state
from speechkit.server.uploads import UPLOAD_PATH_PREFIX, UploadTooLarge

__all__ = ["base_url", "error", "routes"]

logger = logging.getLogger("speechkit.server")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The spec's ``Error`` body."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _list_item(job: Job, base: str) -> dict[str, Any]:
    return {
        "id": job.id,
        "resource_url": f"{base}/v2/transcript/{job.id}",
        "status": job.status.value,
        "created": job.created.isoformat(),
        "completed": job.completed.isoformat() if job.completed else None,
        "audio_url": DELETED_URL if job.deleted else job.audio_url,
        "error": job.error,
    }


# -- handlers --------------------------------------------------------------------------------


async def upload(request: Request) -> Response:
    state = get_state(request)
    cap = state.uploads.max_file_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        return error(413, f"Upload too large: the limit is {cap} bytes.")
    # Streamed into the store: big uploads go to a temporary file, never whole into memory.
    writer = state.uploads.writer()
    try:
        async for chunk in request.stream():
            await writer.write(chunk)
        if not writer.size:
            await writer.discard()
            return error(400, "The upload is empty: send the file's bytes as the request body.")
        upload_id = await writer.commit()
    except UploadTooLarge as exc:
        if exc.store_full:
            return error(413, f"Upload rejected: {exc}.")
        return error(413, f"Upload too large: the limit is {cap} bytes.")
    finally:
        await writer.discard()  # a no-op once committed; frees a disconnected client's upload
    return JSONResponse({"upload_url": f"{base_url(request)}{UPLOAD_PATH_PREFIX}{upload_id}"})


async def download_upload(request: Request) -> Response:
    uploads = get_state(request).uploads
    upload_id = request.path_params["upload_id"]
    path = uploads.path(upload_id)
    if path is not None:
        return FileResponse(path, media_type="application/octet-stream")
    data = uploads.get(upload_id)
    if data is None:
        return error(404, "Not found")
    return Response(data, media_type="application/octet-stream")


def _webhook_hook(
    state: ServerState, header: tuple[str, str] | None
) -> Callable[[Job], Awaitable[None]]:
    async def deliver(job: Job) -> None:
        url = job.params.get("webhook_url")
        if not url:
            return
        job.webhook_status_code = await webhooks.deliver(
            url,
            transcript_id=job.id,
            status=job.status.value,
            header=header,
            http_timeout=state.config.webhook_timeout,
            policy=state.config.outbound_policy,
        )

    return deliver


async def create_transcript(request: Request) -> Response:
    state = get_state(request)
    try:
        body = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        return error(400, "The request body is not valid JSON.")
    try:
        params = validate_transcript_params(body, allow_file_urls=state.config.allow_file_urls)
    except ParamError as exc:
        return error(400, str(exc))
    header_name = params.get("webhook_auth_header_name")
    header_value = params.pop("webhook_auth_header_value", None)
    header = (header_name, header_value) if header_name and header_value is not None else None
    job = Job(id=str(uuid.uuid4()), api="assemblyai", audio_url=body["audio_url"], params=params)
    state.start_job(job, state.job_context(on_done=_webhook_hook(state, header)))
    return JSONResponse(transcript_json(job))


def _find(request: Request) -> Job | None:
    job = get_state(request).jobs.get(request.path_params["transcript_id"])
    return job if job is not None and job.api == "assemblyai" else None


async def get_transcript(request: Request) -> Response:
    job = _find(request)
    return error(404, "Transcript not found") if job is None else JSONResponse(transcript_json(job))


async def delete_transcript(request: Request) -> Response:
    job = _find(request)
    if job is None:
        return error(404, "Transcript not found")
    if not job.done:
        return error(400, "Transcript is still processing: it can be deleted once it is done.")
    job.deleted = True
    job.pcm = None
    return JSONResponse(transcript_json(job))


_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


async def list_transcripts(request: Request) -> Response:
    state = get_state(request)
    q = request.query_params
    try:
        limit = int(q.get("limit", "10"))
    except ValueError:
        return error(400, "limit must be an integer.")
    if not 1 <= limit <= 200:
        return error(400, "limit must be between 1 and 200.")
    status = q.get("status")
    if status is not None and status not in {s.value for s in JobStatus}:
        return error(400, "status must be one of queued, processing, completed, error.")
    created_on: date | None = None
    if q.get("created_on"):
        try:
            created_on = date.fromisoformat(q["created_on"])
        except ValueError:
            return error(400, "created_on must be a date (YYYY-MM-DD).")
    before_id, after_id = q.get("before_id"), q.get("after_id")
    for name, value in (("before_id", before_id), ("after_id", after_id)):
        if value is not None and not _UUID_RE.match(value):
            return error(400, f"{name} must be a transcript id (UUID).")

    jobs = [
        j
        for j in state.jobs.all("assemblyai")
        if (status is None or j.status.value == status)
        and (created_on is None or j.created.date() == created_on)
    ]  # oldest first
    ref = state.jobs.get(before_id or after_id or "")
    if before_id:
        older = [j for j in jobs if ref is not None and j.seq < ref.seq]
        page = older[-limit:]
    elif after_id:
        newer = [j for j in jobs if ref is not None and j.seq > ref.seq]
        page = newer[:limit]
    else:
        page = jobs[-limit:]
    page.reverse()  # newest first

    base = base_url(request)
    fixed = {"limit": limit, **({"status": status} if status else {})}
    if created_on:
        fixed["created_on"] = created_on.isoformat()
    prev_url = next_url = None
    if page:
        if any(j.seq < page[-1].seq for j in jobs):
            prev_url = f"{base}/v2/transcript?{urlencode({**fixed, 'before_id': page[-1].id})}"
        if any(j.seq > page[0].seq for j in jobs):
            next_url = f"{base}/v2/transcript?{urlencode({**fixed, 'after_id': page[0].id})}"
    return JSONResponse(
        {
            "page_details": {
                "limit": limit,
                "result_count": len(page),
                "current_url": str(request.url),
                "prev_url": prev_url,
                "next_url": next_url,
            },
            "transcripts": [_list_item(j, base) for j in page],
        }
    )


def _completed(request: Request) -> Job | Response:
    job = _find(request)
    if job is None:
        return error(404, "Transcript not found")
    if job.status is not JobStatus.COMPLETED:
        return error(400, f"Transcript is not completed (status: {job.status.value}).")
    if job.deleted:
        return error(400, "Transcript was deleted.")
    return job


async def subtitles(request: Request) -> Response:
    job = _completed(request)
    if isinstance(job, Response):
        return job
    raw = request.query_params.get("chars_per_caption")
    chars: int | None = None
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            return error(400, "chars_per_caption must be a positive integer.")
        chars = int(raw)
    words, spans = present_words(job)
    captions = core_text.build_captions(words, chars, breaks=spans)
    fmt = request.url.path.rsplit("/", 1)[-1]
    body = core_text.to_srt(captions) if fmt == "srt" else core_text.to_vtt(captions)
    return PlainTextResponse(body)


async def sentences(request: Request) -> Response:
    job = _completed(request)
    if isinstance(job, Response):
        return job
    words, spans = present_words(job)
    return JSONResponse(
        {
            "id": job.id,
            "confidence": mean_confidence(words) or 0.0,
            "audio_duration": round(job.audio_duration or 0),
            "sentences": [
                {**segment_json(words, s), "speaker": words[s[0]].speaker} for s in spans
            ],
        }
    )


async def paragraphs(request: Request) -> Response:
    job = _completed(request)
    if isinstance(job, Response):
        return job
    words, spans = present_words(job)
    return JSONResponse(
        {
            "id": job.id,
            "confidence": mean_confidence(words) or 0.0,
            "audio_duration": round(job.audio_duration or 0),
            "paragraphs": [segment_json(words, p) for p in core_text.paragraph_spans(words, spans)],
        }
    )


async def word_search(request: Request) -> Response:
    job = _completed(request)
    if isinstance(job, Response):
        return job
    queries = [w for v in request.query_params.getlist("words") for w in v.split(",") if w.strip()]
    if not queries:
        return error(400, "words is required: a comma-separated list of words to search for.")
    words, _ = present_words(job)
    matches = [
        {"text": m.text, "count": m.count, "timestamps": m.timestamps, "indexes": m.indexes}
        for m in core_text.search_words(words, queries)
    ]
    return JSONResponse(
        {"id": job.id, "total_count": sum(m["count"] for m in matches), "matches": matches}
    )


def _redacted_expired(state: ServerState, job: Job, now: float) -> bool:
    finished = job.finished_monotonic
    return finished is not None and now - finished > state.config.redacted_audio_retention


async def redacted_audio(request: Request) -> Response:
    state = get_state(request)
    job = _find(request)
    if job is None:
        return error(404, "Transcript not found")
    if not (job.params.get("redact_pii") and job.params.get("redact_pii_audio")):
        return error(
            400, "Redacted audio is not available: redact_pii_audio was not enabled for this job."
        )
    if job.status is JobStatus.ERROR:
        return error(400, "Redacted audio is not available: the transcript failed.")
    if not job.done:
        return JSONResponse({"status": "processing", "redacted_audio_url": None}, status_code=202)
    if (
        job.deleted
        or job.pcm is None
        or _redacted_expired(state, job, asyncio.get_running_loop().time())
    ):
        return error(400, "Redacted audio has expired and is no longer available.")
    words, _ = present_words(job)
    options = job.params.get("redact_pii_audio_options") or {}
    if not words and not options.get("return_redacted_no_speech_audio"):
        return error(
            400,
            "Redacted audio is not available: no speech was detected in the audio (set "
            "redact_pii_audio_options.return_redacted_no_speech_audio to get it anyway).",
        )
    extension = _redacted_extension(job)
    return JSONResponse(
        {
            "status": "redacted_audio_ready",
            "redacted_audio_url": f"{base_url(request)}/v2/redacted-audio/{job.id}.{extension}",
        }
    )


def _redacted_extension(job: Job) -> str:
    return "wav" if job.params.get("redact_pii_audio_quality") == "wav" else "mp3"


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """Mono 16-bit PCM wrapped in a WAV header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()


async def redacted_audio_file(request: Request) -> Response:
    job = _find(request)
    extension = request.path_params["extension"]
    if job is None or job.pcm is None or job.deleted or extension != _redacted_extension(job):
        return error(404, "Not found")
    cached: tuple[bytes, str] | None = job.cache.get("redacted_audio")
    if cached is None:
        present_words(job)  # finds the redacted ranges
        offset = int(job.params.get("audio_start_from") or 0)
        ranges = [(a - offset, b - offset) for a, b in job.cache.get("pii_ranges", [])]
        options = job.params.get("redact_pii_audio_options") or {}
        silence = options.get("override_audio_redaction_method") == "silence"
        pcm, rate = job.pcm, job.sample_rate
        assert pcm is not None

        def build() -> tuple[bytes, str]:
            redacted = _pii.redact_audio(pcm, rate, ranges, silence=silence)
            return _pii.redacted_audio_file(redacted, rate, extension)

        cached = await asyncio.to_thread(build)
        job.cache["redacted_audio"] = cached
    data, media_type = cached
    return Response(data, media_type=media_type)


def routes() -> list[Route]:
    t = "/v2/transcript/{transcript_id}"
    return [
        Route("/v2/upload", upload, methods=["POST"]),
        Route(UPLOAD_PATH_PREFIX + "{upload_id}", download_upload, methods=["GET"]),
        Route("/v2/transcript", create_transcript, methods=["POST"]),
        Route("/v2/transcript", list_transcripts, methods=["GET"]),
        Route(t, get_transcript, methods=["GET"]),
        Route(t, delete_transcript, methods=["DELETE"]),
        Route(t + "/srt", subtitles, methods=["GET"]),
        Route(t + "/vtt", subtitles, methods=["GET"]),
        Route(t + "/sentences", sentences, methods=["GET"]),
        Route(t + "/paragraphs", paragraphs, methods=["GET"]),
        Route(t + "/word-search", word_search, methods=["GET"]),
        Route(t + "/redacted-audio", redacted_audio, methods=["GET"]),
        Route(
            "/v2/redacted-audio/{transcript_id}.{extension}", redacted_audio_file, methods=["GET"]
        ),
    ]
