"""The realtime v2 and v3 option tables against the specs and the official SDK, and everything
derived from them: the transcriber's keywords, checks, query string, live updates, CLI flags and
the docs tables."""

from __future__ import annotations

import ast
import json
import re
import typing
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from speechkit._cli.options import STREAM_OPTIONS, stream_flags_markdown
from speechkit._core.options import Option
from speechkit._core.options.realtime import check_query, markdown_table, problems
from speechkit._core.options.realtime_v2 import V2_OPTIONS, V2_ROWS
from speechkit._core.options.realtime_v3 import V3_OPTIONS, V3_ROWS
from speechkit._core.realtime_options import OPTION_NAMES, RealtimeOptionArgs, RealtimeOptions
from speechkit._core.realtime_protocol import V2Adapter, V3Adapter
from speechkit.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "specs" / "assemblyai" / "spec"
#: A verbatim copy of assemblyai 1.8.2's ``assemblyai/streaming/v3/models.py`` (MIT licence).
SDK = (
    ROOT / "tests" / "specs" / "assemblyai" / "sdk" / "assemblyai-1.8.2.streaming-v3-models.py.txt"
)

#: Bounds the spec states only in prose ("0.0 to 1.0") or not at all, and where speechkit's
#: come from.
OWN_BOUNDS = {
    "end_of_turn_confidence_threshold": "spec prose: 0.0 to 1.0",
    "vad_threshold": "spec prose: 0.0 to 1.0",
    "voice_focus_threshold": "a threshold, as vad_threshold",
    "noise_suppression_threshold": "the former voice_focus_threshold",
    "min_turn_silence": "ms: not negative, at most a minute (the local server's bound)",
    "max_turn_silence": "ms, up to a minute, as min_turn_silence",
    "min_end_of_turn_silence_when_confident": "the former min_turn_silence",
    "interruption_delay": "milliseconds: not negative",
    "turn_left_pad_ms": "milliseconds: not negative",
    "end_utterance_silence_threshold": "asyncapi ConfigureEndUtteranceSilenceThreshold",
    "speaker_labels_revision_interval_ms": "the SDK's Field(ge=0)",
}


def _v3_spec_params() -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for name in ("usm-streaming.json", "usm-streaming-u3-pro.json"):
        spec = json.loads((SPEC / name).read_text())
        for channel in spec["channels"].values():
            for param, schema in channel["parameters"].items():
                if param == "ApiKey":  # a header, not a query parameter
                    continue
                merged = params.setdefault(param, {"enum": []})
                merged["enum"] += [e for e in schema.get("enum", []) if e not in merged["enum"]]
                for key in ("schema", "deprecated", "description"):
                    if key in schema:
                        merged[key] = schema[key]
    return params


V3_SPEC = _v3_spec_params()
_V2_DOC = json.loads((SPEC / "asyncapi.json").read_text())
V2_SPEC: dict[str, Any] = _V2_DOC["channels"]["/v2/realtime/ws"]["bindings"]["ws"]["query"][
    "properties"
]
V2_SCHEMAS: dict[str, Any] = _V2_DOC["components"]["schemas"]


def _v3_kind(schema: Mapping[str, Any]) -> str:
    if schema["enum"] in (["true", "false"], ["false", "true"]):
        return "bool"
    if schema["enum"]:
        return "enum"
    inner = schema.get("schema", {})
    kind = inner.get("type", "string")
    if kind == "array":
        return "strings"
    return {"integer": "int", "number": "number", "string": "string"}[kind]


# --- the tables against the specs ----------------------------------------------------------------


def test_every_v3_spec_parameter_has_a_row_of_the_same_type_values_and_bounds() -> None:
    assert set(V3_SPEC) <= set(V3_OPTIONS)
    for name, schema in V3_SPEC.items():
        row = V3_OPTIONS[name]
        assert row.kind == _v3_kind(schema), name
        if row.kind == "enum":
            assert set(schema["enum"]) <= set(row.allowed), name
        inner = schema.get("schema", {})
        assert row.minimum == inner.get("minimum", row.minimum if name in OWN_BOUNDS else None)
        assert row.maximum == inner.get("maximum", row.maximum if name in OWN_BOUNDS else None)
        assert bool(row.deprecated) == bool(schema.get("deprecated")), name
        assert row.wire == ("json" if row.kind == "strings" else "query"), name
        assert row.source == "spec", name


def test_rows_with_bounds_the_spec_lacks_say_why() -> None:
    bounded = {r.name for r in (*V2_ROWS, *V3_ROWS) if (r.minimum, r.maximum) != (None, None)}
    from_spec = {n for n, s in V3_SPEC.items() if {"minimum", "maximum"} & set(s.get("schema", {}))}
    assert bounded - from_spec == set(OWN_BOUNDS)
    for name in ("end_of_turn_confidence_threshold", "vad_threshold"):
        assert "0.0 to 1.0" in V3_SPEC[name]["description"]
        assert (V3_OPTIONS[name].minimum, V3_OPTIONS[name].maximum) == (0, 1)


def test_every_v2_spec_query_parameter_has_a_row() -> None:
    assert set(V2_SPEC) == {r.name for r in V2_ROWS if r.wire != "message"}
    kinds = {"integer": "int", "boolean": "bool", "string": "string"}
    for name, schema in V2_SPEC.items():
        row = V2_OPTIONS[name]
        if "$ref" in schema:
            schema = V2_SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
        if name == "word_boost":  # a JSON array in a string: '["foo","bar"]'
            assert json.loads(schema["examples"][0]) == ["foo", "bar"]
            assert (row.kind, row.wire) == ("strings", "json")
        elif "enum" in schema:
            assert (row.kind, row.values) == ("enum", tuple(schema["enum"]))
        else:
            assert row.kind == kinds[schema["type"]], name
        assert row.secret == (schema.get("format") == "password"), name


def test_v2_live_option_is_the_configure_message() -> None:
    message = V2_SCHEMAS["ConfigureEndUtteranceSilenceThreshold"]["properties"]
    [(name, schema)] = message.items()
    row = V2_OPTIONS[name]
    assert (row.wire, row.live, row.kind) == ("message", True, "int")
    assert (row.minimum, row.maximum) == (schema["minimum"], schema["maximum"])
    assert {r.name for r in V2_ROWS if r.live} == {name}


# --- the tables against the official SDK (assemblyai 1.8.2) ------------------------------------


def _sdk() -> tuple[dict[str, dict[str, ast.expr]], dict[str, list[str]], dict[str, str]]:
    """Classes' annotated fields, enums' values, and comments marking deprecated names."""
    tree = ast.parse(SDK.read_text())
    fields: dict[str, dict[str, ast.expr]] = {}
    enums: dict[str, list[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [ast.unparse(b) for b in node.bases]
        own = {
            s.target.id: s.annotation
            for s in node.body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        }
        for base in bases:
            own = {**fields.get(base, {}), **own}
        fields[node.name] = own
        if "Enum" in bases:
            enums[node.name] = [
                s.value.value
                for s in node.body
                if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
            ]
    deprecated = {}
    for line in SDK.read_text().splitlines():
        match = re.search(r"(\w+) = \"([\w-]+)\"\s+# Deprecated", line)
        if match:
            deprecated[match.group(2)] = line
    return fields, enums, deprecated


SDK_FIELDS, SDK_ENUMS, SDK_DEPRECATED_VALUES = _sdk()
_SDK_KIND = {"int": "int", "float": "number", "bool": "bool", "str": "string"}


def _sdk_kind(annotation: ast.expr) -> tuple[str, str | None]:
    """(kind, enum class) of an ``Optional[...]`` annotation."""
    text = ast.unparse(annotation).removeprefix("Optional[").removesuffix("]")
    if text.startswith("List["):
        inner = text.removeprefix("List[").removesuffix("]")
        return ("strings", None) if inner == "str" else ("enums", inner)
    if text in _SDK_KIND:
        return _SDK_KIND[text], None
    if text in SDK_ENUMS:
        return "enum", text
    return "object", None  # a model: LLMGatewayConfig


def test_every_sdk_streaming_parameter_has_a_row_of_the_same_type_and_values() -> None:
    params = SDK_FIELDS["RealTimeParameters"]
    assert "StreamingParameters = RealTimeParameters" in SDK.read_text()  # the 1.8.2 name
    sent = {r.name for r in V3_ROWS if r.wire != "local"}
    assert set(params) | set(V3_SPEC) == sent
    for name, annotation in params.items():
        row = V3_OPTIONS[name]
        kind, enum = _sdk_kind(annotation)
        if name == "language_code":  # Optional[str] in the SDK; deprecated there too
            assert row.kind == "string"
            assert row.deprecated
            continue
        assert row.kind == kind, name
        if enum is not None:
            values = [v for v in SDK_ENUMS[enum] if v not in SDK_DEPRECATED_VALUES]
            assert set(row.values) == set(values), name
            assert set(row.retired) == set(SDK_ENUMS[enum]) - set(values), name
        assert (row.wire == "json") == (kind in ("strings", "enums", "object")), name


def test_what_changes_live_is_what_update_configuration_carries() -> None:
    session = set(SDK_FIELDS["RealTimeSessionParameters"])
    assert set(SDK_FIELDS["UpdateConfiguration"]) - {"type"} == session
    assert {r.name for r in V3_ROWS if r.live} == session
    assert V3Adapter.live_updatable == session
    assert V2Adapter.live_updatable == {"end_utterance_silence_threshold"}


def test_the_sdks_deprecations_are_the_tables() -> None:
    comments = SDK.read_text()
    for name in (
        "min_end_of_turn_silence_when_confident",
        "noise_suppression_model",
        "language_code",
    ):
        assert V3_OPTIONS[name].deprecated, name
    assert "Deprecated: Use min_turn_silence" in comments
    assert "use voice_focus / voice_focus_threshold instead" in comments
    assert V3_OPTIONS["speech_model"].retired == ("u3-pro",)


# --- the typed keywords --------------------------------------------------------------------------


def _kind_of(annotation: Any) -> set[str]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    [base] = args
    origin = typing.get_origin(base) or base
    if origin is bool:
        return {"bool"}
    if origin is int:
        return {"int"}
    if origin is float:
        return {"number"}
    if origin is str:
        return {"string", "enum"}
    if origin in (Sequence, list, tuple):
        return {"strings", "enums"}
    if origin in (Mapping, dict):
        return {"object"}
    raise AssertionError(annotation)


def test_the_typed_keywords_are_the_tables_rows() -> None:
    hints = typing.get_type_hints(RealtimeOptionArgs)
    assert set(hints) == OPTION_NAMES
    for name, annotation in hints.items():
        row = V3_OPTIONS.get(name) or V2_OPTIONS[name]
        assert row.kind in _kind_of(annotation), name


# --- derived behaviour ---------------------------------------------------------------------------


def _sample(row: Option) -> Any:
    return {
        "bool": True,
        "int": int(row.minimum or 0) + 1 if row.maximum != 0 else 0,
        "number": 0.5,
        "string": "x",
        "enum": row.values[0] if row.values else "x",
        "strings": ["a b", "c"],
        "enums": list(row.values[:2]),
        "object": {"model": "m", "max_tokens": 9},
    }[row.kind]


@pytest.mark.parametrize("row", [r for r in V3_ROWS if not r.core], ids=lambda r: r.name)
def test_each_v3_row_reaches_the_query_or_the_live_message_as_the_table_says(row: Option) -> None:
    value = _sample(row)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options = RealtimeOptions(**{row.name: value})  # type: ignore[misc]
    warned = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert warned == ([f"{row.name} is deprecated: {row.deprecated}"] if row.deprecated else [])
    query = dict(V3Adapter().query_params(options))
    if row.wire == "local":
        assert row.name not in query
    elif row.wire == "json":
        assert json.loads(query[row.name]) == value
    else:
        assert query[row.name] == ("true" if value is True else str(value))
    plan = V3Adapter().plan_update(RealtimeOptions(), options)
    if row.live:
        [message] = plan.messages
        assert json.loads(message)[row.name] == value
        assert not plan.reconnect
    else:
        assert plan.reconnect == (row.wire != "local")


def test_the_only_sets_are_derived_from_the_tables() -> None:
    from speechkit._core import realtime_protocol as rp

    assert {
        "word_boost",
        "enable_extra_session_information",
        "end_utterance_silence_threshold",
    } == (rp._V2_ONLY)
    v3_only = {r.name for r in V3_ROWS if not r.core} - {"disable_partial_transcripts"}
    assert v3_only == rp._V3_ONLY
    for name in sorted(rp._V3_ONLY):
        with pytest.raises(InvalidInputError, match=f"{name} is a v3 option"):
            RealtimeOptions(protocol="v2", **{name: _sample(V3_OPTIONS[name])})  # type: ignore[misc]


@pytest.mark.parametrize(
    "row", [r for r in (*V2_ROWS, *V3_ROWS) if r.maximum is not None], ids=lambda r: r.name
)
def test_client_and_server_refuse_the_same_out_of_range_value(row: Option) -> None:
    bad = row.maximum + 1  # type: ignore[operator]
    value = int(bad) if row.kind == "int" else float(bad)
    protocol = row.protocol
    with pytest.raises(InvalidInputError, match=f"{row.name} must be <="):
        RealtimeOptions(protocol=protocol, **{row.name: value})  # type: ignore[arg-type]
    table = V2_OPTIONS if protocol == "v2" else V3_OPTIONS
    if row.wire != "message":
        _, found = check_query(table, {row.name: str(value)})
        assert found == problems(row, value)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the former name warns
@pytest.mark.parametrize(
    "name", ["min_turn_silence", "max_turn_silence", "min_end_of_turn_silence_when_confident"]
)
def test_turn_silence_is_checked_before_anything_is_sent(name: str) -> None:
    for bad, problem in ((-400, "must be >= 0"), (70_000, "must be <= 60000")):
        with pytest.raises(InvalidInputError, match=f"{name} {problem}"):
            RealtimeOptions(**{name: bad})  # type: ignore[arg-type]
    options = RealtimeOptions(max_turn_silence=900)
    with pytest.raises(InvalidInputError, match="max_turn_silence must be >= 0"):
        options.replace(max_turn_silence=-1)


def test_the_local_server_takes_its_turn_limits_from_the_table() -> None:
    from speechkit.server import realtime_v3 as server

    assert set(server._CONFIG_LIMITS) >= {"min_turn_silence", "max_turn_silence"}
    for name, limits in server._CONFIG_LIMITS.items():
        row = V3_OPTIONS[name]
        assert limits == (row.minimum, row.maximum), name


NUMBER_ROWS = [r for r in (*V2_ROWS, *V3_ROWS) if r.kind == "number"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=repr)
@pytest.mark.parametrize("row", NUMBER_ROWS, ids=lambda r: r.name)
def test_numbers_must_be_finite_for_client_and_server(row: Option, bad: float) -> None:
    """NaN and infinities are not JSON: a live update with one ends the session (3006)."""
    assert NUMBER_ROWS
    with pytest.raises(InvalidInputError, match=f"{row.name} must be a finite number"):
        RealtimeOptions(protocol=row.protocol, **{row.name: bad})  # type: ignore[arg-type]
    table = V2_OPTIONS if row.protocol == "v2" else V3_OPTIONS
    if row.wire != "message":  # the local server refuses what json.loads reads as NaN too
        _, found = check_query(table, {row.name: json.dumps(bad)})
        assert [p for p in found if "must be a finite number" in p] == found
        assert found


def test_markdown_tables_in_the_docs_are_current() -> None:
    page = (ROOT / "docs" / "realtime.md").read_text()
    for tag, rows in (("v3", V3_ROWS), ("v2", V2_ROWS)):
        match = re.search(
            rf"<!-- realtime-{tag}-options: start -->\n(.*?)<!-- realtime-{tag}-options: end -->",
            page,
            re.DOTALL,
        )
        assert match, f"docs/realtime.md lost its {tag} options-table markers"
        assert match.group(1) == markdown_table(rows), f"paste markdown_table({tag.upper()}_ROWS)"
    cli = (ROOT / "docs" / "cli.md").read_text()
    match = re.search(r"<!-- stream-flags: start -->\n(.*?)<!-- stream-flags: end -->", cli, re.S)
    assert match, "docs/cli.md lost its stream-flags markers"
    assert match.group(1) == stream_flags_markdown(), "paste stream_flags_markdown()"


def test_the_stream_flags_are_the_rows_with_a_flag() -> None:
    flagged = {r.name for r in (*V2_ROWS, *V3_ROWS) if r.cli}
    assert {n for n, r in STREAM_OPTIONS.items() if r.cli} == flagged
    assert set(STREAM_OPTIONS) == OPTION_NAMES


def test_options_copy_pickle_and_replace_keep_every_value() -> None:
    import copy
    import pickle

    options = RealtimeOptions(chunk_ms=200, format_turns=True, keyterms_prompt=["a"])
    for clone in (copy.copy(options), copy.deepcopy(options), pickle.loads(pickle.dumps(options))):
        assert clone == options
        assert clone.keyterms_prompt == ("a",)
    changed = options.replace(chunk_ms=300, format_turns=None)
    assert (changed.chunk_ms, changed.format_turns, changed.keyterms_prompt) == (300, None, ("a",))
    with pytest.raises(AttributeError, match="immutable"):
        options.chunk_ms = 1  # type: ignore[misc]
