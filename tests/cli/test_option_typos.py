"""A mistyped option name gets the same "did you mean" sentence everywhere: the batch API, the
CLI (transcribe and stream) and the realtime transcribers."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from speechkit import TranscriptionConfig
from speechkit.cli import main
from speechkit.errors import InvalidInputError
from speechkit.realtime import AsyncRealtimeTranscriber, RealtimeTranscriber
from speechkit.server import LocalServer
from tests.cli.conftest import connection_args

#: "<where>: " then the one sentence (``unknown_option_message``).
_SENTENCE = re.compile(r"(?:^|: )(unknown option 'speaker_label' .*? sent unchecked\.)")


def _sentence(text: str) -> str:
    match = _SENTENCE.search(text)
    assert match, text
    return match.group(1)


def test_the_typo_gets_the_same_sentence_in_the_api_the_cli_and_realtime(
    server: LocalServer, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts: dict[str, str] = {}
    with pytest.raises(InvalidInputError) as batch:
        TranscriptionConfig(speaker_label=True)  # type: ignore[call-arg]
    texts["TranscriptionConfig"] = str(batch.value)

    with pytest.raises(InvalidInputError) as realtime:
        RealtimeTranscriber(api_key="k", speaker_label=True)  # type: ignore[call-arg]
    texts["RealtimeTranscriber"] = str(realtime.value)

    with pytest.raises(InvalidInputError) as async_realtime:
        AsyncRealtimeTranscriber(api_key="k", speaker_label=True)  # type: ignore[call-arg]
    texts["AsyncRealtimeTranscriber"] = str(async_realtime.value)

    transcriber = RealtimeTranscriber(api_key="k")
    with pytest.raises(InvalidInputError) as update:
        transcriber.update_options(speaker_label=True)
    texts["update_options"] = str(update.value)

    for command in (
        ["transcribe", str(wav), "--config", "speaker_label=true"],
        ["stream", str(wav), "--option", "speaker_label=true"],
    ):
        jobs = server.jobs_created
        assert main([*connection_args(server), *command]) == 2
        texts[command[0]] = capsys.readouterr().err
        assert server.jobs_created == jobs

    sentences = {where: _sentence(text) for where, text in texts.items()}
    assert len(set(sentences.values())) == 1, sentences
    [sentence] = set(sentences.values())
    assert "(did you mean 'speaker_labels'?)" in sentence
    assert "extra_params" in sentence


def test_an_unknown_realtime_option_is_refused_before_connecting() -> None:
    async def build() -> None:
        AsyncRealtimeTranscriber(api_key="k", protocol="v2", word_bost=["x"])  # type: ignore[call-arg]

    with pytest.raises(InvalidInputError, match="did you mean 'word_boost'"):
        asyncio.run(build())


def test_a_mistyped_constructor_argument_is_suggested_too() -> None:
    with pytest.raises(InvalidInputError, match="did you mean 'on_data'") as err:
        RealtimeTranscriber(api_key="k", on_dta=print)  # type: ignore[call-arg]
    assert str(err.value).startswith("RealtimeTranscriber: unknown option 'on_dta'")
