"""The realtime v2 connection options (``/v2/realtime/ws``, ``asyncapi.json``): one row each.

Query parameters of the websocket URL, plus ``end_utterance_silence_threshold``, which v2 sets
with its ``ConfigureEndUtteranceSilenceThreshold`` message (sent after each session begins and
whenever it changes: the one option that changes live). Derived from this table, as from the v3
one (:mod:`.realtime_v3`): the transcriber's checks and the v2-only set, the query string, the
live-update plan, the ``speechkit stream`` flags, the v2 table in ``docs/realtime.md`` and the
local server's query checks. ``tests/core/test_realtime_option_tables.py`` holds it against the
spec.
"""

from __future__ import annotations

from functools import partial

from speechkit._core.options import Option
from speechkit._core.options.realtime import connection_option

__all__ = ["V2_OPTIONS", "V2_ROWS"]


_row = partial(connection_option, "v2")


# fmt: off
V2_ROWS = (
    _row("sample_rate", "int", "Hz of the audio (the transcriber's sample_rate)", core=True),
    _row("encoding", "enum", "audio encoding (the transcriber's encoding)",
         values=("pcm_s16le", "pcm_mulaw"), core=True),
    _row("token", "string", "a temporary token instead of a key", core=True, secret=True),
    _row("word_boost", "strings", "words to favour", cli="--word-boost", metavar="WORD"),
    _row("disable_partial_transcripts", "bool", "no partial transcripts", cli="--no-partials"),
    _row("enable_extra_session_information", "bool",
         "send SessionInformation before the session ends"),
    _row("end_utterance_silence_threshold", "int",
         "milliseconds of silence that end an utterance", minimum=0, maximum=20_000,
         wire="message", live=True, cli="--end-utterance-silence", metavar="MS"),
)
# fmt: on

V2_OPTIONS: dict[str, Option] = {row.name: row for row in V2_ROWS}
