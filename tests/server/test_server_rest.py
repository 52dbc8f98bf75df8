"""AssemblyAI REST v2 on the local server, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from speechkit.server.runner import LocalServer

REQUIRED_TRANSCRIPT_FIELDS = [
    "id",
    "speech_model",
    "language_model",
    "acoustic_model",
    "status",
    "audio_url",
    "webhook_auth",
    "auto_highlights",
    "redact_pii",
    "summarization",
    "language_confidence_threshold",
    "language_confidence",
]


def upload(client: httpx.Client, data: bytes) -> str:
    response = client.post("/v2/upload", content=data)
    assert response.status_code == 200, response.text
    return str(response.json()["upload_url"])


def wait_done(client: httpx.Client, transcript_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/v2/transcript/{transcript_id}").json()
        if body["status"] in ("completed", "error"):
            return body
        assert time.monotonic() < deadline, f"transcript stuck in {body['status']}"
        time.sleep(0.02)


def transcribe(client: httpx.Client, data: bytes, **options: Any) -> dict[str, Any]:
    url = upload(client, data)
    created = client.post("/v2/transcript", json={"audio_url": url, **options})
    assert created.status_code == 200, created.text
    return wait_done(client, created.json()["id"])


def test_upload_raw_returns_own_url_and_bytes(client: httpx.Client, server: LocalServer) -> None:
    url = upload(client, b"RIFFxxxx-some-bytes")
    assert url.startswith(f"{server.base_url}/upload/")
    uuid.UUID(url.rsplit("/", 1)[1])
    assert httpx.get(url).content == b"RIFFxxxx-some-bytes"


def test_upload_chunked(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    data = wav(0.5)

    def chunks() -> Any:
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    response = client.post("/v2/upload", content=chunks())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 200
    assert httpx.get(response.json()["upload_url"]).content == data


def test_upload_size_cap(make_server: Callable[..., LocalServer]) -> None:
    srv = make_server(max_upload_bytes=1000)
    with httpx.Client(base_url=srv.base_url) as c:
        too_big = c.post("/v2/upload", content=b"x" * 1001)
        assert too_big.status_code == 413
        assert "error" in too_big.json()
        chunked = c.post("/v2/upload", content=iter([b"x" * 600, b"x" * 600]))
        assert chunked.status_code == 413
        assert c.post("/v2/upload", content=b"x" * 1000).status_code == 200
        assert c.post("/v2/upload", content=b"").status_code == 400


def test_transcript_lifecycle_and_shape(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    url = upload(client, wav(2.0))
    created = client.post(
        "/v2/transcript",
        json={"audio_url": url, "punctuate": True, "word_boost": ["hello"], "unknown_option": 1},
    )
    assert created.status_code == 200
    queued = created.json()
    assert queued["status"] == "queued"
    for field in REQUIRED_TRANSCRIPT_FIELDS:
        assert field in queued
    assert queued["text"] is None
    assert queued["words"] is None
    assert queued["word_boost"] == ["hello"]
    assert "unknown_option" not in queued
    done = wait_done(client, queued["id"])
    assert done["status"] == "completed"
    assert done["text"] == "Hello world this is a test of the local server."
    assert done["audio_duration"] == 2
    assert done["language_code"] == "en_us"
    assert done["utterances"] is None
    words = done["words"]
    assert [w["text"] for w in words][:2] == ["Hello", "world"]
    for w in words:
        assert isinstance(w["start"], int)
        assert isinstance(w["end"], int)
        assert w["speaker"] is None
        assert 0 <= w["confidence"] <= 1
    assert words[-1]["end"] <= 2000
    assert 0 < done["confidence"] <= 1
    assert "error" not in done  # absent, never null (no spec version allows null)


def test_speaker_labels_and_unpunctuated(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    done = transcribe(client, wav(1.0), speaker_labels=True, punctuate=False, format_text=False)
    assert done["text"] == "hello world this is a test of the local server"
    assert {w["speaker"] for w in done["words"]} == {"A"}
    assert done["utterances"]
    assert done["utterances"][0]["speaker"] == "A"
    assert done["utterances"][0]["text"] == done["text"]


def test_audio_start_from_and_end_at(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    done = transcribe(client, wav(3.0), audio_start_from=1000, audio_end_at=2000)
    assert done["audio_start_from"] == 1000
    assert done["audio_end_at"] == 2000
    starts = [w["start"] for w in done["words"]]
    assert min(starts) >= 1000
    assert max(w["end"] for w in done["words"]) <= 2000


def test_custom_spelling(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    done = transcribe(
        client, wav(1.0), custom_spelling=[{"from": ["world", "test"], "to": "Globe"}]
    )
    assert done["text"] == "Hello Globe this is a Globe of the local server."


def test_file_url(client: httpx.Client, wav: Callable[..., bytes], tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(wav(1.0))
    created = client.post("/v2/transcript", json={"audio_url": path.as_uri()}).json()
    assert wait_done(client, created["id"])["status"] == "completed"


def test_http_url_fetched_from_another_server(
    client: httpx.Client, make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    other = make_server()
    with httpx.Client(base_url=other.base_url) as c2:
        remote_url = upload(c2, wav(1.0))
    created = client.post("/v2/transcript", json={"audio_url": remote_url}).json()
    assert wait_done(client, created["id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "audio_url"),
        ({"audio_url": ""}, "audio_url"),
        ({"audio_url": 5}, "audio_url"),
        ({"audio_url": "ftp://x/y.wav"}, "audio_url"),
        ({"audio_url": "http://x/a.wav", "punctuate": "yes"}, "punctuate"),
        ({"audio_url": "http://x/a.wav", "audio_start_from": -1}, "audio_start_from"),
        ({"audio_url": "http://x/a.wav", "audio_start_from": 5, "audio_end_at": 5}, "audio_end_at"),
        ({"audio_url": "http://x/a.wav", "word_boost": "hello"}, "word_boost"),
        ({"audio_url": "http://x/a.wav", "boost_param": "max"}, "boost_param"),
        ({"audio_url": "http://x/a.wav", "speech_threshold": 2}, "speech_threshold"),
        ({"audio_url": "http://x/a.wav", "custom_spelling": [{"from": "a"}]}, "custom_spelling"),
        ({"audio_url": "http://x/a.wav", "redact_pii_audio": True}, "redact_pii"),
        # From the same spec-derived table the client checks: enum values, ranges, rules.
        (
            {"audio_url": "http://x/a.wav", "redact_pii": True, "redact_pii_policies": ["ssn"]},
            "redact_pii_policies: 'ssn'",
        ),
        ({"audio_url": "http://x/a.wav", "content_safety_confidence": 5}, ">= 25"),
        ({"audio_url": "http://x/a.wav", "speakers_expected": 2}, "speaker_labels"),
        ({"audio_url": "http://x/a.wav", "redact_pii_sub": "stars"}, "redact_pii_sub"),
    ],
)
def test_create_validation(client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    response = client.post("/v2/transcript", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_create_accepts_codes_and_models_newer_than_the_table(client: httpx.Client) -> None:
    # The spec types language_code and the models enum-or-string; what a client sends through
    # extra_params must not be refused by the stand-in.
    body = {"audio_url": "http://x/a.wav", "language_code": "xx", "speech_models": ["next-1"]}
    created = client.post("/v2/transcript", json=body)
    assert created.status_code == 200
    assert created.json()["speech_models"] == ["next-1"]


def test_create_rejects_bad_json(client: httpx.Client) -> None:
    response = client.post(
        "/v2/transcript", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]
    assert client.post("/v2/transcript", json=[1]).status_code == 400


def test_unreadable_audio_becomes_error_status(client: httpx.Client) -> None:
    done = transcribe(client, b"this is plain text, not audio")
    assert done["status"] == "error"
    assert done["error"].startswith("Transcoding failed")
    assert done["text"] is None


def test_missing_upload_is_download_error(client: httpx.Client, server: LocalServer) -> None:
    url = f"{server.base_url}/upload/{uuid.uuid4()}"
    created = client.post("/v2/transcript", json={"audio_url": url}).json()
    done = wait_done(client, created["id"])
    assert done["status"] == "error"
    assert done["error"].startswith("Download error, unable to download")


def test_state_machine_queued_processing_completed(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server(faults={"processing_delay": 0.4})
    with httpx.Client(base_url=srv.base_url) as c:
        url = upload(c, wav(0.5))
        created = c.post("/v2/transcript", json={"audio_url": url}).json()
        seen = [created["status"]]
        deadline = time.monotonic() + 5
        while seen[-1] not in ("completed", "error") and time.monotonic() < deadline:
            status = c.get(f"/v2/transcript/{created['id']}").json()["status"]
            if status != seen[-1]:
                seen.append(status)
            time.sleep(0.02)
    assert seen == ["queued", "processing", "completed"]


def test_get_unknown_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v2/transcript/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"error": "Transcript not found"}
    assert client.get("/v2/nothing-here").json() == {"error": "Not found"}


def test_delete(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    done = transcribe(client, wav(0.5), webhook_url="http://127.0.0.1:9/hook")
    deleted = client.delete(f"/v2/transcript/{done['id']}")
    assert deleted.status_code == 200
    body = deleted.json()
    assert body["id"] == done["id"]
    assert body["text"] == "Deleted by user."
    assert body["audio_url"] == "http://deleted_by_user"
    assert body["words"] is None
    again = client.get(f"/v2/transcript/{done['id']}").json()
    assert again["text"] == "Deleted by user."
    assert client.get(f"/v2/transcript/{done['id']}/sentences").status_code == 400


def test_delete_while_processing_is_rejected(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server(faults={"processing_delay": 5})
    with httpx.Client(base_url=srv.base_url) as c:
        created = c.post("/v2/transcript", json={"audio_url": upload(c, wav(0.2))}).json()
        response = c.delete(f"/v2/transcript/{created['id']}")
    assert response.status_code == 400
    assert "processing" in response.json()["error"]


def test_list_paging_and_filters(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server()
    with httpx.Client(base_url=srv.base_url) as c:
        good = upload(c, wav(0.3))
        bad = upload(c, b"not audio at all")
        ids = []
        for i in range(7):
            url = bad if i in (2, 5) else good
            ids.append(c.post("/v2/transcript", json={"audio_url": url}).json()["id"])
        assert srv.wait_for_jobs(10)

        first = c.get("/v2/transcript", params={"limit": 3}).json()
        assert [t["id"] for t in first["transcripts"]] == ids[::-1][:3]
        details = first["page_details"]
        assert details["limit"] == 3
        assert details["result_count"] == 3
        assert details["next_url"] is None
        assert details["current_url"].endswith("/v2/transcript?limit=3")
        item = first["transcripts"][0]
        assert set(item) == {
            "id",
            "resource_url",
            "status",
            "created",
            "completed",
            "audio_url",
            "error",
        }
        assert item["resource_url"] == f"{srv.base_url}/v2/transcript/{ids[-1]}"

        # Follow prev_url (older pages) to the end.
        seen = [t["id"] for t in first["transcripts"]]
        page = first
        while page["page_details"]["prev_url"]:
            page = c.get(page["page_details"]["prev_url"]).json()
            seen += [t["id"] for t in page["transcripts"]]
        assert seen == ids[::-1]
        assert page["page_details"]["prev_url"] is None

        # next_url goes back to newer transcripts.
        newer = c.get(page["page_details"]["next_url"]).json()
        assert [t["id"] for t in newer["transcripts"]] == ids[::-1][3:6]

        after = c.get("/v2/transcript", params={"after_id": ids[1], "limit": 2}).json()
        assert [t["id"] for t in after["transcripts"]] == [ids[3], ids[2]]
        before = c.get("/v2/transcript", params={"before_id": ids[4], "limit": 10}).json()
        assert [t["id"] for t in before["transcripts"]] == ids[:4][::-1]

        errors = c.get("/v2/transcript", params={"status": "error"}).json()
        assert [t["id"] for t in errors["transcripts"]] == [ids[5], ids[2]]
        assert all(t["error"] for t in errors["transcripts"])
        today = time.strftime("%Y-%m-%d", time.gmtime())
        assert len(c.get("/v2/transcript", params={"created_on": today}).json()["transcripts"]) == 7
        assert (
            c.get("/v2/transcript", params={"created_on": "2001-01-01"}).json()["transcripts"] == []
        )
        assert len(c.get("/v2/transcript").json()["transcripts"]) == 7  # default limit 10

        for bad_query in (
            {"limit": 0},
            {"limit": 201},
            {"limit": "x"},
            {"status": "done"},
            {"created_on": "yesterday"},
            {"before_id": "nope"},
        ):
            response = c.get("/v2/transcript", params=bad_query)
            assert response.status_code == 400, bad_query
            assert "error" in response.json()


def test_subtitles(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    done = transcribe(client, wav(2.0))
    srt = client.get(f"/v2/transcript/{done['id']}/srt")
    assert srt.status_code == 200
    assert srt.headers["content-type"].startswith("text/plain")
    assert srt.text.startswith("1\n00:00:00,000 --> 00:00:01,")
    assert "Hello world this is a test of the local server." in srt.text
    small = client.get(f"/v2/transcript/{done['id']}/srt", params={"chars_per_caption": 12}).text
    cues = [block.split("\n")[2] for block in small.strip().split("\n\n")]
    assert all(len(c) <= 12 for c in cues)
    assert len(cues) > 3
    vtt = client.get(f"/v2/transcript/{done['id']}/vtt", params={"chars_per_caption": 20}).text
    assert vtt.startswith("WEBVTT\n\n00:00.000 --> ")
    bad = client.get(f"/v2/transcript/{done['id']}/srt", params={"chars_per_caption": "-3"})
    assert bad.status_code == 400


def test_sentences_paragraphs_word_search(client: httpx.Client, wav: Callable[..., bytes]) -> None:
    done = transcribe(client, wav(1.0))
    tid = done["id"]
    sentences = client.get(f"/v2/transcript/{tid}/sentences").json()
    assert set(sentences) == {"id", "confidence", "audio_duration", "sentences"}
    assert sentences["sentences"][0]["text"] == done["text"]
    assert sentences["sentences"][0]["speaker"] is None
    assert sentences["sentences"][0]["words"][0]["text"] == "Hello"
    paragraphs = client.get(f"/v2/transcript/{tid}/paragraphs").json()
    assert paragraphs["paragraphs"][0]["text"] == done["text"]
    assert paragraphs["paragraphs"][0]["start"] == done["words"][0]["start"]

    found = client.get(
        f"/v2/transcript/{tid}/word-search", params={"words": "hello,local server,absent"}
    )
    assert found.status_code == 200
    body = found.json()
    assert body["total_count"] == 2
    by_text = {m["text"]: m for m in body["matches"]}
    assert by_text["hello"]["indexes"] == [0]
    assert by_text["hello"]["count"] == 1
    assert by_text["local server"]["indexes"] == [8]
    assert by_text["local server"]["timestamps"] == [
        [done["words"][8]["start"], done["words"][9]["end"]]
    ]
    assert by_text["absent"]["count"] == 0
    assert client.get(f"/v2/transcript/{tid}/word-search").status_code == 400


def test_exports_of_unfinished_transcript(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server(faults={"processing_delay": 5})
    with httpx.Client(base_url=srv.base_url) as c:
        created = c.post("/v2/transcript", json={"audio_url": upload(c, wav(0.2))}).json()
        for suffix in ("srt", "vtt", "sentences", "paragraphs", "word-search?words=a"):
            response = c.get(f"/v2/transcript/{created['id']}/{suffix}")
            assert response.status_code == 400, suffix
            assert "not completed" in response.json()["error"]


def test_redacted_audio(make_server: Callable[..., LocalServer], wav: Callable[..., bytes]) -> None:
    srv = make_server(faults={"processing_delay": 0.5})
    with httpx.Client(base_url=srv.base_url) as c:
        url = upload(c, wav(0.5))
        plain = c.post("/v2/transcript", json={"audio_url": url}).json()
        redacted = c.post(
            "/v2/transcript",
            json={
                "audio_url": url,
                "redact_pii": True,
                "redact_pii_policies": ["person_name"],
                "redact_pii_audio": True,
            },
        ).json()
        assert c.get(f"/v2/transcript/{redacted['id']}/redacted-audio").status_code == 202
        wait_done(c, redacted["id"])
        ready = c.get(f"/v2/transcript/{redacted['id']}/redacted-audio")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "redacted_audio_ready"
        audio = httpx.get(body["redacted_audio_url"])  # no auth, like a pre-signed URL
        assert audio.status_code == 200
        assert body["redacted_audio_url"].endswith(".mp3")  # the spec's default quality
        assert audio.headers["content-type"] == "audio/mpeg"
        assert sf.info(io.BytesIO(audio.content)).format == "MP3"
        wait_done(c, plain["id"])
        not_requested = c.get(f"/v2/transcript/{plain['id']}/redacted-audio")
        assert not_requested.status_code == 400
        assert "error" in not_requested.json()


def test_redacted_audio_expires(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    srv = make_server(redacted_audio_retention=0.2)
    with httpx.Client(base_url=srv.base_url) as c:
        created = c.post(
            "/v2/transcript",
            json={
                "audio_url": upload(c, wav(0.2)),
                "redact_pii": True,
                "redact_pii_policies": ["person_name"],
                "redact_pii_audio": True,
            },
        ).json()
        wait_done(c, created["id"])
        time.sleep(0.3)
        assert c.get(f"/v2/transcript/{created['id']}/redacted-audio").status_code == 400


def test_webhook_delivery(
    client: httpx.Client, make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    # The hook target is another local server: its request log shows the delivery.
    target = make_server()
    hook = f"{target.base_url}/v2/transcript"  # any endpoint; a POST without audio_url is 400
    done = transcribe(
        client,
        wav(0.2),
        webhook_url=hook,
        webhook_auth_header_name="X-Secret",
        webhook_auth_header_value="s3cret",
    )
    deadline = time.monotonic() + 5
    while target.request_count("transcript.create") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert target.request_count("transcript.create") == 1
    final = wait_done(client, done["id"])
    assert final["webhook_auth"] is True
    assert final["webhook_auth_header_name"] == "X-Secret"
    assert "webhook_auth_header_value" not in final
    deadline = time.monotonic() + 5
    while final["webhook_status_code"] is None and time.monotonic() < deadline:
        final = client.get(f"/v2/transcript/{done['id']}").json()
    assert final["webhook_status_code"] == 400


def test_auth_when_key_configured(keyed_server: LocalServer) -> None:
    base = keyed_server.base_url
    missing = httpx.get(f"{base}/v2/transcript")
    assert missing.status_code == 401
    assert missing.json() == {"error": "Authentication error, API token missing/invalid"}
    assert httpx.get(f"{base}/v2/transcript", headers={"Authorization": "nope"}).status_code == 401
    # The AssemblyAI scheme is the raw key: "Bearer <key>" is a client bug the server reports.
    bearer = httpx.get(f"{base}/v2/transcript", headers={"Authorization": "Bearer test-key"})
    assert bearer.status_code == 401
    ok = httpx.get(f"{base}/v2/transcript", headers={"Authorization": "test-key"})
    assert ok.status_code == 200
    assert httpx.post(f"{base}/v2/upload", content=b"abc").status_code == 401
    assert keyed_server.jobs_created == 0


def test_auth_open_without_key(client: httpx.Client) -> None:
    assert client.get("/v2/transcript", headers={"Authorization": "anything"}).status_code == 200
    assert client.get("/v2/transcript").status_code == 200


def test_two_hundred_concurrent_jobs(
    make_server: Callable[..., LocalServer], wav: Callable[..., bytes]
) -> None:
    # Every job takes at least 1 s; run one after another they would take 200 s.
    srv = make_server(faults={"processing_delay": 1.0})
    data = wav(0.2)
    started = time.monotonic()

    async def run() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(
            base_url=srv.base_url, timeout=30, limits=httpx.Limits(max_connections=50)
        ) as c:
            url = (await c.post("/v2/upload", content=data)).json()["upload_url"]
            created = await asyncio.gather(
                *(c.post("/v2/transcript", json={"audio_url": url}) for _ in range(200))
            )
            assert all(r.status_code == 200 for r in created)
            ids = [r.json()["id"] for r in created]
            results: list[dict[str, Any]] = []
            for tid in ids:
                deadline = time.monotonic() + 30
                while True:
                    body = (await c.get(f"/v2/transcript/{tid}")).json()
                    if body["status"] in ("completed", "error"):
                        results.append(body)
                        break
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
            return results

    results = asyncio.run(run())
    assert time.monotonic() - started < 15
    assert len(results) == 200
    assert {r["status"] for r in results} == {"completed"}
    assert len({r["id"] for r in results}) == 200
    assert srv.jobs_created == 200
