"""speechkit's main job, offline: transcribe the sample through both batch API styles, then stream
it in realtime, against the embedded local server and its offline recognizer.

No account and no network: the server runs on a free loopback port in a background thread, and
the SDK talks to it over real HTTP and websockets, exactly as it would to the hosted services.

    python examples/quickstart.py
"""

from __future__ import annotations

from pathlib import Path

import speechkit
from speechkit.realtime import FinalTranscript, RealtimeTranscriber

AUDIO = Path(__file__).resolve().parent / "audio" / "sample.wav"


def main() -> None:
    with speechkit.local_server(engine="offline") as server:
        print(f"Local server: {server.base_url} (offline engine)\n")

        # AssemblyAI style: upload, create, poll.
        with speechkit.Transcriber(api_key="local", base_url=server.base_url) as transcriber:
            transcript = transcriber.transcribe(AUDIO)
        print(f"AssemblyAI-style batch ({len(transcript.words or [])} words):")
        print(f"  {transcript.text}\n")

        # AIML style: a multipart create, then polling by generation id. Same Transcript.
        with speechkit.Transcriber(
            provider="aiml",
            model="#g1_whisper-large",
            api_key="local",
            base_url=f"{server.base_url}/v1",
        ) as transcriber:
            transcript = transcriber.transcribe(AUDIO)
        print(f"AIML-style batch (provider={transcript.provider}):")
        print(f"  {transcript.text}\n")

        # Realtime: Universal Streaming v3 over a websocket; finals arrive on a reader thread.
        finals: list[FinalTranscript] = []
        realtime = RealtimeTranscriber(
            sample_rate=16_000,
            base_url=server.base_url,
            api_key="local",
            on_final=finals.append,
        )
        realtime.connect()
        realtime.stream_file(AUDIO)
        # Sent faster than real time, so recognition may still be running: wait up to 30 s for
        # the last finals (close() returns as soon as the server has finished).
        realtime.close(timeout=30)
        print("Realtime v3 stream:")
        for final in finals:
            print(f"  [{final.audio_start / 1000:6.2f} s] {final.text}")


if __name__ == "__main__":
    main()
