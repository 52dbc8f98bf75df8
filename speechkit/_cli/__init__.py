"""The implementation of the ``speechkit`` command (entry point: :func:`speechkit.cli.main`).

Private: the command line is the interface, documented in ``docs/cli.md``. Nothing here is
imported by ``import speechkit``.
"""
