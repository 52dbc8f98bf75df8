"""Options shared by the commands: where to connect, and the transcription options."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechkit._cli.exitcodes import AUTH, CLIError
from speechkit._core.options import Option, unknown_option_message
from speechkit._core.options.batch import BATCH_OPTIONS

if TYPE_CHECKING:
    from speechkit.config import TranscriptionConfig
    from speechkit.server.runner import LocalServer
    from speechkit.transcriber import Transcriber

__all__ = [
    "API_KEY_ENV",
    "Connection",
    "add_config_options",
    "add_connection_options",
    "add_stream_options",
    "build_config",
    "connect",
    "stream_options",
]

#: Read by the command (any provider) before the provider's own variable.
API_KEY_ENV = "SPEECHKIT_API_KEY"

PROVIDERS = ("assemblyai", "aiml", "local")

#: The transcription options that have their own flag, from the option table.
CLI_OPTIONS = tuple(option for option in BATCH_OPTIONS.values() if option.cli)


def add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Add the options every command that talks to a service takes.

    They are accepted before and after the command name; ``suppress`` leaves a sub-parser's
    unset options out of the namespace so they do not override values given before the command.
    """

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection")
    group.add_argument(
        "--provider",
        choices=PROVIDERS,
        default=default(None),
        help="API style: assemblyai (default), aiml, or local (the embedded server, as --local)",
    )
    group.add_argument(
        "--local",
        action="store_true",
        default=default(False),
        help='start the embedded local server for this command (needs "speechkit-stt[server]")',
    )
    group.add_argument(
        "--local-engine",
        choices=("offline", "fixed"),
        default=default("offline"),
        help='engine of --local: offline recognition (default) or fixed text ("hello world")',
    )
    group.add_argument(
        "--base-url",
        default=default(None),
        metavar="URL",
        help="the API's base URL (default: ASSEMBLYAI_BASE_URL, or the provider's host)",
    )
    group.add_argument(
        "--api-key",
        default=default(None),
        metavar="KEY",
        help=f"API key; prefer the {API_KEY_ENV} or ASSEMBLYAI_API_KEY (AIML_API_KEY) "
        "environment variable, which other users of the machine cannot see",
    )
    group.add_argument(
        "--model", default=default(None), help="the AIML model (--provider aiml), e.g. #g1_nova-2"
    )
    group.add_argument(
        "--max-retries",
        type=non_negative_int,
        default=default(None),
        metavar="N",
        help="retries of a failed request where retrying is safe (default 4)",
    )
    group.add_argument(
        "--http-timeout",
        type=positive_float,
        default=default(None),
        metavar="SECONDS",
        help="seconds for connect and each read or write of a request (default 30)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="print the traceback of an error, and debug logs",
    )


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


# --- connecting ----------------------------------------------------------------------------


@dataclass
class Connection:
    """What a command talks to: the provider settings, and the local server if one was started.

    Attributes:
        provider: ``"assemblyai"`` or ``"aiml"`` (``--local`` talks AssemblyAI's API).
        api_key: The explicit key (``--api-key`` or ``SPEECHKIT_API_KEY``), else ``None``
            (the SDK then reads the provider's environment variable).
        base_url: The explicit base URL, or the local server's.
        server_label: Identifies the service in a folder run's state file.
        local: Whether the service is the embedded server started for this command (its jobs
            end with the command).
    """

    provider: str
    api_key: str | None
    base_url: str | None
    model: str | None
    max_retries: int | None
    http_timeout: float | None
    server_label: str
    local: bool
    _transcriber: Transcriber | None = None

    def transcriber(self) -> Transcriber:
        """The batch client, created on first use and closed with the connection."""
        if self._transcriber is None:
            from speechkit.errors import ConfigurationError
            from speechkit.transcriber import Transcriber

            try:
                self._transcriber = Transcriber(
                    provider=self.provider,
                    api_key=self.api_key,
                    base_url=self.base_url,
                    model=self.model,
                    max_retries=self.max_retries,
                    http_timeout=self.http_timeout,
                )
            except ConfigurationError as err:
                if "API key" not in str(err):
                    raise
                own = "AIML_API_KEY" if self.provider == "aiml" else "ASSEMBLYAI_API_KEY"
                raise CLIError(
                    f"no API key: set {API_KEY_ENV} or {own}, or pass --api-key "
                    "(--local runs offline without one)",
                    AUTH,
                ) from err
        return self._transcriber

    def close(self) -> None:
        if self._transcriber is not None:
            self._transcriber.close()


def _start_local_server(engine: str) -> LocalServer:
    try:
        from speechkit.server.runner import LocalServer
    except ImportError as err:
        raise CLIError(
            f'--local needs the local server: pip install "speechkit-stt[server]" ({err})', AUTH
        ) from err
    server = LocalServer(engine=engine)
    try:
        server.start()
    except Exception as err:
        server.close()
        raise CLIError(f"the local server did not start: {err}", AUTH) from err
    return server


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[Connection]:
    """Resolve the connection options; start the local server for ``--local`` until exit."""
    provider = args.provider or ("local" if args.local else "assemblyai")
    if args.local and provider not in ("local", "assemblyai"):
        raise CLIError(f"--local runs AssemblyAI's API; it does not go with --provider {provider}")
    local = provider == "local" or args.local
    if local and args.base_url:
        raise CLIError(
            "--local starts its own server; to use a running one, pass --base-url without --local"
        )
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    server: LocalServer | None = None
    if local:
        # "offline" is Whisper when speechkit-stt[whisper] is installed, else pocketsphinx.
        server = _start_local_server("offline" if args.local_engine == "offline" else "fixed")
    try:
        base_url = server.base_url if server is not None else args.base_url
        connection = Connection(
            provider="aiml" if provider == "aiml" else "assemblyai",
            api_key=api_key or ("local" if server is not None else None),
            base_url=base_url,
            model=args.model,
            max_retries=args.max_retries,
            http_timeout=args.http_timeout,
            server_label="local" if server is not None else f"{provider} {base_url or 'default'}",
            local=server is not None,
        )
        try:
            yield connection
        finally:
            connection.close()
    finally:
        if server is not None:
            server.close()


# --- transcription options -----------------------------------------------------------------


def _flag_dest(option: Option) -> str:
    return option.cli.removeprefix("--").replace("-", "_")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Add the TranscriptionConfig flags (the option table's rows with a ``cli`` flag), plus
    ``--config`` and ``--config-json`` for every other option."""
    group = parser.add_argument_group(
        "transcription options",
        "Common options of TranscriptionConfig; --config KEY=VALUE and --config-json set any "
        "other (see docs/cli.md). Explicit options win over --config, which wins over "
        "--config-json.",
    )
    for option in CLI_OPTIONS:
        help_text = option.summary
        if option.server_default is True:
            help_text += " (server default: on)"
        if option.name == "speakers_expected":
            help_text = "exact number of speakers (implies --speaker-labels)"
        if option.name == "redact_pii_policies":
            group.add_argument(
                option.cli,
                metavar=option.metavar,
                help=f"{help_text}, e.g. person_name,phone_number",
            )
        else:
            _add_flag(group, option, help_text)
    group.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any TranscriptionConfig option; VALUE is JSON when it parses as JSON, else a "
        "string; commas split list values (repeatable)",
    )
    group.add_argument(
        "--config-json",
        metavar="JSON|@FILE",
        help="TranscriptionConfig options as a JSON object, or @path to a JSON file",
    )


def _add_flag(group: Any, option: Option, help_text: str) -> None:
    """One option row's flag: a switch, a repeatable value, a whole number or a string."""
    if option.kind == "bool":
        action: Any = (
            argparse.BooleanOptionalAction if option.server_default is True else "store_true"
        )
        group.add_argument(option.cli, action=action, default=None, help=help_text)
    elif option.kind in ("strings", "enums"):
        group.add_argument(
            option.cli, action="append", metavar=option.metavar, help=help_text + " (repeatable)"
        )
    elif option.kind == "int":
        group.add_argument(option.cli, type=whole_number, metavar=option.metavar, help=help_text)
    elif option.kind == "number":
        group.add_argument(option.cli, type=float, metavar=option.metavar, help=help_text)
    else:
        group.add_argument(option.cli, metavar=option.metavar, help=help_text)


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _check_key(key: str, source: str) -> None:
    if key in BATCH_OPTIONS or key == "extra_params":
        return
    message = unknown_option_message(key, [*BATCH_OPTIONS, "extra_params"], where=source)
    raise CLIError(
        f'{message} On the command line: --config-json \'{{"extra_params": {{"{key}": ...}}}}\''
    )


def _parse_value(text: str, key: str, table: Mapping[str, Option] = BATCH_OPTIONS) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    option = table.get(key)
    if isinstance(value, str) and option is not None and option.kind in ("strings", "enums"):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _config_json(text: str) -> dict[str, Any]:
    source = "--config-json"
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise CLIError(f"--config-json: cannot read {str(path)!r}: {err.strerror}") from err
        source = f"--config-json {path}"
    try:
        data = json.loads(text)
    except ValueError as err:
        raise CLIError(f"{source}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise CLIError(f"{source}: expected a JSON object of options, got {type(data).__name__}")
    return data


def config_options(args: argparse.Namespace) -> dict[str, Any]:
    """The TranscriptionConfig fields the options ask for (unvalidated values, checked keys)."""
    options: dict[str, Any] = {}
    if args.config_json:
        data = _config_json(args.config_json)
        for key in data:
            _check_key(key, "--config-json")
        options.update(data)
    for item in args.config:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CLIError(f"--config expects KEY=VALUE, got {item!r}")
        _check_key(key, "--config")
        options[key] = _parse_value(value, key)
    explicit = {option.name: getattr(args, _flag_dest(option)) for option in CLI_OPTIONS}
    if args.speakers_expected is not None and args.speaker_labels is None:
        explicit["speaker_labels"] = True  # --speakers-expected implies --speaker-labels
    if args.redact_pii:
        explicit["redact_pii"] = True
        explicit["redact_pii_policies"] = [p.strip() for p in args.redact_pii.split(",")]
    options.update({key: value for key, value in explicit.items() if value is not None})
    return options


def build_config(args: argparse.Namespace) -> TranscriptionConfig | None:
    """A validated TranscriptionConfig, or ``None`` when no option was given.

    Raises:
        InvalidInputError: A value is invalid (the message names the option).
    """
    options = config_options(args)
    if not options:
        return None
    from speechkit.config import TranscriptionConfig

    return TranscriptionConfig(**options)


# --- realtime options (speechkit stream) ---------------------------------------------------


def _rows_of(protocol: str) -> frozenset[str]:
    from speechkit._core.options.realtime_v2 import V2_OPTIONS
    from speechkit._core.options.realtime_v3 import V3_OPTIONS

    return frozenset(V2_OPTIONS if protocol == "v2" else V3_OPTIONS)


def _stream_rows() -> dict[str, Option]:
    """Every plain realtime option, v3 rows first (a name both protocols have is one flag)."""
    from speechkit._core.options.realtime_v2 import V2_ROWS
    from speechkit._core.options.realtime_v3 import V3_ROWS

    rows: dict[str, Option] = {}
    for row in (*V3_ROWS, *V2_ROWS):
        if not row.core:
            rows.setdefault(row.name, row)
    return rows


STREAM_OPTIONS = _stream_rows()
_TABLES = {"v2": _rows_of("v2"), "v3": _rows_of("v3")}


def add_stream_options(parser: argparse.ArgumentParser) -> None:
    """Add the realtime option flags (the v2/v3 tables' rows with a ``cli`` flag), plus
    ``--option KEY=VALUE`` for every other row."""
    group = parser.add_argument_group(
        "realtime options",
        "Common options of the realtime session (v3 unless marked v2); --option KEY=VALUE sets "
        "any other (see the tables in docs/realtime.md). Explicit flags win over --option.",
    )
    for option in STREAM_OPTIONS.values():
        if option.cli:
            only = " (v2)" if option.protocol == "v2" else ""
            _add_flag(group, option, option.summary + only)
    group.add_argument(
        "--option",
        action="append",
        default=[],
        dest="stream_option",
        metavar="KEY=VALUE",
        help="any realtime option; VALUE is JSON when it parses as JSON, else a string; commas "
        "split list values (repeatable)",
    )
    group.add_argument(
        "--extra-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a query parameter speechkit does not know yet, sent unchecked (repeatable)",
    )


def stream_options(args: argparse.Namespace) -> dict[str, Any]:
    """The realtime options the flags ask for (names checked; values checked by the session)."""
    options: dict[str, Any] = {}
    for item in args.stream_option:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CLIError(f"--option expects KEY=VALUE, got {item!r}")
        if key not in STREAM_OPTIONS:
            message = unknown_option_message(key, STREAM_OPTIONS, where="--option")
            raise CLIError(f"{message} On the command line: --extra-param {key}=VALUE")
        options[key] = _parse_value(value, key, STREAM_OPTIONS)
    extra: dict[str, Any] = {}
    for item in args.extra_param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--extra-param expects KEY=VALUE, got {item!r}")
        extra[key.strip()] = _parse_value(value, key.strip(), {})
    if extra:
        options["extra_params"] = extra
    for option in STREAM_OPTIONS.values():
        if option.cli:
            value = getattr(args, _flag_dest(option))
            if value is not None:
                options[option.name] = value
    return options


def stream_flags_markdown() -> str:
    """The flag table of the ``stream`` section of ``docs/cli.md`` (a test keeps it current)."""
    lines = ["| flag | option | protocol | what it does |", "| --- | --- | --- | --- |"]
    for option in STREAM_OPTIONS.values():
        if option.cli:
            value = f" {option.metavar}" if option.metavar else ""
            protocol = ", ".join(p for p in ("v2", "v3") if option.name in _TABLES[p])
            lines.append(
                f"| `{option.cli}{value}` | `{option.name}` | {protocol} | {option.summary} |"
            )
    return "\n".join(lines) + "\n"
