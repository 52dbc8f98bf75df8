"""Universal Streaming v3 connection parameters: one table, from which the option checks, the
query string and the live-update rules derive.

Sources: ``usm-streaming*.yml`` (``../shared/specs``) and the ``assemblyai`` 1.8.2 package's
``streaming/v3/models.py`` (``RealTimeParameters``; its ``RealTimeSessionParameters`` are what
``UpdateConfiguration`` may carry, so those are the options that change on an open stream for
every model, not by a model-name check). Lists and objects go in the query as JSON, as the SDK
sends them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from speechkit.errors import InvalidInputError

__all__ = ["V3_LIVE", "V3_NAMES", "V3_PARAMS", "V3Param", "check_v3_value"]

Kind = Literal["bool", "int", "float", "str", "strings", "object"]


@dataclass(frozen=True, slots=True)
class V3Param:
    """One v3 query parameter.

    Attributes:
        name: The wire name (also the option's name).
        kind: The value's type: ``strings`` is a list of strings, ``object`` a JSON object.
        low, high: The allowed range of a number.
        choices: The allowed values of a string (empty: any).
        live: Whether ``UpdateConfiguration`` may change it on an open stream.
        secret: Kept out of logs and URLs shown to people.
        deprecated: What to use instead, when the service deprecated it.
    """

    name: str
    kind: Kind
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    live: bool = False
    secret: bool = False
    deprecated: str = ""


V3_PARAMS: tuple[V3Param, ...] = (
    V3Param("speech_model", "str"),  # any name: the service adds models
    V3Param("format_turns", "bool", live=True),
    V3Param("end_of_turn_confidence_threshold", "float", 0.0, 1.0, live=True),
    V3Param("min_turn_silence", "int", 0, 60_000, live=True),
    V3Param("max_turn_silence", "int", 0, 60_000, live=True),
    V3Param("vad_threshold", "float", 0.0, 1.0, live=True),
    V3Param("inactivity_timeout", "int", 5, 3600),
    V3Param("keyterms_prompt", "strings", live=True),
    V3Param("language_detection", "bool"),
    V3Param("speaker_labels", "bool"),
    V3Param("max_speakers", "int", 1, 10),
    V3Param("prompt", "str", live=True),
    V3Param("language_codes", "strings", live=True),
    V3Param("language_code", "str", deprecated="language_codes"),
    V3Param("domain", "str"),
    V3Param("filter_profanity", "bool", live=True),
    V3Param("agent_context", "str", live=True),
    V3Param("interruption_delay", "int", 0, None, live=True),
    V3Param("turn_left_pad_ms", "int", 0, None, live=True),
    V3Param("session_heartbeat", "bool", live=True),
    V3Param("acknowledge_silence", "bool", live=True),
    V3Param("webhook_url", "str"),
    V3Param("webhook_auth_header_name", "str"),
    V3Param("webhook_auth_header_value", "str", secret=True),
    V3Param("speaker_labels_revision_interval_ms", "int", 0, None),
    V3Param("voice_focus", "str", choices=("near-field", "far-field")),
    V3Param("voice_focus_threshold", "float", 0.0, 1.0),
    V3Param("continuous_partials", "bool"),
    V3Param("include_partial_turns", "bool"),
    V3Param("redact_pii", "bool"),
    V3Param("redact_pii_policies", "strings"),
    V3Param("redact_pii_sub", "str", choices=("hash", "entity_name")),
    V3Param("mode", "str", choices=("max_accuracy", "min_latency", "balanced")),
    V3Param("llm_gateway", "object"),
)

V3_NAMES = frozenset(p.name for p in V3_PARAMS)
#: Options ``UpdateConfiguration`` may change on an open stream.
V3_LIVE = frozenset(p.name for p in V3_PARAMS if p.live)
SECRET_PARAMS = frozenset(p.name for p in V3_PARAMS if p.secret)


def check_v3_value(param: V3Param, value: Any) -> None:
    """Raise :class:`InvalidInputError` naming ``param`` when ``value`` does not fit it."""
    if value is None:
        return
    name, kind = param.name, param.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInputError(f"{name} must be True or False, got {value!r}.")
    elif kind in ("int", "float"):
        number_ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "int":
            number_ok = number_ok and float(value).is_integer()
        if not number_ok or (isinstance(value, float) and math.isnan(value)):
            raise InvalidInputError(f"{name} must be a number, got {value!r}.")
        low = -math.inf if param.low is None else param.low
        high = math.inf if param.high is None else param.high
        if not low <= value <= high:
            limits = f"{param.low:g}-{param.high:g}" if param.high is not None else f">= {low:g}"
            raise InvalidInputError(f"{name}={value} is outside {limits}.")
    elif kind == "str":
        if not isinstance(value, str):
            raise InvalidInputError(f"{name} must be a string, got {value!r}.")
        if param.choices and value not in param.choices:
            raise InvalidInputError(f"{name} must be one of {', '.join(param.choices)}.")
    elif kind == "strings":
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise InvalidInputError(f"{name} must be a list of strings, got {value!r}.")
    elif kind == "object" and not isinstance(value, dict):
        raise InvalidInputError(f"{name} must be a dict (sent as a JSON object), got {value!r}.")
