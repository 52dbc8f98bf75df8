"""What ``Transcriber`` and ``AsyncTranscriber`` share: resolving settings and the provider, and
building the sans-I/O flows each public method runs. Neither shell adds logic of its own."""

from __future__ import annotations

import datetime as _dt
import logging
import random as _random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from speechkit._core import operations as ops
from speechkit._core.audio_input import to_audio_source
from speechkit._core.flow import Flow, FlowContext
from speechkit._core.group import GroupFlow, GroupHooks, Resume
from speechkit._core.limiter import DEFAULT_BUDGET, RateLimiter, TokenBucket
from speechkit._core.operations import PollSchedule
from speechkit._core.paging import Pages, list_page
from speechkit._core.progress import ProgressArg, ProgressReporter
from speechkit._core.retry import RetryPolicy
from speechkit._settings import check_count, check_positive, check_string, settings
from speechkit.errors import InvalidInputError, TranscriptionError
from speechkit.providers import resolve_provider

if TYPE_CHECKING:
    from speechkit._ledger_run import GroupRun
    from speechkit.config import TranscriptionConfig
    from speechkit.models import (
        ParagraphsResponse,
        SentencesResponse,
        Transcript,
        TranscriptList,
        WordSearchResponse,
    )
    from speechkit.providers.base import Provider
    from speechkit.webhooks import WebhookReceiver

__all__ = ["TranscriberBase", "check_poll_timeout", "transcript_id_of"]

logger = logging.getLogger("speechkit")

#: How a group finds that its jobs ended: "auto" sweeps the job list from SWEEP_FROM jobs on.
COMPLETIONS = ("auto", "poll", "sweep")

T = TypeVar("T")

#: Jobs a group runs at once unless told otherwise.
DEFAULT_GROUP_CONCURRENCY = 8


def transcript_id_of(transcript: Transcript | str) -> str:
    """Accept a Transcript or its id wherever an id is needed."""
    if isinstance(transcript, str):
        if not transcript.strip():
            raise InvalidInputError("transcript_id must be a non-empty string.")
        return transcript
    identifier = getattr(transcript, "id", None)
    if not isinstance(identifier, str) or not identifier:
        raise InvalidInputError(
            f"Expected a Transcript or a transcript id, got {type(transcript).__name__}."
        )
    return identifier


def _closing(flow: Flow[T], close: Callable[[], None]) -> Flow[T]:
    """Run ``flow``, then call ``close`` however it ends (result, error or cancellation)."""
    try:
        return (yield from flow)
    finally:
        close()


def _with_webhook(
    config: TranscriptionConfig | None, webhook: WebhookReceiver
) -> TranscriptionConfig:
    """``config`` with the receiver's URL and auth header (the service delivers there)."""
    from speechkit.config import TranscriptionConfig
    from speechkit.webhooks import WebhookReceiver

    if not isinstance(webhook, WebhookReceiver):
        raise InvalidInputError(
            f"webhook must be a speechkit.webhooks.WebhookReceiver, got {type(webhook).__name__}."
        )
    base = config if config is not None else TranscriptionConfig()
    return base.model_copy(update=webhook.config_fields())


class _SharedLimiter:
    """A limiter several threads' groups may share (the core's own is single-threaded)."""

    def __init__(self, inner: RateLimiter) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def reserve(self, now: float) -> float:
        with self._lock:
            return self._inner.reserve(now)


def _positive(name: str, value: float | None) -> float | None:
    if value is not None:
        check_positive(name, value)
    return value


def as_config(config: Any) -> TranscriptionConfig | None:
    """A config argument as a checked TranscriptionConfig (a dict of options is accepted)."""
    if config is None:
        return None
    from speechkit.config import as_config as convert

    return convert(config)


def check_poll_timeout(poll_timeout: float | None) -> None:
    if poll_timeout is not None and poll_timeout < 0:
        raise InvalidInputError(f"poll_timeout must be >= 0 seconds or None, got {poll_timeout}.")


class TranscriberBase:
    """Configuration and flow building shared by the sync and async transcribers."""

    def __init__(
        self,
        *,
        provider: str | Provider,
        api_key: str | None,
        base_url: str | None,
        model: str | None,
        config: TranscriptionConfig | None,
        http_timeout: float | None,
        max_retries: int | None,
        polling_interval: float | None,
        polling_max_interval: float | None,
        engine: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        # Every argument is checked before a local server may be started.
        for name, text in (("api_key", api_key), ("base_url", base_url), ("model", model)):
            check_string(name, text)
        if max_retries is not None:
            check_count("max_retries", max_retries)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidInputError(
                f"retry must be a speechkit.RetryPolicy, got {type(retry).__name__}: for example "
                "retry=speechkit.RetryPolicy(max_retries=2, initial_delay=0.1)."
            )
        if retry is not None and max_retries is not None:
            raise InvalidInputError(
                "Pass max_retries or retry=RetryPolicy(...), not both: "
                f"retry=RetryPolicy(max_retries={max_retries}, ...) says it all."
            )
        #: What a pickled copy is rebuilt from: settings only, never connections or threads.
        self._settings: dict[str, Any] = {
            "config": config,
            "http_timeout": http_timeout,
            "max_retries": max_retries,
            "retry": retry,
            "polling_interval": polling_interval,
            "polling_max_interval": polling_max_interval,
        }
        self.config = as_config(config)
        self._timeout = _positive("http_timeout", http_timeout) or settings.http_timeout
        interval = _positive("polling_interval", polling_interval) or settings.polling_interval
        cap = _positive("polling_max_interval", polling_max_interval)
        self._provider, self._owned_server = resolve_provider(
            provider, api_key=api_key, base_url=base_url, model=model, engine=engine
        )
        self._schedule = PollSchedule(
            interval=interval,
            max_interval=max(cap or settings.polling_max_interval, interval),
            backoff=settings.polling_backoff,
        )
        if retry is None:
            retry = RetryPolicy(
                max_retries=settings.max_retries if max_retries is None else max_retries
            )
        self._ctx = FlowContext(
            retry=retry, monotonic=time.monotonic, wall=time.time, random=_random.random
        )
        #: Every group of this client stays under the service's request budget together.
        self._limiter: RateLimiter = _SharedLimiter(TokenBucket(*DEFAULT_BUDGET))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the settings (provider with its key and URL, config, timeouts), so a copy can
        go to a process pool or a cluster; each copy opens its own connections and threads.

        A copy of a ``provider="local"`` transcriber talks to the same server (reachable from
        processes on this machine) and does not own it. An ``http_client`` you passed is not
        carried: the copy makes its own.
        """
        return {"provider": self._provider, **self._settings, **self._extra_settings()}

    def _extra_settings(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def retry_policy(self) -> RetryPolicy:
        """How this client retries failed requests (``retry=``, or one made from
        ``max_retries`` and the defaults). Immutable: pass a new one to a new client."""
        return self._ctx.retry

    @property
    def provider(self) -> Provider:
        """The provider adapter this client talks through."""
        return self._provider

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._provider.safe_repr_fields().items())
        return f"{type(self).__name__}({fields})"

    def _close_owned_server(self) -> None:
        server, self._owned_server = self._owned_server, None
        if server is not None:
            server.close()

    # -- flows -------------------------------------------------------------------------------
    def _config(self, config: TranscriptionConfig | None) -> TranscriptionConfig | None:
        return as_config(config) if config is not None else as_config(self.config)

    def _tracked(
        self, progress: ProgressArg, build: Callable[[ProgressReporter | None], Flow[T]]
    ) -> Flow[T]:
        """Build a flow with ``progress`` turned into a reporter; ``True`` means a display
        chosen by :func:`speechkit.progress.auto`, closed when the call ends however it ends."""
        if progress is None or progress is False:
            return build(None)
        if progress is True:
            from speechkit.progress import auto

            display = auto()
            return _closing(build(ProgressReporter(display, self._ctx.monotonic)), display.close)
        return build(ProgressReporter(progress, self._ctx.monotonic))

    def _upload_flow(self, data: Any, progress: ProgressArg = None) -> Flow[str]:
        return self._tracked(progress, lambda r: ops.upload(self._ctx, self._provider, data, r))

    def _submit_flow(
        self,
        audio: Any,
        config: TranscriptionConfig | None,
        progress: ProgressArg = None,
    ) -> Flow[Transcript]:
        source = to_audio_source(audio)
        config = self._config(config)
        return self._tracked(
            progress, lambda r: ops.submit(self._ctx, self._provider, source, config, r)
        )

    def _transcribe_flow(
        self,
        audio: Any,
        config: TranscriptionConfig | None,
        poll_timeout: float | None,
        progress: ProgressArg = None,
    ) -> Flow[Transcript]:
        check_poll_timeout(poll_timeout)
        source = to_audio_source(audio)
        config = self._config(config)
        return self._tracked(
            progress,
            lambda r: ops.transcribe(
                self._ctx, self._provider, source, config, self._schedule, poll_timeout, r
            ),
        )

    def _finished(self, result: Transcript | BaseException) -> Transcript | BaseException:
        """A waited-for job as a group outcome: a failed job becomes its TranscriptionError."""
        if isinstance(result, BaseException):
            return result
        try:
            return ops.raise_for_failed(self._provider, result)
        except TranscriptionError as err:
            return err

    def _get_flow(self, transcript: Transcript | str) -> Flow[Transcript]:
        return ops.get(self._ctx, self._provider, transcript_id_of(transcript))

    def _wait_flow(
        self,
        transcript: Transcript | str,
        poll_timeout: float | None,
        progress: ProgressArg = None,
    ) -> Flow[Transcript]:
        def flow(reporter: ProgressReporter | None) -> Flow[Transcript]:
            current = transcript
            if isinstance(current, str):
                current = yield from self._get_flow(current)
            done = yield from ops.wait(
                self._ctx, self._provider, current, self._schedule, poll_timeout, reporter
            )
            return done

        transcript_id_of(transcript)
        check_poll_timeout(poll_timeout)
        return self._tracked(progress, flow)

    def _find_flow(
        self, audio_urls: Sequence[str] | str, search_limit: int
    ) -> Flow[dict[str, str]]:
        urls = [audio_urls] if isinstance(audio_urls, str) else list(audio_urls)
        if not urls or not all(isinstance(url, str) and url for url in urls):
            raise InvalidInputError("audio_urls must be one or more non-empty URL strings.")
        if search_limit < 1:
            raise InvalidInputError(f"search_limit must be >= 1, got {search_limit}.")
        return ops.find_jobs(self._ctx, self._provider, urls, search_limit)

    def _delete_flow(self, transcript: Transcript | str) -> Flow[Transcript]:
        return ops.delete(self._ctx, self._provider, transcript_id_of(transcript))

    @staticmethod
    def _list_params(
        limit: int | None,
        status: str | None,
        created_on: _dt.date | str | None,
        before_id: str | None,
        after_id: str | None,
        throttled_only: bool | None,
    ) -> Mapping[str, Any]:
        if limit is not None and not 1 <= limit <= 200:
            raise InvalidInputError(f"limit must be between 1 and 200, got {limit}.")
        if isinstance(created_on, _dt.date):
            created_on = created_on.isoformat()
        return {
            "limit": limit,
            "status": None if status is None else str(getattr(status, "value", status)),
            "created_on": created_on,
            "before_id": before_id,
            "after_id": after_id,
            "throttled_only": throttled_only,
        }

    def _list_flow(self, *query: Any) -> Flow[TranscriptList]:
        """The first page for ``list_transcripts``' arguments, in its order."""
        return list_page(self._ctx, self._provider, self._list_params(*query), None)

    def _pages(self, *query: Any) -> Pages:
        """A walk from that first page to older ones (``iter_transcripts``)."""
        return Pages(self._ctx, self._provider, self._list_params(*query))

    def _list_page_flow(self, url: str) -> Flow[TranscriptList]:
        if not isinstance(url, str) or not url:
            raise InvalidInputError("page url must be a non-empty string from page_details.")
        return list_page(self._ctx, self._provider, None, url)

    def _subtitles_flow(
        self, transcript: Transcript | str, fmt: Literal["srt", "vtt"], chars: int | None
    ) -> Flow[str]:
        return ops.subtitles(self._ctx, self._provider, transcript_id_of(transcript), fmt, chars)

    def _sentences_flow(self, transcript: Transcript | str) -> Flow[SentencesResponse]:
        return ops.sentences(self._ctx, self._provider, transcript_id_of(transcript))

    def _paragraphs_flow(self, transcript: Transcript | str) -> Flow[ParagraphsResponse]:
        return ops.paragraphs(self._ctx, self._provider, transcript_id_of(transcript))

    def _word_search_flow(
        self, transcript: Transcript | str, words: Sequence[str] | str
    ) -> Flow[WordSearchResponse]:
        words_list = [words] if isinstance(words, str) else list(words)
        return ops.word_search(self._ctx, self._provider, transcript_id_of(transcript), words_list)

    def _redacted_audio_flow(self, transcript: Transcript | str) -> Flow[str]:
        return ops.redacted_audio_url(self._ctx, self._provider, transcript_id_of(transcript))

    def _group_flow(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None,
        *,
        poll_timeout: float | None,
        max_concurrency: int | None,
        completion: str = "auto",
        hooks: GroupHooks | None = None,
        resume: Sequence[Resume | None] = (),
        webhook: WebhookReceiver | None = None,
    ) -> tuple[list[Any], GroupFlow]:
        """Validate a group call's arguments (before any request) and build its core flow."""
        items, limit = self._group_inputs(audios, max_concurrency)
        check_poll_timeout(poll_timeout)
        if completion not in (*COMPLETIONS, "create"):
            raise InvalidInputError(
                f"completion must be one of {', '.join(COMPLETIONS)}, got {completion!r}."
            )
        if webhook is not None:
            config = _with_webhook(self._config(config), webhook)
            if completion != "create":
                completion = "webhook"
        sources: list[Any] = [to_audio_source(item) for item in items]
        group = GroupFlow(
            ctx=self._ctx,
            provider=self._provider,
            audios=sources,
            config=self._config(config),
            schedule=self._schedule,
            poll_timeout=poll_timeout,
            max_creating=limit,
            hooks=hooks or GroupHooks(),
            completion=completion,
            resume=resume,
            limiter=self._limiter,
            notices=webhook,
        )
        return items, group

    def _group_run(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None,
        poll_timeout: float | None,
        max_concurrency: int | None,
        completion: str,
        ledger: Any = None,
        webhook: WebhookReceiver | None = None,
    ) -> GroupRun:
        """A group call, with or without a ledger; every argument is checked (by building the
        group) before any request and before the ledger is opened."""
        from speechkit._core.rounds import Rounds
        from speechkit._ledger_run import RESUME_HINT, GroupRun, LedgerRun, open_ledger

        items, group = self._group_flow(
            audios,
            config,
            poll_timeout=poll_timeout,
            max_concurrency=max_concurrency,
            completion=completion,
            webhook=webhook,
        )
        if ledger is None:
            return GroupRun(items, Rounds.single(group), RESUME_HINT, lambda: group.outcomes)
        limits = (poll_timeout, max_concurrency, completion)
        run = LedgerRun(self, items, config, open_ledger(ledger), *limits, webhook=webhook)
        return run.group_run()

    @staticmethod
    def _interrupted(run: GroupRun) -> str:
        """What to tell a user who stopped a group: what keeps running and how to resume."""
        counts = run.rounds.counts()
        running = run.rounds.running()
        in_flight = counts.get("creating", 0)
        message = (
            f"speechkit: group interrupted; no more jobs are created. {len(running)} job(s) "
            f"keep running on the server"
            + (f" (and {in_flight} being created may be made)" if in_flight else "")
            + f"; {counts.get('new', 0)} input(s) were not started. {run.resume_hint}"
        )
        logger.warning(message)
        return message

    @staticmethod
    def _group_inputs(audios: Sequence[Any], max_concurrency: int | None) -> tuple[list[Any], int]:
        if isinstance(audios, (str, bytes)) or not isinstance(audios, Sequence):
            raise InvalidInputError(
                "audios must be a list of URLs, paths, bytes or file objects "
                "(for one file, use transcribe())."
            )
        if max_concurrency is not None and max_concurrency < 1:
            raise InvalidInputError(f"max_concurrency must be >= 1, got {max_concurrency}.")
        items = list(audios)
        for item in items:
            to_audio_source(item)  # validate every input before starting any job
        return items, max_concurrency or DEFAULT_GROUP_CONCURRENCY
