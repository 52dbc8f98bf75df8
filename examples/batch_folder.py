"""Transcribe a folder: one group call, bounded concurrency, every failure reported, nothing lost.

For each audio file in FOLDER, writes ``<name>.txt`` and ``<name>.srt`` to the output folder, and
reports the files that failed with the reason and, when a job was created, its id::

    python examples/batch_folder.py                      # a demo folder, offline
    python examples/batch_folder.py FOLDER --out DIR     # your files, offline
    python examples/batch_folder.py FOLDER --provider assemblyai   # ASSEMBLYAI_API_KEY

The demo folder holds a short recording and a file that only pretends to be audio, to show a
failure. ``--provider local`` (the default) starts the local server with the offline recognizer.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import speechkit

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".webm"}
SAMPLES = Path(__file__).resolve().parent / "audio"


def make_demo_folder(folder: Path) -> None:
    shutil.copy(SAMPLES / "two_turns.wav", folder / "two_turns.wav")
    (folder / "broken.wav").write_bytes(b"RIFF, but not really a WAV file")


def transcribe_folder(folder: Path, out: Path, provider: str) -> int:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        print(f"No audio files in {folder}")
        return 1
    out.mkdir(parents=True, exist_ok=True)
    print(f"Transcribing {len(files)} files from {folder} ({provider})")

    with speechkit.Transcriber(provider=provider) as transcriber:
        # return_failures=True: get every outcome back instead of a TranscriptionGroupError.
        group = transcriber.transcribe_group(files, max_concurrency=4, return_failures=True)

        # The group is in input order: each item is a Transcript or a GroupFailure.
        for path, item in zip(files, group, strict=True):
            if isinstance(item, speechkit.GroupFailure):
                job = getattr(item.error, "transcript_id", None)  # set when a job was created
                where = f" (job {job})" if job else ""
                print(f"  FAILED {path.name}{where}: {type(item.error).__name__}: {item.error}")
                continue
            (out / f"{path.stem}.txt").write_text((item.text or "") + "\n")
            srt = transcriber.export_subtitles_srt(item, chars_per_caption=40)
            (out / f"{path.stem}.srt").write_text(srt)
            print(f"  ok     {path.name}: {item.text}")

    print(f"{len(group.transcripts)} transcribed, {len(group.failures)} failed; output in {out}:")
    for written in sorted(out.iterdir()):
        print(f"  {written.name} ({written.stat().st_size} bytes)")
    return 0 if group.ok else 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="default: a demo folder")
    parser.add_argument("--out", type=Path, help="default: a temporary folder")
    parser.add_argument("--provider", default="local", help="local (default), assemblyai, aiml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder
        if folder is None:
            folder = Path(scratch) / "in"
            folder.mkdir()
            make_demo_folder(folder)
        status = transcribe_folder(folder, args.out or Path(scratch) / "out", args.provider)
    # In the demo one file fails on purpose; that is the expected outcome, not an error.
    return 0 if args.folder is None else status


if __name__ == "__main__":
    raise SystemExit(main())
