"""The sans-I/O realtime session: every decision of a streaming session, and no I/O.

A shell (``speechkit.realtime._sync`` with threads, ``._async`` with tasks) drives one
:class:`RealtimeSession` in a loop, in the style of ``websockets``' own ``Protocol``: see
:mod:`.session` for the loop; each method's docstring says what the driver does next.

Nothing here imports sockets, threads, asyncio or a clock: ``now`` is a float of seconds from any
monotonic clock, passed in by the shell, and the jitter source is injected.

The parts, each small enough to read in one sitting:

* :mod:`.session`: the thin state machine (steps, connection lifecycle, timers).
* :mod:`.timeline`: the audio, positions, replay and losses. Each connection starts sending at
  some timeline position, its *offset*; the server's times are moved onto the timeline by adding
  it, so times keep increasing across reconnects, and audio not yet covered by a final is
  replayed on the next connection.
* :mod:`.reconnect`: attempts, endpoints (failover), backoff and what is worth retrying, outside
  the state machine like websockets' ``process_exception()`` and ``backoff()``.
* :mod:`.closing`: how long closing may wait (while the server makes progress, within a budget).
* :mod:`.messages`: server frames into events; unreadable frames into typed errors.

Exactly-once finals and the mapping of times live in :mod:`speechkit._core.realtime_transcripts`;
shared values (settings, steps, connection info) in :mod:`speechkit._core.realtime_types`.
"""

from __future__ import annotations

from speechkit._core.realtime_types import (
    Connect,
    ConnectionInfo,
    ConnectionSettings,
    Disconnect,
    EndpointAttempt,
    FetchToken,
    Finished,
    RealtimeAudioLostError,
    Receive,
    SessionState,
    Sleep,
    Step,
)
from speechkit._core.retry import backoff_delay

from .closing import CLOSE_PROCESSING_FACTOR
from .reconnect import STABLE_CONNECTION_SECONDS, redact_secrets
from .session import RealtimeSession

__all__ = [
    "CLOSE_PROCESSING_FACTOR",
    "STABLE_CONNECTION_SECONDS",
    "Connect",
    "ConnectionInfo",
    "ConnectionSettings",
    "Disconnect",
    "EndpointAttempt",
    "FetchToken",
    "Finished",
    "RealtimeAudioLostError",
    "RealtimeSession",
    "Receive",
    "SessionState",
    "Sleep",
    "Step",
    "backoff_delay",
    "redact_secrets",
]
