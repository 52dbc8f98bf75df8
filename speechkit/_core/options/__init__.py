"""Declarative option tables: one row per option, from which everything else derives.

Pure data and pure functions (no pydantic, no I/O), so the client's models, the CLI, the docs
and the local server all read the same rows: :mod:`.batch` holds the batch transcript options.
A row (:class:`Option`) says the wire name, the JSON type, the range or allowed values, retired
values and deprecation, whether the HEAD spec has it, and the CLI flag that sets it; adding an
option is one row (plus, for a typed attribute, one field on the model: a test keeps them equal).

Two checks work on one value each and return messages instead of raising, so each caller raises
its own error type (:class:`~speechkit.errors.InvalidInputError` in the client, a 400 in the
local server):

* :func:`type_problem`: the JSON type (the client leaves this to its pydantic fields);
* :func:`value_problems`: range and allowed values, with a "did you mean" suggestion;
* :func:`deprecations`: what to warn about (a deprecated option, a retired value).

:func:`did_you_mean` is the one suggestion rule, shared with the CLI's unknown-option errors.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Kind",
    "Option",
    "Protocol",
    "Wire",
    "deprecations",
    "did_you_mean",
    "type_problem",
    "unknown_option_message",
    "value_problems",
]

#: JSON shapes: ``strings``/``enums`` are arrays of strings, ``objects`` an array of objects.
Kind = Literal["bool", "int", "number", "string", "strings", "enum", "enums", "object", "objects"]

#: Where a row comes from: the HEAD spec's ``TranscriptOptionalParams``, an older spec that older
#: servers still follow, or only the official ``assemblyai`` package (newer than the spec).
Source = Literal["spec", "legacy", "sdk", "local"]

#: Which request an option belongs to: the batch transcript body, or a realtime connection.
Protocol = Literal["batch", "v2", "v3"]

#: How an option travels: ``body`` a JSON body field (batch), ``query`` a plain query value
#: (booleans as ``true``/``false``), ``json`` a query value holding JSON (lists and objects, as
#: the official SDK sends them), ``message`` only in a control message (v2's silence
#: threshold), ``local`` applied by speechkit itself and never sent.
Wire = Literal["body", "query", "json", "message", "local"]


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a request: everything speechkit needs to check, send and document it.

    Attributes:
        name: The wire name (also the attribute and keyword name).
        kind: The JSON shape of the value.
        summary: One line for the docs table and ``--help``.
        minimum: Inclusive lower bound (numbers, and the items of ``strings``: none).
        maximum: Inclusive upper bound.
        values: The accepted strings of an ``enum``/``enums`` option (empty: any string).
        value_names: Optional human names of the values (for "did you mean").
        retired: Values still accepted but retired upstream: using one warns.
        deprecated: Non-empty when the option itself is deprecated: the warning's text.
        source: See :data:`Source`.
        secret: Never shown in repr, logs or error messages.
        needs: Another option that must be on (or set) when this one is: the combination
            rule, e.g. ``speakers_expected`` needs ``speaker_labels``.
        helper: The ``TranscriptionConfig`` helper that sets both, named in the message.
        server_default: What the service does when the option is not sent (docs, and a CLI
            switch that can be turned off when it is ``True``).
        cli: The CLI flag that sets it (``""``: only ``--config KEY=VALUE``).
        metavar: The flag's value placeholder.
        protocol: See :data:`Protocol`.
        wire: See :data:`Wire`.
        live: Whether it can change on an open realtime stream (the protocol's
            ``UpdateConfiguration`` carries it, or v2's configure message); otherwise a change
            reconnects.
        core: Set by a transcriber argument of its own (``sample_rate``, ``encoding``,
            ``token``), not a plain option.
    """

    name: str
    kind: Kind
    summary: str
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    value_names: Mapping[str, str] | None = None
    retired: tuple[str, ...] = ()
    deprecated: str = ""
    source: Source = "spec"
    secret: bool = False
    needs: str = ""
    helper: str = ""
    server_default: Any = None
    cli: str = ""
    metavar: str = ""
    protocol: Protocol = "batch"
    wire: Wire = "body"
    live: bool = False
    core: bool = False

    @property
    def allowed(self) -> tuple[str, ...]:
        """Every value accepted, current then retired."""
        return self.values + self.retired

    def describe_range(self) -> str:
        """The accepted values as one short phrase (for docs and messages)."""
        if self.allowed and len(self.allowed) <= 8:
            return ", ".join(self.allowed)
        if self.allowed:
            return f"{len(self.allowed)} values, e.g. {', '.join(self.allowed[:3])}"
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{_num(low)}..{_num(high)}"
        if low is not None:
            return f">= {_num(low)}"
        return ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- suggestions ---------------------------------------------------------------------------


def did_you_mean(
    word: str, candidates: Iterable[str], names: Mapping[str, str] | None = None
) -> str | None:
    """The closest candidate to a mistyped ``word``, or ``None``.

    ``names`` maps candidates to human names, so ``"english"`` finds ``"en"`` (``English``).
    """
    pool = list(candidates)
    lowered = word.strip().lower()
    if names:
        by_name: dict[str, str] = {}
        for code, name in names.items():
            by_name.setdefault(name.lower(), code)
            by_name.setdefault(name.split(" (")[0].lower(), code)  # "English (US)" -> English
        if lowered in by_name:
            return by_name[lowered]
        close = difflib.get_close_matches(lowered, list(by_name), n=1, cutoff=0.75)
        if close:
            return by_name[close[0]]
    if lowered in pool and lowered != word:
        return lowered
    close = difflib.get_close_matches(word, pool, n=1)
    return close[0] if close else None


def unknown_option_message(name: str, known: Iterable[str], *, where: str) -> str:
    """The one "unknown option" sentence (the API, the CLI and realtime say the same)."""
    hint = did_you_mean(name, known)
    suggestion = f" (did you mean {hint!r}?)" if hint else ""
    return (
        f"{where}: unknown option {name!r}{suggestion}. An option speechkit does not know yet "
        f"goes in extra_params, e.g. extra_params={{{name!r}: ...}}, which is sent unchecked."
    )


# --- checks --------------------------------------------------------------------------------

_JSON_TYPE = {
    "bool": "a boolean",
    "int": "an integer",
    "number": "a number",
    "string": "a string",
    "enum": "a string",
    "strings": "an array of strings",
    "enums": "an array of strings",
    "object": "an object",
    "objects": "an array of objects",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def type_problem(option: Option, value: Any) -> str | None:
    """Whether a JSON value has the option's type; ``None`` when it does."""
    kind = option.kind
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = _is_int(value)
    elif kind == "number":
        if isinstance(value, float) and not math.isfinite(value):
            # NaN and infinities are not JSON (RFC 8259): a server rejects the whole message.
            return f"{option.name} must be a finite number."
        ok = _is_int(value) or isinstance(value, float)
    elif kind in ("string", "enum"):
        ok = isinstance(value, str)
    elif kind in ("strings", "enums"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind == "object":
        ok = isinstance(value, dict)
    else:
        ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return None if ok else f"{option.name} must be {_JSON_TYPE[kind]}."


def _items(option: Option, value: Any) -> Sequence[Any]:
    if option.kind in ("strings", "enums", "objects"):
        return list(value) if isinstance(value, list | tuple) else []
    return [value]


def value_problems(option: Option, value: Any) -> list[str]:
    """Range and allowed-value problems of a value of the right type (``None`` is unset).

    An unknown value gets the closest known one and the way to send it anyway (``extra_params``).
    """
    if value is None:
        return []
    problems: list[str] = []
    name = option.name
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{name} must be a finite number, got {value!r}.")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if option.minimum is not None and value < option.minimum:
            problems.append(f"{name} must be >= {_num(option.minimum)}, got {value!r}.")
        if option.maximum is not None and value > option.maximum:
            problems.append(f"{name} must be <= {_num(option.maximum)}, got {value!r}.")
    if option.values:
        for item in _items(option, value):
            if str(item) in option.allowed:
                continue
            hint = did_you_mean(str(item), option.allowed, option.value_names)
            named = option.value_names.get(hint, "") if option.value_names and hint else ""
            suggestion = f" Did you mean {hint!r}{f' ({named})' if named else ''}?" if hint else ""
            problems.append(
                f"{name}: {str(item)!r} is not a value speechkit knows "
                f"({option.describe_range()}).{suggestion} To send a value speechkit does not "
                f"know yet, use extra_params={{{name!r}: {_as_sent(option, item)!r}}}."
            )
    return problems


def _as_sent(option: Option, item: Any) -> Any:
    return [str(item)] if option.kind == "enums" else str(item)


def deprecations(option: Option, value: Any) -> list[str]:
    """What to warn about when ``value`` is set: the option itself, or a retired value."""
    if value is None:
        return []
    warnings = [f"{option.name} is deprecated: {option.deprecated}"] if option.deprecated else []
    if option.retired:
        for item in _items(option, value):
            if str(item) in option.retired:
                current = ", ".join(option.values[:2])
                warnings.append(
                    f"{option.name}: {str(item)!r} is retired by the service; use a current "
                    f"model such as {current}."
                )
    return warnings
