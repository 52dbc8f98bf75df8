"""Realtime streaming with asyncio: send in one task, consume events with ``async for``.

``AsyncRealtimeTranscriber`` takes the same options as the blocking ``RealtimeTranscriber``. This
script streams a recording to the local server (offline recognizer, no account, no network)
from one task while the main task iterates over the session's events; an ``async def`` callback
runs alongside, awaited on the loop::

    python examples/realtime_asyncio.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import speechkit
from speechkit.realtime import (
    AsyncRealtimeTranscriber,
    FinalTranscript,
    PartialTranscript,
    SessionClosed,
    SessionOpened,
)

AUDIO = Path(__file__).resolve().parent / "audio" / "two_turns.wav"


async def on_final(final: FinalTranscript) -> None:
    # An async callback is awaited before the next event is handled: it may do async I/O
    # (write to a database, publish to a queue) without blocking the loop.
    await asyncio.sleep(0)


async def main() -> None:
    async with (
        speechkit.local_server(engine="offline") as server,
        AsyncRealtimeTranscriber(
            sample_rate=16_000, base_url=server.base_url, api_key="local", on_final=on_final
        ) as session,  # connects on entry, closes on exit
    ):

        async def send() -> None:
            await session.stream_file(AUDIO)  # read and converted in a worker thread
            # Terminate; the iteration below ends after SessionClosed. The file went out faster
            # than real time, so give recognition up to 30 s to deliver the last finals.
            await session.close(timeout=30)

        sender = asyncio.create_task(send())
        partials = 0
        async for event in session:
            if isinstance(event, SessionOpened):
                print(f"session {event.session_id} open")
            elif isinstance(event, PartialTranscript):
                partials += 1
            elif isinstance(event, FinalTranscript):
                print(f"[{event.audio_start:>5} ms] {event.text}")
            elif isinstance(event, SessionClosed):
                sent = event.usage.audio_seconds_sent
                print(f"closed after {partials} partials; {sent:.2f} s of audio sent")
        await sender  # re-raises anything the sender failed with


if __name__ == "__main__":
    asyncio.run(main())
