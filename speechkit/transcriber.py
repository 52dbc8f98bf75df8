"""``Transcriber`` (blocking, plus ``concurrent.futures`` forms) and ``AsyncTranscriber`` (asyncio).

Both are thin shells over the same sans-I/O flows (``speechkit._core.operations``), so they
behave identically; ``tests/test_parity.py`` checks that they expose the same methods with the
same signatures. The ``*_async`` methods of :class:`Transcriber` return
:class:`concurrent.futures.Future` objects, for threaded apps.

Futures, cancellation and threads:

* The ``*_async`` methods run on a thread pool the transcriber owns. It is created on first use,
  holds at most ``max_workers`` threads, and is shut down by :meth:`Transcriber.close` (or the
  end of a ``with`` block).
* ``Future.cancel()`` stops a call that has not started yet (it is still queued behind
  ``max_workers`` others). It cannot stop a call that is running: use ``close()``, which stops
  every wait at once (those futures fail with
  :class:`~speechkit.errors.TranscriptionCancelledError`). Jobs already created keep running on
  the server either way.
* Done-callbacks run in the pool thread that finished the call (or at once, in the thread that
  adds them, when the future is already done). Keep them short; do not call ``close()`` from one
  and wait on the same transcriber.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as _dt
import os
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import httpx

from speechkit._client_base import TranscriberBase
from speechkit._core.retry import RetryPolicy
from speechkit._http import AsyncShell, SyncShell
from speechkit.errors import (
    ClientClosedError,
    InvalidInputError,
)
from speechkit.group import TranscriptGroup
from speechkit.lemur import AsyncLemur, Lemur

if TYPE_CHECKING:
    from speechkit._core.http import Response
    from speechkit._core.progress import ProgressArg
    from speechkit._ledger_run import GroupRun
    from speechkit.config import TranscriptionConfig
    from speechkit.ledger import Ledger
    from speechkit.models import (
        ParagraphsResponse,
        SentencesResponse,
        Transcript,
        TranscriptList,
        TranscriptListItem,
        WordSearchResponse,
    )
    from speechkit.providers.base import Provider
    from speechkit.webhooks import WebhookReceiver

__all__ = ["AsyncTranscriber", "Transcriber"]

P = ParamSpec("P")
T = TypeVar("T")

_ListStatus = str | None


_LIVE: weakref.WeakSet[Transcriber] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()
_EXIT_HOOK_INSTALLED = False


def _close_live_transcribers() -> None:
    for transcriber in list(_LIVE):
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            transcriber._stop_for_exit()


def _close_at_exit(transcriber: Transcriber) -> None:
    """Stop ``transcriber``'s waits when the interpreter exits, so its pool threads end at once.

    The interpreter joins every pool thread before it exits; a thread still polling a job would
    keep a script that returned (or raised) alive until the job finished. The hook runs before
    that join (``threading`` calls its exit hooks newest first, after ``concurrent.futures``
    registered its own).
    """
    global _EXIT_HOOK_INSTALLED
    # concurrent.futures imports its thread module (and registers the join) on first use:
    # import it first, so this hook is the newer one and runs before the join.
    import concurrent.futures.thread  # noqa: F401

    with _LIVE_LOCK:
        _LIVE.add(transcriber)
        if not _EXIT_HOOK_INSTALLED:
            register = getattr(threading, "_register_atexit", None)
            if register is not None:
                register(_close_live_transcribers)
            _EXIT_HOOK_INSTALLED = True


#: Most threads a blocking group sends its polls from (or ``max_concurrency`` if larger): enough
#: to keep hundreds of jobs polled on a slow network; more would only contend for the GIL.
MAX_POLL_THREADS = 16


class Transcriber(TranscriberBase):
    """Blocking transcription client, with ``concurrent.futures`` forms of the long calls.

    Args:
        provider: ``"assemblyai"`` (default), ``"aiml"``, ``"local"`` (starts the embedded
            offline server; needs ``speechkit-stt[server]``) or a Provider instance.
        api_key: The provider's key. Defaults to the ``ASSEMBLYAI_API_KEY`` environment variable
            (``AIML_API_KEY`` for AIML), then ``speechkit.settings.api_key``.
        base_url: The API's base URL. Defaults to ``ASSEMBLYAI_BASE_URL`` (``AIML_API_BASE`` for
            AIML), then ``speechkit.settings.base_url``.
        model: The AIML model (``provider="aiml"``), for example ``"#g1_whisper-large"``.
        config: Default :class:`~speechkit.TranscriptionConfig` for jobs created without one.
        http_timeout: Seconds for connect, each read and each write of a request, and for its
            whole answer once the request was sent (a total deadline; see docs/errors.md).
        max_retries: Retries of a failed request, where retrying is safe (see the errors guide).
            Shorthand for ``retry=RetryPolicy(max_retries=...)``; pass one or the other.
        polling_interval: Seconds before the first poll of a job; the interval then grows.
        polling_max_interval: The cap, in seconds, of the growing poll interval.
        max_workers: Threads of the pool behind the ``*_async`` futures methods.
        http_client: An ``httpx.Client`` to send with (proxies, custom TLS). You keep
            ownership: ``close()`` does not close it.
        engine: The recognizer of ``provider="local"``: ``"offline"`` (the default: Whisper
            when ``speechkit-stt[whisper]`` is installed, else pocketsphinx), ``"whisper"``,
            ``"pocketsphinx"`` or ``"fixed"``. An error with any other provider.
        retry: A :class:`~speechkit.RetryPolicy`: how many retries and how long to wait between
            them (what may be retried is fixed: see docs/errors.md).

    Use it as a context manager, or call :meth:`close`, to release its threads and connections.
    """

    def __init__(
        self,
        *,
        provider: str | Provider = "assemblyai",
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        config: TranscriptionConfig | None = None,
        http_timeout: float | None = None,
        max_retries: int | None = None,
        polling_interval: float | None = None,
        polling_max_interval: float | None = None,
        max_workers: int = 8,
        http_client: httpx.Client | None = None,
        engine: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if max_workers < 1:
            raise InvalidInputError(f"max_workers must be >= 1, got {max_workers}.")
        super().__init__(
            provider=provider,
            api_key=api_key,
            base_url=base_url,
            model=model,
            config=config,
            http_timeout=http_timeout,
            max_retries=max_retries,
            polling_interval=polling_interval,
            polling_max_interval=polling_max_interval,
            engine=engine,
            retry=retry,
        )
        self._shell = SyncShell(
            base_url=self._provider.base_url,
            auth_headers=self._provider.auth_headers(),
            timeout=self._timeout,
            http_client=http_client,
        )
        self._max_workers = max_workers
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._thread_prefix = f"speechkit-{id(self):x}"
        self.lemur = Lemur(self._shell, self)
        """LeMUR over this transcriber's provider, key and client."""
        _close_at_exit(self)

    def _extra_settings(self) -> dict[str, Any]:
        return {"max_workers": self._max_workers}

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Transcriber:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every wait now, cancel queued futures, close connections; idempotent.

        Running waits end with :class:`~speechkit.errors.TranscriptionCancelledError`; jobs
        already created keep running on the server. Returns once the pool's threads are done.
        """
        self._shell.close()
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            in_pool = threading.current_thread().name.startswith(self._thread_prefix)
            executor.shutdown(wait=not in_pool, cancel_futures=True)
        self._close_owned_server()

    def _stop_for_exit(self) -> None:
        """At interpreter exit: end every wait and request, drop queued futures, do not join."""
        self._shell.close()
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    @property
    def last_response(self) -> Response | None:
        """The latest HTTP response received by any thread (for debugging; immutable)."""
        return self._shell.last_response

    def _submit_future(
        self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        with self._executor_lock:
            if self._shell.closed:
                raise ClientClosedError("The Transcriber was closed; create a new one.")
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._max_workers, thread_name_prefix=self._thread_prefix
                )
            return self._executor.submit(fn, *args, **kwargs)

    # -- create, then poll -------------------------------------------------------------------
    def upload_file(self, data: str | Path | bytes | Any, *, progress: ProgressArg = None) -> str:
        """Upload local audio (a path, bytes or a binary file object), streamed in chunks.

        Args:
            data: The audio to upload.
            progress: Called with a :class:`~speechkit.TranscriptionProgress` after each chunk
                (``stage="upload"``, ``bytes_sent`` / ``bytes_total``).

        Returns:
            The URL to create a job from (``audio_url``).
        """
        return self._shell.run(self._upload_flow(data, progress))

    def submit(
        self,
        audio: Any,
        config: TranscriptionConfig | None = None,
        *,
        progress: ProgressArg = None,
    ) -> Transcript:
        """Create a job (uploading local audio first) and return at once, without waiting.

        Args:
            audio: A URL the service can fetch, a local path, bytes or a binary file object.
            config: Options for this job; defaults to the transcriber's ``config``.
            progress: Called with a :class:`~speechkit.TranscriptionProgress` as the upload
                goes and once the job exists (``stage="submitted"``).

        Returns:
            The new job, usually ``queued``. Wait for it with :meth:`wait_for_completion`.
        """
        return self._shell.run(self._submit_flow(audio, config, progress))

    def transcribe(
        self,
        audio: Any,
        config: TranscriptionConfig | None = None,
        *,
        poll_timeout: float | None = None,
        progress: ProgressArg = None,
    ) -> Transcript:
        """Transcribe audio: upload if local, create the job, poll until done.

        Args:
            audio: A URL the service can fetch, a local path, bytes or a binary file object.
            config: Options for this job; defaults to the transcriber's ``config``.
            poll_timeout: Seconds to wait for the job (``None``: no limit).
            progress: Called with a :class:`~speechkit.TranscriptionProgress` at each step:
                upload chunks, job created, every poll, job ended. ``True`` shows a ready-made
                display (a bar on a terminal, an updating output in Jupyter, nothing when
                output is piped); see :mod:`speechkit.progress` for more.

        Returns:
            The completed transcript.

        Raises:
            TranscriptionError: The job ended in ``status: error`` (carries the id and message).
            TranscriptionTimeoutError: ``poll_timeout`` passed; the job keeps running.
            TranscriptionCancelledError: ``close()`` was called while waiting.
        """
        return self._shell.run(self._transcribe_flow(audio, config, poll_timeout, progress))

    def get_transcript(self, transcript_id: Transcript | str) -> Transcript:
        """Fetch a job's current state by id (the official SDK's ``Transcript.get_by_id``)."""
        return self._shell.run(self._get_flow(transcript_id))

    def wait_for_completion(
        self,
        transcript: Transcript | str,
        *,
        poll_timeout: float | None = None,
        progress: ProgressArg = None,
    ) -> Transcript:
        """Poll a job until it completes or fails, and return its last state.

        Unlike :meth:`transcribe`, a job that ends in ``status: error`` is returned, not raised.
        ``progress`` is called after every poll (``stage="waiting"``) and at the end
        (``stage="done"``).
        """
        return self._shell.run(self._wait_flow(transcript, poll_timeout, progress))

    def delete_transcript(self, transcript_id: Transcript | str) -> Transcript:
        """Delete a transcript's data on the server; returns the deleted (emptied) transcript."""
        return self._shell.run(self._delete_flow(transcript_id))

    # -- groups --------------------------------------------------------------------------------
    def _run_group(self, run: GroupRun, return_failures: bool) -> TranscriptGroup:
        try:
            self._shell.run_group(
                run.rounds,
                max_workers=max(run.rounds.max_creating, min(len(run.items), MAX_POLL_THREADS)),
                thread_name_prefix=f"{self._thread_prefix}-group",
            )
        except KeyboardInterrupt:
            print(self._interrupted(run), file=sys.stderr, flush=True)
            raise
        finally:
            run.close()
        return run.result(return_failures)

    def transcribe_group(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None = None,
        *,
        poll_timeout: float | None = None,
        max_concurrency: int | None = None,
        return_failures: bool = False,
        completion: Literal["auto", "poll", "sweep"] = "auto",
        ledger: Ledger | str | os.PathLike[str] | None = None,
        webhook: WebhookReceiver | None = None,
    ) -> TranscriptGroup:
        """Transcribe many inputs: at most ``max_concurrency`` (default 8) uploads and creates
        at a time, every created job waited on at once.

        Waiting holds no slot and no thread per job. With a dozen jobs or more (on services
        that list jobs), the group finds finished jobs by sweeping the job list instead of
        polling each one: about two requests per job, however many jobs. All requests stay
        under the service's rate budget.

        Ctrl-C stops creating jobs at once, says how many keep running on the server, and
        raises ``KeyboardInterrupt``.

        Args:
            audios: URLs, paths, bytes or binary file objects.
            config: Options for every job; defaults to the transcriber's ``config``.
            poll_timeout: Seconds each job may take, counted from its creation (``None``: no
                limit). A job past it fails with ``TranscriptionTimeoutError`` (it keeps
                running on the server).
            max_concurrency: Uploads and creates in flight at once.
            return_failures: Return failures in the group instead of raising.
            completion: ``"poll"`` each job, ``"sweep"`` the job list, or ``"auto"``.
            ledger: A :class:`~speechkit.ledger.Ledger` or the path of its SQLite file. Every
                step of every input is recorded there first, so running the same call again
                (after a crash, Ctrl-C, or from several processes at once) never creates a job
                twice, waits for jobs already made, and returns inputs already done without
                any request. Inputs must be URLs, paths or bytes.
            webhook: A :class:`~speechkit.webhooks.WebhookReceiver`: jobs are created with its
                URL and auth header, and the group learns that they ended from its deliveries
                instead of polling (see :mod:`speechkit.webhooks`).

        Returns:
            A :class:`~speechkit.TranscriptGroup` in input order.

        Raises:
            TranscriptionGroupError: Some inputs failed and ``return_failures`` is False; its
                ``.group`` still holds every result, so nothing is lost.
        """
        run = self._group_run(
            audios, config, poll_timeout, max_concurrency, completion, ledger, webhook
        )
        return self._run_group(run, return_failures)

    def submit_group(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_failures: bool = False,
    ) -> TranscriptGroup:
        """Create a job for each input (uploading local audio) without waiting; input order."""
        run = self._group_run(audios, config, None, max_concurrency, "create")
        return self._run_group(run, return_failures)

    # -- listing -------------------------------------------------------------------------------
    def list_transcripts(
        self,
        *,
        limit: int | None = None,
        status: _ListStatus = None,
        created_on: _dt.date | str | None = None,
        before_id: str | None = None,
        after_id: str | None = None,
        throttled_only: bool | None = None,
    ) -> TranscriptList:
        """One page of your transcripts, newest first (``limit`` 1-200, default 10).

        ``page_details.prev_url`` leads to older transcripts; fetch it with :meth:`list_page`,
        or use :meth:`iter_transcripts` to walk every page.
        """
        query = (limit, status, created_on, before_id, after_id, throttled_only)
        return self._shell.run(self._list_flow(*query))

    def find_transcripts(
        self, audio_urls: Sequence[str] | str, *, search_limit: int = 500
    ) -> dict[str, str]:
        """Find the jobs made from these audio URLs among your newest ``search_limit`` jobs.

        For example after a create whose answer was lost: an upload URL is unique, so the job
        made from it, if any, is yours. (``transcribe`` and ``submit`` already do this for the
        audio they upload.)

        Returns:
            ``{audio_url: transcript_id}`` for each URL with a job (the newest one); URLs with
            no job are left out.
        """
        return self._shell.run(self._find_flow(audio_urls, search_limit))

    def list_page(self, url: str) -> TranscriptList:
        """Fetch a page by a ``page_details`` URL (``prev_url`` or ``next_url``)."""
        return self._shell.run(self._list_page_flow(url))

    def iter_transcripts(
        self,
        *,
        limit: int | None = None,
        status: _ListStatus = None,
        created_on: _dt.date | str | None = None,
        before_id: str | None = None,
        after_id: str | None = None,
        throttled_only: bool | None = None,
    ) -> Iterator[TranscriptListItem]:
        """Every transcript matching the filters, newest first, fetching pages as needed."""
        pages = self._pages(limit, status, created_on, before_id, after_id, throttled_only)
        while (page := self._shell.run(pages.next())) is not None:
            yield from page.transcripts

    # -- per transcript ------------------------------------------------------------------------
    def export_subtitles_srt(
        self, transcript: Transcript | str, *, chars_per_caption: int | None = None
    ) -> str:
        """SRT subtitles of a completed transcript (built locally where the API has none)."""
        return self._shell.run(self._subtitles_flow(transcript, "srt", chars_per_caption))

    def export_subtitles_vtt(
        self, transcript: Transcript | str, *, chars_per_caption: int | None = None
    ) -> str:
        """WebVTT subtitles of a completed transcript (built locally where the API has none)."""
        return self._shell.run(self._subtitles_flow(transcript, "vtt", chars_per_caption))

    def get_sentences(self, transcript: Transcript | str) -> SentencesResponse:
        """The transcript split into sentences, with words and times (ms)."""
        return self._shell.run(self._sentences_flow(transcript))

    def get_paragraphs(self, transcript: Transcript | str) -> ParagraphsResponse:
        """The transcript split into paragraphs, with words and times (ms)."""
        return self._shell.run(self._paragraphs_flow(transcript))

    def word_search(
        self, transcript: Transcript | str, words: Sequence[str] | str
    ) -> WordSearchResponse:
        """Where each word or phrase occurs: counts, timestamps (ms) and word indexes."""
        return self._shell.run(self._word_search_flow(transcript, words))

    def get_redacted_audio_url(self, transcript: Transcript | str) -> str:
        """URL of the PII-redacted audio (jobs created with ``redact_pii_audio=True``).

        Raises:
            RedactedAudioNotReadyError: Still being made (the API answered 202); ask again.
            RedactedAudioExpiredError: Gone (kept 24 hours) or never requested (400).
        """
        return self._shell.run(self._redacted_audio_flow(transcript))

    def save_redacted_audio(self, transcript: Transcript | str, path: str | Path) -> Path:
        """Download the redacted audio to ``path`` (streamed; the file appears only when whole).

        The download goes to the storage URL the API gave, without your API key.
        """
        return self._shell.download(self.get_redacted_audio_url(transcript), path)

    # -- futures ---------------------------------------------------------------------------------
    def upload_file_async(
        self, data: str | Path | bytes | Any, *, progress: ProgressArg = None
    ) -> concurrent.futures.Future[str]:
        """:meth:`upload_file` on the transcriber's thread pool; returns a Future."""
        return self._submit_future(self.upload_file, data, progress=progress)

    def submit_async(
        self,
        audio: Any,
        config: TranscriptionConfig | None = None,
        *,
        progress: ProgressArg = None,
    ) -> concurrent.futures.Future[Transcript]:
        """:meth:`submit` on the transcriber's thread pool; returns a Future."""
        return self._submit_future(self.submit, audio, config, progress=progress)

    def transcribe_async(
        self,
        audio: Any,
        config: TranscriptionConfig | None = None,
        *,
        poll_timeout: float | None = None,
        progress: ProgressArg = None,
    ) -> concurrent.futures.Future[Transcript]:
        """:meth:`transcribe` on the transcriber's thread pool; returns a Future.

        ``progress`` is called from the pool's thread.
        """
        return self._submit_future(
            self.transcribe, audio, config, poll_timeout=poll_timeout, progress=progress
        )

    def get_transcript_async(
        self, transcript_id: Transcript | str
    ) -> concurrent.futures.Future[Transcript]:
        """:meth:`get_transcript` on the transcriber's thread pool; returns a Future."""
        return self._submit_future(self.get_transcript, transcript_id)

    def wait_for_completion_async(
        self,
        transcript: Transcript | str,
        *,
        poll_timeout: float | None = None,
        progress: ProgressArg = None,
    ) -> concurrent.futures.Future[Transcript]:
        """:meth:`wait_for_completion` on the transcriber's thread pool; returns a Future."""
        return self._submit_future(
            self.wait_for_completion, transcript, poll_timeout=poll_timeout, progress=progress
        )

    def transcribe_group_async(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None = None,
        *,
        poll_timeout: float | None = None,
        max_concurrency: int | None = None,
        return_failures: bool = False,
        completion: Literal["auto", "poll", "sweep"] = "auto",
        ledger: Ledger | str | os.PathLike[str] | None = None,
        webhook: WebhookReceiver | None = None,
    ) -> concurrent.futures.Future[TranscriptGroup]:
        """:meth:`transcribe_group` on the transcriber's thread pool; returns a Future."""
        return self._submit_future(
            self.transcribe_group,
            audios,
            config,
            poll_timeout=poll_timeout,
            max_concurrency=max_concurrency,
            return_failures=return_failures,
            completion=completion,
            ledger=ledger,
            webhook=webhook,
        )

    def submit_group_async(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_failures: bool = False,
    ) -> concurrent.futures.Future[TranscriptGroup]:
        """:meth:`submit_group` on the transcriber's thread pool; returns a Future."""
        return self._submit_future(
            self.submit_group,
            audios,
            config,
            max_concurrency=max_concurrency,
            return_failures=return_failures,
        )


class AsyncTranscriber(TranscriberBase):
    """The asyncio transcription client: the same methods as :class:`Transcriber`, awaited.

    It takes the same arguments as :class:`Transcriber` (``http_client`` is an
    ``httpx.AsyncClient``; there is no thread pool). Use one instance per event loop, as
    ``async with AsyncTranscriber() as t:`` or with ``await t.close()``. Cancelling a task that
    awaits a call cancels the call (a job already created keeps running on the server).
    """

    def __init__(
        self,
        *,
        provider: str | Provider = "assemblyai",
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        config: TranscriptionConfig | None = None,
        http_timeout: float | None = None,
        max_retries: int | None = None,
        polling_interval: float | None = None,
        polling_max_interval: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        engine: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            provider=provider,
            api_key=api_key,
            base_url=base_url,
            model=model,
            config=config,
            http_timeout=http_timeout,
            max_retries=max_retries,
            polling_interval=polling_interval,
            polling_max_interval=polling_max_interval,
            engine=engine,
            retry=retry,
        )
        self._shell = AsyncShell(
            base_url=self._provider.base_url,
            auth_headers=self._provider.auth_headers(),
            timeout=self._timeout,
            http_client=http_client,
        )
        self.lemur = AsyncLemur(self._shell, self)
        """LeMUR over this transcriber's provider, key and client."""

    async def __aenter__(self) -> AsyncTranscriber:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop every wait now and close connections; idempotent.

        Running waits end with :class:`~speechkit.errors.TranscriptionCancelledError`; jobs
        already created keep running on the server.
        """
        await self._shell.aclose()
        if self._owned_server is not None:
            await asyncio.to_thread(self._close_owned_server)

    @property
    def last_response(self) -> Response | None:
        """The latest HTTP response received (for debugging; immutable)."""
        return self._shell.last_response

    async def upload_file(
        self, data: str | Path | bytes | Any, *, progress: ProgressArg = None
    ) -> str:
        """Upload local audio, streamed in chunks; see :meth:`Transcriber.upload_file`."""
        return await self._shell.run(self._upload_flow(data, progress))

    async def submit(
        self,
        audio: Any,
        config: TranscriptionConfig | None = None,
        *,
        progress: ProgressArg = None,
    ) -> Transcript:
        """Create a job without waiting; see :meth:`Transcriber.submit`."""
        return await self._shell.run(self._submit_flow(audio, config, progress))

    async def transcribe(
        self,
        audio: Any,
        config: TranscriptionConfig | None = None,
        *,
        poll_timeout: float | None = None,
        progress: ProgressArg = None,
    ) -> Transcript:
        """Upload if local, create, poll until done; see :meth:`Transcriber.transcribe`.

        ``progress`` is called on the event loop; it must not block.
        """
        return await self._shell.run(self._transcribe_flow(audio, config, poll_timeout, progress))

    async def get_transcript(self, transcript_id: Transcript | str) -> Transcript:
        """Fetch a job's current state by id."""
        return await self._shell.run(self._get_flow(transcript_id))

    async def wait_for_completion(
        self,
        transcript: Transcript | str,
        *,
        poll_timeout: float | None = None,
        progress: ProgressArg = None,
    ) -> Transcript:
        """Poll a job until it completes or fails; see :meth:`Transcriber.wait_for_completion`."""
        return await self._shell.run(self._wait_flow(transcript, poll_timeout, progress))

    async def delete_transcript(self, transcript_id: Transcript | str) -> Transcript:
        """Delete a transcript's data on the server."""
        return await self._shell.run(self._delete_flow(transcript_id))

    async def transcribe_group(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None = None,
        *,
        poll_timeout: float | None = None,
        max_concurrency: int | None = None,
        return_failures: bool = False,
        completion: Literal["auto", "poll", "sweep"] = "auto",
        ledger: Ledger | str | os.PathLike[str] | None = None,
        webhook: WebhookReceiver | None = None,
    ) -> TranscriptGroup:
        """Transcribe many inputs; see :meth:`Transcriber.transcribe_group`.

        The same core group drives both: every request is a task on this loop (no thread per
        job). Cancelling the caller stops creating jobs at once. The ledger's SQLite writes
        (a few milliseconds each) run on the loop.
        """
        run = self._group_run(
            audios, config, poll_timeout, max_concurrency, completion, ledger, webhook
        )
        return await self._run_group(run, return_failures)

    async def _run_group(self, run: GroupRun, return_failures: bool) -> TranscriptGroup:
        try:
            await self._shell.run_group(run.rounds)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._interrupted(run)
            raise
        finally:
            run.close()
        return run.result(return_failures)

    async def submit_group(
        self,
        audios: Sequence[Any],
        config: TranscriptionConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_failures: bool = False,
    ) -> TranscriptGroup:
        """Create a job for each input without waiting; see :meth:`Transcriber.submit_group`."""
        run = self._group_run(audios, config, None, max_concurrency, "create")
        return await self._run_group(run, return_failures)

    async def list_transcripts(
        self,
        *,
        limit: int | None = None,
        status: _ListStatus = None,
        created_on: _dt.date | str | None = None,
        before_id: str | None = None,
        after_id: str | None = None,
        throttled_only: bool | None = None,
    ) -> TranscriptList:
        """One page of your transcripts, newest first; see :meth:`Transcriber.list_transcripts`."""
        query = (limit, status, created_on, before_id, after_id, throttled_only)
        return await self._shell.run(self._list_flow(*query))

    async def find_transcripts(
        self, audio_urls: Sequence[str] | str, *, search_limit: int = 500
    ) -> dict[str, str]:
        """Find the jobs made from these audio URLs; see :meth:`Transcriber.find_transcripts`."""
        return await self._shell.run(self._find_flow(audio_urls, search_limit))

    async def list_page(self, url: str) -> TranscriptList:
        """Fetch a page by a ``page_details`` URL (``prev_url`` or ``next_url``)."""
        return await self._shell.run(self._list_page_flow(url))

    async def iter_transcripts(
        self,
        *,
        limit: int | None = None,
        status: _ListStatus = None,
        created_on: _dt.date | str | None = None,
        before_id: str | None = None,
        after_id: str | None = None,
        throttled_only: bool | None = None,
    ) -> AsyncIterator[TranscriptListItem]:
        """Every transcript matching the filters, newest first (``async for``)."""
        pages = self._pages(limit, status, created_on, before_id, after_id, throttled_only)
        while (page := await self._shell.run(pages.next())) is not None:
            for item in page.transcripts:
                yield item

    async def export_subtitles_srt(
        self, transcript: Transcript | str, *, chars_per_caption: int | None = None
    ) -> str:
        """SRT subtitles of a completed transcript."""
        return await self._shell.run(self._subtitles_flow(transcript, "srt", chars_per_caption))

    async def export_subtitles_vtt(
        self, transcript: Transcript | str, *, chars_per_caption: int | None = None
    ) -> str:
        """WebVTT subtitles of a completed transcript."""
        return await self._shell.run(self._subtitles_flow(transcript, "vtt", chars_per_caption))

    async def get_sentences(self, transcript: Transcript | str) -> SentencesResponse:
        """The transcript split into sentences."""
        return await self._shell.run(self._sentences_flow(transcript))

    async def get_paragraphs(self, transcript: Transcript | str) -> ParagraphsResponse:
        """The transcript split into paragraphs."""
        return await self._shell.run(self._paragraphs_flow(transcript))

    async def word_search(
        self, transcript: Transcript | str, words: Sequence[str] | str
    ) -> WordSearchResponse:
        """Where each word or phrase occurs."""
        return await self._shell.run(self._word_search_flow(transcript, words))

    async def get_redacted_audio_url(self, transcript: Transcript | str) -> str:
        """URL of the PII-redacted audio; see :meth:`Transcriber.get_redacted_audio_url`."""
        return await self._shell.run(self._redacted_audio_flow(transcript))

    async def save_redacted_audio(self, transcript: Transcript | str, path: str | Path) -> Path:
        """Download the redacted audio to ``path`` (streamed, without your API key)."""
        url = await self.get_redacted_audio_url(transcript)
        return await self._shell.download(url, path)
