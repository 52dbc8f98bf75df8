"""Shared helpers for the engine tests: the sample audio in examples/audio/."""

from __future__ import annotations

from pathlib import Path

import pytest

AUDIO_DIR = Path(__file__).resolve().parents[2] / "examples" / "audio"
SAMPLE_DURATION = 21.435  # seconds, of every sample.* file


@pytest.fixture(scope="session")
def audio_dir() -> Path:
    if not (AUDIO_DIR / "sample.wav").exists():
        pytest.fail("examples/audio/ is missing; run scripts/make_sample_audio.py")
    return AUDIO_DIR
