"""Transcriber and AsyncTranscriber expose the same methods with the same signatures."""

from __future__ import annotations

import inspect

from speechkit import AsyncTranscriber, Transcriber
from speechkit.lemur import AsyncLemur, Lemur

#: Only the blocking client has the futures forms (``*_async``) and a thread pool.
SYNC_ONLY = {name for name in dir(Transcriber) if name.endswith("_async")}


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
    }


def strip_annotations(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


def test_same_public_methods() -> None:
    sync = public_methods(Transcriber)
    asynchronous = public_methods(AsyncTranscriber)
    assert set(sync) - SYNC_ONLY == set(asynchronous)
    assert {"transcribe_async", "upload_file_async", "transcribe_group_async"} <= SYNC_ONLY


def test_same_signatures_and_async_where_it_awaits() -> None:
    sync = public_methods(Transcriber)
    for name, signature in public_methods(AsyncTranscriber).items():
        if name == "__init__":
            continue
        assert strip_annotations(signature) == strip_annotations(sync[name]), name
        member = getattr(AsyncTranscriber, name)
        assert inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member), name


def test_constructors_differ_only_by_the_thread_pool() -> None:
    sync = strip_annotations(inspect.signature(Transcriber.__init__))
    asynchronous = strip_annotations(inspect.signature(AsyncTranscriber.__init__))
    assert [p for p in sync if p[0] != "max_workers"] == asynchronous


def test_lemur_parity() -> None:
    sync = public_methods(Lemur)
    asynchronous = public_methods(AsyncLemur)
    assert set(sync) == set(asynchronous)
    for name in sync:
        if name != "__init__":
            assert strip_annotations(sync[name]) == strip_annotations(asynchronous[name]), name
