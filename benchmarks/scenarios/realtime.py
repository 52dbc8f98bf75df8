"""Scenario 6: stream 10 minutes of audio over Universal Streaming v3 as fast as the protocol
allows, with speechkit ``RealtimeTranscriber`` (sync) and the peer's ``StreamingClient``.

Audio: the sample recording repeated to 10 minutes of 16 kHz 16-bit PCM, sent in 1000 ms chunks
(the largest the v3 server accepts) with no pacing, then terminated. The local server runs the
fixed engine at 3 words per second with a turn every 8 words and ``format_turns`` on, so the
client gets ~1000 ``Turn`` messages (partials, then an unformatted and a formatted end of turn).

Callback latency: the server records ``time.time()`` just before it encodes each message
(``realtime_send_log``), and the user callback (speechkit ``on_turn``; the peer's ``Turn`` handler)
records ``time.time()`` on entry; the n-th callback is the n-th ``Turn`` sent (one websocket keeps
order). Both clocks are the same machine's. The stamp is kept in the server's log rather than in
the message because neither client hands unknown message fields to its callbacks.

The peer reaches ws:// without patching: ``StreamingClientOptions(api_host="ws://host:port")``
is used as is (``_build_uri`` in ``assemblyai/streaming/v3/_base.py``).

Targets: client CPU seconds per audio minute, speechkit / peer <= 0.7; callback latency p99 <= 5 ms
(speechkit). Streaming with no pacing makes the server send in bursts, so the latency includes the
time a message waits behind the ones before it in the client; a second, shorter session paced at
real time (100 ms chunks) reports the latency of a live source.

Where the unpaced latency goes (profile of the reader thread, 2 min of audio, fixed engine): the
server sends a burst of ``Turn`` messages faster than any client handles them, so the latency of
a message is mostly the handling time of the messages queued before it. Per message, the reader
spends its time in (1) the hand-off from websockets' background reader thread (``recv`` waits on a
queue: a thread switch per message), (2) validating the wire message (pydantic-core), and (3)
building the event models. Building the words was the largest part of (3): pydantic sets up the
per-instance raw-JSON slot of every model, about 45 % of the core's CPU per message; words are now
lean models, which cut the core's cost per ``Turn`` from ~160 to ~95 us (``receive`` through
``events_received``, min of 7 runs, 8-word turns). Validating ``Turn`` messages straight from
the JSON text and a turn's words in one list validation then cut it to ~69 us; about a quarter of
that is pydantic setting up the private raw-JSON slots of the event models. What is left is (1)
and the GIL shared with the thread sending audio: a p99 of 5 ms under an unpaced burst would need
a threadless reader, not a cheaper core (figures in RESULTS.md, "Where the unpaced latency goes").
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks._figures import Figure, median
from benchmarks._server import ServerProcess
from benchmarks._sk_child import run_child

NAME = "realtime"
TITLE = "Realtime v3: 10 minutes of audio, unpaced"
SETTINGS = (
    "10 minutes (20 s in quick mode) of 16 kHz PCM in 1000 ms chunks, unpaced, v3 with "
    "`format_turns=true`; fixed engine at 3 words/s, a turn every 8 words. speechkit "
    "`RealtimeTranscriber(chunk_ms=1000, format_turns=True, on_turn=...)`: connect, "
    "`stream(chunks)`, `close()`. assemblyai `StreamingClient`: `on(Turn)`, connect, "
    "`stream(chunks)`, `disconnect(terminate=True)`. CPU = user + system seconds of the client "
    "process from connect to the end of the close, after a 3-chunk warm-up session."
)

CHUNK_MS = 1000
# The paced run: the first seconds of the same audio at real-time speed in 100 ms chunks.
PACED_CHUNK_MS = 100
PACED_SECONDS = 10.0
QUICK_PACED_SECONDS = 3.0


def _write_pcm(path: Path, seconds: float) -> None:
    import numpy as np
    import soundfile

    root = Path(__file__).resolve().parents[2]
    data, rate = soundfile.read(root / "examples" / "audio" / "sample.wav", dtype="int16")
    if rate != 16000 or data.ndim != 1:
        raise RuntimeError("examples/audio/sample.wav must be 16 kHz mono")
    total = int(seconds * 16000)
    path.write_bytes(np.tile(data, total // len(data) + 1)[:total].tobytes())


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(quick: bool, runs: int) -> list[Figure]:
    seconds = 20.0 if quick else 600.0
    paced_seconds = QUICK_PACED_SECONDS if quick else PACED_SECONDS
    runs = 1 if quick else runs
    sides = ("speechkit", "peer")
    cpu: dict[str, list[float]] = {s: [] for s in sides}
    p50: dict[str, list[float]] = {s: [] for s in sides}
    p99: dict[str, list[float]] = {s: [] for s in sides}
    wall: dict[str, list[float]] = {s: [] for s in sides}
    paced_p50: dict[str, list[float]] = {s: [] for s in sides}
    paced_p99: dict[str, list[float]] = {s: [] for s in sides}
    turns = 0
    text = (Path(__file__).resolve().parents[2] / "examples" / "audio" / "sample.txt").read_text()
    with (
        tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp,
        ServerProcess(
            engine="fixed",
            engine_options={"text": " ".join(text.split()), "words_per_final": 8},
            realtime_send_log=True,
        ) as server,
    ):
        pcm = Path(tmp, "audio.pcm")
        _write_pcm(pcm, seconds)
        for n in range(runs):
            for side in sides if n % 2 == 0 else sides[::-1]:
                result = run_child(
                    "realtime",
                    side=side,
                    base_url=server.base_url,
                    pcm_path=str(pcm),
                    chunk_ms=CHUNK_MS,
                )
                minutes = result["audio_seconds"] / 60
                cpu[side].append(result["cpu_seconds"] / minutes)
                wall[side].append(result["wall_seconds"])
                latencies = result["latencies_ms"]
                p50[side].append(_percentile(latencies, 0.5))
                p99[side].append(_percentile(latencies, 0.99))
                turns = result["turns"]
                paced = run_child(
                    "realtime",
                    side=side,
                    base_url=server.base_url,
                    pcm_path=str(pcm),
                    chunk_ms=PACED_CHUNK_MS,
                    paced=True,
                    seconds=paced_seconds,
                )
                paced_p99[side].append(_percentile(paced["latencies_ms"], 0.99))
                paced_p50[side].append(_percentile(paced["latencies_ms"], 0.5))
    if turns < seconds:  # ~1.6 Turn messages per second of audio
        raise RuntimeError(f"only {turns} Turn messages for {seconds:.0f} s of audio")
    cpu_ratio = median(cpu["speechkit"]) / median(cpu["peer"])
    sk_p99 = median(p99["speechkit"])
    per_run = f"{turns} Turn messages per session; medians over runs of each run's percentile"
    return [
        Figure(
            NAME,
            "client CPU per audio minute",
            "s/min",
            median(cpu["speechkit"]),
            median(cpu["peer"]),
            target="ratio <= 0.7",
            met=None if quick else cpu_ratio <= 0.7,
            runs=runs,
            notes=(
                f"session wall time: speechkit {median(wall['speechkit']):.2f} s, "
                f"assemblyai {median(wall['peer']):.2f} s"
            ),
            samples=cpu,
        ),
        Figure(
            NAME,
            "callback latency p50 (server send -> user callback)",
            "ms",
            median(p50["speechkit"]),
            median(p50["peer"]),
            runs=runs,
            notes=per_run,
            samples=p50,
        ),
        Figure(
            NAME,
            "callback latency p99 (server send -> user callback)",
            "ms",
            sk_p99,
            median(p99["peer"]),
            target="speechkit p99 <= 5 ms",
            met=None if quick else sk_p99 <= 5.0,
            runs=runs,
            notes=per_run + "; unpaced, so it includes queueing behind earlier messages",
            samples=p99,
        ),
        Figure(
            NAME,
            f"callback latency p99, paced at real time ({paced_seconds:.0f} s, 100 ms chunks)",
            "ms",
            median(paced_p99["speechkit"]),
            median(paced_p99["peer"]),
            runs=runs,
            notes=(
                f"p50: speechkit {median(paced_p50['speechkit']):.2f} ms, "
                f"assemblyai {median(paced_p50['peer']):.2f} ms"
            ),
            samples=paced_p99,
        ),
    ]
