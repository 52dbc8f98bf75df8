"""PII redaction on the local server: the text, the words and the audio really change."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from speechkit.server import _pii, _text
from speechkit.server.runner import LocalServer

# The fixed engine spreads these 27 words evenly over the 4.8 s of audio.
SPOKEN = (
    "hello my name is John Smith call me at five five five one two three four "
    "or write to john@example.com on Monday at 3:30 it costs $20"
)
WORD_MS = 4800 / 27


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(engine="fixed", engine_options={"text": SPOKEN}) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def upload_url(client: httpx.Client) -> str:
    # A loud 440 Hz tone: redacted spans are easy to tell apart from it.
    t = np.arange(int(16000 * 4.8)) / 16000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, tone, 16000, format="WAV", subtype="PCM_16")
    return str(client.post("/v2/upload", content=buffer.getvalue()).json()["upload_url"])


def transcribe(client: httpx.Client, url: str, **options: Any) -> dict[str, Any]:
    tid = client.post("/v2/transcript", json={"audio_url": url, **options}).json()["id"]
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(f"/v2/transcript/{tid}").json()
        if body["status"] in ("completed", "error"):
            assert body["status"] == "completed", body.get("error")
            return body
        assert time.monotonic() < deadline
        time.sleep(0.02)


POLICIES = ["person_name", "phone_number", "email_address", "date", "time", "money_amount"]


def test_hash_substitution_hides_every_policy_found(client: httpx.Client, upload_url: str) -> None:
    plain = transcribe(client, upload_url)
    body = transcribe(
        client, upload_url, redact_pii=True, redact_pii_policies=POLICIES, redact_pii_sub="hash"
    )
    assert "John Smith" in plain["text"]
    text = body["text"]
    for secret in ("John", "Smith", "five", "john@example.com", "Monday", "3:30", "$20"):
        assert secret not in text, secret
    assert "#### #####" in text  # each letter of "John Smith" becomes "#"
    assert "Hello my name is" in text
    assert len(body["words"]) == len(plain["words"])  # hash keeps every word and its timing


def test_entity_name_substitution_and_policies_chosen(
    client: httpx.Client, upload_url: str
) -> None:
    body = transcribe(
        client,
        upload_url,
        redact_pii=True,
        redact_pii_policies=POLICIES,
        redact_pii_sub="entity_name",
    )
    text = body["text"]
    assert "my name is [PERSON_NAME] call me at [PHONE_NUMBER] or" in text
    assert "[EMAIL_ADDRESS]" in text
    assert "[DATE]" in text
    assert "[TIME]" in text
    assert "[MONEY_AMOUNT]" in text
    words = [w["text"] for w in body["words"]]
    name = body["words"][words.index("[PERSON_NAME]")]
    # One word spanning "John Smith" (words 4 and 5).
    assert name["start"] == pytest.approx(4 * WORD_MS, abs=1)
    assert name["end"] == pytest.approx(6 * WORD_MS, abs=1)

    only_names = transcribe(
        client,
        upload_url,
        redact_pii=True,
        redact_pii_policies=["person_name"],
        redact_pii_sub="entity_name",
    )
    assert "[PERSON_NAME]" in only_names["text"]
    assert "five five five" in only_names["text"]  # phone numbers were not asked for


def _audio(client: httpx.Client, tid: str) -> tuple[httpx.Response, np.ndarray]:
    ready = client.get(f"/v2/transcript/{tid}/redacted-audio").json()
    response = httpx.get(ready["redacted_audio_url"])
    assert response.status_code == 200
    samples, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    assert rate == 16000
    return response, samples


def _rms(samples: np.ndarray, start_ms: int, end_ms: int) -> float:
    part = samples[start_ms * 16 : end_ms * 16].astype(np.float64)
    return float(np.sqrt(np.mean(part**2)))


def test_redacted_audio_silences_the_spans_as_wav(client: httpx.Client, upload_url: str) -> None:
    body = transcribe(
        client,
        upload_url,
        redact_pii=True,
        redact_pii_policies=["person_name"],
        redact_pii_audio=True,
        redact_pii_audio_quality="wav",
        redact_pii_audio_options={"override_audio_redaction_method": "silence"},
    )
    response, samples = _audio(client, body["id"])
    assert response.headers["content-type"] == "audio/wav"
    assert sf.info(io.BytesIO(response.content)).format == "WAV"
    # "John Smith" are words 4 and 5: 711-1067 ms. Silent there, the tone elsewhere.
    assert _rms(samples, 715, 1065) == 0.0
    assert _rms(samples, 100, 700) > 4000
    assert _rms(samples, 1080, 2000) > 4000


def test_redacted_audio_beeps_by_default_as_mp3(client: httpx.Client, upload_url: str) -> None:
    body = transcribe(
        client,
        upload_url,
        redact_pii=True,
        redact_pii_policies=["person_name"],
        redact_pii_audio=True,
    )
    response, samples = _audio(client, body["id"])
    assert response.headers["content-type"] == "audio/mpeg"
    assert sf.info(io.BytesIO(response.content)).format == "MP3"
    # A 1 kHz beep replaces the 440 Hz tone: compare the spectrum's peak inside and outside.
    inside = np.abs(np.fft.rfft(samples[800 * 16 : 1000 * 16].astype(np.float64)))
    outside = np.abs(np.fft.rfft(samples[300 * 16 : 500 * 16].astype(np.float64)))
    freqs = np.fft.rfftfreq(200 * 16, 1 / 16000)
    assert abs(freqs[int(np.argmax(inside))] - 1000) < 20
    assert abs(freqs[int(np.argmax(outside))] - 440) < 20


def _words(text: str) -> list[_text.Word]:
    return [_text.Word(t, i * 100, i * 100 + 90, 0.9, None) for i, t in enumerate(text.split())]


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("call 555-123-4567 now", [("555-123-4567", "phone_number")]),
        ("my ssn is 123-45-6789", [("123-45-6789", "us_social_security_number")]),
        ("card 4111 1111 1111 1111 ok", [("4111 1111 1111 1111", "credit_card_number")]),
        ("order 4 7 1 2 shipped", [("4 7 1 2", "number_sequence")]),
        ("see www.example.org today", [("www.example.org", "url")]),
        ("mail jane at example dot com", [("jane at example dot com", "email_address")]),
        ("born March 3rd in Boston", [("March 3rd", "date"), ("Boston", "location")]),
        ("he is 42 years old", [("42 years old", "person_age")]),
        ("ten dollars at noon", [("ten dollars", "money_amount"), ("noon", "time")]),
        ("i may go and mark it", []),  # "may" and "mark" in lower case are not names or dates
        ("oh well", []),
    ],
)
def test_detection_rules(spoken: str, expected: list[tuple[str, str]]) -> None:
    words = _words(spoken)
    policies = sorted({p for _, p in expected} | {"person_name", "date"})
    found = _pii.detect(words, [(0, len(words))], policies)
    assert [(" ".join(w.text for w in words[b:e]), p) for b, e, p in found] == expected
