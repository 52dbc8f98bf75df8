"""The ``speechkit`` command. Today it has one subcommand, ``serve`` (the local server)."""

from __future__ import annotations

import sys

__all__ = ["main"]

USAGE = """usage: speechkit <command> [options]

commands:
  serve    run the local speech server (needs "speechkit[server]"); speechkit serve --help
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for a usage error)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        try:
            from speechkit.server.cli import main as serve
        except ImportError as err:
            print(
                f'speechkit serve needs the server extra: pip install "speechkit[server]" ({err})'
            )
            return 1
        return serve(rest)
    print(f"speechkit: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
