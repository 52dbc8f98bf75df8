"""speechkit's benchmarks, side by side with AssemblyAI's ``assemblyai`` package.

Run them all with ``python -m benchmarks`` (see ``benchmarks/README.md``); ``--quick`` is the
smoke check CI runs.
"""
