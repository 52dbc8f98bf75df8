"""The session timeline: the audio the application streamed, where each connection started,
what was sent, what finals confirmed, what was replayed or padded, and what was lost. Pure data
and arithmetic; :class:`~speechkit._core.realtime.session.RealtimeSession` decides when.

Positions are byte offsets into the session's audio (in the session's encoding); milliseconds are
derived from them. Audio after the last confirmed position stays in a bounded
:class:`~speechkit._core.realtime_audio.ReplayBuffer`, so a new connection can start at the
buffer's start and every word not yet final is recognized again. If the buffer overflowed, the
oldest audio is gone: that gap is a loss, reported once.
"""

from __future__ import annotations

import logging

from speechkit._core.realtime_audio import AudioFormat, Chunker, ReplayBuffer
from speechkit.errors import RealtimeAudioLostError
from speechkit.models.realtime import RealtimeUsage

__all__ = ["Timeline"]

logger = logging.getLogger("speechkit.realtime")


class Timeline:
    """Audio positions of one session (all in bytes of the session's encoding).

    Attributes:
        sent: Sent on the current connection up to here.
        sent_high: The furthest position ever sent.
        offset: Where the current connection's audio starts.
        confirmed: Finals (or the server's termination) cover the audio before this position.
    """

    def __init__(self, audio_format: AudioFormat, chunker: Chunker, replay_buffer_ms: int) -> None:
        self.format = audio_format
        self.chunker = chunker
        self.replay_buffer_ms = replay_buffer_ms
        limit = max(audio_format.ms_to_bytes(replay_buffer_ms), 2 * chunker.max_bytes)
        self.buffer = ReplayBuffer(limit)
        self.sent = 0
        self.sent_high = 0
        self.offset = 0
        self.confirmed = 0
        self.replayed_bytes = 0
        self.padded_bytes = 0
        self.losses: list[RealtimeAudioLostError] = []
        self._lost_reported_until = 0
        self._overflow_warned = False

    # ---- queries ---------------------------------------------------------------------------------

    def ms(self, position: int) -> int:
        return round(self.format.bytes_to_ms(position))

    @property
    def end(self) -> int:
        """The end of the audio streamed so far."""
        return self.buffer.end

    @property
    def unsent(self) -> int:
        return self.buffer.end - self.sent

    @property
    def unconfirmed(self) -> int:
        """Bytes streamed that no final confirmed yet (sent or not)."""
        return max(self.buffer.end - self.confirmed, 0)

    def outstanding_seconds(self) -> float:
        return self.format.bytes_to_ms(self.unconfirmed) / 1000

    def usage(self, *, server_audio_s: float | None, connections: int) -> RealtimeUsage:
        bps = self.format.bytes_per_second
        return RealtimeUsage(
            audio_seconds_sent=self.sent_high / bps,
            audio_seconds_replayed=self.replayed_bytes / bps,
            audio_seconds_padded=self.padded_bytes / bps,
            server_audio_seconds=server_audio_s,
            connections=connections,
        )

    @property
    def lost_audio(self) -> RealtimeAudioLostError | None:
        """Every loss of the session as one error (``None``: nothing was lost)."""
        if len(self.losses) <= 1:
            return self.losses[0] if self.losses else None
        total = sum(loss.lost_ms for loss in self.losses)
        first = min(loss.start_ms for loss in self.losses)
        details = "; ".join(str(loss) for loss in self.losses)
        return RealtimeAudioLostError(
            f"{total} ms of audio in {len(self.losses)} stretches were not transcribed: {details}",
            lost_ms=total,
            start_ms=first,
        )

    # ---- changes ---------------------------------------------------------------------------------

    def append(self, data: bytes) -> None:
        """Add streamed audio; if the replay buffer overflows, the oldest audio is dropped."""
        dropped = self.buffer.append(data)
        if not dropped:
            self._overflow_warned = False
            return
        if self.sent < self.buffer.start:
            self.sent = self.buffer.start
        if not self._overflow_warned:
            self._overflow_warned = True
            logger.warning(
                "The realtime replay buffer is full (%d ms): the oldest audio is no longer kept "
                "for replay after a disconnect.",
                self.replay_buffer_ms,
            )

    def pad(self, size: int) -> None:
        """Append ``size`` bytes of silence (counted as padding, billed as audio)."""
        self.padded_bytes += size
        self.append(self.format.silence(size))

    def take_chunks(self, *, flush: bool) -> list[bytes]:
        """The unsent audio in chunks the protocol accepts (with ``flush``, the tail too, padded
        to the minimum chunk), marked as sent."""
        sizes, pad = self.chunker.plan(self.unsent, flush=flush)
        if pad:
            self.pad(pad)
        chunks = []
        for size in sizes:
            start, end = self.sent, self.sent + size
            chunks.append(self.buffer.read(start, end))
            self.replayed_bytes += max(0, min(end, self.sent_high) - start)
            self.sent = end
            self.sent_high = max(self.sent_high, end)
        return chunks

    def start_connection(self) -> tuple[int, int]:
        """A connection's session began: it starts at the oldest unconfirmed audio still kept.

        Returns:
            (offset, lost): the new offset and the bytes before it that were never confirmed and
            are no longer kept (not yet reported).
        """
        start = self.buffer.start
        lost = start - max(self.confirmed, self._lost_reported_until)
        self.offset = self.sent = start
        if lost > 0:
            self._lost_reported_until = start
        return start, max(lost, 0)

    def confirm_ms(self, covered_ms: int) -> None:
        """Finals cover the current connection's audio up to ``covered_ms`` (its own clock)."""
        position = min(self.offset + self.format.ms_to_bytes(covered_ms), self.sent)
        self.confirm(position)

    def confirm(self, position: int) -> None:
        if position > self.confirmed:
            self.confirmed = position
            self.buffer.trim_to(position)

    def confirm_all_sent(self) -> int:
        """The server processed everything sent (it ended the session); returns the position."""
        self.confirm(max(self.confirmed, self.sent))
        return self.confirmed

    def loss(self, position: int, lost_bytes: int, why: str) -> RealtimeAudioLostError:
        """Record a loss of ``lost_bytes`` from ``position`` and return its error."""
        lost_ms, start_ms = self.ms(lost_bytes), self.ms(position)
        error = RealtimeAudioLostError(
            f"{lost_ms} ms of audio starting at {start_ms} ms were not transcribed: {why}.",
            lost_ms=lost_ms,
            start_ms=start_ms,
        )
        self.losses.append(error)
        return error
