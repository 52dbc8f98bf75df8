"""``speechkit stream``'s realtime option flags, derived from the v2/v3 option tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from speechkit._cli.app import build_parser
from speechkit._cli.options import stream_options
from speechkit.cli import main
from speechkit.server import LocalServer
from tests.cli.conftest import TEXT, connection_args


def _options(*argv: str) -> dict[str, object]:
    args: argparse.Namespace = build_parser().parse_args(["stream", "x.wav", *argv])
    return stream_options(args)


def test_flags_and_option_pairs_become_table_options() -> None:
    assert _options(
        "--speech-model", "u3-rt-pro", "--keyterm", "speechkit", "--keyterm", "AssemblyAI",
        "--format-turns", "--option", "vad_threshold=0.6", "--option",
        "redact_pii_policies=person_name,phone_number", "--extra-param", "new_thing=1",
    ) == {
        "speech_model": "u3-rt-pro",
        "keyterms_prompt": ["speechkit", "AssemblyAI"],
        "format_turns": True,
        "vad_threshold": 0.6,
        "redact_pii_policies": ["person_name", "phone_number"],
        "extra_params": {"new_thing": 1},
    }  # fmt: skip
    # An explicit flag wins over --option.
    assert _options("--option", "prompt=a", "--prompt", "b") == {"prompt": "b"}


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--protocol", "v2", "--format-turns"], 'format_turns is a v3 option, but protocol="v2"'),
        (["--word-boost", "x"], "word_boost is a v2 option"),
        (["--option", "mode=fastest"], "mode: 'fastest' is not a value speechkit knows"),
        (["--option", "max_speakers=11"], "max_speakers must be <= 10"),
        (["--option", "vad_threshold=NaN"], "vad_threshold must be a finite number"),
        (["--option", "min_turn_silence=-400"], "min_turn_silence must be >= 0"),
        (
            ["--option", "webhook_auth_header_value=12345"],
            "must be a string, got a value of type int",
        ),
        (["--max-turn-silence", "70000"], "max_turn_silence must be <= 60000"),
        (["--option", "vad_threshold=-Infinity"], "vad_threshold must be a finite number"),
        (["--speech-model", "u3-rt-pr"], "Did you mean 'u3-rt-pro'"),
        (["--option", "novalue"], "KEY=VALUE"),
        (["--option", "vad_treshold=0.5"], "did you mean 'vad_threshold'"),
    ],
)
def test_bad_stream_options_are_usage_errors_before_connecting(
    server: LocalServer,
    wav: Path,
    argv: list[str],
    named: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*connection_args(server), "stream", str(wav), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("speechkit: error: ")
    assert named in err
    assert "12345" not in err  # a secret's value is never printed
    assert err.count("\n") == 1


def test_stream_with_table_flags_runs_against_the_local_server(
    server: LocalServer, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            *connection_args(server),
            "stream",
            str(wav),
            "--format-turns",
            "--keyterm",
            "fox",
            "--max-turn-silence",
            "900",
            "--option",
            "inactivity_timeout=30",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.lower().startswith(TEXT.split()[0].lower())
