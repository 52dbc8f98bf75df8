"""Rule-based audio intelligence and speaker turns on the local server's transcripts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from speechkit.models import Transcript
from speechkit.server.runner import LocalServer

TEXT = (
    "Smoke from wildfires in Canada is causing air quality alerts in New York. "
    "Peter de Carlo, a professor at Johns Hopkins University, says the risk is real for people "
    "with asthma. The good news is that rain on Thursday should bring fresh air. "
    "The interview was recorded on Monday. Thank you professor, this was very helpful."
)
ALL_OPTIONS = {
    "speaker_labels": True,
    "speakers_expected": 2,
    "auto_highlights": True,
    "content_safety": True,
    "iab_categories": True,
    "entity_detection": True,
    "sentiment_analysis": True,
    "auto_chapters": True,
    "summarization": True,
}


@pytest.fixture(scope="module")
def fixed_server() -> Iterator[LocalServer]:
    server = LocalServer(
        engine="fixed", engine_options={"text": TEXT, "words_per_second": 3.0}
    ).start()
    try:
        yield server
    finally:
        server.close()


def _transcript(server: LocalServer, audio: bytes, **options: Any) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        url = client.post("/v2/upload", content=audio).json()["upload_url"]
        job = client.post("/v2/transcript", json={"audio_url": url, **options}).json()
        deadline = time.monotonic() + 10
        while (done := client.get(f"/v2/transcript/{job['id']}").json())["status"] not in (
            "completed",
            "error",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert done["status"] == "completed", done["error"]
    return dict(done)


def test_every_intelligence_field_has_results_in_the_spec_shape(
    fixed_server: LocalServer, wav: Callable[..., bytes]
) -> None:
    data = _transcript(fixed_server, wav(60.0), **ALL_OPTIONS)
    transcript = Transcript.from_json_data(data)  # the SDK's models accept every field

    highlights = transcript.auto_highlights_result
    assert highlights is not None
    assert highlights.status == "success"
    assert highlights.results
    assert all(h.count == len(h.timestamps) for h in highlights.results)

    entities = {(e.entity_type, e.text) for e in transcript.entities or ()}
    assert {
        ("location", "Canada"),
        ("location", "New York"),
        ("person_name", "Peter de Carlo"),
        ("organization", "Johns Hopkins University"),
        ("occupation", "professor"),
        ("date", "Thursday"),
    } <= entities

    sentiments = transcript.sentiment_analysis_results or []
    assert {s.sentiment for s in sentiments} == {"POSITIVE", "NEGATIVE", "NEUTRAL"}
    assert len(sentiments) == len(data["sentiment_analysis_results"])

    safety = transcript.content_safety_labels
    assert safety is not None
    assert set(safety.summary) >= {"disasters", "health_issues"}
    levels = safety.severity_score_summary["disasters"]
    assert levels.low + levels.medium + levels.high == pytest.approx(1.0, abs=1e-3)

    topics = transcript.iab_categories_result
    assert topics is not None
    assert max(topics.summary.values()) == 1.0
    assert all(0 < label.relevance <= 1 for r in topics.results for label in r.labels)

    chapters = transcript.chapters or []
    assert chapters
    assert chapters[0].start == data["words"][0]["start"]
    assert chapters[-1].end == data["words"][-1]["end"]
    assert transcript.summary is not None
    assert transcript.summary.startswith("- ")


def test_speakers_take_turns_by_paragraph(
    fixed_server: LocalServer, wav: Callable[..., bytes]
) -> None:
    data = _transcript(fixed_server, wav(120.0), speaker_labels=True, speakers_expected=2)
    speakers = [u["speaker"] for u in data["utterances"]]
    assert len(speakers) > 2
    assert speakers[:4] == ["A", "B", "A", "B"][: len(speakers[:4])]
    assert {w["speaker"] for w in data["words"]} == {"A", "B"}
    with httpx.Client(base_url=fixed_server.base_url, timeout=10) as client:
        sentences = client.get(f"/v2/transcript/{data['id']}/sentences").json()["sentences"]
    assert {s["speaker"] for s in sentences} == {"A", "B"}


def test_one_speaker_unless_more_are_expected(
    fixed_server: LocalServer, wav: Callable[..., bytes]
) -> None:
    data = _transcript(fixed_server, wav(60.0), speaker_labels=True)
    assert {u["speaker"] for u in data["utterances"]} == {"A"}


def test_options_off_leave_the_fields_null(
    fixed_server: LocalServer, wav: Callable[..., bytes]
) -> None:
    data = _transcript(fixed_server, wav(5.0))
    for key in (
        "auto_highlights_result",
        "content_safety_labels",
        "iab_categories_result",
        "entities",
        "sentiment_analysis_results",
        "chapters",
        "summary",
        "utterances",
    ):
        assert data[key] is None, key


def test_summary_type_shapes_the_summary(
    fixed_server: LocalServer, wav: Callable[..., bytes]
) -> None:
    headline = _transcript(fixed_server, wav(30.0), summarization=True, summary_type="headline")
    assert headline["summary"].startswith("Smoke from wildfires")
    assert "\n" not in headline["summary"]
    gist = _transcript(fixed_server, wav(30.0), summarization=True, summary_type="gist")
    assert 0 < len(gist["summary"].split()) <= 3
