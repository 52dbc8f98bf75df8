"""Scenario 5: fetch and parse a 3-hour transcript (~30k words, every intelligence field).

The local server makes the transcript the ordinary way: a job over a 3-hour FLAC (silence,
~0.5 MB, read through a ``file://`` audio URL) with the fixed engine speaking a news-style text at
2.8 words per second, and every option on: two speakers (``utterances``), auto highlights,
content safety, topics (IAB), entities, sentiment, chapters and a summary (the server derives
them with rules, in the service's shapes). The JSON is ~6 MB.

Each side, in its own fresh process, warms up once, then fetches the transcript several times
(speechkit ``Transcriber.get_transcript``; assemblyai ``Transcript.get_by_id``) and parses the same
bytes alone with its own parsing path (speechkit: the provider's ``parse_transcript``; assemblyai:
``TranscriptResponse.parse_obj(json.loads(...))``, what its ``get_transcript`` does).

Target: parse time speechkit / assemblyai <= 0.5.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._figures import Figure, median
from benchmarks._server import ServerProcess
from benchmarks._sk_child import MiB, run_child

NAME = "large_transcript"
TITLE = "Fetch and parse a 3-hour transcript"
SETTINGS = (
    "A completed job over 3 hours of audio (1 minute in quick mode) with the fixed engine at "
    "2.8 words/s and `speaker_labels` (2 speakers), `auto_highlights`, `content_safety`, "
    "`iab_categories`, `entity_detection`, `sentiment_analysis`, `auto_chapters` and "
    "`summarization` on. Fetch = one `GET /v2/transcript/{id}` plus parsing, median of 3 per "
    "process after a warm-up; parse = the same bytes through each SDK's own parsing path."
)

# A news-style conversation: the words the fixed engine "hears", cycled over the audio. It names
# places, people and organizations, and carries sentiment, safety and topic keywords, so every
# intelligence field has results.
TEXT = """Smoke from hundreds of wildfires in Canada is triggering air quality alerts throughout
the US. Skylines from Maine to Maryland to Minnesota are gray and smoggy. In some places the
air quality warnings include the warning to stay inside. We wanted to better understand what is
happening here and why, so we called Peter de Carlo, a professor in the department of
environmental health at Johns Hopkins University. Good morning, professor. Good morning, it is
good to be here. So what is it about the conditions right now that has caused this round of
wildfires to affect so many people so far away? Well, there is a lot of smoke in the air, and the
weather is moving it south from Canada toward New York and Baltimore. The fire season started
early this year because of a dry spring and strong wind. Is it dangerous to breathe this air?
For people with asthma or other respiratory disease the risk is real, and the hospital has seen
more patients with breathing problems. Children and older people should stay indoors, keep the
windows closed and run an air filter at home. The good news is that the forecast shows rain on
Thursday, which should clear the air and bring fresh conditions by the weekend. Climate change
makes these events more likely, and the national weather service expects a longer fire season in
the future. What can the city council do? They can share clear warnings, open cooling centers and
help families who cannot afford filters. Thank you, professor, this was very helpful. Thank you
for having me, and stay safe."""

WORDS_PER_SECOND = 2.8
OPTIONS = {
    "speaker_labels": True,
    "speakers_expected": 2,
    "auto_highlights": True,
    "content_safety": True,
    "iab_categories": True,
    "entity_detection": True,
    "sentiment_analysis": True,
    "auto_chapters": True,
    "summarization": True,
    "summary_model": "informative",
    "summary_type": "bullets",
}


def _write_silence_flac(path: Path, seconds: int) -> None:
    import numpy as np
    import soundfile

    minute = np.zeros(16000 * 60, dtype=np.int16)
    with soundfile.SoundFile(path, "w", 16000, 1, "PCM_16", format="FLAC") as out:
        for _ in range(seconds // 60):
            out.write(minute)
        out.write(minute[: 16000 * (seconds % 60)])


def _create_job(base_url: str, audio: Path) -> str:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        created = client.post(
            "/v2/transcript", json={"audio_url": audio.as_uri(), **OPTIONS}
        ).json()
        deadline = time.monotonic() + 120
        while True:
            job = client.get(f"/v2/transcript/{created['id']}").json()
            if job["status"] == "completed":
                return str(job["id"])
            if job["status"] == "error" or time.monotonic() > deadline:
                raise RuntimeError(f"the transcript job did not complete: {job.get('error')}")
            time.sleep(0.2)


def run(quick: bool, runs: int) -> list[Figure]:
    seconds = 60 if quick else 3 * 3600
    runs = 1 if quick else runs
    repeat = 1 if quick else 3
    sides = ("speechkit", "peer")
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in sides}
    info: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp,
        ServerProcess(
            engine="fixed",
            engine_options={"text": " ".join(TEXT.split()), "words_per_second": WORDS_PER_SECOND},
            # The audio is read through a file:// URL, off by default: allow this folder only.
            allow_file_urls=True,
            file_url_roots=[tmp],
        ) as server,
    ):
        audio = Path(tmp, "three-hours.flac")
        _write_silence_flac(audio, seconds)
        transcript_id = _create_job(server.base_url, audio)
        for n in range(runs):
            for side in sides if n % 2 == 0 else sides[::-1]:
                result = run_child(
                    "transcript",
                    side=side,
                    base_url=server.base_url,
                    transcript_id=transcript_id,
                    repeat=repeat,
                )
                for key in ("fetch_seconds", "parse_seconds", "parse_rss_growth"):
                    samples[side].setdefault(key, []).append(float(result[key]))
                info = {"bytes": result["bytes"], "words": result["words"]}

    def med(side: str, key: str) -> float:
        return median(samples[side][key])

    size = f"{info['words']:.0f} words, {info['bytes'] / MiB:.1f} MiB of JSON"
    parse_ratio = med("speechkit", "parse_seconds") / med("peer", "parse_seconds")
    return [
        Figure(
            NAME,
            "fetch + parse (get_transcript / Transcript.get_by_id)",
            "s",
            med("speechkit", "fetch_seconds"),
            med("peer", "fetch_seconds"),
            runs=runs,
            notes=size,
            samples={s: samples[s]["fetch_seconds"] for s in ("speechkit", "peer")},
        ),
        Figure(
            NAME,
            "parse the same bytes (CPU time)",
            "s",
            med("speechkit", "parse_seconds"),
            med("peer", "parse_seconds"),
            target="ratio <= 0.5",
            met=None if quick else parse_ratio <= 0.5,
            runs=runs,
            notes=size,
            samples={s: samples[s]["parse_seconds"] for s in ("speechkit", "peer")},
        ),
        Figure(
            NAME,
            "memory held by the parsed transcript",
            "MiB",
            med("speechkit", "parse_rss_growth") / MiB,
            med("peer", "parse_rss_growth") / MiB,
            runs=runs,
            notes="peak RSS growth while parsing once (VmHWM)",
        ),
    ]
