"""Run one client measurement in a fresh child process, and measure that process from outside.

A scenario calls :func:`run_child` with the dotted name of a module-level function and
JSON-serialisable arguments. The child (``python -m benchmarks._proc``) imports the module, calls
the function, and sends back its JSON result with its own resource use. Meanwhile the parent
samples the child's thread count with psutil, so the sampler adds no thread to what it counts.

Inside the measured function, call :func:`mark` right before the work starts: it records the
child's RSS and CPU time at that point and restarts the kernel's peak-RSS counter (``VmHWM``), so
:attr:`ChildResult.peak_rss` is the peak *during the work* and ``peak_rss - baseline_rss`` its
growth. Without a mark, the peak covers the whole child life (interpreter and imports included)::

    def measure(base_url: str, n: int) -> dict[str, float]:   # in a scenario module
        import speechkit                                        # imports before the mark
        ...
        mark()
        started = time.perf_counter()
        ...                                                     # the work
        return {"wall": time.perf_counter() - started}

    result = run_child("benchmarks.scenarios.throughput:measure", server.base_url, 200)
    result.value["wall"], result.peak_rss, result.peak_threads, result.cpu_seconds
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ChildError", "ChildResult", "mark", "run_child"]

_REPO_ROOT = Path(__file__).resolve().parent.parent
_marks: dict[str, dict[str, float]] = {}


class ChildError(RuntimeError):
    """The measured function raised in the child, or the child died; the message has why."""


@dataclass
class ChildResult:
    """What one child run measured.

    Attributes:
        value: The function's return value (decoded JSON).
        elapsed: Seconds the function call took, measured in the child.
        cpu_seconds: User + system CPU seconds of the child since the last :func:`mark`
            (since the call started, without a mark).
        peak_rss: Peak resident set size in bytes since the last :func:`mark` (``VmHWM``; whole
            life where the kernel cannot reset it).
        baseline_rss: RSS in bytes at the last :func:`mark` (``None`` without a mark).
        peak_threads: Most threads the child had at once (sampled every ``sample_interval``).
        marks: Every mark by name: ``rss`` (bytes), ``cpu`` (seconds), ``time`` (monotonic).
    """

    value: Any
    elapsed: float
    cpu_seconds: float
    peak_rss: int
    baseline_rss: int | None
    peak_threads: int
    marks: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def rss_growth(self) -> int | None:
        """``peak_rss - baseline_rss`` in bytes, or None without a mark."""
        if self.baseline_rss is None:
            return None
        return max(0, self.peak_rss - self.baseline_rss)


# -- in the child -----------------------------------------------------------------------------


def _status_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mark(name: str = "start") -> None:
    """Record RSS and CPU time now and restart the peak-RSS counter (call in the child only).

    Outside a child (a function run directly), it only records the mark.
    """
    try:  # "5" resets VmHWM to the current RSS (Linux >= 4.0, proc(5) clear_refs).
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    rss_kib = _status_kib("VmRSS")
    _marks[name] = {
        "rss": float((rss_kib or 0) * 1024),
        "cpu": _cpu(),
        "time": time.monotonic(),
    }


def _child_main(target: str, args_json: str, result_path: str) -> int:
    module_name, _, function_name = target.partition(":")
    payload: dict[str, Any]
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        args = json.loads(args_json)
        cpu_before = _cpu()
        started = time.perf_counter()
        value = function(*args)
        elapsed = time.perf_counter() - started
        cpu_after = _cpu()
        last = max(_marks.values(), key=lambda m: m["time"]) if _marks else None
        peak_kib = _status_kib("VmHWM")
        if peak_kib is None:
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        payload = {
            "value": value,
            "elapsed": elapsed,
            "cpu_seconds": cpu_after - (last["cpu"] if last else cpu_before),
            "peak_rss": peak_kib * 1024,
            "baseline_rss": int(last["rss"]) if last else None,
            "marks": _marks,
        }
    except BaseException:
        payload = {"error": traceback.format_exc()}
    Path(result_path).write_text(json.dumps(payload))
    return 1 if "error" in payload else 0


# -- in the parent ----------------------------------------------------------------------------


def run_child(
    target: str,
    *args: Any,
    timeout: float = 900.0,
    sample_interval: float = 0.005,
    env: dict[str, str] | None = None,
) -> ChildResult:
    """Call ``module:function(*args)`` in a fresh ``python`` child; return what it measured.

    Args:
        target: ``"package.module:function"``; the function must be importable at module level
            and return something JSON can encode.
        *args: Positional arguments, JSON-encoded on the way to the child.
        timeout: Seconds before the child is killed and :class:`ChildError` raised.
        sample_interval: Seconds between thread-count samples.
        env: Extra environment variables for the child.

    Raises:
        ChildError: The function raised (the message holds the child's traceback), the child
            died, or it ran past ``timeout``.
    """
    import psutil

    with tempfile.TemporaryDirectory(prefix="speechkit-bench-") as tmp:
        result_path = os.path.join(tmp, "result.json")
        command = [
            sys.executable,
            "-m",
            "benchmarks._proc",
            target,
            json.dumps(list(args)),
            result_path,
        ]
        child = subprocess.Popen(command, cwd=_REPO_ROOT, env={**os.environ, **(env or {})})
        peak_threads = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_threads
            try:
                process = psutil.Process(child.pid)
                while not stop.is_set():
                    peak_threads = max(peak_threads, process.num_threads())
                    stop.wait(sample_interval)
            except psutil.Error:  # the child ended
                pass

        sampler = threading.Thread(target=sample, name="bench-sampler", daemon=True)
        sampler.start()
        try:
            returncode = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise ChildError(f"{target} ran longer than {timeout} s and was killed") from None
        finally:
            stop.set()
            sampler.join()
        try:
            payload = json.loads(Path(result_path).read_text())
        except (OSError, ValueError):
            raise ChildError(
                f"{target}: the child exited with {returncode} and no result"
            ) from None
    if "error" in payload:
        raise ChildError(f"{target} failed in the child:\n{payload['error']}")
    return ChildResult(
        value=payload["value"],
        elapsed=payload["elapsed"],
        cpu_seconds=payload["cpu_seconds"],
        peak_rss=payload["peak_rss"],
        baseline_rss=payload["baseline_rss"],
        peak_threads=peak_threads,
        marks=payload["marks"],
    )


if __name__ == "__main__":
    # Run the copy imported as ``benchmarks._proc``, the one whose ``mark`` scenarios call.
    from benchmarks import _proc

    sys.exit(_proc._child_main(sys.argv[1], sys.argv[2], sys.argv[3]))
