"""The v3 messages of the ``assemblyai`` 1.8.2 SDK that are not transcripts, on the local server.

* ``acknowledge_silence=true``: ``Silence {start_ms, end_ms}`` roughly once per second of
  silent audio, and for the rest of a silent stretch when speech resumes or the session ends.
  Times are milliseconds of the connection's audio, like word times. The local server's idea of
  silence is the audio itself (every sample within :data:`SILENCE_LEVEL` of zero), not the
  engine's words, so results depend only on the audio.
* ``speaker_labels=true``: every turn is labelled ``"A"`` as it is spoken. When a turn ends,
  the local "reclustering" moves the turn before it to speaker ``"B"`` if its ``turn_order`` is
  odd, and says so with ``SpeakerRevision {revisions: [{turn_order, speaker_label, words}]}``
  (only turns whose label changed; text and word times as in the turn's end-of-turn message).
"""

from __future__ import annotations

import array
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from speechkit.server._streaming import parse_bool

__all__ = ["SILENCE_LEVEL", "V3Acknowledgements"]

#: Samples within this of zero are silence (16-bit PCM).
SILENCE_LEVEL = 64
#: Milliseconds of silence per ``Silence`` message while a silent stretch goes on.
SILENCE_EVERY_MS = 1000.0

Send = Callable[[dict[str, Any]], Awaitable[object]]


class V3Acknowledgements:
    """``Silence`` and ``SpeakerRevision`` for one connection (see the module docstring)."""

    def __init__(self, query: Mapping[str, str], send: Send) -> None:
        self.silence = parse_bool(query.get("acknowledge_silence"), "acknowledge_silence")
        self.revisions = parse_bool(query.get("speaker_labels"), "speaker_labels")
        self._send = send
        self._silent_from: float | None = None
        self._previous_turn: tuple[int, list[dict[str, Any]]] | None = None

    async def audio(self, pcm: bytes, start_ms: float, end_ms: float) -> None:
        """Client audio (16-bit PCM as received) that spans ``start_ms``-``end_ms``."""
        if not self.silence:
            return
        if not _is_silent(pcm):
            await self.flush(start_ms)
            return
        if self._silent_from is None:
            self._silent_from = start_ms
        if end_ms - self._silent_from >= SILENCE_EVERY_MS:
            await self.flush(end_ms)
            self._silent_from = end_ms

    async def flush(self, end_ms: float) -> None:
        """Report the silent stretch so far (speech resumed, or the session ends)."""
        start, self._silent_from = self._silent_from, None
        if start is not None and round(end_ms) > round(start):
            await self._send({"type": "Silence", "start_ms": round(start), "end_ms": round(end_ms)})

    async def turn_ended(self, order: int, words: list[dict[str, Any]]) -> None:
        """A turn ended with ``words``; revise the turn before it if its label changes."""
        if not self.revisions:
            return
        previous, self._previous_turn = self._previous_turn, (order, words)
        if previous is None or previous[0] % 2 == 0:
            return
        revised_order, revised_words = previous
        await self._send(
            {
                "type": "SpeakerRevision",
                "revisions": [
                    {
                        "turn_order": revised_order,
                        "speaker_label": "B",
                        "words": [{**w, "speaker": "B"} for w in revised_words],
                    }
                ],
            }
        )


def _is_silent(pcm: bytes) -> bool:
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":  # pragma: no cover - the wire is little-endian
        samples.byteswap()
    return not samples or max(max(samples), -min(samples)) <= SILENCE_LEVEL
