"""Realtime streaming with callbacks: partials as they change, each final once, and a reconnect.

``RealtimeTranscriber`` runs every callback on one reader thread, in order. This script streams a
recording to the local server's Universal Streaming v3 endpoint (offline recognizer, no account,
no network), and makes the server drop the first connection, to show that the client reconnects,
replays the audio no final covered yet, and still delivers each turn exactly once::

    python examples/realtime_callbacks.py            # as fast as the connection takes it
    python examples/realtime_callbacks.py --live     # paced like a live source
    python examples/realtime_callbacks.py --v2       # the older realtime v2 protocol

Against the hosted service, drop ``base_url`` and ``api_key`` (the key then comes from
``ASSEMBLYAI_API_KEY``), and stream a microphone with
``transcriber.stream(speechkit.audio.microphone_stream())``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import speechkit
from speechkit.realtime import (
    FinalTranscript,
    PartialTranscript,
    RealtimeTranscriber,
    Reconnected,
    SessionClosed,
    SessionOpened,
)

AUDIO = Path(__file__).resolve().parent / "audio" / "two_turns.wav"


def main(live: bool, protocol: str) -> None:
    with speechkit.local_server(engine="offline") as server:
        # Drop every websocket after 3 messages... until the client has reconnected once.
        server.faults.ws_drop_after_messages = 3
        finals: list[FinalTranscript] = []

        def on_open(event: SessionOpened) -> None:
            print(f"session {event.session_id} open ({event.protocol})")

        def on_partial(partial: PartialTranscript) -> None:
            # Partials replace each other; a UI would redraw one line. Runs on the reader thread.
            print(f"  ... {partial.text}")

        def on_final(final: FinalTranscript) -> None:
            finals.append(final)
            print(f"[{final.audio_start / 1000:5.2f}-{final.audio_end / 1000:5.2f} s] {final.text}")

        def on_reconnect(event: Reconnected) -> None:
            server.faults.clear()
            print(f"reconnected (attempt {event.attempt}): replaying {event.replayed_ms} ms")

        def on_close(event: SessionClosed) -> None:
            usage = event.usage
            print(
                f"closed: {usage.audio_seconds_sent:.2f} s of audio sent, "
                f"{usage.audio_seconds_replayed:.2f} s replayed, {usage.connections} connections"
            )

        transcriber = RealtimeTranscriber(
            sample_rate=16_000,
            protocol="v2" if protocol == "v2" else "v3",
            base_url=server.base_url,
            api_key="local",
            on_open=on_open,
            on_partial=on_partial,
            on_final=on_final,
            on_reconnect=on_reconnect,
            on_close=on_close,
            on_error=lambda error: print(f"error: {error}"),
        )
        transcriber.connect()  # raises RealtimeConnectionError if no session can be opened
        print(f"streaming from thread {threading.current_thread().name}")
        transcriber.stream_file(AUDIO, realtime=live)
        # Terminate, then wait for the last finals: the file went out faster than real time, so
        # allow recognition up to 30 s to catch up (close() returns as soon as it has).
        transcriber.close(timeout=30)

    print(f"\n{len(finals)} turns:")
    for final in finals:
        print(f"  {final.text}")


if __name__ == "__main__":
    main(live="--live" in sys.argv, protocol="v2" if "--v2" in sys.argv else "v3")
