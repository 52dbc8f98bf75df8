"""What the realtime v2 and v3 option tables share: checks, the query string and the docs table.

The tables themselves are :mod:`.realtime_v2` and :mod:`.realtime_v3` (one :class:`Option` row per
connection parameter, as for batch). Everything here works on rows only, so the client
(:mod:`speechkit._core.realtime_protocol`), the CLI and the local server (which never imports the
client's models) derive the same behaviour from the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from speechkit._core.options import Kind, Option, Protocol, type_problem, value_problems

__all__ = [
    "check_query",
    "connection_option",
    "encode",
    "markdown_table",
    "normalize",
    "problems",
    "query_pairs",
]


def connection_option(
    protocol: Protocol, name: str, kind: Kind, summary: str, **details: Any
) -> Option:
    """A realtime table row: lists and objects are sent as JSON in the query, the rest as plain
    query values, unless ``wire=`` says otherwise."""
    wire = "json" if kind in ("strings", "enums", "object", "objects") else "query"
    return Option(name, kind, summary, **{"protocol": protocol, "wire": wire, **details})


def normalize(option: Option, value: Any) -> Any:
    """The JSON shape of a Python value: tuples and other sequences of ``strings``/``enums``
    options become lists, mappings become dicts (strings are left alone, so a bare string for a
    list option is still reported)."""
    if option.kind in ("strings", "enums", "objects"):
        if isinstance(value, Sequence) and not isinstance(value, str | bytes):
            return list(value)
    elif option.kind == "object" and isinstance(value, Mapping):
        return dict(value)
    return value


def problems(option: Option, value: Any) -> list[str]:
    """Type, range and allowed-value problems of one value (``None``: unset, no problem)."""
    if value is None:
        return []
    value = normalize(option, value)
    problem = type_problem(option, value)
    if problem is not None:
        # A secret (webhook_auth_header_value) is never printed, even of the wrong type.
        got = f"a value of type {type(value).__name__}" if option.secret else repr(value)
        return [f"{problem[:-1]}, got {got}."]
    return value_problems(option, value)


def encode(option: Option, value: Any) -> str:
    """A value as the query string carries it: ``true``/``false``, numbers as text, lists and
    objects as JSON (``option.wire == "json"``), as the official SDK sends them."""
    value = normalize(option, value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if option.wire == "json" or isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def query_pairs(rows: Iterable[Option], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The query parameters of the set options, in table order (rows sent on the URL only)."""
    return [
        (row.name, encode(row, values[row.name]))
        for row in rows
        if row.wire in ("query", "json") and values.get(row.name) is not None
    ]


def _decode(option: Option, text: str) -> Any:
    kind = option.kind
    if option.wire == "json":
        return json.loads(text)
    if kind == "bool":
        lowered = text.lower()  # the SDK sends Python's True/False
        if lowered in ("true", "1", "false", "0"):
            return lowered in ("true", "1")
        return text
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    return text


def check_query(
    rows: Mapping[str, Option],
    query: Mapping[str, str],
    *,
    open_values: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[str]]:
    """Decode and check a websocket query string the way the service does (the local server).

    Args:
        rows: The protocol's table.
        query: The query parameters (last value of each name).
        open_values: Options whose unknown string values are accepted (model names and other
            sets the service grows).

    Returns:
        The decoded known options, and the problems found (empty when all are valid). Unknown
        names are ignored, as the service does.
    """
    decoded: dict[str, Any] = {}
    found: list[str] = []
    for name, text in query.items():
        option = rows.get(name)
        if option is None or option.wire not in ("query", "json") or text == "":
            continue
        try:
            value = _decode(option, text)
        except ValueError:
            found.append(f"{name} must be JSON ({option.kind}), got {text!r}.")
            continue
        problem = type_problem(option, value)
        if problem is not None:
            found.append(f"{problem[:-1]}, got {text!r}.")
        elif name not in open_values:
            found.extend(value_problems(option, value))
        decoded[name] = value
    return decoded, found


# --- docs ----------------------------------------------------------------------------------

_WIRE = {
    "query": "query",
    "json": "query (JSON)",
    "message": "message",
    "local": "speechkit",
    "body": "body",
}


def markdown_table(rows: Iterable[Option]) -> str:
    """One protocol's options table for ``docs/realtime.md`` (a test keeps the docs current)."""
    lines = [
        "| option | type | values | sent as | live | CLI flag | what it does |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        what = row.summary
        if row.deprecated:
            what += f". **Deprecated**: {row.deprecated}"
        elif row.source == "sdk":
            what += " (SDK 1.8.2)"
        if row.secret:
            what += " (kept out of logs)"
        values = row.describe_range() if not row.retired else ", ".join(row.values)
        if row.retired:
            values += f" (retired: {', '.join(row.retired)})"
        flag = f"`{row.cli}`" if row.cli else ""
        live = "yes" if row.live else ""
        lines.append(
            f"| `{row.name}` | {row.kind} | {values} | {_WIRE[row.wire]} | {live} | {flag} "
            f"| {what} |"
        )
    return "\n".join(lines) + "\n"
