"""Every speechkit exception and the Transcriber cross a process boundary (pickle round trip)."""

from __future__ import annotations

import inspect
import io
import pickle
import pkgutil
from typing import Any

import pytest

import speechkit
import speechkit.errors
from speechkit import AsyncTranscriber, Transcriber, TranscriptionConfig
from speechkit._core.http import Request, StreamBody
from speechkit.errors import SpeechkitError
from speechkit.group import GroupFailure, TranscriptGroup


def _error_classes() -> list[type[SpeechkitError]]:
    """Every SpeechkitError subclass defined anywhere in speechkit (walked, not listed)."""
    for module in pkgutil.walk_packages(speechkit.__path__, "speechkit."):
        name = module.name
        if any(part in name for part in (".server", ".engines", ".dask", "_cli", "__main__")):
            continue
        try:
            __import__(name)
        except ImportError:
            continue
    seen: list[type[SpeechkitError]] = []
    todo: list[type[SpeechkitError]] = [SpeechkitError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(seen), key=lambda c: c.__qualname__)


def _argument(name: str) -> Any:
    upload = Request(
        "POST",
        "/v2/upload",
        body=StreamBody(io.BufferedReader(io.BytesIO(b"RIFF"))),
        creates_job=True,
    )
    group = TranscriptGroup(
        (GroupFailure(0, io.BufferedReader(io.BytesIO(b"x")), ValueError("bad audio")),)
    )
    values: dict[str, Any] = {
        "message": "it failed",
        "status_code": 401,
        "body": {"error": "Authentication error"},
        "request_id": "req-1",
        "request": upload,
        "response": None,
        "transcript_id": "job-1",
        "server_message": "no audio",
        "transcript": None,
        "group": group,
        "code": 4001,
        "retryable": True,
        "lost_ms": 250,
        "start_ms": 1000,
        "callback": "on_data",
        "exc": ValueError("boom"),
        "host": "127.0.0.1",
        "port": 8765,
        "reason": "already in use",
    }
    return values[name]


def _instance(cls: type[SpeechkitError]) -> SpeechkitError:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    try:
        parameters = inspect.signature(cls).parameters
    except ValueError:  # Exception's own __init__: one message
        return cls("it failed")
    for name, param in parameters.items():
        if param.kind is param.VAR_POSITIONAL:
            args.append("it failed")
        elif param.kind is param.VAR_KEYWORD:
            continue
        elif param.kind is param.KEYWORD_ONLY:
            kwargs[name] = _argument(name)
        else:
            args.append(_argument(name))
    return cls(*args, **kwargs)


CLASSES = _error_classes()


def test_the_walk_finds_the_whole_tree() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"AuthenticationError", "TranscriptionGroupError", "RealtimeCallbackError"} <= names
    assert len(CLASSES) >= len([n for n in speechkit.errors.__all__ if n.endswith("Error")])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_survives_a_pickle_round_trip(cls: type[SpeechkitError]) -> None:
    error = _instance(cls)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    assert copy.args == error.args
    for key, value in vars(error).items():
        if key == "request":  # travels without its (unpicklable) open-file body
            assert copy.request.method == value.method
            assert copy.request.path == value.path
            assert copy.request.body is None
        elif key == "group":
            assert copy.group.failures[0].audio == "BufferedReader"
            assert str(copy.group.failures[0].error) == "bad audio"
        elif key == "exc":
            assert repr(getattr(copy, key)) == repr(value)
        else:
            assert getattr(copy, key) == value, key
    if hasattr(error, "retryable"):
        assert copy.retryable == error.retryable


def test_an_error_raised_in_a_process_pool_arrives_as_itself() -> None:
    import concurrent.futures

    with concurrent.futures.ProcessPoolExecutor(1) as pool:
        future = pool.submit(_raise_auth)
        with pytest.raises(speechkit.errors.AuthenticationError) as info:
            future.result(timeout=60)
    assert info.value.status_code == 401
    assert info.value.request_id == "req-1"


def _raise_auth() -> None:
    raise _instance(speechkit.errors.AuthenticationError)


def test_transcriber_pickles_its_settings_not_its_connections() -> None:
    config = TranscriptionConfig(punctuate=False)
    with Transcriber(
        api_key="key-123",
        base_url="http://127.0.0.1:9",
        config=config,
        http_timeout=7,
        max_retries=1,
        polling_interval=0.5,
        max_workers=3,
    ) as transcriber:
        transcriber.submit_async  # noqa: B018 - the pool is lazy; force a lock and an event
        copy = pickle.loads(pickle.dumps(transcriber))
    with copy:
        assert copy.provider.base_url == "http://127.0.0.1:9"
        assert copy.provider.auth_headers() == transcriber.provider.auth_headers()
        assert copy.config == config
        assert copy._timeout == 7
        assert copy.retry_policy.max_retries == 1
        assert copy._schedule == transcriber._schedule
        assert copy._max_workers == 3
        assert copy._shell is not transcriber._shell
        assert not copy._shell.closed  # the original was closed; the copy is fresh
    assert "key-123" not in repr(copy)


def test_async_transcriber_pickles_too() -> None:
    transcriber = AsyncTranscriber(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    copy = pickle.loads(pickle.dumps(transcriber))
    assert isinstance(copy, AsyncTranscriber)
    assert copy.retry_policy.max_retries == 0
