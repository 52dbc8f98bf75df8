"""Pure pieces of the hostile-network defences: redaction, the bounded body reader, and the
job-list witness of lost-create recovery."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime

import pytest

from speechkit._core.http import BodyTooLarge, Request, Response, ResponseBody, UnsupportedEncoding
from speechkit._core.recovery import ListWitness
from speechkit._core.redact import Redactor
from speechkit.models import TranscriptList


def test_a_secret_is_masked_only_as_a_whole_token() -> None:
    redactor = Redactor(["local"])
    text = "key local sent to localhost; Authorization: local; x=local."
    assert redactor.text(text) == "key *** sent to localhost; Authorization: ***; x=***."
    assert Redactor(["local"]).text("the locale is en") == "the locale is en"


def test_auth_values_and_tokens_are_masked_without_knowing_them() -> None:
    redactor = Redactor()
    assert redactor.text("authorization: Bearer abc.def") == "authorization: Bearer ***"
    assert redactor.text('{"Authorization": "k-1"}') == '{"Authorization": "***"}'
    assert redactor.text("GET /v3/ws?a=1&token=xyz HTTP/1.1") == "GET /v3/ws?a=1&token=*** HTTP/1.1"


def test_json_and_headers_are_masked_by_name_and_value() -> None:
    redactor = Redactor(["sk-123"])
    body = {"webhook_auth_header_value": "hook", "nested": ["sk-123", {"token": "t"}], "n": 1}
    assert redactor.json(body) == {
        "webhook_auth_header_value": "***",
        "nested": ["***", {"token": "***"}],
        "n": 1,
    }
    assert redactor.headers({"Authorization": "x", "X-Note": "sk-123 here"}) == {
        "Authorization": "***",
        "X-Note": "*** here",
    }


def test_a_request_repr_and_its_redacted_copy_hide_the_webhook_secret() -> None:
    request = Request(
        "POST",
        "/v2/transcript",
        json={"audio_url": "u", "webhook_auth_header_value": "s3cret-value"},
        headers={"Authorization": "sk-123"},
    )
    assert "s3cret-value" not in repr(request)
    assert "sk-123" not in repr(request)
    assert "'audio_url': 'u'" in repr(request)
    copy = request.redacted(["sk-123"])
    assert copy.json == {"audio_url": "u", "webhook_auth_header_value": "***"}
    assert copy.headers == {"Authorization": "***"}
    assert request.secret_values() == ["s3cret-value"]


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        (None, lambda b: b),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_the_body_reader_decodes_in_pieces(coding: str | None, encode: object) -> None:
    data = b'{"text": "' + b"hello " * 5000 + b'"}'
    wire = encode(data)  # type: ignore[operator]
    body = ResponseBody(coding, limit=len(data))
    for i in range(0, len(wire), 7):
        body.feed(wire[i : i + 7])
    assert body.finish() == data


def test_the_body_reader_stops_at_the_cap_after_decompression() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    body = ResponseBody("gzip", limit=100_000)
    with pytest.raises(BodyTooLarge):
        body.feed(bomb)
    assert body.size <= 100_001
    with pytest.raises(BodyTooLarge):
        ResponseBody(None, limit=3).feed(b"four")


def test_the_body_reader_refuses_codings_it_did_not_ask_for() -> None:
    for coding in ("br", "zstd", "gzip, gzip"):
        with pytest.raises(UnsupportedEncoding):
            ResponseBody(coding)
    with pytest.raises(ValueError, match="not valid gzip"):
        ResponseBody("gzip").feed(b"not gzip at all")


def _page(*created: str) -> TranscriptList:
    return TranscriptList.model_validate(
        {"transcripts": [{"id": str(i), "created": c} for i, c in enumerate(created)]}
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat()


def _date(ts: float) -> dict[str, str]:
    return {"date": datetime.fromtimestamp(ts, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")}


def test_the_list_is_current_only_when_it_shows_a_job_newer_than_the_failure() -> None:
    failed = 1_700_000_000.0
    # The server's clock runs 1000 s ahead of ours: only differences matter.
    skew = 1000.0
    asked = failed + 5.0
    for newest, fresh in ((failed + 4.0, True), (failed + 0.5, False), (failed - 60, False)):
        witness = ListWitness(failed_at=failed, wall=lambda: asked)
        witness.asking()
        response = Response(200, _date(asked + skew), b"")
        witness.saw(response, _page(_iso(newest + skew), _iso(failed - 100 + skew)))
        assert witness.fresh is fresh, newest


def test_without_a_date_header_nothing_is_proven() -> None:
    witness = ListWitness(failed_at=0.0, wall=lambda: 10.0)
    witness.asking()
    witness.saw(Response(200, {}, b""), _page(_iso(1_900_000_000)))
    assert witness.fresh is False
