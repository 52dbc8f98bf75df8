"""TranscriptionConfig: validation, helpers, the request body, and keeping the webhook secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from speechkit.config import TranscriptionConfig
from speechkit.errors import InvalidInputError
from speechkit.models import (
    BoostParam,
    CustomSpelling,
    LanguageCode,
    PIIPolicy,
    RedactPiiAudioQuality,
    SpeakerOptions,
    SpeechModel,
    SubstitutionPolicy,
    SummaryModel,
    SummaryType,
)

AAI = Path(__file__).resolve().parent / "specs" / "assemblyai"
SECRET = "s3cr3t-hook-value"


def load(name: str) -> Any:
    return json.loads((AAI / name).read_text(encoding="utf-8"))


# --- the spec's request examples ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["schema.TranscriptOptionalParams.json", "schema.TranscriptParams.json"]
)
def test_spec_request_example_round_trips(name: str) -> None:
    data = load(name)
    options = {k: v for k, v in data.items() if k != "audio_url"}
    config = TranscriptionConfig(**options)
    assert config.language_code is LanguageCode.en_us
    assert config.redact_pii_policies == [
        PIIPolicy.us_social_security_number,
        PIIPolicy.credit_card_number,
    ]
    assert config.redact_pii_sub is SubstitutionPolicy.hash
    assert (config.audio_start_from, config.audio_end_at) == (10, 280)
    assert config.speech_understanding is not None
    assert config.speech_understanding.request == data["speech_understanding"]["request"]
    # The body is the example minus its nulls (omitted = server default).
    assert config.to_request_params() == {k: v for k, v in options.items() if v is not None}
    assert "webhook-secret-value" not in repr(config)


def test_language_code_with_language_detection_is_allowed() -> None:
    # The spec's own example sends both, so this is not treated as a conflict.
    config = TranscriptionConfig(language_code="en_us", language_detection=True)
    assert config.to_request_params() == {"language_code": "en_us", "language_detection": True}


# --- the request body --------------------------------------------------------------------------


def test_empty_config_sends_nothing() -> None:
    assert TranscriptionConfig().to_request_params() == {}


def test_body_uses_wire_names_and_enum_strings() -> None:
    config = TranscriptionConfig(
        speech_models=[SpeechModel.universal_3_pro, "universal-2"],
        speech_model=SpeechModel.slam_1,
        boost_param=BoostParam.high,
        word_boost=["kubernetes"],
        custom_spelling=[CustomSpelling(from_=["dicarlo"], to="Decarlo")],
        speaker_labels=True,
        speaker_options=SpeakerOptions(min_speakers_expected=2),
        punctuate=False,
    )
    assert config.speech_models == [SpeechModel.universal_3_pro, SpeechModel.universal_2]
    assert config.to_request_params() == {
        "speech_models": ["universal-3-pro", "universal-2"],
        "speech_model": "slam-1",
        "boost_param": "high",
        "word_boost": ["kubernetes"],
        "custom_spelling": [{"from": ["dicarlo"], "to": "Decarlo"}],
        "speaker_labels": True,
        "speaker_options": {"min_speakers_expected": 2},
        "punctuate": False,
    }


def test_custom_spelling_accepts_the_wire_shape() -> None:
    config = TranscriptionConfig(custom_spelling=[{"from": ["sequel"], "to": "SQL"}])
    assert config.custom_spelling is not None
    assert config.custom_spelling[0].from_ == ["sequel"]


def test_unknown_options_raise_with_the_closest_name_and_the_escape_hatch() -> None:
    with pytest.raises(InvalidInputError, match="did you mean 'speaker_labels'") as err:
        TranscriptionConfig(speaker_label=True)
    assert "extra_params" in str(err.value)
    config = TranscriptionConfig()
    with pytest.raises(InvalidInputError, match="did you mean 'punctuate'"):
        config.punctuat = True  # type: ignore[attr-defined]
    config = TranscriptionConfig(extra_params={"some_new_option": 1})
    assert config.extra_options == {"some_new_option": 1}
    assert config.to_request_params() == {"some_new_option": 1}


def test_extra_params_are_merged_last_without_validation() -> None:
    config = TranscriptionConfig(punctuate=True, extra_params={"punctuate": None, "domain": "x"})
    assert config.to_request_params() == {"punctuate": None, "domain": "x"}


def test_unknown_values_raise_and_extra_params_sends_them() -> None:
    with pytest.raises(InvalidInputError, match="extra_params=") as err:
        TranscriptionConfig(language_code="xx_new")
    assert "'xx_new' is not a value speechkit knows" in str(err.value)
    config = TranscriptionConfig(extra_params={"language_code": "xx_new"}, redact_pii_sub=None)
    assert config.to_request_params() == {"language_code": "xx_new"}


# --- field validation: construction and assignment ---------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("speech_threshold", 1.5),
        ("language_confidence_threshold", -0.1),
        ("temperature", 2),
        ("content_safety_confidence", 10),
        ("content_safety_confidence", 101),
        ("speakers_expected", 0),
        ("audio_start_from", -1),
        ("audio_end_at", 0),
        ("punctuate", "maybe"),
        ("custom_spelling", [{"from": [], "to": "X"}]),
        ("custom_spelling", [{"from": ["ok", " "], "to": "X"}]),
        ("keyterms_prompt", "not a list"),
    ],
)
def test_bad_value_raises_invalid_input_on_construction_and_assignment(
    option: str, value: Any
) -> None:
    with pytest.raises(InvalidInputError, match=option) as on_init:
        TranscriptionConfig(**{option: value})
    assert not isinstance(on_init.value, ValidationError)
    assert isinstance(on_init.value, ValueError)

    config = TranscriptionConfig()
    with pytest.raises(InvalidInputError, match=option):
        setattr(config, option, value)
    assert getattr(config, option) is None  # the failed assignment changed nothing


def test_assignment_validates_and_converts() -> None:
    config = TranscriptionConfig()
    config.speaker_labels = True
    config.language_code = "de"
    config.redact_pii_policies = ["person_name"]
    assert config.speaker_labels is True
    assert config.language_code is LanguageCode.de
    assert config.redact_pii_policies == [PIIPolicy.person_name]


def test_message_names_the_option_and_the_value() -> None:
    with pytest.raises(InvalidInputError) as err:
        TranscriptionConfig(speech_threshold=7)
    assert str(err.value).startswith("Invalid TranscriptionConfig: speech_threshold")
    assert "must be <= 1, got 7" in str(err.value)


# --- rules that tie options together ----------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"speakers_expected": 2}, "`speakers_expected` needs `speaker_labels=True`"),
        ({"speaker_options": {"max_speakers_expected": 3}}, "`speaker_options` needs"),
        (
            {
                "speaker_labels": True,
                "speaker_options": {"min_speakers_expected": 4, "max_speakers_expected": 2},
            },
            "exceeds",
        ),
        ({"speaker_labels": True, "speaker_options": {"min_speakers_expected": 0}}, "at least 1"),
        ({"redact_pii": True}, "at least one policy"),
        ({"redact_pii": True, "redact_pii_policies": []}, "at least one policy"),
        ({"redact_pii_policies": ["person_name"]}, "`redact_pii_policies` needs `redact_pii=True`"),
        ({"redact_pii_sub": "hash"}, "`redact_pii_sub` needs `redact_pii=True`"),
        ({"redact_pii_audio": True}, "`redact_pii_audio` needs `redact_pii=True`"),
        (
            {
                "redact_pii": True,
                "redact_pii_policies": ["drug"],
                "redact_pii_audio_quality": "wav",
            },
            "`redact_pii_audio_quality` needs `redact_pii_audio=True`",
        ),
        ({"audio_start_from": 5000, "audio_end_at": 5000}, "must be after"),
        ({"webhook_url": "https://x.test", "webhook_auth_header_name": "X-A"}, "together"),
        ({"webhook_url": "https://x.test", "webhook_auth_header_value": SECRET}, "together"),
        (
            {"webhook_auth_header_name": "X-A", "webhook_auth_header_value": SECRET},
            "needs `webhook_url`",
        ),
        ({"summary_model": "catchy"}, "`summary_model` needs `summarization=True`"),
        ({"summary_type": "gist", "summarization": False}, "`summary_type` needs"),
        ({"content_safety_confidence": 60}, "needs `content_safety=True`"),
        (
            {"language_detection_options": {"code_switching": True}},
            "needs `language_detection=True`",
        ),
        (
            {
                "language_detection": True,
                "language_detection_options": {"code_switching_confidence_threshold": 3},
            },
            "is 0..1",
        ),
    ],
)
def test_inconsistent_options_are_rejected_on_construction(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as err:
        TranscriptionConfig(**options)
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "options",
    [
        {"speaker_labels": True, "speakers_expected": 3},
        {
            "redact_pii": True,
            "redact_pii_policies": ["email_address"],
            "redact_pii_sub": "entity_name",
        },
        {
            "redact_pii": True,
            "redact_pii_policies": ["drug"],
            "redact_pii_audio": True,
            "redact_pii_audio_quality": "wav",
        },
        {"audio_start_from": 0, "audio_end_at": 1},
        {"audio_end_at": 60_000},
        {"summarization": True, "summary_model": "informative", "summary_type": "bullets"},
        {"content_safety": True, "content_safety_confidence": 25},
        {
            "webhook_url": "https://x.test",
            "webhook_auth_header_name": "X",
            "webhook_auth_header_value": "v",
        },
        {
            "language_detection": True,
            "language_detection_options": {"expected_languages": ["en", "es"]},
        },
    ],
)
def test_consistent_options_are_accepted(options: dict[str, Any]) -> None:
    assert TranscriptionConfig(**options).to_request_params()


def test_assignment_order_is_free_but_the_body_is_checked() -> None:
    config = TranscriptionConfig()
    config.speakers_expected = 3  # speaker_labels not yet set: allowed for now
    with pytest.raises(InvalidInputError, match="speakers_expected"):
        config.to_request_params()
    with pytest.raises(InvalidInputError, match="speakers_expected"):
        config.validate_options()
    config.speaker_labels = True
    assert config.validate_options() is config
    assert config.to_request_params() == {"speakers_expected": 3, "speaker_labels": True}


# --- helpers -----------------------------------------------------------------------------------


def test_set_custom_spelling_maps_to_the_wire_shape() -> None:
    config = TranscriptionConfig()
    assert (
        config.set_custom_spelling({"Decarlo": ["dicarlo", "de carlo"], "SQL": "sequel"}) is config
    )
    assert config.to_request_params()["custom_spelling"] == [
        {"from": ["dicarlo", "de carlo"], "to": "Decarlo"},
        {"from": ["sequel"], "to": "SQL"},
    ]
    config.set_custom_spelling({"Kubernetes": "k8s"}, override=False)
    assert [entry.to for entry in config.custom_spelling or []] == ["Decarlo", "SQL", "Kubernetes"]
    config.set_custom_spelling({"Only": "one"})
    assert [entry.to for entry in config.custom_spelling or []] == ["Only"]
    config.set_custom_spelling(None)
    assert config.custom_spelling is None


def test_set_custom_spelling_rejects_empty_words_and_changes_nothing() -> None:
    config = TranscriptionConfig().set_custom_spelling({"A": "a"})
    with pytest.raises(InvalidInputError, match="custom_spelling"):
        config.set_custom_spelling({"B": []}, override=False)
    assert [entry.to for entry in config.custom_spelling or []] == ["A"]


def test_set_redact_pii() -> None:
    config = TranscriptionConfig()
    with pytest.raises(InvalidInputError, match="at least one policy"):
        config.set_redact_pii()
    assert config.redact_pii is None  # unchanged after the failure
    config.set_redact_pii(
        policies=[PIIPolicy.person_name, "phone_number"],
        substitution=SubstitutionPolicy.entity_name,
        audio=True,
        audio_quality=RedactPiiAudioQuality.wav,
    )
    assert config.to_request_params() == {
        "redact_pii": True,
        "redact_pii_policies": ["person_name", "phone_number"],
        "redact_pii_sub": "entity_name",
        "redact_pii_audio": True,
        "redact_pii_audio_quality": "wav",
    }
    config.set_redact_pii(audio=False)  # keeps the earlier policies
    assert config.redact_pii_policies == [PIIPolicy.person_name, PIIPolicy.phone_number]
    assert config.redact_pii_audio is None
    assert config.redact_pii_audio_quality is None
    config.set_redact_pii(enable=False)
    assert config.to_request_params() == {}


def test_set_speaker_detection() -> None:
    config = TranscriptionConfig().set_speaker_detection(True, expected=2)
    assert config.to_request_params() == {"speaker_labels": True, "speakers_expected": 2}
    config.set_speaker_detection(min_speakers=2, max_speakers=5)
    assert config.to_request_params() == {
        "speaker_labels": True,
        "speaker_options": {"min_speakers_expected": 2, "max_speakers_expected": 5},
    }
    with pytest.raises(InvalidInputError, match="exceeds"):
        config.set_speaker_detection(min_speakers=6, max_speakers=5)
    config.set_speaker_detection(False)
    assert config.to_request_params() == {}


def test_set_webhook_keeps_the_secret_out_of_repr_and_str() -> None:
    config = TranscriptionConfig(speaker_labels=True).set_webhook(
        "https://example.test/hook", "X-Webhook-Secret", SECRET
    )
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert "X-Webhook-Secret" in repr(config)
    assert config.webhook_auth_header_value == SECRET
    assert config.to_request_params() == {
        "speaker_labels": True,
        "webhook_url": "https://example.test/hook",
        "webhook_auth_header_name": "X-Webhook-Secret",
        "webhook_auth_header_value": SECRET,
    }
    config.set_webhook(None)
    assert config.to_request_params() == {"speaker_labels": True}


def test_secret_stays_out_of_errors_and_extra_params_repr() -> None:
    with pytest.raises(InvalidInputError) as err:
        TranscriptionConfig(webhook_auth_header_value=12345)
    assert "12345" not in str(err.value)
    assert "12345" not in str(err.value.__cause__)  # the chained pydantic error too
    with pytest.raises(InvalidInputError) as err:
        TranscriptionConfig().set_webhook("https://x.test", None, SECRET)
    assert SECRET not in str(err.value)
    config = TranscriptionConfig(extra_params={"webhook_auth_header_value": SECRET})
    assert SECRET not in repr(config)
    assert config.to_request_params() == {"webhook_auth_header_value": SECRET}


def test_set_audio_slice() -> None:
    config = TranscriptionConfig().set_audio_slice(start=1_000, end=61_000)
    assert config.to_request_params() == {"audio_start_from": 1000, "audio_end_at": 61000}
    with pytest.raises(InvalidInputError, match="must be after"):
        config.set_audio_slice(start=5_000, end=4_000)
    assert (config.audio_start_from, config.audio_end_at) == (1000, 61000)
    config.set_audio_slice()
    assert config.to_request_params() == {}


def test_set_summarize() -> None:
    config = TranscriptionConfig().set_summarize(
        model=SummaryModel.catchy, type=SummaryType.headline
    )
    assert config.to_request_params() == {
        "summarization": True,
        "summary_model": "catchy",
        "summary_type": "headline",
    }
    config.set_summarize(False)
    assert config.to_request_params() == {}


def test_set_word_boost() -> None:
    config = TranscriptionConfig().set_word_boost(["speechkit", "pydantic"], BoostParam.high)
    assert config.to_request_params() == {
        "word_boost": ["speechkit", "pydantic"],
        "boost_param": "high",
    }
    config.set_word_boost([])
    assert config.to_request_params() == {}


def test_set_content_safety() -> None:
    config = TranscriptionConfig().set_content_safety(threshold=75)
    assert config.to_request_params() == {"content_safety": True, "content_safety_confidence": 75}
    with pytest.raises(InvalidInputError, match="content_safety_confidence"):
        config.set_content_safety(threshold=5)
    assert config.content_safety_confidence == 75
    config.set_content_safety(False)
    assert config.to_request_params() == {}


def test_helpers_chain() -> None:
    config = (
        TranscriptionConfig(speech_models=["universal-3-pro"])
        .set_speaker_detection(True, expected=2)
        .set_content_safety()
        .set_audio_slice(end=30_000)
    )
    assert config.to_request_params() == {
        "speech_models": ["universal-3-pro"],
        "speaker_labels": True,
        "speakers_expected": 2,
        "content_safety": True,
        "audio_end_at": 30000,
    }


def test_new_request_fields_from_the_official_package() -> None:
    config = TranscriptionConfig(
        domain="medical-v1",
        keyterms_prompt=["Decarlo"],
        keyterms_prompt_options={"keyterms_match_strength": "high"},
    ).set_redact_pii(policies=["person_name"], return_unredacted=True)
    assert config.to_request_params() == {
        "domain": "medical-v1",
        "keyterms_prompt": ["Decarlo"],
        "keyterms_prompt_options": {"keyterms_match_strength": "high"},
        "redact_pii": True,
        "redact_pii_policies": ["person_name"],
        "redact_pii_return_unredacted": True,
    }
    with pytest.raises(InvalidInputError, match="keyterms_match_strength"):
        TranscriptionConfig(
            keyterms_prompt=["x"], keyterms_prompt_options={"keyterms_match_strength": "max"}
        )
    with pytest.raises(InvalidInputError, match="`redact_pii_return_unredacted` needs"):
        TranscriptionConfig(redact_pii_return_unredacted=True)
    assert config.set_redact_pii(False).redact_pii_return_unredacted is None


def test_retired_models_warn_and_are_still_sent() -> None:
    with pytest.warns(DeprecationWarning, match="'best' is retired") as warned:
        config = TranscriptionConfig(speech_models=["best"])
    assert warned[0].filename == __file__  # the warning points at the caller's line
    assert config.to_request_params() == {"speech_models": ["best"]}
    with pytest.warns(DeprecationWarning, match="speech_model is deprecated"):
        config.speech_model = "universal"


def test_the_default_models_are_sent_only_when_no_model_is_named() -> None:
    from speechkit._core.audio_input import RemoteAudio
    from speechkit.providers.assemblyai import AssemblyAIProvider

    provider = AssemblyAIProvider("key")
    audio = RemoteAudio("https://example.org/a.mp3")

    def body(config: TranscriptionConfig | None) -> Any:
        return provider.build_create(audio, config).json

    assert body(None)["speech_models"] == ["universal-3-5-pro", "universal-2"]
    assert body(TranscriptionConfig(speech_models=["slam-1"]))["speech_models"] == ["slam-1"]
    with pytest.warns(DeprecationWarning, match="speech_models"):
        singular = TranscriptionConfig(speech_model="universal")
    assert "speech_models" not in body(singular)
    escaped = TranscriptionConfig(extra_params={"speech_models": ["next-model"]})
    assert body(escaped)["speech_models"] == ["next-model"]
