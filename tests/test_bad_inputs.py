"""Bad inputs where they are first taken: a typed InvalidInputError naming the argument and the
fix, raised before any request is sent or any resource (a local server) is acquired."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import speechkit
from speechkit import AsyncTranscriber, Transcriber, TranscriptionConfig
from speechkit.errors import InvalidInputError
from tests.fakes import API_KEY, BASE_URL, FakeAssemblyAI

AUDIO = Path(__file__).resolve().parents[1] / "examples" / "audio" / "sample.wav"


@pytest.mark.parametrize("client", [Transcriber, AsyncTranscriber])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_key": 12345}, r"api_key must be a string, got int.*ASSEMBLYAI_API_KEY"),
        ({"api_key": "k", "base_url": 5}, r"base_url must be a string.*https://"),
        ({"api_key": "k", "http_timeout": "abc"}, r"http_timeout must be a number.*'abc'"),
        ({"api_key": "k", "http_timeout": -1}, r"http_timeout must be > 0"),
        ({"api_key": "k", "max_retries": "x"}, r"max_retries must be a whole number"),
        ({"api_key": "k", "polling_interval": True}, r"polling_interval must be a number"),
        ({"api_key": "k", "config": 5}, r"config must be a speechkit.TranscriptionConfig"),
        ({"api_key": "k", "config": {"speaker_label": True}}, r"did you mean 'speaker_labels'"),
        ({"api_key": "k", "config": {1: True}}, r"option names must be strings"),
    ],
)
def test_constructor_arguments(client: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        client(**kwargs)


@pytest.fixture
def restore_settings() -> Iterator[None]:
    saved = dict(vars(speechkit.settings))
    yield
    for name, value in saved.items():
        setattr(speechkit.settings, name, value)


@pytest.mark.usefixtures("restore_settings")
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("http_timeout", "abc", r"speechkit.settings.http_timeout must be a number"),
        ("max_retries", 2.5, r"speechkit.settings.max_retries must be a whole number"),
        ("api_key", 123, r"speechkit.settings.api_key must be a string"),
        ("polling_interval", 0, r"speechkit.settings.polling_interval must be > 0"),
    ],
)
def test_settings_are_checked_when_set(name: str, value: object, message: str) -> None:
    before = getattr(speechkit.settings, name)
    with pytest.raises(InvalidInputError, match=message):
        setattr(speechkit.settings, name, value)
    assert getattr(speechkit.settings, name) == before  # the bad value was not kept


def test_a_bad_argument_does_not_start_a_local_server() -> None:
    before = set(threading.enumerate())
    with pytest.raises(InvalidInputError, match="http_timeout"):
        Transcriber(provider="local", http_timeout="abc")  # type: ignore[arg-type]
    assert set(threading.enumerate()) <= before


def test_a_closed_file_object_is_refused_before_any_request(fake: FakeAssemblyAI) -> None:
    with open(AUDIO, "rb") as handle:
        pass
    with (
        httpx.Client(transport=fake.transport()) as client,
        Transcriber(api_key=API_KEY, base_url=BASE_URL, http_client=client) as transcriber,
    ):
        with pytest.raises(InvalidInputError, match=r"audio is a closed file object.*path"):
            transcriber.transcribe(handle)
        with pytest.raises(InvalidInputError, match=r"data is a closed file object"):
            transcriber.upload_file(handle)
    assert fake.requests == []


def test_a_dict_config_is_checked_and_sent_like_a_config(fake: FakeAssemblyAI) -> None:
    with (
        httpx.Client(transport=fake.transport()) as client,
        Transcriber(api_key=API_KEY, base_url=BASE_URL, http_client=client) as transcriber,
    ):
        transcriber.submit("https://example.org/a.mp3", {"speaker_labels": True})
        body = json.loads(fake.requests[-1].read())
        assert body["speaker_labels"] is True
        with pytest.raises(InvalidInputError, match="'english'"):
            transcriber.submit("https://example.org/a.mp3", {"language_code": "english"})
        with pytest.raises(InvalidInputError, match="speakers_expected` needs"):
            transcriber.submit("https://example.org/a.mp3", {"speakers_expected": 2})
    assert len(fake.requests) == 1


def test_typos_and_unknown_values_never_reach_the_wire(fake: FakeAssemblyAI) -> None:
    with (
        httpx.Client(transport=fake.transport()) as client,
        Transcriber(api_key=API_KEY, base_url=BASE_URL, http_client=client) as transcriber,
    ):
        for bad in (
            {"language_code": "english"},
            {"redact_pii": True, "redact_pii_policies": ["ssn"]},
            {"speaker_label": True},
            {"speech_models": ["universal2"]},
        ):
            with pytest.raises(InvalidInputError):
                transcriber.transcribe(AUDIO, bad)
        # The escape hatch: extra_params is sent as given.
        config = TranscriptionConfig(extra_params={"language_code": "xx", "new_option": 1})
        transcriber.submit("https://example.org/a.mp3", config)
    assert [r.url.path for r in fake.requests] == ["/v2/transcript"]
    body = json.loads(fake.requests[0].read())
    assert (body["language_code"], body["new_option"]) == ("xx", 1)
