"""Every batch operation, written once as a sans-I/O flow (see ``speechkit._core.flow``).

The sync and async transcribers drive these same generators, so uploading, creating, the
create-then-poll state machine, retries and local fallbacks behave identically in both.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from speechkit._core import text as local_text
from speechkit._core.audio_input import AudioSource, LocalAudio, RemoteAudio, to_body
from speechkit._core.flow import DeadlineReached, Flow, FlowContext, Sleep, send
from speechkit._core.http import Body, Request, Response, body_size
from speechkit._core.paging import Pages
from speechkit._core.progress import ProgressReporter
from speechkit._core.recovery import ListWitness
from speechkit._core.retry import outcome_unknown
from speechkit.errors import (
    APIError,
    APIStatusError,
    BadRequestError,
    ClientClosedError,
    InvalidInputError,
    RedactedAudioExpiredError,
    RedactedAudioNotReadyError,
    RequestTimeoutError,
    TranscriptionCancelledError,
    TranscriptionError,
    TranscriptionTimeoutError,
    TransportError,
)
from speechkit.providers.base import JobState, Provider

if TYPE_CHECKING:
    from speechkit.config import TranscriptionConfig
    from speechkit.models import (
        ParagraphsResponse,
        SentencesResponse,
        Transcript,
        WordSearchResponse,
    )

logger = logging.getLogger("speechkit")

#: Consecutive failed polls tolerated (each already retried by ``send``) before giving up.
MAX_CONSECUTIVE_POLL_FAILURES = 8


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """How often to poll a job: start quickly, grow by ``backoff`` up to ``max_interval`` seconds.

    A short job is seen soon after it completes, and a long one is not polled more than every
    ``max_interval`` seconds.
    """

    interval: float = 0.2
    max_interval: float = 3.0
    backoff: float = 1.2

    def delay(self, poll_number: int) -> float:
        """Seconds to wait before poll ``poll_number`` (1-based)."""
        return min(self.interval * self.backoff ** (poll_number - 1), self.max_interval)


# -- create, then poll -----------------------------------------------------------------------


def upload(
    ctx: FlowContext, provider: Provider, data: Any, progress: ProgressReporter | None = None
) -> Flow[str]:
    """Upload local audio (a path, bytes or a file object); return the URL to create a job from."""
    body, _ = to_body(data, argument="data")
    return (yield from upload_body(ctx, provider, body, progress))


def _send_with_body(
    ctx: FlowContext, request: Request, body: Body, progress: ProgressReporter | None
) -> Flow[Response]:
    """Send a request that carries local audio, reporting upload progress when asked to."""
    if progress is None or not progress.enabled:
        return (yield from send(ctx, request))
    total = body_size(body)
    progress.upload_started(total)
    if request.body is body:  # a raw body: the shell reports every chunk
        request = dataclasses.replace(request, on_body_sent=progress.uploaded)
    response = yield from send(ctx, request)
    if total is not None:
        progress.uploaded(total)
    return response


def upload_body(
    ctx: FlowContext, provider: Provider, body: Body, progress: ProgressReporter | None = None
) -> Flow[str]:
    response = yield from _send_with_body(ctx, provider.build_upload(body), body, progress)
    return provider.parse_upload(response)


def submit(
    ctx: FlowContext,
    provider: Provider,
    audio: AudioSource,
    config: TranscriptionConfig | None,
    progress: ProgressReporter | None = None,
) -> Flow[Transcript]:
    """Create a job (uploading local audio first where the provider needs it); do not wait."""
    uploaded_url: str | None = None
    if isinstance(audio, LocalAudio) and provider.uploads_local_audio:
        uploaded_url = yield from upload_body(ctx, provider, audio.body, progress)
        audio = RemoteAudio(uploaded_url)
    request = provider.build_create(audio, config)
    if isinstance(audio, LocalAudio):  # sent inside the create request (multipart)
        response = yield from _send_with_body(ctx, request, audio.body, progress)
        transcript = provider.parse_transcript(response)
    elif uploaded_url is not None:
        transcript = yield from _create_for_upload(ctx, provider, request, uploaded_url)
    else:
        response = yield from send(ctx, request)
        transcript = provider.parse_transcript(response)
    logger.debug("Created %s job %s", provider.name, transcript.id)
    if progress is not None:
        progress.job("submitted", transcript)
    return transcript


#: Times a create for freshly uploaded audio is recovered after an unknown outcome.
MAX_CREATE_RECOVERIES = 2
#: Newest jobs searched, page by page, for the one made from a given upload.
RECOVERY_SEARCH_LIMIT = 500
#: Searches of the job list after a lost create, waiting ``retry.backoff(1..n)`` before each
#: (about 7.5 s in all with the default policy), for a job list that lags behind creates.
RECOVERY_SWEEPS = 4


def _create_for_upload(
    ctx: FlowContext, provider: Provider, request: Request, upload_url: str
) -> Flow[Transcript]:
    """Create the job for audio this call has just uploaded, never making two.

    The upload URL is unique to this call, so when the create's answer is lost (a reset, a
    timeout, a 500/502/504) the job list tells what happened, once it has caught up: the job made
    from that URL is taken over if it shows up. A job list may lag behind creates, so "not
    listed" proves nothing by itself: the create is sent again only when the list also shows a
    job the server created *after* the create failed (so it has caught up past it). Otherwise
    the list is searched :data:`RECOVERY_SWEEPS` times, with growing waits, and then the original
    error is raised, saying the job may exist: never a second job on a guess.
    """
    for recovery in range(MAX_CREATE_RECOVERIES + 1):
        try:
            response = yield from send(ctx, request)
        except APIError as err:
            if recovery == MAX_CREATE_RECOVERIES or not outcome_unknown(err):
                raise
            witness = ListWitness(failed_at=ctx.wall(), wall=ctx.wall)
            found: str | None = None
            for sweep in range(1, RECOVERY_SWEEPS + 1):
                yield Sleep(ctx.retry.backoff(sweep, ctx.random))
                try:
                    jobs = yield from find_jobs(
                        ctx, provider, [upload_url], RECOVERY_SEARCH_LIMIT, observe=witness
                    )
                except APIError as list_err:
                    logger.warning(
                        "Could not search the job list after a lost create: %s", list_err
                    )
                    raise err from list_err  # cannot tell; its message says what to check
                found = jobs.get(upload_url)
                if found is not None or witness.fresh:
                    break
            if found is not None:
                logger.info("Create's answer was lost; found its job %s", found)
                return (yield from get(ctx, provider, found))
            if not witness.fresh or not _answered_in_time(err):
                raise _may_exist(err, upload_url) from err
            logger.info("Create's answer was lost and no job was made; sending it again")
            continue
        return provider.parse_transcript(response)
    raise AssertionError("unreachable")  # pragma: no cover


def _answered_in_time(err: APIError) -> bool:
    """Whether the server had certainly finished with the create when the error came: a reset
    (the connection dropped) or the origin's own 500. After a timeout, or any other status (a
    gateway's 502/504, a proxy's 520-524/598/599, a 408 or 409), it may still be working on it:
    a job made later than the witness would not be listed yet, so the create is not resent."""
    if isinstance(err, TransportError):
        return not isinstance(err, RequestTimeoutError)
    return isinstance(err, APIStatusError) and err.status_code == 500


def _may_exist(err: APIError, upload_url: str) -> APIError:
    """The lost create's error, saying the job may exist and how to find it (its ``retryable``
    is false: the classifier never resends a create)."""
    cls = type(err) if isinstance(err, TransportError) else TransportError
    cause = str(err).split(". The job may have been created")[0]  # send()'s generic note
    return cls(
        f"{cause}. The job may have been created: the job list does not show it (yet), and it "
        "may lag behind, so the create was not sent again. Look for it with "
        f"find_transcripts([{upload_url!r}]) before resubmitting.",
        request=err.request,
    )


def find_jobs(
    ctx: FlowContext,
    provider: Provider,
    audio_urls: Sequence[str],
    search_limit: int,
    observe: ListWitness | None = None,
) -> Flow[dict[str, str]]:
    """Map each of ``audio_urls`` to the id of the newest job made from it, searching the
    newest ``search_limit`` jobs page by page; URLs with no job are left out. ``observe`` is
    shown the first (newest) page."""
    wanted = set(audio_urls)
    found: dict[str, str] = {}
    params = {"limit": min(max(search_limit, 1), 200)}
    pages = Pages(ctx, provider, params, max_items=search_limit, observe=observe)
    while wanted and (page := (yield from pages.next())) is not None:
        for item in page.transcripts:
            if item.audio_url in wanted:
                wanted.discard(item.audio_url)
                found[item.audio_url] = item.id
    return found


def _send_for_job(
    ctx: FlowContext,
    provider: Provider,
    request: Request,
    transcript_id: str,
    deadline: float | None = None,
) -> Flow[Response]:
    try:
        return (yield from send(ctx, request, deadline=deadline))
    except APIStatusError as err:
        mapped = provider.map_status_error(err, transcript_id=transcript_id)
        if mapped is err:
            raise
        raise mapped from err


def get(
    ctx: FlowContext, provider: Provider, transcript_id: str, deadline: float | None = None
) -> Flow[Transcript]:
    response = yield from _send_for_job(
        ctx, provider, provider.build_get(transcript_id), transcript_id, deadline
    )
    return provider.parse_transcript(response, transcript_id=transcript_id)


def wait(
    ctx: FlowContext,
    provider: Provider,
    transcript: Transcript,
    schedule: PollSchedule,
    timeout: float | None,
    progress: ProgressReporter | None = None,
) -> Flow[Transcript]:
    """Poll until the job completes or fails; return its last state (failed ones too).

    Transient failures while polling (already retried by ``send``) do not end the wait: the job
    is still running on the server, so the loop keeps polling until ``timeout`` or until
    :data:`MAX_CONSECUTIVE_POLL_FAILURES` polls in a row have failed.

    ``timeout`` is a true bound: sleeps, each poll request and its retries (a ``Retry-After``
    included) get only the time left, and a wait that would end past it is not started.
    """
    if timeout is not None and timeout < 0:
        raise InvalidInputError(f"poll_timeout must be >= 0 seconds or None, got {timeout}.")
    deadline = None if timeout is None else ctx.monotonic() + timeout
    poll_number = 0
    failures = 0
    while provider.job_state(transcript) is JobState.PENDING:
        poll_number += 1
        delay = schedule.delay(poll_number)
        if deadline is not None:
            remaining = deadline - ctx.monotonic()
            if remaining <= 0:
                raise _timed_out(transcript, timeout)
            delay = min(delay, remaining)
        try:
            yield Sleep(delay)
            transcript = yield from get(ctx, provider, transcript.id, deadline)
            failures = 0
            if progress is not None:
                progress.job("waiting", transcript)
        except DeadlineReached as late:
            raise _timed_out(transcript, timeout, late) from late.error
        except ClientClosedError as err:
            raise TranscriptionCancelledError(
                f"Stopped waiting for transcript {transcript.id} because the client was closed. "
                "The job keeps running on the server.",
                transcript_id=transcript.id,
                transcript=transcript,
            ) from err
        except APIError as err:
            retryable = getattr(err, "retryable", False)
            failures += 1
            if not retryable or failures >= MAX_CONSECUTIVE_POLL_FAILURES:
                raise
            logger.warning("Polling transcript %s failed (%s); still waiting", transcript.id, err)
    if progress is not None:
        progress.job("done", transcript)
    return transcript


def _timed_out(
    transcript: Transcript, timeout: float | None, late: DeadlineReached | None = None
) -> TranscriptionTimeoutError:
    why = ""
    if late is not None and late.error is not None:
        why = f" The last poll failed ({late.error})"
        if late.delay is not None:
            why += (
                f" and the server asked to wait {late.delay:.3g} s before polling again "
                "(Retry-After), past poll_timeout, so speechkit stopped there"
            )
        why += "."
    return TranscriptionTimeoutError(
        f"Transcript {transcript.id} was still {transcript.status} after waiting "
        f"{timeout:g} s.{why} The job keeps running on the server: fetch it later with "
        f"get_transcript({transcript.id!r}) or wait_for_completion().",
        transcript_id=transcript.id,
        transcript=transcript,
    )


def raise_for_failed(provider: Provider, transcript: Transcript) -> Transcript:
    """Raise :class:`TranscriptionError` when the job ended in error; return it otherwise."""
    if provider.job_state(transcript) is JobState.FAILED:
        detail = provider.job_error(transcript)
        raise TranscriptionError(
            f"Transcript {transcript.id} failed: {detail or 'the service gave no reason'}",
            transcript_id=transcript.id,
            server_message=detail,
            transcript=transcript,
        )
    return transcript


def transcribe(
    ctx: FlowContext,
    provider: Provider,
    audio: AudioSource,
    config: TranscriptionConfig | None,
    schedule: PollSchedule,
    timeout: float | None,
    progress: ProgressReporter | None = None,
) -> Flow[Transcript]:
    """Upload when needed, create, poll; return the completed transcript or raise."""
    transcript = yield from submit(ctx, provider, audio, config, progress)
    transcript = yield from wait(ctx, provider, transcript, schedule, timeout, progress)
    return raise_for_failed(provider, transcript)


# -- other operations -------------------------------------------------------------------------


def delete(ctx: FlowContext, provider: Provider, transcript_id: str) -> Flow[Transcript]:
    request = provider.build_delete(transcript_id)
    response = yield from _send_for_job(ctx, provider, request, transcript_id)
    return provider.parse_transcript(response, transcript_id=transcript_id)


def _completed(ctx: FlowContext, provider: Provider, transcript_id: str) -> Flow[Transcript]:
    transcript = yield from get(ctx, provider, transcript_id)
    if provider.job_state(transcript) is not JobState.COMPLETED:
        raise InvalidInputError(
            f"Transcript {transcript_id} is {transcript.status}, not completed; "
            "wait for it with wait_for_completion() first."
        )
    return transcript


def subtitles(
    ctx: FlowContext,
    provider: Provider,
    transcript_id: str,
    fmt: Literal["srt", "vtt"],
    chars_per_caption: int | None,
) -> Flow[str]:
    if chars_per_caption is not None and chars_per_caption < 1:
        raise InvalidInputError(f"chars_per_caption must be >= 1, got {chars_per_caption}.")
    request = provider.build_subtitles(transcript_id, fmt, chars_per_caption)
    if request is None:
        transcript = yield from _completed(ctx, provider, transcript_id)
        return local_text.subtitles(transcript, fmt, chars_per_caption)
    response = yield from send(ctx, request)
    return response.text


def sentences(ctx: FlowContext, provider: Provider, transcript_id: str) -> Flow[SentencesResponse]:
    request = provider.build_sentences(transcript_id)
    if request is None:
        transcript = yield from _completed(ctx, provider, transcript_id)
        return local_text.sentences(transcript)
    response = yield from send(ctx, request)
    return provider.parse_sentences(response)


def paragraphs(
    ctx: FlowContext, provider: Provider, transcript_id: str
) -> Flow[ParagraphsResponse]:
    request = provider.build_paragraphs(transcript_id)
    if request is None:
        transcript = yield from _completed(ctx, provider, transcript_id)
        return local_text.paragraphs(transcript)
    response = yield from send(ctx, request)
    return provider.parse_paragraphs(response)


def word_search(
    ctx: FlowContext, provider: Provider, transcript_id: str, words: Sequence[str]
) -> Flow[WordSearchResponse]:
    if isinstance(words, str):
        words = [words]
    cleaned = [w.strip() for w in words if isinstance(w, str) and w.strip()]
    if not cleaned:
        raise InvalidInputError("word_search needs at least one non-empty word.")
    if any("," in w for w in cleaned):
        raise InvalidInputError(
            "word_search words cannot contain commas (the API joins them with commas); "
            "pass each word or phrase as its own list item."
        )
    request = provider.build_word_search(transcript_id, cleaned)
    if request is None:
        transcript = yield from _completed(ctx, provider, transcript_id)
        return local_text.word_search(transcript, cleaned)
    response = yield from send(ctx, request)
    return provider.parse_word_search(response)


def redacted_audio_url(ctx: FlowContext, provider: Provider, transcript_id: str) -> Flow[str]:
    """The redacted audio's URL; raises when it is not ready (202) or has expired (400)."""
    request = provider.build_redacted_audio(transcript_id)
    try:
        response = yield from send(ctx, request)
    except BadRequestError as err:
        raise RedactedAudioExpiredError.from_status_error(
            err,
            f"The redacted audio of transcript {transcript_id} is not available: "
            f"{err.message}. Redacted audio is kept for 24 hours after the transcript "
            "completes, and exists only when the job used redact_pii_audio=True.",
        ) from err
    if response.status_code == 202:
        raise RedactedAudioNotReadyError(
            f"The redacted audio of transcript {transcript_id} is not ready yet; try again "
            "shortly.",
            transcript_id=transcript_id,
        )
    from speechkit.models import RedactedAudioResponse

    parsed = RedactedAudioResponse.from_json_data(response.json())
    if not parsed.redacted_audio_url:
        raise RedactedAudioNotReadyError(
            f"The redacted audio of transcript {transcript_id} has no URL yet "
            f"(status {parsed.status!r}); try again shortly.",
            transcript_id=transcript_id,
        )
    return parsed.redacted_audio_url
