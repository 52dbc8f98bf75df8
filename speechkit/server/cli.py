"""``speechkit serve``: run the local speech server in the foreground until Ctrl-C.

Prints the base URL (and the websocket URLs) on stdout once the server accepts connections. Fault
options make it a test double for other processes; they can also be changed while it runs with
``PUT /_speechkit/faults``. Examples::

    speechkit serve --engine fixed --fixed-text "hello world" --port 0
    speechkit serve --engine whisper --beam-size 5 --threads 2 --workers 1
    speechkit serve --api-key test --latency 0.2:0.1 --error-rate transcript.create=0.3:503
    speechkit serve --reset-rate transcript.create=1 --ws-drop-after 3 --seed 7
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["API_KEY_ENV", "build_parser", "main"]

#: Environment variable the key is read from when no --api-key/--api-key-file is given.
API_KEY_ENV = "SPEECHKIT_SERVER_API_KEY"


def _api_key(args: argparse.Namespace) -> str | None:
    """The key from --api-key, --api-key-file or the environment; an empty one is an error."""
    if args.api_key is not None and args.api_key_file is not None:
        raise ValueError("give --api-key or --api-key-file, not both")
    if args.api_key_file is not None:
        try:
            with open(args.api_key_file, encoding="utf-8") as file:
                key: str | None = file.read().strip()
        except OSError as exc:
            raise ValueError(f"cannot read --api-key-file: {exc.strerror}") from None
        source = "--api-key-file"
    elif args.api_key is not None:
        key, source = args.api_key, "--api-key"
    else:
        key, source = os.environ.get(API_KEY_ENV), API_KEY_ENV
    if key is not None and not key.strip():
        raise ValueError(f"the key from {source} is empty; give a non-empty key or none at all")
    return key


def _latency(text: str) -> tuple[float, float]:
    base, _, jitter = text.partition(":")
    try:
        values = float(base), float(jitter or 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SECONDS[:JITTER], got {text!r}") from None
    if values[0] < 0 or values[1] < 0:
        raise argparse.ArgumentTypeError("latency must not be negative")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The engine's constructor options from the command line; options that do not apply to
    the chosen engine are an error rather than silently ignored."""
    from speechkit.engines import resolve_engine_name

    engine = resolve_engine_name(args.engine)
    options: dict[str, Any] = {}
    if args.fixed_text is not None:
        options["text"] = args.fixed_text
    if args.workers is not None:
        options["workers"] = args.workers
    for flag in ("beam_size", "threads", "model"):
        if getattr(args, flag) is not None:
            options[flag] = getattr(args, flag)
    allowed = {
        "whisper": {"workers", "beam_size", "threads", "model"},
        "pocketsphinx": {"workers"},
        "fixed": {"text"},
    }[engine]
    extra = sorted(set(options) - allowed)
    if extra:
        flags = ", ".join("--" + name.replace("_", "-") for name in extra)
        if "text" in extra:
            flags = flags.replace("--text", "--fixed-text")
        raise ValueError(f"{flags}: not an option of the {engine} engine")
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speechkit serve",
        description="Run the local speech server (AssemblyAI v2/v3 realtime, LeMUR stand-in, "
        "AIML API) with an offline engine.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument(
        "--engine",
        default="offline",
        help="engine name: whisper, pocketsphinx, fixed, or offline (the default: whisper when "
        "speechkit-stt[whisper] is installed, else pocketsphinx)",
    )
    parser.add_argument(
        "--workers", type=_positive_int, help="batch worker processes (whisper, pocketsphinx)"
    )
    parser.add_argument("--beam-size", type=_positive_int, help="whisper: beam width (default 5)")
    parser.add_argument(
        "--threads", type=_positive_int, help="whisper: CPU threads per worker (default 1)"
    )
    parser.add_argument(
        "--model", help="whisper: a CTranslate2 Whisper model folder (default: bundled tiny.en)"
    )
    parser.add_argument("--fixed-text", help="the text the fixed engine always recognizes")
    parser.add_argument(
        "--api-key",
        help="require this key (default: no auth). Other users can see a command line: prefer "
        f"--api-key-file or the {API_KEY_ENV} environment variable",
    )
    parser.add_argument(
        "--api-key-file", metavar="PATH", help="require the key stored in this file"
    )
    parser.add_argument("--max-upload-mb", type=float, help="cap for one upload, in MiB")
    safety = parser.add_argument_group(
        "safety (the defaults keep web pages and the local network out; see docs/local-server.md)"
    )
    safety.add_argument(
        "--allow-file-urls",
        action="append",
        default=[],
        metavar="DIR",
        help="accept file:// audio URLs for regular files under DIR. Repeatable.",
    )
    safety.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let audio_url and webhook_url reach loopback and private addresses",
    )
    safety.add_argument(
        "--allowed-url-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="let audio_url and webhook_url reach this host even if it is private. Repeatable.",
    )
    safety.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="answer requests whose Host is NAME, besides loopback names ('*': any). Repeatable.",
    )
    safety.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let web pages from ORIGIN (http://localhost:3000) call the server. Repeatable.",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--latency", type=_latency, metavar="SECONDS[:JITTER]", help="delay every request"
    )
    faults.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="ENDPOINT=RATE[:CODE]",
        help="fail requests to ENDPOINT (name, prefix or *) with CODE (default 500) at RATE "
        "0..1; CODE 'reset' aborts the connection. Repeatable.",
    )
    faults.add_argument(
        "--reset-rate",
        action="append",
        default=[],
        metavar="ENDPOINT=RATE",
        help="abort connections to ENDPOINT at RATE without a response. Repeatable.",
    )
    faults.add_argument(
        "--after-processing",
        action="store_true",
        help="apply --error-rate/--reset-rate faults after the request was handled",
    )
    faults.add_argument(
        "--ws-drop-after", type=int, metavar="N", help="drop websockets after N messages"
    )
    faults.add_argument(
        "--ws-drop-after-seconds", type=float, metavar="S", help="drop websockets after S seconds"
    )
    faults.add_argument(
        "--ws-drop-code", type=int, metavar="CODE", help="close with CODE instead of aborting"
    )
    faults.add_argument("--processing-delay", type=float, metavar="S", help="extra seconds per job")
    faults.add_argument(
        "--processing-factor", type=float, metavar="F", help="extra seconds per second of audio"
    )
    faults.add_argument("--seed", type=int, help="seed for random faults")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    return parser


def _fault_config(args: argparse.Namespace) -> Any:
    from speechkit.server.faults import FaultConfig, parse_error_spec

    config = FaultConfig(seed=args.seed)
    if args.latency:
        config.latency, config.latency_jitter = args.latency
    specs = list(args.error_rate) + [
        f"{s}:reset" if ":" not in s.partition("=")[2] else s for s in args.reset_rate
    ]
    for spec in specs:
        rule = parse_error_spec(spec)
        rule.after_processing = args.after_processing
        config.endpoint_faults.append(rule)
    config.ws_drop_after_messages = args.ws_drop_after
    config.ws_drop_after_seconds = args.ws_drop_after_seconds
    config.ws_drop_close_code = args.ws_drop_code
    config.processing_delay = args.processing_delay or 0.0
    config.processing_time_factor = args.processing_factor or 0.0
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``speechkit serve``; returns the exit status: 0 after Ctrl-C or SIGTERM, 2 for bad
    usage or a ``--port`` that is in use (the message names the port and the flag), 1 when the
    server could not start for another reason."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["serve"]:
        arguments = arguments[1:]
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
        faults = _fault_config(args)
        api_key = _api_key(args)
    except SystemExit as exc:  # --help or a usage error (already printed)
        return int(exc.code or 0)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"speechkit serve: error: {exc}", file=sys.stderr)
        return 2

    from speechkit.server.runner import LocalServer, PortInUseError

    options: dict[str, Any] = {}
    if args.max_upload_mb:
        options["max_upload_bytes"] = int(args.max_upload_mb * 1024 * 1024)
    if args.allow_file_urls:
        options["allow_file_urls"] = True
        options["file_url_roots"] = tuple(args.allow_file_urls)
    options["allow_private_urls"] = args.allow_private_urls
    options["allowed_url_hosts"] = tuple(args.allowed_url_host)
    options["allowed_hosts"] = tuple(args.allowed_host)
    options["allowed_origins"] = tuple(args.allowed_origin)
    try:
        engine_options = _engine_options(args)
    except ValueError as exc:
        print(f"speechkit serve: error: {exc}", file=sys.stderr)
        return 2
    server = LocalServer(
        host=args.host,
        port=args.port,
        engine=args.engine,
        engine_options=engine_options,
        api_key=api_key,
        faults=faults,
        log_level=args.log_level,
        **options,
    )
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        try:
            server.start()
        except PortInUseError as exc:
            print(
                f"speechkit serve: error: cannot listen on {exc.host}:{exc.port}: the port is "
                f"{exc.reason}. Choose another with --port N, or --port 0 to pick a free one.",
                file=sys.stderr,
            )
            return 2
        except Exception as exc:
            print(f"speechkit serve: error: {exc}", file=sys.stderr)
            return 1
        print(f"speechkit local server: {server.base_url}", flush=True)
        print(f"  realtime v2: {server.ws_base_url}/v2/realtime/ws", flush=True)
        print(f"  streaming v3: {server.ws_base_url}/v3/ws", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        server.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
