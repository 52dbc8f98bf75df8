"""The batch option table against AssemblyAI's HEAD spec, and everything derived from it."""

from __future__ import annotations

import json
import re
import types
import typing
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from speechkit._core.options import Option, did_you_mean, unknown_option_message, value_problems
from speechkit._core.options import values as v
from speechkit._core.options.batch import BATCH_OPTIONS, check_params, markdown_table
from speechkit.config import TranscriptionConfig
from speechkit.models import enums
from speechkit.models.transcript import Transcript, TranscriptOptionFields

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "specs" / "assemblyai"
SCHEMAS = json.loads((SPECS / "spec" / "openapi.json").read_text())["components"]["schemas"]
OPTIONAL = SCHEMAS["TranscriptOptionalParams"]

#: What each JSON schema type means as a table kind.
_KINDS = {"boolean": "bool", "integer": "int", "number": "number", "string": "string"}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and the ``oneOf``/``anyOf`` unions with ``null`` to the real schema."""
    if "$ref" in schema:
        resolved = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
        return _resolve({**resolved, **{k: x for k, x in schema.items() if k != "$ref"}})
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _resolve({**options[0], "deprecated": schema.get("deprecated", False)})
    return schema


def _spec_kind(schema: dict[str, Any]) -> str:
    schema = _resolve(schema)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "array":
        items = _resolve(schema["items"])
        if items.get("type") == "object" or "properties" in items:
            return "objects"
        return "enums" if "enum" in items else "strings"
    if kind == "string" and "enum" in schema:
        return "enum"
    return _KINDS.get(kind, "object")


SPEC_ROWS = [row for row in BATCH_OPTIONS.values() if row.source == "spec"]


def test_every_spec_option_has_a_row_and_every_spec_row_is_in_the_spec() -> None:
    spec_names = set(OPTIONAL["properties"])
    assert spec_names == {row.name for row in SPEC_ROWS}
    assert set(OPTIONAL["required"]) == {"speech_models"}


@pytest.mark.parametrize("row", SPEC_ROWS, ids=lambda row: row.name)
def test_row_matches_the_spec(row: Option) -> None:
    schema = OPTIONAL["properties"][row.name]
    resolved = _resolve(schema)
    # Models and language codes: the spec's free-string unions are closed lists in the table
    # (checked before sending; extra_params sends anything else).
    kind = _spec_kind(schema)
    if row.name in ("speech_model", "language_code"):
        assert kind in ("string", "enum")
        assert row.kind == "enum"
    elif row.name == "speech_models":
        assert kind in ("strings", "enums")
        assert row.kind == "enums"
    else:
        assert row.kind == kind
    # The spec states some lower bounds only in prose ("milliseconds", "how many speakers");
    # speechkit checks them, so a bad value fails before the upload.
    prose_bounds = {"audio_start_from": 0, "audio_end_at": 1, "speakers_expected": 1}
    assert row.minimum == resolved.get("minimum", prose_bounds.get(row.name))
    assert row.maximum == resolved.get("maximum")
    enum = resolved.get("enum") or _resolve(resolved.get("items", {})).get("enum")
    if enum and row.name != "speech_models":
        assert list(row.allowed) == enum
    assert bool(row.deprecated) == bool(schema.get("deprecated") or resolved.get("deprecated"))


def test_language_codes_and_policies_are_the_specs() -> None:
    assert list(v.LANGUAGE_CODES) == SCHEMAS["TranscriptLanguageCode"]["enum"]
    assert list(v.PII_POLICIES) == SCHEMAS["PiiPolicy"]["enum"]


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (enums.LanguageCode, v.LANGUAGE_CODES),
        (enums.PIIPolicy, v.PII_POLICIES),
        (enums.EntityType, v.PII_POLICIES),
        (enums.SubstitutionPolicy, v.SUBSTITUTION_POLICIES),
        (enums.RedactPiiAudioQuality, v.REDACT_PII_AUDIO_QUALITIES),
        (enums.SummaryModel, v.SUMMARY_MODELS),
        (enums.SummaryType, v.SUMMARY_TYPES),
        (enums.BoostParam, v.BOOST_PARAMS),
        (enums.SpeechModel, v.SPEECH_MODELS + v.RETIRED_SPEECH_MODELS),
    ],
)
def test_public_enums_hold_the_tables_values(enum: type[StrEnum], values: tuple[str, ...]) -> None:
    assert [member.value for member in enum] == list(values)


def test_the_official_packages_model_names_are_known() -> None:
    # assemblyai 1.8.2: SpeechModel has best, nano, slam-1, universal; the sync and streaming
    # APIs name universal-3-5-pro. best and nano are retired upstream.
    assert {"slam-1", "universal", "universal-3-5-pro"} <= set(v.SPEECH_MODELS)
    assert {"best", "nano"} <= set(v.RETIRED_SPEECH_MODELS)
    assert set(v.DEFAULT_SPEECH_MODELS) <= set(v.SPEECH_MODELS)


# --- the typed attributes ----------------------------------------------------------------------


def _base_type(annotation: Any) -> Any:
    """``list[OpenEnum[X]] | None`` -> ``(list, X)``-ish: the shape the table's kind names."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return _base_type(args[0]) if len(args) == 1 else args
    return annotation


def _kind_of(annotation: Any) -> str:
    text = str(annotation)
    if "list[" in text:
        if "Enum" in text or "SpeechModel" in text or "LanguageCode" in text or "PII" in text:
            return "enums"
        return "strings" if "list[str]" in text else "objects"
    for name, kind in (("bool", "bool"), ("int", "int"), ("float", "number")):
        if re.search(rf"\b{name}\b", text):
            return kind
    if "str" in text and "Enum" not in text and "Model" not in text:
        return "string"
    if re.search(r"speechkit\.models\.enums\.|OpenEnum|\| str", text):
        return "enum"
    return "object"


def test_config_attributes_are_exactly_the_table() -> None:
    fields = set(TranscriptionConfig.model_fields) - {"extra_params"}
    assert fields == set(BATCH_OPTIONS)


@pytest.mark.parametrize("name", sorted(BATCH_OPTIONS))
def test_attribute_types_agree_with_the_table(name: str) -> None:
    row = BATCH_OPTIONS[name]
    kind = _kind_of(TranscriptionConfig.model_fields[name].annotation)
    if row.kind == "enum" and kind == "string":
        return  # remove_audio_tags: a plain str attribute, values checked by the table
    assert kind == row.kind, (name, TranscriptionConfig.model_fields[name].annotation)


def test_the_transcript_echoes_every_option_but_the_secret() -> None:
    shared = set(TranscriptOptionFields.model_fields)
    assert shared == set(BATCH_OPTIONS) - {"webhook_auth_header_value"}
    assert shared <= set(Transcript.model_fields)


# --- the docs table ----------------------------------------------------------------------------


def test_the_docs_options_table_is_generated_from_the_table() -> None:
    page = (ROOT / "docs" / "batch.md").read_text()
    match = re.search(
        r"<!-- options-table: start.*?-->\n(.*?)<!-- options-table: end -->", page, re.DOTALL
    )
    assert match, "docs/batch.md lost its options-table markers"
    assert match.group(1) == markdown_table(), (
        "regenerate with: python -m speechkit._core.options.batch > table, or paste "
        "markdown_table()"
    )


# --- checks shared by the client and the local server -----------------------------------------


def test_the_server_check_and_the_client_check_agree_on_bad_values() -> None:
    bad = {
        "language_code": "english",
        "redact_pii_policies": ["ssn"],
        "speech_threshold": 1.5,
        "content_safety_confidence": 5,
        "redact_pii_sub": "stars",
    }
    for name, value in bad.items():
        _, problems = check_params({name: value})
        assert problems, name
        assert problems == value_problems(BATCH_OPTIONS[name], value)
        with pytest.raises(Exception, match=re.escape(problems[0][:30])):
            TranscriptionConfig(**{name: value})


def test_server_types_are_json_types() -> None:
    _, problems = check_params({"speakers_expected": "2", "punctuate": 1})
    assert sorted(problems) == [
        "punctuate must be a boolean.",
        "speakers_expected must be an integer.",
    ]


def test_did_you_mean_knows_language_names_and_typos() -> None:
    assert did_you_mean("english", v.LANGUAGE_CODES, v.LANGUAGE_NAMES) == "en"
    assert did_you_mean("Spanish", v.LANGUAGE_CODES, v.LANGUAGE_NAMES) == "es"
    assert did_you_mean("EN_US", v.LANGUAGE_CODES, v.LANGUAGE_NAMES) == "en_us"
    assert did_you_mean("person_nme", v.PII_POLICIES) == "person_name"
    assert did_you_mean("zzzz", v.PII_POLICIES) is None


def test_unknown_option_message_names_the_closest_option_and_extra_params() -> None:
    message = unknown_option_message("speaker_label", BATCH_OPTIONS, where="X")
    assert "did you mean 'speaker_labels'" in message
    assert "extra_params={'speaker_label': ...}" in message


def test_a_typo_gets_the_same_did_you_mean_from_the_api_and_the_cli() -> None:
    import argparse

    from speechkit._cli.exitcodes import CLIError
    from speechkit._cli.options import add_config_options, config_options
    from speechkit.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as api:
        TranscriptionConfig(speaker_label=True)
    parser = argparse.ArgumentParser()
    add_config_options(parser)
    with pytest.raises(CLIError) as cli:
        config_options(parser.parse_args(["--config", "speaker_label=true"]))
    sentence = "unknown option 'speaker_label' (did you mean 'speaker_labels'?)"
    assert sentence in str(api.value)
    assert sentence in str(cli.value)
    known = [*BATCH_OPTIONS, "extra_params"]
    assert str(api.value) == unknown_option_message(
        "speaker_label", known, where="TranscriptionConfig"
    )
    assert str(cli.value).startswith(
        unknown_option_message("speaker_label", known, where="--config")
    )


def test_the_specs_options_example_passes_both_checks() -> None:
    example = json.loads((SPECS / "schema.TranscriptOptionalParams.json").read_text())
    assert set(example) <= set(BATCH_OPTIONS)
    params, problems = check_params(example)
    assert problems == []
    assert params == {k: value for k, value in example.items() if value is not None}
    assert TranscriptionConfig(**example).to_request_params() == params


def test_aimls_assemblyai_models_take_a_subset_of_the_table() -> None:
    from speechkit.providers._aiml_options import _AAI

    assert set(_AAI) <= set(BATCH_OPTIONS)
