"""stream_file accepts what batch accepts (WAV of any encoding, FLAC, OGG, MP3), resampled to the
session's rate, in both shells (local server, fixed engine: results depend only on the audio)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from speechkit.models.realtime import FinalTranscript, SessionClosed
from speechkit.realtime import AsyncRealtimeTranscriber, RealtimeTranscriber
from speechkit.server.runner import LocalServer, local_server

pytest.importorskip("soundfile")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audio"
KEY = "formats-key"
OPTIONS: dict[str, Any] = {"api_key": KEY, "keepalive_interval": None}
SECONDS = 21.4  # every sample file is the same 21.4 s recording


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    engine = {"text": "word", "words_per_second": 2, "words_per_final": 4}
    with local_server(engine="fixed", engine_options=engine, api_key=KEY) as running:
        yield running


def check(finals: list[FinalTranscript], closed: list[SessionClosed], sent: float) -> None:
    assert sent == pytest.approx(SECONDS, abs=0.1)
    assert closed[0].audio_duration_seconds == pytest.approx(SECONDS, abs=1)  # server-side count
    # 2 words per second of audio the server heard, all delivered
    assert sum(len(f.words) for f in finals) == pytest.approx(2 * SECONDS, abs=2)


@pytest.mark.parametrize("name", ["sample.flac", "sample.mp3", "sample_8k.wav"])
def test_sync_stream_file_of_any_format(server: LocalServer, name: str) -> None:
    finals: list[FinalTranscript] = []
    closed: list[SessionClosed] = []
    with RealtimeTranscriber(
        base_url=server.base_url, sample_rate=8000, on_final=finals.append,
        on_close=closed.append, **OPTIONS,
    ) as rt:  # fmt: skip
        rt.stream_file(EXAMPLES / name)
    check(finals, closed, rt.usage.audio_seconds_sent)


async def test_async_stream_file_of_ogg(server: LocalServer) -> None:
    finals: list[FinalTranscript] = []
    closed: list[SessionClosed] = []
    async with AsyncRealtimeTranscriber(
        base_url=server.base_url, on_final=finals.append, on_close=closed.append, **OPTIONS
    ) as session:
        await session.stream_file(EXAMPLES / "sample.ogg")
    check(finals, closed, session.usage.audio_seconds_sent)


def test_sync_stream_file_of_ogg_opus(server: LocalServer, tmp_path: Path) -> None:
    # The v3 "opus"/"ogg_opus" encodings are refused (the session replays PCM); an Opus file
    # still streams, decoded to PCM.
    import soundfile

    data, rate = soundfile.read(EXAMPLES / "sample.wav", dtype="int16")
    path = tmp_path / "sample.opus"
    soundfile.write(path, data, rate, format="OGG", subtype="OPUS")
    finals: list[FinalTranscript] = []
    closed: list[SessionClosed] = []
    with RealtimeTranscriber(
        base_url=server.base_url, on_final=finals.append, on_close=closed.append, **OPTIONS
    ) as rt:
        rt.stream_file(path)
    check(finals, closed, rt.usage.audio_seconds_sent)
