"""Protocol adapters, URL building, close-code tables and every shared realtime fixture."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from speechkit._core.realtime import Connect
from speechkit._core.realtime_codes import classify_close
from speechkit._core.realtime_protocol import (
    RealtimeOptions,
    V2Adapter,
    V3Adapter,
    redact_url,
    websocket_url,
)
from speechkit.errors import ConfigurationError, InvalidInputError
from speechkit.models.realtime import (
    TemporaryToken,
    TokenError,
    V2AudioData,
    V2ConfigureEndUtteranceSilenceThreshold,
    V2Error,
    V2FinalTranscript,
    V2ForceEndUtterance,
    V2PartialTranscript,
    V2SessionBegins,
    V2SessionInformation,
    V2SessionTerminated,
    V2TerminateSession,
    V2TokenRequest,
    V2TokenResponse,
    V3Begin,
    V3Error,
    V3ForceEndpoint,
    V3KeepAlive,
    V3SpeechStarted,
    V3Terminate,
    V3Termination,
    V3TokenResponse,
    V3Turn,
    V3UpdateConfiguration,
)

FIXTURES = Path(__file__).resolve().parents[1] / "specs" / "realtime"
V2, V3 = V2Adapter(), V3Adapter()


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# ---- URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000/v3/ws"),
        ("https://streaming.assemblyai.com", "wss://streaming.assemblyai.com/v3/ws"),
        ("https://host:8443/", "wss://host:8443/v3/ws"),
        ("http://host/proxy/prefix/", "ws://host/proxy/prefix/v3/ws"),
        ("ws://host:1/v3/ws", "ws://host:1/v3/ws"),
        ("WSS://Host/base", "wss://Host/base/v3/ws"),
        # A host whose name contains "http" is not mangled (no string replacement).
        ("http://https-gateway.internal:81", "ws://https-gateway.internal:81/v3/ws"),
    ],
)
def test_websocket_url_maps_schemes_and_keeps_ports_and_paths(base: str, expected: str) -> None:
    assert websocket_url(base, "/v3/ws") == expected


def test_websocket_url_keeps_an_existing_query_and_adds_params() -> None:
    url = websocket_url("https://h/x?tenant=a", "/v2/realtime/ws", [("sample_rate", "16000")])
    parts = urllib.parse.urlsplit(url)
    assert parts.path == "/x/v2/realtime/ws"
    assert urllib.parse.parse_qsl(parts.query) == [("tenant", "a"), ("sample_rate", "16000")]


@pytest.mark.parametrize("base", ["ftp://h", "h:80", "http://", "/v3/ws"])
def test_websocket_url_rejects_what_is_not_a_url(base: str) -> None:
    with pytest.raises(ConfigurationError, match="base URL"):
        websocket_url(base, "/v3/ws")


def test_key_goes_in_a_header_and_a_token_in_the_query_only() -> None:
    params = tuple(V3.query_params(RealtimeOptions()))
    with_key = Connect("https://h", "/v3/ws", params, "my-key", None, 10.0)
    assert with_key.headers == {"Authorization": "my-key"}
    assert "my-key" not in with_key.url
    assert "token" not in with_key.url
    with_token = with_key.with_token("tok-123")
    assert "Authorization" not in with_token.headers
    assert ("token", "tok-123") in urllib.parse.parse_qsl(
        urllib.parse.urlsplit(with_token.url).query
    )
    assert "tok-123" not in with_token.display_url
    assert "token=***" in with_token.display_url
    assert "my-key" not in repr(with_token)
    assert "tok-123" not in repr(with_token)


def test_redact_url_hides_tokens_and_passwords() -> None:
    assert redact_url("wss://u:pw@h/v3/ws?a=1&token=s3cret") == "wss://***@h/v3/ws?a=1&token=***"


# ---- options -------------------------------------------------------------------------------------


def test_v3_query_parameters() -> None:
    options = RealtimeOptions(
        sample_rate=8000,
        encoding="pcm_mulaw",
        speech_model="universal-streaming-multilingual",
        format_turns=True,
        keyterms_prompt=["speechkit", "Sonny"],
        min_turn_silence=160,
        language_detection=False,
        extra_params={"domain": "medical-v1"},
    )
    assert V3.query_params(options) == [
        ("sample_rate", "8000"),
        ("encoding", "pcm_mulaw"),
        ("speech_model", "universal-streaming-multilingual"),
        ("format_turns", "true"),
        ("min_turn_silence", "160"),
        ("keyterms_prompt", '["speechkit", "Sonny"]'),
        ("language_detection", "false"),
        ("domain", "medical-v1"),
    ]


def test_v2_query_parameters_match_the_spec_example() -> None:
    example = load("v2/x-fern-example.session.json")["query-parameters"]
    options = RealtimeOptions(
        protocol="v2",
        sample_rate=example["sample_rate"],
        word_boost=json.loads(example["word_boost"]),
        encoding=example["encoding"],
        disable_partial_transcripts=example["disable_partial_transcripts"],
        enable_extra_session_information=example["enable_extra_session_information"],
    )
    params = dict(V2.query_params(options))
    assert json.loads(params.pop("word_boost")) == ["foo", "bar"]
    assert params == {
        "sample_rate": "16000",
        "encoding": "pcm_s16le",
        "disable_partial_transcripts": "true",
        "enable_extra_session_information": "true",
    }


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"sample_rate": 96_000}, "8000 to 48000"),
        ({"sample_rate": 100}, "8000 to 48000"),
        ({"sample_rate": 16000.0}, "must be an int"),
        ({"encoding": "opus"}, "encoding"),
        ({"chunk_ms": 20}, "50-1000 ms"),
        ({"chunk_ms": 1500}, "50-1000 ms"),
        ({"protocol": "v2", "chunk_ms": 50}, "100-2000 ms"),
        ({"word_boost": ["x"]}, "v2 option.*keyterms_prompt"),
        ({"protocol": "v2", "format_turns": True}, "v3 option"),
        ({"end_of_turn_confidence_threshold": 1.5}, "must be <= 1"),
        ({"inactivity_timeout": 1}, "must be >= 5"),
        ({"max_speakers": 11}, "must be <= 10"),
        ({"keyterms_prompt": "one string"}, "array of strings"),
        ({"extra_params": {"token": "x"}}, "named option"),
        ({"protocol": "v4"}, "v2.*v3"),
    ],
)
def test_invalid_options_are_rejected_with_their_name(options: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        RealtimeOptions(**options)


@pytest.mark.parametrize("model", [None, "u3-rt-pro", "universal-streaming-english"])
def test_what_changes_live_follows_the_protocol_not_the_model(model: str | None) -> None:
    old = RealtimeOptions(speech_model=model)
    new = old.replace(
        keyterms_prompt=[], min_turn_silence=100, language_codes=["en", "es"],
        filter_profanity=True, format_turns=True,
    )  # fmt: skip
    plan = V3.plan_update(old, new)
    assert not plan.reconnect
    assert json.loads(plan.messages[0]) == {
        "type": "UpdateConfiguration",
        "filter_profanity": True,
        "format_turns": True,
        "keyterms_prompt": [],
        "language_codes": ["en", "es"],
        "min_turn_silence": 100,
    }
    # Connection parameters (not in UpdateConfiguration) need a new connection.
    assert V3.plan_update(old, old.replace(domain="medical-v1")).reconnect
    assert V3.plan_update(old, old.replace(speaker_labels=True)).reconnect


def test_todays_connection_parameters_are_named_options_in_the_query() -> None:
    from speechkit._core.realtime_protocol import redact_url, websocket_url

    options = RealtimeOptions(
        language_codes=["en", "de"], domain="medical-v1", filter_profanity=True,
        redact_pii=True, redact_pii_policies=["person_name"], redact_pii_sub="hash",
        webhook_url="https://hook.test/x", webhook_auth_header_name="X-Auth",
        webhook_auth_header_value="hook-secret", continuous_partials=True,
        include_partial_turns=True, session_heartbeat=True, mode="min_latency",
        voice_focus="near-field", llm_gateway={"model": "m", "messages": [], "max_tokens": 9},
    )  # fmt: skip
    query = dict(V3.query_params(options))
    assert query["language_codes"] == '["en", "de"]'
    assert query["redact_pii_policies"] == '["person_name"]'
    assert json.loads(query["llm_gateway"])["max_tokens"] == 9
    assert query["filter_profanity"] == "true"
    assert query["mode"] == "min_latency"
    url = websocket_url("https://h.test", "/v3/ws", V3.query_params(options))
    assert "hook-secret" in url
    assert "hook-secret" not in redact_url(url)
    assert "hook-secret" not in repr(options)


@pytest.mark.parametrize("value", [982347123, b"s3cr3t-bytes", ["s3cr3t-item"]], ids=repr)
def test_a_secret_of_the_wrong_type_is_not_printed(value: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        RealtimeOptions(webhook_auth_header_value=value)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "webhook_auth_header_value must be a string, got a value of type " in message
    for secret in ("982347123", "s3cr3t"):
        assert secret not in message


def test_repr_masks_credentials_passed_through_extra_params() -> None:
    extra = {
        "webhook_auth_header_value": "s3cr3t-1", "access_token": "s3cr3t-2",
        "X-Api-Key": "s3cr3t-3", "new_signing_secret": "s3cr3t-4", "new_thing": 7,
    }  # fmt: skip
    options = RealtimeOptions(extra_params=extra)
    shown = repr(options)
    assert "s3cr3t" not in shown
    assert "'new_thing': 7" in shown  # what is not a credential stays visible for debugging
    assert "'webhook_auth_header_value': '***'" in shown
    assert options.extra_params["access_token"] == "s3cr3t-2"  # only the repr is masked


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"mode": "fastest"}, "mode: 'fastest' is not a value.*max_accuracy"),
        ({"voice_focus_threshold": 2}, "must be <= 1"),
        ({"interruption_delay": -1}, "must be >= 0"),
        ({"redact_pii": "yes"}, "must be a boolean"),
        ({"llm_gateway": "x"}, "must be an object"),
        ({"language_codes": "en"}, "array of strings"),
        ({"protocol": "v2", "domain": "medical-v1"}, "v3 option"),
    ],
)
def test_new_options_are_checked_by_the_table(options: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        RealtimeOptions(**options)


# ---- close codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["v2", "v3"])
def test_every_documented_close_code_has_a_specific_entry(protocol: str) -> None:
    codes = load(f"{protocol}/close_codes.json")["codes"]
    for code in map(int, codes):
        if code == 1000:
            continue  # normal closure is decided by the session
        info = classify_close(protocol, code)  # type: ignore[arg-type]
        assert "closed by the server" not in info.meaning, code


def test_auth_codes_say_what_to_check() -> None:
    assert "API key" in classify_close("v3", 1008).hint
    assert "API key" in classify_close("v2", 4001).hint
    assert "sample_rate" in classify_close("v2", 4000).hint


# ---- fixtures --------------------------------------------------------------------------------------

SERVER_FIXTURES = {
    "v2/SessionBegins.json": V2SessionBegins,
    "v2/PartialTranscript.json": V2PartialTranscript,
    "v2/FinalTranscript.json": V2FinalTranscript,
    "v2/SessionInformation.json": V2SessionInformation,
    "v2/SessionTerminated.json": V2SessionTerminated,
    "v2/RealtimeError.json": V2Error,
    "v3/Begin.json": V3Begin,
    "v3/Termination.json": V3Termination,
    "v3/Turn.end_of_turn.json": V3Turn,
    "v3/Turn.partial.first.json": V3Turn,
    "v3/Turn.utterance_not_end_of_turn.json": V3Turn,
    "v3/SpeechStarted.u3-rt-pro.json": V3SpeechStarted,
    "v3/Error.sdk-only.SYNTHETIC.json": V3Error,
}

CLIENT_FIXTURES: dict[str, tuple[type, str | None]] = {
    "v2/ForceEndUtterance.json": (V2ForceEndUtterance, V2.force_endpoint_message()),
    "v2/TerminateSession.json": (V2TerminateSession, V2.terminate_message()),
    "v2/ConfigureEndUtteranceSilenceThreshold.json": (
        V2ConfigureEndUtteranceSilenceThreshold,
        V2.update_messages(
            RealtimeOptions(protocol="v2", end_utterance_silence_threshold=300),
            {"end_utterance_silence_threshold"},
        )[0],
    ),
    "v2/legacy.AudioData.base64.json": (V2AudioData, None),
    "v3/ForceEndpoint.json": (V3ForceEndpoint, V3.force_endpoint_message()),
    "v3/Terminate.json": (V3Terminate, V3.terminate_message()),
    "v3/KeepAlive.sdk-only.json": (V3KeepAlive, V3.keepalive_message()),
    "v3/UpdateConfiguration.constructed-from-spec-defaults.json": (
        V3UpdateConfiguration,
        V3.update_messages(
            RealtimeOptions(
                end_of_turn_confidence_threshold=0.5, min_turn_silence=400, max_turn_silence=1280
            ),
            {"end_of_turn_confidence_threshold", "min_turn_silence", "max_turn_silence"},
        )[0],
    ),
}

OTHER_FIXTURES = {
    "v2/token.request.spec-example.json": V2TokenRequest,
    "v2/token.response.spec-example.json": V2TokenResponse,
    "v3/token.response.GET_v3_token.json": V3TokenResponse,
    "v3/token.error.schema-example.SYNTHETIC.json": TokenError,
}
SEQUENCES = [
    "v3/Turn.sequence.universal-streaming.docs.json",
    "v3/Turn.sequence.universal-streaming.docs-2025-07.format_turns.json",
    "v3/sequence.u3-rt-pro.docs.json",
]
META = ["v2/close_codes.json", "v3/close_codes.json", "v2/x-fern-example.session.json"]


def test_every_fixture_file_is_covered() -> None:
    covered = set(SERVER_FIXTURES) | set(CLIENT_FIXTURES) | set(OTHER_FIXTURES)
    covered |= set(SEQUENCES) | set(META)
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("v*/*.json")}
    assert on_disk == covered


@pytest.mark.parametrize("name", sorted(SERVER_FIXTURES))
def test_server_fixture_parses_into_its_model(name: str) -> None:
    adapter = V2 if name.startswith("v2/") else V3
    text = (FIXTURES / name).read_text()
    message = adapter.parse(text)
    assert type(message) is SERVER_FIXTURES[name]
    assert message.raw == json.loads(text)


def test_fixture_details() -> None:
    begin = V3.parse((FIXTURES / "v3/Begin.json").read_text())
    assert isinstance(begin, V3Begin)
    assert begin.expires_at_datetime is not None
    assert begin.expires_at_datetime.year == 2025
    legacy = V3Begin.model_validate(
        {"type": "Begin", "id": "x", "expires_at": "2025-07-01T10:00:00"}
    )
    assert legacy.expires_at_datetime is not None
    assert legacy.expires_at_datetime.month == 7
    final = V2.parse((FIXTURES / "v2/FinalTranscript.json").read_text())
    assert isinstance(final, V2FinalTranscript)
    assert final.punctuated
    assert final.words[0].start == 7140
    turn = V3.parse((FIXTURES / "v3/Turn.utterance_not_end_of_turn.json").read_text())
    assert isinstance(turn, V3Turn)
    assert turn.utterance == "I am a voice agent."
    assert [w.word_is_final for w in turn.words][-2:] == [True, False]


@pytest.mark.parametrize("name", sorted(CLIENT_FIXTURES))
def test_client_fixture_parses_and_matches_what_speechkit_sends(name: str) -> None:
    model, ours = CLIENT_FIXTURES[name]
    data = load(name)
    model.model_validate(data)
    if ours is not None:
        assert json.loads(ours) == data


@pytest.mark.parametrize("name", sorted(OTHER_FIXTURES))
def test_token_fixtures_parse(name: str) -> None:
    OTHER_FIXTURES[name].model_validate(load(name))


def test_token_model_hides_the_token_in_repr() -> None:
    token = TemporaryToken(token="very-secret", expires_in_seconds=60)
    assert "very-secret" not in repr(token)


V3_CLIENT_MODELS: dict[str, type] = {
    "Terminate": V3Terminate,
    "ForceEndpoint": V3ForceEndpoint,
    "KeepAlive": V3KeepAlive,
    "UpdateConfiguration": V3UpdateConfiguration,
}


@pytest.mark.parametrize("name", SEQUENCES)
def test_sequence_fixtures_parse_message_by_message(name: str) -> None:
    for item in load(name):
        if item.get("type") in V3_CLIENT_MODELS:  # what the client sent, in the docs' transcript
            V3_CLIENT_MODELS[item["type"]].model_validate(item)
        else:
            assert V3.parse(json.dumps(item)) is not None, item


def test_v2_example_session_messages_parse() -> None:
    for message in load("v2/x-fern-example.session.json")["messages"]:
        value = message["value"]
        if message["type"] == "subscribe":
            kind = {"message_type": message["messageId"]}
            assert V2.parse(json.dumps({**value, **kind})) is not None


def test_redact_secrets_replaces_only_whole_tokens() -> None:
    from speechkit._core.realtime import redact_secrets

    line = "GET ws://localhost:8000/v3/ws?token=local HTTP/1.1 Authorization: local"
    assert redact_secrets(line, ["local"]) == (
        "GET ws://localhost:8000/v3/ws?token=*** HTTP/1.1 Authorization: ***"
    )
    assert redact_secrets("key=abc-def; abc-defg", ["abc-def", None]) == "key=***; abc-defg"
