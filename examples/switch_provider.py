"""One script, any provider: only the ``provider`` (and, for AIML, ``model``) argument changes.

Usage::

    ASSEMBLYAI_API_KEY=... python examples/switch_provider.py assemblyai [AUDIO]
    AIML_API_KEY=...       python examples/switch_provider.py aiml [AUDIO] [MODEL]
    python examples/switch_provider.py local [AUDIO] [MODEL]  # offline: the server extra

``AUDIO`` is a URL or a local file (default: a public sample). ``MODEL`` picks the AIML model
(default ``nova-3``); with ``local`` it makes the local server answer AIML-style.

Everything below the ``Transcriber(...)`` line is provider-neutral: the same config, the same
Transcript (text, speakers, word times in milliseconds), and subtitles and word search, which
speechkit builds locally from the words when a provider does not serve them.
"""

from __future__ import annotations

import sys

from speechkit import Transcriber, TranscriptionConfig

SAMPLE = "https://audio-samples.github.io/samples/mp3/blizzard_primed/sample-0.mp3"
CONFIG = TranscriptionConfig(speaker_labels=True, punctuate=True, format_text=True)


def report(transcriber: Transcriber, audio: str) -> str:
    """Transcribe ``audio`` and describe the result the same way for every provider."""
    transcript = transcriber.transcribe(audio, config=CONFIG)
    lines = [f"[{transcript.provider}] transcript {transcript.id}", transcript.text or ""]
    for turn in transcript.utterances or []:
        lines.append(f"  {turn.speaker}  {turn.start / 1000:6.2f}s  {turn.text}")
    lines.append(transcriber.export_subtitles_srt(transcript, chars_per_caption=32))
    search = transcriber.word_search(transcript, ["you"])
    for match in search.matches:
        lines.append(f"'{match.text}' x{match.count} at (ms) {match.timestamps}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    provider = argv[1] if len(argv) > 1 else "assemblyai"
    audio = argv[2] if len(argv) > 2 else SAMPLE
    model = argv[3] if len(argv) > 3 else ("nova-3" if provider == "aiml" else None)
    with Transcriber(provider=provider, model=model) as transcriber:
        print(report(transcriber, audio))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
