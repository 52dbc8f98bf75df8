"""The runner behind ``python -m benchmarks``: run scenarios, print a table, write RESULTS.md.

Each scenario measures speechkit and the peer itself, alternating them run by run, and returns
:class:`~benchmarks._figures.Figure` records with medians. The harness only orders the scenarios,
keeps going when one fails (reporting it, and exiting non-zero at the end), records the machine
and the package versions, and writes the figures with their ratio (speechkit / peer, lower is
better), the settings each scenario used, and a "Missed targets" section carrying each missed
figure's notes and profile.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import scenarios
from benchmarks._figures import Figure

__all__ = ["Outcome", "machine_info", "main", "package_versions", "render_markdown"]

DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"
COMMAND = "python -m benchmarks"
_PACKAGES = (
    "speechkit",
    "assemblyai",
    "httpx",
    "websockets",
    "pydantic",
    "uvicorn",
    "starlette",
    "psutil",
)


@dataclass
class Outcome:
    """One scenario's run: its figures, or the error that stopped it."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    settings: str = ""
    error: str | None = None
    seconds: float = 0.0


# -- machine and versions -----------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, str]:
    """OS, CPU, cores, memory and Python of this machine."""
    info = {
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count() or "?"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    try:
        import psutil

        info["memory"] = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        pass
    return info


def package_versions() -> dict[str, str]:
    """Installed versions of speechkit, the peer and the libraries both stand on."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# -- running ------------------------------------------------------------------------------------


def run_scenarios(names: Sequence[str], *, quick: bool, runs: int) -> list[Outcome]:
    """Run the named scenarios in registry order; a failure is recorded, not raised."""
    outcomes = []
    for name in names:
        started = time.perf_counter()
        outcome = Outcome(name=name, title=name)
        print(f"\n== {name}", flush=True)
        try:
            module = scenarios.load(name)
            outcome.title = module.TITLE
            outcome.settings = str(getattr(module, "SETTINGS", "")).strip()
            outcome.figures = list(module.run(quick, runs))
            if not outcome.figures:
                raise RuntimeError(f"scenario {name!r} returned no figures")
        except Exception:
            outcome.error = traceback.format_exc()
            print(outcome.error, file=sys.stderr, flush=True)
        outcome.seconds = time.perf_counter() - started
        for figure in outcome.figures:
            print("   " + _one_line(figure), flush=True)
        print(f"   ({outcome.seconds:.1f} s)", flush=True)
        outcomes.append(outcome)
    return outcomes


# -- formatting ---------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    """A number with three significant digits or so; an em dash for a missing one."""
    if value is None:
        return "—"
    magnitude = abs(value)
    if float(value).is_integer() and magnitude < 1e6:
        return str(int(value))
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def _number(outcome: Outcome) -> str:
    """The scenario's number in the registry (the issue's numbering), whatever ran."""
    return str(scenarios.NAMES.index(outcome.name) + 1) if outcome.name in scenarios.NAMES else "?"


def _unit(figure: Figure) -> str:
    return f" {figure.unit}" if figure.unit else ""


def _met(figure: Figure) -> str:
    return {True: "yes", False: "**no**", None: ""}[figure.met]


def _one_line(figure: Figure) -> str:
    peer = f", peer {fmt(figure.peer)} {figure.unit}" if figure.peer is not None else ""
    ratio = f", ratio {fmt(figure.ratio)}" if figure.ratio is not None else ""
    target = (
        f"  [target {figure.target}: {_met(figure).strip('*') or 'n/a'}]" if figure.target else ""
    )
    line = f"{figure.metric}: speechkit {fmt(figure.speechkit)} {figure.unit}{peer}{ratio}{target}"
    return " ".join(line.split())


def _rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    rows = []
    for outcome in outcomes:
        number = _number(outcome)
        if outcome.error is not None:
            rows.append([str(number), outcome.title, "FAILED (see below)", "", "", "", "", "", ""])
            continue
        for figure in outcome.figures:
            rows.append(
                [
                    str(number),
                    outcome.title,
                    figure.metric,
                    f"{fmt(figure.speechkit)}{_unit(figure)}",
                    f"{fmt(figure.peer)}{_unit(figure)}" if figure.peer is not None else "—",
                    fmt(figure.ratio),
                    figure.target,
                    _met(figure),
                    str(figure.runs),
                ]
            )
    return rows


_HEADER = ["#", "Scenario", "Metric", "speechkit", "peer", "ratio", "target", "met", "runs"]


def print_table(outcomes: Sequence[Outcome]) -> None:
    """Print every figure as an aligned plain-text table."""
    rows = [_HEADER] + [[cell.replace("**", "") for cell in row] for row in _rows(outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    print()
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _missed(outcomes: Sequence[Outcome]) -> list[tuple[Outcome, Figure]]:
    return [(o, f) for o in outcomes for f in o.figures if f.met is False]


def render_markdown(
    outcomes: Sequence[Outcome],
    *,
    quick: bool,
    runs: int,
    command: str,
    started: dt.datetime,
    seconds: float,
) -> str:
    """RESULTS.md: date, machine, versions, the figures with ratios, settings, missed targets."""
    lines = [
        "# speechkit benchmarks",
        "",
        f"Generated by `{command}` on {started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} min"
        + (" (quick mode: tiny sizes, timings not judged)." if quick else "."),
        "",
        "Every figure is the median of the runs shown; speechkit and the peer (AssemblyAI's",
        "`assemblyai` package) run alternately in the same process run against the same local",
        "server (`speechkit.server.LocalServer`, fixed engine, in its own process), so machine",
        "noise largely cancels in the ratio. Ratio = speechkit / peer: lower is better. See",
        "[README.md](README.md) for how each scenario measures.",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in machine_info().items()]
    lines += ["", "## Versions", ""]
    lines += [f"- {name} {version}" for name, version in package_versions().items()]
    lines += ["", "## Results", ""]
    lines.append("| " + " | ".join(_HEADER) + " |")
    lines.append("|" + "|".join("---" for _ in _HEADER) + "|")
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
        for row in _rows(outcomes)
    ]

    noted = [(o, f) for o in outcomes for f in o.figures if f.notes and f.met is not False]
    if noted:
        lines += ["", "### Notes", ""]
        lines += [f"- **{o.title} — {f.metric}**: {f.notes}" for o, f in noted]

    lines += ["", "## Missed targets", ""]
    missed = _missed(outcomes)
    if not missed:
        lines.append("None." if not quick else "Not judged in quick mode.")
    for outcome, figure in missed:
        lines += [
            f"### {outcome.title} — {figure.metric}",
            "",
            f"speechkit {fmt(figure.speechkit)}{_unit(figure)}"
            + (f", peer {fmt(figure.peer)}{_unit(figure)}" if figure.peer is not None else "")
            + (f", ratio {fmt(figure.ratio)}" if figure.ratio is not None else "")
            + f"; target {figure.target}.",
            "",
        ]
        if figure.notes:
            lines += [figure.notes, ""]
        profile = figure.profile
        if profile:
            lines += ["```text", profile.rstrip(), "```", ""]

    failed = [o for o in outcomes if o.error is not None]
    if failed:
        lines += ["", "## Scenarios that failed", ""]
        for outcome in failed:
            lines += [
                f"### {outcome.title}",
                "",
                "```text",
                (outcome.error or "").rstrip(),
                "```",
                "",
            ]

    lines += ["", "## Settings per scenario", ""]
    for outcome in outcomes:
        lines += [f"### {_number(outcome)}. {outcome.title}", ""]
        lines += [outcome.settings or "(none recorded)", ""]

    lines += ["## Samples (every run, speechkit and peer)", ""]
    for outcome in outcomes:
        for figure in outcome.figures:
            if figure.samples:
                parts = "; ".join(
                    f"{side}: " + ", ".join(fmt(v) for v in values)
                    for side, values in figure.samples.items()
                )
                lines.append(f"- {outcome.title} — {figure.metric} ({figure.unit}): {parts}")
    return "\n".join(lines).rstrip() + "\n"


# -- command line -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="speechkit beside the assemblyai package against the local server; "
        "prints a table and writes RESULTS.md.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check for CI: tiny sizes, 1 run, no timing judged; fails if a scenario "
        "does not work. Writes no file unless --out is given.",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=scenarios.NAMES,
        help=f"run only these scenarios (of: {', '.join(scenarios.NAMES)})",
    )
    parser.add_argument("--runs", type=int, help="runs per side, medians reported (default 3)")
    parser.add_argument(
        "--out", type=Path, help=f"where to write the Markdown results (default: {DEFAULT_OUT})"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; 0 when every scenario ran, 1 when one failed (missed targets do not
    fail the command: they are reported)."""
    args = build_parser().parse_args(argv)
    runs = 1 if args.quick else (args.runs or 3)
    if runs < 1:
        print("--runs must be at least 1", file=sys.stderr)
        return 2
    names = [n for n in scenarios.NAMES if not args.only or n in args.only]
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)
    command = " ".join([COMMAND, *(sys.argv[1:] if argv is None else argv)])

    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    outcomes = run_scenarios(names, quick=args.quick, runs=runs)
    seconds = time.perf_counter() - clock

    print_table(outcomes)
    failed = [o.name for o in outcomes if o.error is not None]
    missed = _missed(outcomes)
    print(f"\n{len(outcomes)} scenarios in {seconds:.0f} s; failed: {', '.join(failed) or 'none'}")
    if missed:
        print("missed targets: " + "; ".join(f"{o.name}: {f.metric}" for o, f in missed))
    if out is not None:
        out.write_text(
            render_markdown(
                outcomes,
                quick=args.quick,
                runs=runs,
                command=command,
                started=started,
                seconds=seconds,
            )
        )
        print(f"wrote {out}")
    return 1 if failed else 0
