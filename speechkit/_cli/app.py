"""The ``speechkit`` argument parser, command dispatch, and the one place errors become exit
codes."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from speechkit._cli.exitcodes import (
    AUTH,
    EXIT_CODES,
    INTERRUPTED,
    USAGE,
    CLIError,
    exit_code_for,
    one_line,
)
from speechkit._cli.options import (
    add_config_options,
    add_connection_options,
    add_stream_options,
    connect,
    positive_float,
    positive_int,
)
from speechkit._cli.output import FORMATS
from speechkit._version import __version__
from speechkit.errors import SpeechkitError

__all__ = ["build_parser", "run"]

COMMANDS = ("transcribe", "stream", "get", "list", "delete", "serve")

DESCRIPTION = """\
Speech-to-text from the command line: AssemblyAI-style and AIML-style batch APIs, AssemblyAI
realtime streaming, and an embedded offline server (--local).

The API key comes from --api-key, else SPEECHKIT_API_KEY, else the provider's own variable
(ASSEMBLYAI_API_KEY, or AIML_API_KEY for --provider aiml). Connection options go before or
after the command. Run "speechkit COMMAND --help" for a command's options."""


def _exit_code_table() -> str:
    rows = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)
    return f"exit codes:\n{rows}"


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line (with a pointer to ``--help``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument COMMAND: invalid choice:"):
            chosen = message.split("invalid choice:", 1)[1].split("(choose", 1)[0].strip()
            message = f"unknown command {chosen}; choose from {', '.join(COMMANDS)}"
        raise CLIError(f"{message} (see: {self.prog} --help)", USAGE)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add_output_options(parser: argparse.ArgumentParser, *, out_help: str) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), json (the whole transcript), srt or vtt subtitles",
    )
    group.add_argument("-o", "--out", metavar="PATH", help=out_help)
    group.add_argument(
        "--chars-per-caption",
        type=positive_int,
        metavar="N",
        help="longest subtitle caption, in characters (srt, vtt)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress display and no summary"
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole ``speechkit`` parser (``serve`` is dispatched before parsing)."""
    parser = _Parser(
        prog="speechkit",
        description=DESCRIPTION,
        epilog=_exit_code_table(),
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"speechkit {__version__}")
    add_connection_options(parser, suppress=False)
    common = _Parser(add_help=False)
    add_connection_options(common, suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            parents=[common],
            help=help_text,
            description=description,
            epilog=_exit_code_table(),
            formatter_class=_formatter,
        )

    transcribe = command(
        "transcribe",
        "transcribe a file, a URL or every audio file of a folder",
        "Transcribe a local file, a URL the service can fetch, or every audio file of a folder.\n"
        "One input prints to stdout (or --out FILE). A folder writes one <name>.<ext> per file\n"
        "(into --out DIR, default: beside the inputs) and is resumable: run the same command\n"
        "again after a crash or Ctrl-C and it waits for the jobs already submitted instead of\n"
        "submitting them again, and skips files whose output exists.",
    )
    transcribe.add_argument("input", metavar="PATH|URL|DIR", help="what to transcribe")
    _add_output_options(
        transcribe,
        out_help="output file (one input; an existing folder gets <name>.<ext>) or folder "
        "(folder runs); default: stdout, or beside the inputs for a folder",
    )
    transcribe.add_argument(
        "--poll-timeout",
        type=positive_float,
        metavar="SECONDS",
        help="give up waiting for one job after this long (it keeps running on the server)",
    )
    folder = transcribe.add_argument_group("folder runs")
    folder.add_argument("-r", "--recursive", action="store_true", help="include subfolders")
    folder.add_argument(
        "-j",
        "--concurrency",
        type=positive_int,
        default=4,
        metavar="N",
        help="files in flight at once (default 4)",
    )
    folder.add_argument(
        "--overwrite",
        action="store_true",
        help="transcribe files again even when their output exists",
    )
    folder.add_argument(
        "--restart",
        action="store_true",
        help="ignore the run state (.speechkit-run.json) and start over",
    )
    add_config_options(transcribe)

    stream = command(
        "stream",
        "stream an audio file or the microphone to realtime transcription",
        "Stream an audio file (or the microphone, --mic) to AssemblyAI realtime transcription.\n"
        "On a terminal the partial transcript is redrawn in place and finals get lines of\n"
        "their own; piped, only finals are printed. Exits 1 when some audio was not\n"
        "transcribed before --timeout.",
    )
    stream.add_argument(
        "file", nargs="?", metavar="FILE", help="an audio file: WAV, FLAC, OGG or MP3"
    )
    stream.add_argument(
        "--mic",
        action="store_true",
        help='the microphone (needs "speechkit-stt[mic]"); Ctrl-C ends',
    )
    stream.add_argument(
        "--realtime",
        action="store_true",
        help="send the file at its natural speed (default: as fast as the service takes it)",
    )
    stream.add_argument(
        "--sample-rate", type=positive_int, default=16_000, metavar="HZ", help="default 16000"
    )
    stream.add_argument(
        "--protocol", choices=("v3", "v2"), default="v3", help="streaming API version"
    )
    stream.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="the longest to wait at the end for the last transcripts (default: while the "
        "server makes progress, up to 5 s plus 3x the audio it has not confirmed); audio not "
        "transcribed by then makes the command exit 1",
    )
    stream.add_argument(
        "-f",
        "--format",
        choices=("text", "json"),
        default="text",
        help="text, or json: one object per final",
    )
    add_stream_options(stream)

    get = command("get", "print a transcript by id", "Print a transcript by its id.")
    get.add_argument("id", metavar="ID")
    _add_output_options(get, out_help="write to this file instead of stdout")
    get.add_argument("--wait", action="store_true", help="wait for the job to end")

    listing = command(
        "list", "list your transcripts, newest first", "List your transcripts, newest first."
    )
    listing.add_argument(
        "-n", "--limit", type=positive_int, default=20, metavar="N", help="how many (default 20)"
    )
    listing.add_argument(
        "--status", choices=("queued", "processing", "completed", "error"), help="filter"
    )
    listing.add_argument("-f", "--format", choices=("text", "json"), default="text")

    delete = command(
        "delete", "delete transcripts' data on the server", "Delete transcripts by id."
    )
    delete.add_argument("ids", nargs="+", metavar="ID")

    serve = commands.add_parser(
        "serve",
        help='run the local speech server (needs "speechkit-stt[server]"); speechkit serve --help',
        add_help=False,
    )
    serve.add_argument("serve_arguments", nargs=argparse.REMAINDER)
    return parser


def _serve(arguments: list[str]) -> int:
    try:
        from speechkit.server.cli import main as serve
    except ImportError as err:
        print(
            f'speechkit: error: serve needs the server extra: pip install "speechkit-stt[server]" '
            f"({err})",
            file=sys.stderr,
        )
        return AUTH
    return serve(arguments)


def _dispatch(args: argparse.Namespace) -> int:
    from speechkit._cli import jobs, stream, transcribe

    handlers: dict[str, Callable[..., int]] = {
        "transcribe": transcribe.run,
        "stream": stream.run,
        "get": jobs.run_get,
        "list": jobs.run_list,
        "delete": jobs.run_delete,
    }
    if args.command == "transcribe":
        from speechkit._cli.options import build_config

        build_config(args)  # a bad option fails here, before a local server starts
    with connect(args) as connection:
        return handlers[args.command](args, connection)


def run(argv: Sequence[str]) -> int:
    """Parse ``argv`` (without the program name), run the command, return the exit code."""
    arguments = list(argv)
    if arguments[:1] == ["serve"]:
        return _serve(arguments[1:])
    debug = False  # set once parsed: a usage error needs no traceback
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(arguments)
        if args.command == "serve":  # options came before it (speechkit --debug serve ...)
            return _serve([*unknown, *args.serve_arguments])
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        debug = bool(args.debug)
        if debug:
            logging.basicConfig(
                level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s"
            )
        return _dispatch(args)
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except KeyboardInterrupt:
        print("speechkit: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except Exception as error:
        if debug:
            traceback.print_exc()
        message = one_line(error)
        if not isinstance(error, CLIError | SpeechkitError):  # not an error speechkit expects
            message = f"{type(error).__name__}: {message}"
            if not debug:
                message += " (--debug shows the traceback)"
        print(f"speechkit: error: {message}", file=sys.stderr)
        return exit_code_for(error)


def _silence_stdout() -> None:
    # The reader went away (speechkit ... | head): stop writing without a second error at exit.
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
