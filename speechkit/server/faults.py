"""Fault injection for the local server: latency, error statuses, connection resets, websocket
drops and slow jobs, all deterministic for a given seed.

A :class:`FaultConfig` is *live*: the server reads it on every request, so a test can change it
while the server runs (``server.faults.add_error("transcript.create", 503, times=2)``). Random
choices come from one seeded :class:`random.Random`, so the same seed and the same sequence of
requests give the same faults.

Endpoints are named (see :func:`endpoint_name`), for example ``upload``, ``transcript.create``,
``transcript.get``, ``transcript.list``, ``lemur.summary``, ``realtime.ws``, ``streaming.ws``,
``aiml.create``. A fault's ``endpoint`` pattern is a full name, a prefix (``transcript`` matches
every ``transcript.*``), or ``*`` (everything except the ``control.*`` inspection endpoints).

Faults are decided after the HTTP auth check, so a request with a bad key gets its 401 and does
not use up a rule's ``times``. Kinds of fault:

* **latency**: every HTTP request and websocket handshake waits ``latency`` seconds plus a uniform
  ``[0, latency_jitter]`` extra before it is handled.
* **error status**: answer with ``status`` instead of handling the request (429 and 503 carry
  ``Retry-After``). The body has the shape of the API family (``{"error": ...}`` for AssemblyAI,
  ``{message, path, requestId, statusCode, timestamp}`` for AIML).
* **connection reset**: abort the TCP connection without any response (``SO_LINGER`` 0, so the
  client sees a reset). Needs the transport, which :mod:`speechkit.server.runner`'s uvicorn
  protocol classes put into the ASGI scope; under another server a reset degrades to a bare 500.
* ``after_processing=True`` lets the request be handled first (a job *is* created), then throws the
  answer away and sends the error or resets instead: the case that tests "never send a job-creating
  POST twice".
* **websocket drop**: after the server has sent ``ws_drop_after_messages`` messages, or
  ``ws_drop_after_seconds`` after the handshake, drop the connection: abruptly with no close frame
  (``ws_drop_close_code=None``) or with that close code.
* **slow processing**: each job takes ``processing_delay`` seconds (+ uniform
  ``[0, processing_jitter]``) + ``processing_time_factor`` x the audio duration, extra.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["EndpointFault", "FaultConfig", "endpoint_matches", "parse_error_spec"]


@dataclass
class EndpointFault:
    """One rule: make requests to ``endpoint`` fail with ``status``, or reset the connection.

    Attributes:
        endpoint: endpoint name, prefix or ``*`` (see module docstring).
        status: HTTP status to answer with (ignored when ``reset``).
        rate: probability (0-1) that a matching request is hit.
        times: inject at most this many times (``None``: no limit).
        retry_after: ``Retry-After`` seconds; defaults to 1 for 429 and 503.
        reset: abort the connection instead of answering.
        after_processing: handle the request first, then replace the answer.
        injected: how many times this rule has fired so far.
    """

    endpoint: str
    status: int = 503
    rate: float = 1.0
    times: int | None = None
    retry_after: float | None = None
    reset: bool = False
    after_processing: bool = False
    injected: int = 0

    def retry_after_header(self) -> str | None:
        if self.retry_after is not None:
            return str(max(0, round(self.retry_after)))
        if self.status in (429, 503):
            return "1"
        return None


def endpoint_matches(pattern: str, name: str) -> bool:
    """Whether ``pattern`` (full name, dotted prefix or ``*``) selects endpoint ``name``."""
    if pattern == "*":
        return not name.startswith("control")
    return name == pattern or name.startswith(pattern + ".")


@dataclass
class FaultConfig:
    """Live fault settings for one server. Safe to change from any thread while it runs."""

    seed: int | None = None
    latency: float = 0.0
    latency_jitter: float = 0.0
    endpoint_faults: list[EndpointFault] = field(default_factory=list)
    ws_drop_after_messages: int | None = None
    ws_drop_after_seconds: float | None = None
    ws_drop_close_code: int | None = None
    processing_delay: float = 0.0
    processing_jitter: float = 0.0
    processing_time_factor: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    # -- live API ---------------------------------------------------------------------------

    def add_error(
        self,
        endpoint: str,
        status: int = 503,
        *,
        rate: float = 1.0,
        times: int | None = None,
        retry_after: float | None = None,
        after_processing: bool = False,
    ) -> EndpointFault:
        """Answer requests to ``endpoint`` with ``status`` (with probability ``rate``)."""
        rule = EndpointFault(
            endpoint,
            status=status,
            rate=rate,
            times=times,
            retry_after=retry_after,
            after_processing=after_processing,
        )
        with self._lock:
            self.endpoint_faults.append(rule)
        return rule

    def add_reset(
        self,
        endpoint: str,
        *,
        rate: float = 1.0,
        times: int | None = None,
        after_processing: bool = False,
    ) -> EndpointFault:
        """Abort the TCP connection of requests to ``endpoint`` without an answer."""
        rule = EndpointFault(
            endpoint, rate=rate, times=times, reset=True, after_processing=after_processing
        )
        with self._lock:
            self.endpoint_faults.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every fault (latency, rules, drops, slow processing). The seed is kept."""
        with self._lock:
            self.latency = self.latency_jitter = 0.0
            self.endpoint_faults.clear()
            self.ws_drop_after_messages = None
            self.ws_drop_after_seconds = None
            self.ws_drop_close_code = None
            self.processing_delay = self.processing_jitter = self.processing_time_factor = 0.0

    def reseed(self, seed: int | None) -> None:
        """Restart the random sequence."""
        with self._lock:
            self.seed = seed
            self._rng = random.Random(seed)

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from a JSON-like dict (used by the control endpoint and the CLI).

        ``endpoint_faults`` replaces the rule list; ``seed`` reseeds. Unknown keys raise
        ``ValueError``.
        """
        scalar = {
            "latency",
            "latency_jitter",
            "ws_drop_after_messages",
            "ws_drop_after_seconds",
            "ws_drop_close_code",
            "processing_delay",
            "processing_jitter",
            "processing_time_factor",
        }
        unknown = set(values) - scalar - {"endpoint_faults", "seed"}
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        rules = None
        if "endpoint_faults" in values:
            rules = [EndpointFault(**dict(r)) for r in values["endpoint_faults"] or []]
        with self._lock:
            for key in scalar & set(values):
                setattr(self, key, values[key])
            if rules is not None:
                self.endpoint_faults = rules
        if "seed" in values:
            self.reseed(values["seed"])

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            data = {k: v for k, v in asdict(self).items() if k != "endpoint_faults"}
            data["endpoint_faults"] = [asdict(r) for r in self.endpoint_faults]
        return data

    # -- used by the server ---------------------------------------------------------------

    def pick(self, endpoint: str) -> EndpointFault | None:
        """Decide whether this request to ``endpoint`` is hit; counts the injection."""
        with self._lock:
            for rule in self.endpoint_faults:
                if not endpoint_matches(rule.endpoint, endpoint):
                    continue
                if rule.times is not None and rule.injected >= rule.times:
                    continue
                if rule.rate >= 1.0 or self._rng.random() < rule.rate:
                    rule.injected += 1
                    return rule
        return None

    def latency_for_request(self) -> float:
        with self._lock:
            extra = self._rng.uniform(0, self.latency_jitter) if self.latency_jitter > 0 else 0.0
            return max(0.0, self.latency + extra)

    def processing_delay_for(self, audio_seconds: float) -> float:
        with self._lock:
            jitter = (
                self._rng.uniform(0, self.processing_jitter) if self.processing_jitter > 0 else 0.0
            )
            delay = self.processing_delay + jitter
            return max(0.0, delay + self.processing_time_factor * max(audio_seconds, 0.0))


def parse_error_spec(spec: str) -> EndpointFault:
    """Parse the CLI form ``ENDPOINT=RATE[:CODE]`` (``CODE`` is a status or ``reset``).

    Examples: ``transcript.create=0.5:503``, ``*=0.1:429``, ``upload=1:reset``.
    """
    endpoint, sep, rest = spec.partition("=")
    if not sep or not endpoint:
        raise ValueError(f"expected ENDPOINT=RATE[:CODE], got {spec!r}")
    rate_text, _, code_text = rest.partition(":")
    try:
        rate = float(rate_text)
    except ValueError:
        raise ValueError(f"bad rate in {spec!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be within 0..1 in {spec!r}")
    code_text = code_text or "500"
    if code_text == "reset":
        return EndpointFault(endpoint, rate=rate, reset=True)
    try:
        status = int(code_text)
    except ValueError:
        raise ValueError(f"bad status code in {spec!r}") from None
    if not 400 <= status <= 599:
        raise ValueError(f"status must be 4xx or 5xx in {spec!r}")
    return EndpointFault(endpoint, status=status, rate=rate)
