"""The I/O shells: the only module that imports httpx.

:class:`SyncShell` and :class:`AsyncShell` drive the sans-I/O flows of ``speechkit._core`` in the
same order: each yielded request is sent **once** (retries are the flow's decision), each yielded
sleep is waited out (and cut short by ``close()``). Whatever httpx raises is wrapped here, so no
httpx exception reaches users.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import heapq
import itertools
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

import httpx

from speechkit._core.flow import Flow, Sleep, status_error
from speechkit._core.group import Task
from speechkit._core.http import (
    ACCEPT_ENCODING,
    MAX_RESPONSE_BYTES,
    UPLOAD_CHUNK_SIZE,
    Body,
    BodyTooLarge,
    BytesBody,
    FileBody,
    Request,
    Response,
    ResponseBody,
    StreamBody,
    UnreadableBody,
)
from speechkit._core.redact import Redactor
from speechkit._core.rounds import Driven
from speechkit._http_limits import (
    DEFAULT_MAX_IN_FLIGHT,
    Deadline,
    InFlight,
    current_deadline,
    deadline_transport,
)
from speechkit._version import __version__
from speechkit.errors import (
    ClientClosedError,
    ConnectError,
    EventLoopError,
    InvalidInputError,
    RequestTimeoutError,
    ResponseTooLargeError,
    SpeechkitError,
    TransportError,
)

__all__ = ["AsyncShell", "SyncShell"]

logger = logging.getLogger("speechkit")

T = TypeVar("T")

USER_AGENT = f"speechkit/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"


#: Seconds an interrupted group waits for the requests it had already sent.
ABORT_GRACE = 1.0


def _same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


class _ShellBase:
    """What both shells share: URL and header building, error wrapping, the latest response."""

    def __init__(
        self,
        *,
        base_url: str,
        auth_headers: Mapping[str, str],
        timeout: float,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._auth_headers = dict(auth_headers)
        self._timeout = httpx.Timeout(timeout)
        self._deadline_seconds = timeout
        self._max_response_bytes = max_response_bytes
        self._in_flight = InFlight(max_in_flight)
        # Pool sized to the in-flight cap: requests queue in speechkit, never in httpcore. Every
        # connection may be kept alive: a pool with fewer keep-alive slots closes "surplus" idle
        # connections, and httpcore's sync pool (1.0.9) can close one it has just handed to
        # another thread's request (encode/httpcore#1110), which then fails with EBADF or hangs
        # until its timeout (seen once in 2,000 creates from 64 threads). Idle connections are
        # dropped after 4 s, before servers that close them after 5 s (uvicorn, so the local
        # server) do: reusing one the server is closing resets a create, which is not resent.
        self._limits = httpx.Limits(
            max_connections=max_in_flight,
            max_keepalive_connections=max_in_flight,
            keepalive_expiry=4.0,
        )
        self._secrets = tuple(auth_headers.values())
        self._lock = threading.Lock()
        self._last_response: Response | None = None

    @property
    def last_response(self) -> Response | None:
        """The latest response any thread received (an immutable value, safe to read anywhere)."""
        with self._lock:
            return self._last_response

    def _url(self, request: Request) -> str:
        if request.path.startswith(("http://", "https://")):
            return request.path
        return self._base_url + request.path

    def _where(self, request: Request) -> str:
        """``METHOD url`` for an error: the whole URL requested (base URL, path, query), with
        credentials in it masked."""
        try:
            # params=None would clear the URL's own query (a page URL's cursor)
            params = self._params(request)
            url = str(
                httpx.URL(self._url(request), params=params) if params else self._url(request)
            )
        except (httpx.InvalidURL, TypeError, ValueError):
            url = self._url(request)
        return f"{request.method.upper()} {Redactor(self._secrets).url(url)}"

    def _headers(self, request: Request, url: str) -> dict[str, str]:
        # Only codings the body reader decodes under its cap (no br/zstd bombs).
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
        # The key goes only to the API's own origin: never to a CDN URL such as redacted audio.
        if _same_origin(url, self._base_url):
            headers.update(self._auth_headers)
        headers.update(request.headers)
        if isinstance(request.body, FileBody):
            headers["Content-Length"] = str(os.path.getsize(request.body.path))
        elif isinstance(request.body, BytesBody):
            headers["Content-Length"] = str(len(request.body.data))
        return headers

    @staticmethod
    def _params(request: Request) -> dict[str, Any] | None:
        if not request.params:
            return None
        params: dict[str, Any] = {}
        for key, value in request.params.items():
            if value is None:
                continue
            params[key] = ("true" if value else "false") if isinstance(value, bool) else value
        return params

    @staticmethod
    def _body(
        request: Request, *, asynchronous: bool, deadline: Deadline
    ) -> tuple[dict[str, Any], list[IO[bytes]]]:
        """httpx keyword arguments for the body, and the files opened for it (closed by the
        caller). Local files and streams are read in chunks, never whole; ``deadline`` is armed
        once the last chunk has been handed over (a multipart upload leaves it unarmed: only
        per-read timeouts apply to it)."""
        body = request.body
        if request.files:
            files = []
            opened: list[IO[bytes]] = []
            for part in request.files:
                content: Any
                if isinstance(part.body, FileBody):
                    # httpx's multipart encoder reads open files in chunks.
                    content = open(part.body.path, "rb")  # noqa: SIM115
                    opened.append(content)
                elif isinstance(part.body, StreamBody):
                    content = part.body.stream
                else:
                    content = part.body.data
                files.append((part.field, (part.filename, content, part.content_type)))
            return {"files": files, "data": dict(request.form or {})}, opened
        if request.json is not None:
            deadline.arm()
            return {"json": request.json}, []
        report = request.on_body_sent
        if body is None or (
            isinstance(body, BytesBody) and report is None and len(body.data) <= UPLOAD_CHUNK_SIZE
        ):
            deadline.arm()
            return ({} if body is None else {"content": body.data}), []
        chunks: Iterator[bytes] | AsyncIterator[bytes]
        if isinstance(body, BytesBody):
            chunks = _iter_bytes(body.data, UPLOAD_CHUNK_SIZE)
            if asynchronous:
                chunks = _aiter_sync(chunks)
        elif isinstance(body, FileBody):
            reader = _aiter_file if asynchronous else _iter_file
            chunks = reader(body.path, body.chunk_size)
        elif isinstance(body, StreamBody):
            stream_reader = _aiter_stream if asynchronous else _iter_stream
            chunks = stream_reader(body.stream, body.chunk_size)
        else:  # pragma: no cover - every Body type is handled above
            return {}, []
        if report is not None:
            if isinstance(chunks, AsyncIterator):
                chunks = _acounted(chunks, report)
            else:
                chunks = _counted(chunks, report)
        if isinstance(chunks, AsyncIterator):
            chunks = _athen(chunks, deadline.arm)
        else:
            chunks = _then(chunks, deadline.arm)
        return {"content": chunks}, []

    def _build(
        self, client: httpx.Client | httpx.AsyncClient, request: Request, kwargs: dict[str, Any]
    ) -> httpx.Request:
        url = self._url(request)
        return client.build_request(
            request.method,
            url,
            params=self._params(request),
            headers=self._headers(request, url),
            **kwargs,
        )

    def _failed(self, attempt: _Attempt, err: Exception) -> SpeechkitError:
        """Rewind a seekable stream body for a retry, and wrap the failure."""
        body = attempt.request.body
        if attempt.start_pos is not None and isinstance(body, StreamBody):
            with contextlib.suppress(OSError, ValueError):
                body.stream.seek(attempt.start_pos)
        if isinstance(err, SpeechkitError):
            return err
        request = attempt.request.redacted(self._secrets)
        what = self._where(request)
        if isinstance(err, BodyTooLarge):
            return ResponseTooLargeError(
                f"{what}: the answer was refused: {err} (speechkit reads at most "
                f"{self._max_response_bytes} bytes of an answer, decompressed).",
                request=request,
            )
        if isinstance(err, UnreadableBody | httpx.DecodingError):
            return TransportError(f"{what}: the answer could not be read: {err}", request=request)
        if attempt.deadline.expired and isinstance(err, httpx.TimeoutException | TimeoutError):
            return RequestTimeoutError(
                f"{what}: no complete answer within {attempt.deadline.seconds:g} s (the total "
                "deadline of a request: http_timeout, or what is left of poll_timeout). "
                "Raise http_timeout if the network is slow.",
                request=request,
            )
        return self._wrap(request, err)

    def _already_read(self, response: httpx.Response) -> bytes:
        """The body of a response its transport read already, under the cap."""
        if len(response.content) > self._max_response_bytes:
            raise BodyTooLarge(f"the response body is larger than {self._max_response_bytes} bytes")
        return response.content

    def _read_limits(self, response: httpx.Response) -> ResponseBody:
        """A bounded reader for ``response``'s body; refuses a declared length over the cap."""
        body = ResponseBody(response.headers.get("content-encoding"), self._max_response_bytes)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_response_bytes:
            raise BodyTooLarge(
                f"the response body is larger than {self._max_response_bytes} bytes "
                f"(Content-Length {declared})"
            )
        return body

    def _record(self, request: Request, response: Response, started: float) -> Response:
        with self._lock:
            self._last_response = response
        logger.debug(
            'HTTP Request: %s %s "%d" (%.0f ms)',
            request.method.upper(),
            Redactor(self._secrets).url(response.url),  # a signed URL's signature is a secret
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        if response.is_success or response.status_code in request.ok_statuses:
            return response
        raise status_error(
            request,
            response,
            now=time.time(),
            secrets=self._secrets,
            key_sent=_same_origin(self._url(request), self._base_url),
        )

    @contextlib.contextmanager
    def _downloading(self, request: Request, path: str | os.PathLike[str]) -> Iterator[Path]:
        """A ``.part`` file beside ``path`` to stream into: renamed to ``path`` when the body
        completes, removed (and the failure wrapped) when it does not."""
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        try:
            yield partial
        except SpeechkitError:
            partial.unlink(missing_ok=True)
            raise
        except Exception as err:
            partial.unlink(missing_ok=True)
            # A signed URL's signature is a secret: the error keeps the redacted request, and
            # httpx's error it is chained to forgets its request (which holds the URL and
            # travels with a pickle where tblib is installed, as on Dask workers).
            if isinstance(err, httpx.RequestError):
                err._request = None
            raise self._wrap(request.redacted(self._secrets), err) from err
        partial.replace(target)

    def _download_failed(self, request: Request, resp: httpx.Response) -> None:
        """Raise the typed error for a download answered with an error status (body read)."""
        response = Response(resp.status_code, dict(resp.headers), resp.content, request.path)
        self._record(request, response, time.monotonic())

    def _wrap(self, request: Request, err: Exception) -> SpeechkitError:
        what = self._where(request)
        if isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return ConnectError(
                f"{what}: could not connect: {str(err) or type(err).__name__}", request=request
            )
        if isinstance(err, httpx.TimeoutException):
            return RequestTimeoutError(
                f"{what}: timed out waiting for the server ({type(err).__name__}). "
                "Raise http_timeout if the network is slow.",
                request=request,
            )
        if isinstance(err, httpx.InvalidURL | httpx.UnsupportedProtocol):
            return InvalidInputError(f"{what}: invalid URL: {err}")
        if isinstance(err, httpx.HTTPError):
            return TransportError(
                f"{what}: the connection failed: {str(err) or type(err).__name__}", request=request
            )
        if isinstance(err, OSError):
            return InvalidInputError(f"{what}: could not read the audio to send: {err}")
        if isinstance(err, RuntimeError) and "closed" in str(err):
            return ClientClosedError("The client was closed; create a new one.")
        raise err


def _rewind(body: Body | None) -> int | None:
    """Remember where a seekable stream starts, so a retry can send it again from there."""
    if isinstance(body, StreamBody):
        try:
            return body.stream.tell() if body.stream.seekable() else None
        except (OSError, ValueError):
            return None
    return None


def _iter_file(path: str | os.PathLike[str], chunk_size: int) -> Iterator[bytes]:
    with open(path, "rb") as file:
        while chunk := file.read(chunk_size):
            yield chunk


def _iter_stream(stream: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield bytes(chunk)


def _iter_bytes(data: bytes, chunk_size: int) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), chunk_size):
        yield bytes(view[start : start + chunk_size])


async def _aiter_sync(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _counted(chunks: Iterator[bytes], report: Callable[[int], None]) -> Iterator[bytes]:
    """Pass chunks through, reporting the running total after each one is taken."""
    sent = 0
    report(sent)
    for chunk in chunks:
        yield chunk
        sent += len(chunk)
        report(sent)


async def _acounted(
    chunks: AsyncIterator[bytes], report: Callable[[int], None]
) -> AsyncIterator[bytes]:
    sent = 0
    report(sent)
    async for chunk in chunks:
        yield chunk
        sent += len(chunk)
        report(sent)


class _Attempt:
    """One send of a request: when it started, its deadline, where a stream body started."""

    def __init__(self, request: Request, deadline_seconds: float) -> None:
        self.request = request
        self.start_pos = _rewind(request.body)
        self.started = time.monotonic()
        if request.time_budget is not None:
            deadline_seconds = min(deadline_seconds, request.time_budget)
        self.deadline = Deadline(deadline_seconds, armed=False)


def _then(chunks: Iterator[bytes], done: Callable[[], None]) -> Iterator[bytes]:
    yield from chunks
    done()


async def _athen(chunks: AsyncIterator[bytes], done: Callable[[], None]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk
    done()


def _response(http_response: httpx.Response, content: bytes) -> Response:
    return Response(
        http_response.status_code,
        {k.lower(): v for k, v in http_response.headers.items()},
        content,
        str(http_response.url),
    )


class SyncShell(_ShellBase):
    """Drives flows with ``httpx.Client``; sleeps are cut short by :meth:`close`."""

    def __init__(
        self,
        *,
        base_url: str,
        auth_headers: Mapping[str, str],
        timeout: float,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url=base_url, auth_headers=auth_headers, timeout=timeout)
        self._client = http_client
        self._owns_client = http_client is None
        self._closed = threading.Event()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._closed.is_set():
                raise ClientClosedError("The Transcriber was closed; create a new one.")
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout, transport=deadline_transport(self._limits)
                )
            return self._client

    def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its result in the calling thread."""
        try:
            op = next(flow)
            while True:
                try:
                    result: Response | None = None
                    if isinstance(op, Sleep):
                        self._sleep(op.seconds)
                    else:
                        result = self._send(op)
                except SpeechkitError as err:
                    op = flow.throw(err)
                else:
                    op = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    def run_group(self, group: Driven, *, max_workers: int, thread_name_prefix: str) -> None:
        """Drive a core group to its end from the calling thread.

        Sleeping tasks cost nothing: one loop keeps their wake-up times, and requests go to a
        pool of ``max_workers`` threads, so thousands of jobs need a few threads. Every
        decision (and every hook) runs in the calling thread.

        An exception here (``KeyboardInterrupt`` above all) stops the group at once: no new
        job is created, queued requests are dropped, and the pool is not waited for (a create
        already being sent may finish in its thread).
        """
        sleepers: list[tuple[float, int, Task]] = []  # (wake-up time, sequence, task)
        sending: dict[concurrent.futures.Future[Response], Task] = {}
        live: set[Task] = set()
        sequence = itertools.count()
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, max_workers), thread_name_prefix=thread_name_prefix
        )

        def begin(tasks: list[Task]) -> None:
            for task in tasks:
                live.add(task)
                advance(task, None, None)  # send(None) starts a generator

        def advance(task: Task, value: Response | None, error: BaseException | None) -> None:
            try:
                op = task.flow.throw(error) if error is not None else task.flow.send(value)
            except StopIteration as stop:
                live.discard(task)
                begin(group.finished(task, stop.value, None))
                return
            except Exception as err:
                live.discard(task)
                begin(group.finished(task, None, err))
                return
            if isinstance(op, Sleep):
                wake = time.monotonic() + max(0.0, op.seconds)
                heapq.heappush(sleepers, (wake, next(sequence), task))
            else:
                sending[pool.submit(self._send, op)] = task

        aborted = False
        try:
            begin(group.start())
            while sleepers or sending:
                if self._closed.is_set():
                    woken, sleepers[:] = list(sleepers), []
                    for _, _, task in woken:
                        advance(task, None, ClientClosedError("The Transcriber was closed."))
                now = time.monotonic()
                while sleepers and sleepers[0][0] <= now:
                    advance(heapq.heappop(sleepers)[2], None, None)
                timeout = max(0.0, sleepers[0][0] - now) if sleepers else None
                if not sending:
                    if timeout is not None:
                        self._closed.wait(timeout)
                    continue
                done, _ = concurrent.futures.wait(
                    sending, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in done:
                    task = sending.pop(future)
                    try:
                        response = future.result()
                    except Exception as err:
                        advance(task, None, err)
                    else:
                        advance(task, response, None)
        except BaseException:
            aborted = True
            group.stop()
            pool.shutdown(wait=False, cancel_futures=True)
            # Requests already sent (a create among them) may land: let them, briefly, so a
            # rerun right after this one finds their jobs instead of racing them.
            sent = [future for future in sending if not future.cancelled()]
            concurrent.futures.wait(sent, timeout=ABORT_GRACE)
            if isinstance(sys.exc_info()[1], KeyboardInterrupt):
                for future in sent:  # record what they made (a job id), starting nothing
                    if future.done() and future.exception() is None:
                        self._settle(group, sending[future], future.result())
            raise
        finally:
            # A finished group's threads are idle: join them, so none outlives the call. An
            # interrupted one is not waited for (a send on the wire may still be running).
            pool.shutdown(wait=not aborted, cancel_futures=True)
            for task in live:
                task.flow.close()

    @staticmethod
    def _settle(group: Driven, task: Task, response: Response) -> None:
        """After an interrupt: give ``task`` the answer it was waiting for; if that ends it,
        tell the group (so its hooks record a job just made). Nothing more is sent."""
        try:
            task.flow.send(response)
        except StopIteration as stop:
            group.finished(task, stop.value, None)
        except Exception:
            pass

    def _sleep(self, seconds: float) -> None:
        if self._closed.wait(max(0.0, seconds)):
            raise ClientClosedError("The Transcriber was closed while waiting.")

    def _send(self, request: Request) -> Response:
        with self._in_flight:
            return self._send_now(request)

    def _send_now(self, request: Request) -> Response:
        client = self._http()
        attempt = _Attempt(request, self._deadline_seconds)
        token = current_deadline.set(attempt.deadline)
        opened: list[IO[bytes]] = []
        try:
            kwargs, opened = self._body(request, asynchronous=False, deadline=attempt.deadline)
            http_response = client.send(self._build(client, request, kwargs), stream=True)
            try:
                body = self._read_limits(http_response)
                if http_response.is_stream_consumed:  # read already (a mock transport)
                    content = self._already_read(http_response)
                else:
                    for chunk in http_response.iter_raw():
                        body.feed(chunk)
                        if attempt.deadline.expired:  # a trickle through a client not ours
                            raise httpx.ReadTimeout("the request's total deadline passed")
                    content = body.finish()
            finally:
                http_response.close()
        except Exception as err:
            raise self._failed(attempt, err) from err
        finally:
            current_deadline.reset(token)
            for file in opened:
                file.close()
        return self._record(request, _response(http_response, content), attempt.started)

    def download(self, url: str, path: str | os.PathLike[str]) -> Path:
        """Stream ``url`` into the file ``path`` (written whole or not at all)."""
        request = Request("GET", url, expect="bytes")
        headers = self._headers(request, url)
        with (
            self._downloading(request, path) as partial,
            self._http().stream("GET", url, headers=headers) as resp,
        ):
            if not resp.is_success:
                resp.read()
                self._download_failed(request, resp)
            with open(partial, "wb") as file:
                for chunk in resp.iter_bytes():
                    file.write(chunk)
        return Path(path)

    def close(self) -> None:
        """Stop every sleep now and close the HTTP client (if this shell created it)."""
        self._closed.set()
        with self._lock:
            client, self._client = self._client, None
        if client is not None and self._owns_client:
            client.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


async def _aiter_file(path: str | os.PathLike[str], chunk_size: int) -> AsyncIterator[bytes]:
    # File reads go to a worker thread so a slow disk never stalls the event loop.
    file = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(file.read, chunk_size):
            yield chunk
    finally:
        await asyncio.to_thread(file.close)


async def _aiter_stream(stream: IO[bytes], chunk_size: int) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(stream.read, chunk_size):
        yield bytes(chunk)


class AsyncShell(_ShellBase):
    """Drives flows with ``httpx.AsyncClient``; sleeps are cut short by :meth:`aclose`."""

    def __init__(
        self,
        *,
        base_url: str,
        auth_headers: Mapping[str, str],
        timeout: float,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url=base_url, auth_headers=auth_headers, timeout=timeout)
        self._client = http_client
        self._owns_client = http_client is None
        self._closed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _check_loop(self) -> None:
        """Remember the loop of the first use; refuse any other (its connections, and the
        event sleeps wait on, belong to the first)."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            ended = "which has ended" if self._loop.is_closed() else "which is still running"
            raise EventLoopError(
                f"This AsyncTranscriber is used from a second event loop: it first ran on "
                f"another one ({ended}), and its connections belong to that loop (each "
                "asyncio.run() call starts a new loop). Create the AsyncTranscriber inside the "
                "coroutine that uses it (async with speechkit.AsyncTranscriber() as t: ...), "
                "make all its calls from one event loop, or use speechkit.Transcriber for "
                "blocking calls."
            )

    def _http(self) -> httpx.AsyncClient:
        if self._closed.is_set():
            raise ClientClosedError("The AsyncTranscriber was closed; create a new one.")
        self._check_loop()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, limits=self._limits)
        return self._client

    async def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its result on the running event loop."""
        try:
            self._check_loop()
            op = next(flow)
            while True:
                try:
                    result: Response | None = None
                    if isinstance(op, Sleep):
                        await self._sleep(op.seconds)
                    else:
                        result = await self._send(op)
                except SpeechkitError as err:
                    op = flow.throw(err)
                else:
                    op = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    async def run_group(self, group: Driven) -> None:
        """Drive a core group to its end on the running loop: one asyncio task per core task.

        Cancelling the caller stops the group at once (no new job is created; the jobs already
        created keep running on the server).
        """
        running: dict[asyncio.Future[Any], Task] = {}
        self._check_loop()

        def begin(tasks: list[Task]) -> None:
            for task in tasks:
                running[asyncio.ensure_future(self.run(task.flow))] = task

        try:
            begin(group.start())
            while running:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    try:
                        result = future.result()
                    except Exception as err:
                        begin(group.finished(task, None, err))
                    else:
                        begin(group.finished(task, result, None))
        except BaseException:
            group.stop()
            raise
        finally:
            for future in running:
                future.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closed.wait(), max(0.0, seconds))
        except TimeoutError:
            return
        raise ClientClosedError("The AsyncTranscriber was closed while waiting.")

    async def _send(self, request: Request) -> Response:
        async with self._in_flight:
            return await self._send_now(request)

    async def _send_now(self, request: Request) -> Response:
        client = self._http()
        attempt = _Attempt(request, self._deadline_seconds)
        opened: list[IO[bytes]] = []
        try:
            kwargs, opened = self._body(request, asynchronous=True, deadline=attempt.deadline)
            async with asyncio.timeout(None) as timeout:
                attempt.deadline.bind(timeout)
                http_response = await client.send(self._build(client, request, kwargs), stream=True)
                try:
                    body = self._read_limits(http_response)
                    if http_response.is_stream_consumed:  # read already (a mock transport)
                        content = self._already_read(http_response)
                    else:
                        async for chunk in http_response.aiter_raw():
                            body.feed(chunk)
                        content = body.finish()
                finally:
                    await http_response.aclose()
        except Exception as err:
            raise self._failed(attempt, err) from err
        finally:
            for file in opened:
                file.close()
        return self._record(request, _response(http_response, content), attempt.started)

    async def download(self, url: str, path: str | os.PathLike[str]) -> Path:
        """Stream ``url`` into the file ``path`` (written whole or not at all)."""
        request = Request("GET", url, expect="bytes")
        with self._downloading(request, path) as partial:
            async with self._http().stream("GET", url, headers=self._headers(request, url)) as resp:
                if not resp.is_success:
                    await resp.aread()
                    self._download_failed(request, resp)
                file = await asyncio.to_thread(open, partial, "wb")
                try:
                    async for chunk in resp.aiter_bytes():
                        await asyncio.to_thread(file.write, chunk)
                finally:
                    await asyncio.to_thread(file.close)
        return Path(path)

    async def aclose(self) -> None:
        """Stop every sleep now and close the HTTP client (if this shell created it)."""
        self._closed.set()
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            if self._loop is not None and self._loop is not asyncio.get_running_loop():
                # Its connections belong to the other loop: they cannot be closed from here
                # (and went away with that loop if it ended).
                with contextlib.suppress(RuntimeError, httpx.HTTPError, OSError):
                    await client.aclose()
                return
            await client.aclose()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()
