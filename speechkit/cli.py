"""The ``speechkit`` command: ``transcribe``, ``stream``, ``get``, ``list``, ``delete``, ``serve``.

Installed as the ``speechkit`` console script (``python -m speechkit.cli`` does the same). The
guide, with every option, the output formats, resumable folder runs and the exit codes, is
``docs/cli.md``. The implementation lives in the private package ``speechkit._cli``; nothing of
it is imported by ``import speechkit``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 1 a transcription or request failed, 2 usage or bad input,
        3 authentication or configuration, 4 network, 130 interrupted (see docs/cli.md).
    """
    from speechkit._cli.app import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
