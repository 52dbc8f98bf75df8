"""Client-side measurements, each run in a fresh Python process so one side's imports, caches and
memory never touch the other's, and the server (another process) is not counted.

The parent calls :func:`run_child`; the child runs ``python -m benchmarks._sk_child NAME JSON``,
calls ``NAME(**JSON)`` from this module and prints its result as the last line of stdout (JSON).
Every measurement warms its client up first (imports, connection, lazily built validators), then
measures only the work itself.

Peak memory: the child resets the kernel's peak-RSS mark (``/proc/self/clear_refs``, Linux) after
warming up and reads ``VmHWM`` afterwards: an exact peak, no sampling. Where that is unavailable
a thread samples RSS every millisecond instead. CPU is ``resource.getrusage`` of the whole process
(all threads), user + system.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
MiB = 1024 * 1024


def run_child(name: str, timeout: float = 600, **kwargs: Any) -> dict[str, Any]:
    """Run ``name(**kwargs)`` of this module in a new interpreter; return its JSON result."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._sk_child", name, json.dumps(kwargs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"benchmark child {name} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# -- process resources -------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _hwm() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM")


class PeakRSS:
    """Peak RSS growth over a block: ``with PeakRSS() as peak: ...; peak.growth`` (bytes)."""

    def __init__(self) -> None:
        self.baseline = 0
        self.peak = 0
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakRSS:
        self.baseline = _rss()
        try:
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")  # reset VmHWM to the current RSS
            if _hwm() > self.baseline + MiB:
                raise OSError("VmHWM was not reset")
            self.method = "VmHWM"
        except OSError:
            self.method = "sampled every 1 ms"
            self.peak = self.baseline
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, _rss())
        else:
            self.peak = _hwm()

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.baseline)


# -- scenario 4: upload -------------------------------------------------------------------------


def _file_chunks(path: str, size: int = MiB) -> Iterator[bytes]:
    with open(path, "rb") as file:
        while chunk := file.read(size):
            yield chunk


def upload(side: str, base_url: str, path: str, warmup_path: str) -> dict[str, Any]:
    """Upload ``path`` to ``/v2/upload`` with ``side`` (speechkit, peer or httpx)."""
    send: Callable[[str], str]
    if side == "speechkit":
        import speechkit

        transcriber = speechkit.Transcriber(api_key=API_KEY, base_url=base_url)
        send = transcriber.upload_file
    elif side == "peer":
        import assemblyai as aai

        aai.settings.api_key = API_KEY
        aai.settings.base_url = base_url
        peer = aai.Transcriber()
        send = peer.upload_file
    elif side == "httpx":
        import httpx

        client = httpx.Client(timeout=120)

        def send(file: str) -> str:
            response = client.post(
                f"{base_url}/v2/upload",
                content=_file_chunks(file),
                headers={"Content-Length": str(os.path.getsize(file)), "Authorization": API_KEY},
            )
            response.raise_for_status()
            return str(response.json()["upload_url"])

    else:
        raise ValueError(side)
    send(warmup_path)  # imports, connection pool, first request
    cpu = cpu_seconds()
    with PeakRSS() as peak:
        started = time.perf_counter()
        url = send(path)
        seconds = time.perf_counter() - started
    if "/upload/" not in url:
        raise RuntimeError(f"{side}: unexpected upload_url {url!r}")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "rss_growth": peak.growth,
        "rss_method": peak.method,
    }


# -- scenario 5: large transcript ---------------------------------------------------------------


def transcript(side: str, base_url: str, transcript_id: str, repeat: int) -> dict[str, Any]:
    """Fetch and parse one transcript ``repeat`` times; also parse the same bytes alone."""
    import httpx

    raw = httpx.get(f"{base_url}/v2/transcript/{transcript_id}", timeout=60).content
    fetch: Callable[[], Any]
    parse: Callable[[bytes], Any]
    if side == "speechkit":
        import speechkit
        from speechkit._core.http import Response
        from speechkit.providers.assemblyai import AssemblyAIProvider

        transcriber = speechkit.Transcriber(api_key=API_KEY, base_url=base_url)
        provider = AssemblyAIProvider(API_KEY, base_url)

        def fetch() -> Any:
            return transcriber.get_transcript(transcript_id)

        def parse(data: bytes) -> Any:
            # The SDK's own parsing path for GET /v2/transcript/{id}.
            return provider.parse_transcript(Response(200, {}, data), transcript_id=transcript_id)

        def count(t: Any) -> int:
            return len(t.words or ())

    elif side == "peer":
        import assemblyai as aai
        from assemblyai import types

        aai.settings.api_key = API_KEY
        aai.settings.base_url = base_url

        def fetch() -> Any:
            return aai.Transcript.get_by_id(transcript_id)

        def parse(data: bytes) -> Any:
            # What assemblyai's get_transcript does with the response: response.json(), parse_obj.
            return types.TranscriptResponse.parse_obj(json.loads(data))

        def count(t: Any) -> int:
            words = t.words if hasattr(t, "words") else None
            return len(words or ())

    else:
        raise ValueError(side)
    words = count(fetch())  # warm-up
    if count(parse(raw)) != words or words == 0:
        raise RuntimeError(f"{side}: parsed {words} words")
    fetch_times, parse_times = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        fetch()
        fetch_times.append(time.perf_counter() - started)
        # CPU time: parsing is single-threaded, and CPU time does not count other processes'
        # turns on a busy machine.
        started = time.process_time()
        parsed = parse(raw)
        parse_times.append(time.process_time() - started)
        del parsed
    with PeakRSS() as peak:
        kept = parse(raw)
    del kept
    return {
        "fetch_seconds": statistics.median(fetch_times),
        "parse_seconds": statistics.median(parse_times),
        "parse_rss_growth": peak.growth,
        "bytes": len(raw),
        "words": words,
    }


# -- scenario 6: realtime v3 --------------------------------------------------------------------


def _paced(chunks: list[bytes], chunk_ms: int) -> Iterator[bytes]:
    """Yield ``chunks`` at the audio's own speed, like a live source."""
    started = time.perf_counter()
    for n, chunk in enumerate(chunks):
        delay = started + n * chunk_ms / 1000 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield chunk


def realtime(
    side: str,
    base_url: str,
    pcm_path: str,
    chunk_ms: int,
    paced: bool = False,
    seconds: float | None = None,
) -> dict[str, Any]:
    """Stream ``pcm_path`` (16 kHz 16-bit mono) over v3, as fast as the protocol allows or
    ``paced`` at real time; time each ``Turn`` callback (``time.time()``) and match it with the
    server's send log."""
    import httpx

    pcm = Path(pcm_path).read_bytes()
    if seconds is not None:
        pcm = pcm[: int(seconds * 16000) * 2]
    step = 16000 * 2 * chunk_ms // 1000
    chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    callback_times: list[float] = []
    session: dict[str, str] = {}
    errors: list[str] = []
    ws_url = "ws" + base_url.removeprefix("http")
    if side == "speechkit":
        from speechkit.realtime import RealtimeTranscriber

        def session_run(audio: Iterable[bytes], record: bool) -> None:
            def on_turn(turn: Any) -> None:
                if record:
                    callback_times.append(time.time())

            transcriber = RealtimeTranscriber(
                api_key=API_KEY,
                base_url=ws_url,
                sample_rate=16000,
                chunk_ms=chunk_ms,
                format_turns=True,
                on_turn=on_turn,
                on_open=lambda opened: session.update(id=opened.session_id),
                on_error=lambda error: errors.append(repr(error)),
            )
            transcriber.connect()
            transcriber.stream(audio)
            transcriber.close()

    elif side == "peer":
        from assemblyai.streaming.v3 import (
            StreamingClient,
            StreamingClientOptions,
            StreamingEvents,
            StreamingParameters,
        )

        def session_run(audio: Iterable[bytes], record: bool) -> None:
            # api_host accepts a ws:// URL: _build_uri uses a host that starts with ws:// or
            # wss:// as is (assemblyai/streaming/v3/_base.py), so no patching is needed.
            client = StreamingClient(StreamingClientOptions(api_key=API_KEY, api_host=ws_url))

            def on_turn(_client: Any, event: Any) -> None:
                if record:
                    callback_times.append(time.time())

            client.on(StreamingEvents.Begin, lambda _c, event: session.update(id=event.id))
            client.on(StreamingEvents.Turn, on_turn)
            client.on(StreamingEvents.Error, lambda _c, error: errors.append(repr(error)))
            client.connect(StreamingParameters(sample_rate=16000, format_turns=True))
            client.stream(audio)
            client.disconnect(terminate=True)

    else:
        raise ValueError(side)
    session_run(chunks[:3], record=False)  # warm-up: imports, first connection
    errors.clear()
    cpu = cpu_seconds()
    started = time.perf_counter()
    session_run(_paced(chunks, chunk_ms) if paced else chunks, record=True)
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    if errors:
        raise RuntimeError(f"{side}: realtime errors: {errors[:3]}")
    log = httpx.get(f"{base_url}/_speechkit/realtime/{session['id']}/sends", timeout=10).json()
    sent = [t for t, kind in zip(log["sent_at"], log["types"], strict=True) if kind == "Turn"]
    if len(sent) != len(callback_times):
        raise RuntimeError(f"{side}: {len(callback_times)} Turn callbacks for {len(sent)} sent")
    latencies = [(got - at) * 1000 for at, got in zip(sent, callback_times, strict=True)]
    return {
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "audio_seconds": len(pcm) / 32000,
        "turns": len(latencies),
        "latencies_ms": latencies,
    }


if __name__ == "__main__":
    result = globals()[sys.argv[1]](**json.loads(sys.argv[2]))
    print(json.dumps(result))
