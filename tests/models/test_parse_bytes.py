"""Responses are validated straight from their bytes; large ones with the collector paused."""

from __future__ import annotations

import gc
import json
import threading

import httpx
import pytest

import speechkit
from speechkit.models import Transcript, _base
from tests.fakes import API_KEY, BASE_URL


def big_transcript(words: int = 20_000) -> bytes:
    data = {
        "id": "big-1",
        "status": "completed",
        "audio_url": "https://example.com/a.wav",
        "text": " ".join(["word"] * words),
        "words": [
            {"text": "word", "start": i * 100, "end": i * 100 + 90, "confidence": 0.9}
            for i in range(words)
        ],
        "an_unknown_field": {"kept": True},
    }
    return json.dumps(data).encode()


def test_a_large_body_parses_with_the_collector_paused_then_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = big_transcript()
    assert len(content) >= _base.LARGE_BODY_BYTES
    seen: list[bool] = []
    original = Transcript.model_validate_json

    def spy(data: bytes) -> Transcript:
        seen.append(gc.isenabled())
        return original(data)

    monkeypatch.setattr(Transcript, "model_validate_json", spy)
    assert gc.isenabled()
    transcript = Transcript.from_json_bytes(content)
    assert seen == [False]
    assert gc.isenabled()
    assert len(transcript.words or []) == 20_000
    # raw is decoded on first access, and is exactly what was sent (unknown fields included)
    assert transcript.raw == json.loads(content)
    assert transcript.raw["an_unknown_field"] == {"kept": True}


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    gc.disable()
    try:
        Transcript.from_json_bytes(big_transcript(5_000))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_concurrent_parses_restore_the_collector_once_the_last_ends() -> None:
    content = big_transcript(5_000)
    errors: list[BaseException] = []

    def parse() -> None:
        try:
            for _ in range(3):
                Transcript.from_json_bytes(content)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=parse) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert gc.isenabled()
    assert _base._gc_pausers == 0


@pytest.mark.parametrize(
    "body", [b"<html>gateway</html>", b'{"id": 5, "status": ["not", "a", "status"]}']
)
def test_a_body_that_is_not_a_transcript_is_a_clear_api_error(body: bytes) -> None:
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    )
    with speechkit.Transcriber(api_key=API_KEY, base_url=BASE_URL, http_client=client) as t:
        with pytest.raises(speechkit.APIError, match="not a valid transcript") as info:
            t.get_transcript("abc")
    assert "base URL" in str(info.value)
    assert BASE_URL in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
