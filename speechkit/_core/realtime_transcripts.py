"""Moves transcripts from a connection's clock onto the session timeline and delivers each final
once (sans-I/O; part of the realtime session, see :mod:`speechkit._core.realtime`).

Times on the wire are milliseconds from the start of the audio sent on *that connection*. A
connection starts at some position of the session timeline, its *offset* (the position where the
replay started); adding it moves every word, partial and final onto the timeline.

Exactly once:

- A final moves the *finalized mark* to its end.
- After a reconnect, words whose midpoint lies before the mark at the time of the drop are dropped;
  a final made only of such words is a duplicate and is not delivered (a v2 final that ends before
  the mark, too).
- v3 turns are numbered across reconnects (the new connection's turn 0 continues after the last
  final turn), and a turn number already delivered as final is not delivered again.
- The other v3 messages that carry audio times or turn numbers (``Silence``,
  ``SpeakerRevision``, ``LLMGatewayResponse``) are moved the same way, and a ``Silence`` range
  is trimmed to what no earlier one covered (a replay sends the same silence again).
- With ``format_turns`` a v3 server may send an unformatted end-of-turn and then a formatted copy
  with the same ``turn_order`` (2025-07 docs): the unformatted one is held until the formatted one
  replaces it, another turn starts, or the connection ends.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from speechkit.models.realtime import (
    FinalTranscript,
    PartialTranscript,
    RealtimeEvent,
    SpeechStarted,
    Turn,
    V2FinalTranscript,
    V2PartialTranscript,
    V3LLMGatewayResponse,
    V3Silence,
    V3SpeakerRevision,
    V3SpeechStarted,
    V3Turn,
    V3Word,
    Word,
)

from .realtime_protocol import RealtimeOptions

__all__ = ["Delivery", "TranscriptMapper"]

logger = logging.getLogger("speechkit.realtime")

_WORD_LIST: TypeAdapter[list[Word]] = TypeAdapter(list[Word])


@dataclass(slots=True)
class Delivery:
    """What handling one message produced.

    Attributes:
        events: Events for the application, in order.
        covered_ms: Set when finals now cover the connection's audio up to this time
            (milliseconds on the *connection's* clock): the audio before it needs no replay.
    """

    events: list[RealtimeEvent] = field(default_factory=list)
    covered_ms: int | None = None

    def add(self, other: Delivery) -> None:
        self.events += other.events
        if other.covered_ms is not None:
            self.covered_ms = max(self.covered_ms or 0, other.covered_ms)


@dataclass(slots=True)
class _HeldFinal:
    event: FinalTranscript
    covered_ms: int | None


class TranscriptMapper:
    """Timeline offsets, duplicate suppression and v3 turn numbering for one session."""

    def __init__(self) -> None:
        self.offset_ms = 0
        self.session_id: str | None = None
        self.finalized_ms = 0  # the finalized mark, on the session timeline
        self._dedup_until_ms = 0
        self._turn_base = 0
        self._last_final_turn = -1
        self._held: _HeldFinal | None = None
        self._silence_until_ms = 0

    def new_connection(self, offset_ms: int, session_id: str, *, replay: bool) -> None:
        """A session began on a new connection whose audio starts at ``offset_ms``."""
        self.offset_ms = offset_ms
        self.session_id = session_id
        if replay:
            # Words finalized before the drop must not come back from the replay.
            self._dedup_until_ms = self.finalized_ms
            self._turn_base = self._last_final_turn + 1

    def all_processed(self, until_ms: int) -> None:
        """The server confirmed it processed everything up to ``until_ms`` (timeline)."""
        self.finalized_ms = max(self.finalized_ms, until_ms)

    def release_held(self) -> Delivery:
        """Deliver a held unformatted final (its formatted copy will not come now)."""
        held, self._held = self._held, None
        return self._deliver(held) if held is not None else Delivery()

    def speech_started(self, message: V3SpeechStarted) -> SpeechStarted:
        return SpeechStarted(
            timestamp=message.timestamp + self.offset_ms, confidence=message.confidence
        )

    def silence(self, message: V3Silence) -> V3Silence | None:
        """``Silence`` on the session timeline, trimmed to what no earlier ``Silence`` covered;
        ``None`` when a replay repeated a range already reported."""
        start = max(message.start_ms + self.offset_ms, self._silence_until_ms)
        end = message.end_ms + self.offset_ms
        if end <= start:
            logger.debug("Dropping a Silence range already reported before a reconnect.")
            return None
        self._silence_until_ms = end
        return message.model_copy(update={"start_ms": start, "end_ms": end})

    def speaker_revision(self, message: V3SpeakerRevision) -> V3SpeakerRevision:
        """``SpeakerRevision`` with turn numbers and word times as the turns were delivered."""
        revisions = [
            item.model_copy(
                update={
                    "turn_order": item.turn_order + self._turn_base,
                    "words": self._shifted(item.words),
                }
            )
            for item in message.revisions
        ]
        return message.model_copy(update={"revisions": revisions})

    def llm_response(self, message: V3LLMGatewayResponse) -> V3LLMGatewayResponse:
        """``LLMGatewayResponse`` with the turn number as the turn was delivered."""
        return message.model_copy(update={"turn_order": message.turn_order + self._turn_base})

    # ---- v2 ----------------------------------------------------------------------------------

    def v2_transcript(
        self, message: V2PartialTranscript | V2FinalTranscript, options: RealtimeOptions
    ) -> Delivery:
        words, dropped = self._dedup(self._words(message.words))
        text = " ".join(w.text for w in words) if dropped else message.text
        start, end = message.audio_start + self.offset_ms, message.audio_end + self.offset_ms
        if isinstance(message, V2PartialTranscript):
            if options.disable_partial_transcripts or (dropped and not words):
                return Delivery()
            partial = PartialTranscript(
                text=text, words=words, audio_start=start, audio_end=end,
                confidence=message.confidence, created=message.created,
                session_id=self.session_id,
            )  # fmt: skip
            return Delivery([partial])
        if (dropped and not words) or end <= self._dedup_until_ms:
            logger.debug("Dropping a final transcript already delivered before a reconnect.")
            return Delivery()
        final = FinalTranscript(
            text=text, words=words, audio_start=max(start, self.finalized_ms), audio_end=end,
            confidence=message.confidence, created=message.created,
            punctuated=message.punctuated, text_formatted=message.text_formatted,
            session_id=self.session_id,
        )  # fmt: skip
        self.finalized_ms = max(self.finalized_ms, end)
        return Delivery([final], covered_ms=message.audio_end)

    # ---- v3 ----------------------------------------------------------------------------------

    def turn(self, message: V3Turn, options: RealtimeOptions) -> Delivery:
        order = message.turn_order + self._turn_base
        out = Delivery()
        if self._held is not None and self._held.event.turn_order != order:
            out.add(self.release_held())
        words, dropped = self._dedup(self._words(message.words))
        out.events.append(
            Turn(
                turn_order=order,
                transcript=message.transcript,
                utterance=message.utterance,
                end_of_turn=message.end_of_turn,
                turn_is_formatted=message.turn_is_formatted,
                end_of_turn_confidence=message.end_of_turn_confidence,
                words=words,
                language_code=message.language_code,
                language_confidence=message.language_confidence,
                speaker_label=message.speaker_label,
                session_id=self.session_id,
            )
        )
        if order <= self._last_final_turn:
            return out  # a repeat of a turn already delivered as final (e.g. its formatted copy)
        if dropped and not words:
            if message.end_of_turn:
                self._last_final_turn = order
            return out
        start = words[0].start if words else self.finalized_ms
        end = words[-1].end if words else start
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        if not message.end_of_turn:
            if not options.disable_partial_transcripts:
                out.events.append(
                    PartialTranscript(
                        text=" ".join(w.text for w in words), words=words, audio_start=start,
                        audio_end=end, confidence=confidence, turn_order=order,
                        session_id=self.session_id,
                    )
                )  # fmt: skip
            return out
        final = FinalTranscript(
            text=" ".join(w.text for w in words) if dropped else message.transcript,
            words=words, audio_start=start, audio_end=end, confidence=confidence,
            turn_order=order, punctuated=message.turn_is_formatted,
            text_formatted=message.turn_is_formatted,
            end_of_turn_confidence=message.end_of_turn_confidence,
            language_code=message.language_code, language_confidence=message.language_confidence,
            speaker_label=message.speaker_label, utterance=message.utterance,
            session_id=self.session_id,
        )  # fmt: skip
        held = _HeldFinal(final, message.words[-1].end if words else None)
        if options.format_turns and not message.turn_is_formatted:
            self._held = held  # a formatted copy of this turn may follow; wait for it
            return out
        self._held = None  # replaced by this formatted copy, if one was held
        out.add(self._deliver(held))
        return out

    # ---- helpers -----------------------------------------------------------------------------

    def _deliver(self, held: _HeldFinal) -> Delivery:
        final = held.event
        if final.turn_order is not None:
            self._last_final_turn = max(self._last_final_turn, final.turn_order)
        if final.words:
            self.finalized_ms = max(self.finalized_ms, final.audio_end)
        return Delivery([final], covered_ms=held.covered_ms)

    def _words(self, words: Sequence[Any]) -> list[Word]:
        # One validation call for the whole list: cheaper than a model __init__ per word.
        off = self.offset_ms
        return _WORD_LIST.validate_python(
            [
                {
                    "text": w.text,
                    "start": w.start + off,
                    "end": w.end + off,
                    "confidence": w.confidence,
                    "word_is_final": getattr(w, "word_is_final", True),
                    "speaker": getattr(w, "speaker", None),
                }
                for w in words
            ]
        )

    def _shifted(self, words: Sequence[V3Word]) -> list[V3Word]:
        off = self.offset_ms
        return [w.model_copy(update={"start": w.start + off, "end": w.end + off}) for w in words]

    def _dedup(self, words: list[Word]) -> tuple[list[Word], bool]:
        """Drop words a final before the reconnect already covered (midpoint before the mark)."""
        limit = self._dedup_until_ms
        kept = [w for w in words if (w.start + w.end) / 2 >= limit]
        return kept, len(kept) != len(words)
