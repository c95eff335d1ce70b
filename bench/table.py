"""The benchmark table: every benchmark's figures as rows, rendered for the terminal, Markdown
and JSON, with the machine and the commit they were measured on.

Each module keeps its own detailed printout, but what it measured is recorded here as a
`Figure` (`record`), so `python -m bench` can put every module's figures in ONE table and write
it to bench/results/latest.md and latest.json. A target is text plus whether it is met:
benchmarks never fail on time, the table says so instead.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMA = "styrkort-bench/1"


@dataclass(frozen=True)
class Target:
    """A target from the issues: the value (or the ratio) at least / at most `bound`."""

    op: str  # ">=" or "<="
    bound: float
    of: str = "value"  # or "ratio"

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        """Whether the figure meets it; None when there is nothing to judge."""
        measured = ratio if self.of == "ratio" else value
        if measured is None or math.isnan(measured):
            return None
        return measured >= self.bound if self.op == ">=" else measured <= self.bound

    def text(self, unit: str) -> str:
        sign = "≥" if self.op == ">=" else "≤"
        what = "ratio " if self.of == "ratio" else ""
        shown = f"{self.bound:,.2f}" if self.of == "ratio" else number(self.bound)
        return f"{what}{sign} {shown}" + ("" if self.of == "ratio" or not unit else f" {unit}")


def at_least(bound: float, of: str = "value") -> Target:
    return Target(">=", bound, of)


def at_most(bound: float, of: str = "value") -> Target:
    return Target("<=", bound, of)


@dataclass
class Figure:
    """One row of the table. `compared_with` names what the ratio is taken against, measured
    in the same run (e.g. "raw INSERT+COMMIT 1,450/s"); `ratio` = value / that."""

    name: str
    value: float | None
    unit: str
    compared_with: str | None = None
    ratio: float | None = None
    target: Target | None = None
    note: str | None = None
    module: str = ""
    error: str | None = None

    @property
    def met(self) -> bool | None:
        if self.error is not None or self.target is None:
            return None
        return self.target.met(self.value, self.ratio)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.text(self.unit) if self.target else None
        data["target_spec"] = asdict(self.target) if self.target else None
        data["met"] = self.met
        for key in ("value", "ratio"):
            if isinstance(data[key], float) and not math.isfinite(data[key]):
                data[key] = None  # JSON has no NaN or infinity
        return data


# -- recording ----------------------------------------------------------------------------------

_recorded: list[Figure] = []


def record(figure: Figure) -> Figure:
    """Keep a figure for the table (the module's own printout is up to it)."""
    _recorded.append(figure)
    return figure


@contextmanager
def collecting(module: str) -> Iterator[list[Figure]]:
    """The figures recorded while the block runs, each marked with `module`; they are kept
    in the yielded list even if the block raises (a failing module loses nothing it measured)."""
    start = len(_recorded)
    collected: list[Figure] = []
    try:
        yield collected
    finally:
        for figure in _recorded[start:]:
            figure.module = module
            collected.append(figure)
        del _recorded[start:]


@dataclass
class ModuleRun:
    name: str
    seconds: float
    figures: list[Figure] = field(default_factory=list)
    error: str | None = None


@dataclass
class Run:
    """One `python -m bench` run: when, where, on which commit, and every module's figures."""

    quick: bool
    started: str
    machine: dict[str, Any]
    commit: dict[str, Any]
    sizes: str
    modules: list[ModuleRun] = field(default_factory=list)
    seconds: float = 0.0
    #: the load average when the run ended (its own work included), beside the start's
    load_end: list[float] | None = None
    #: sizes given on the command line rather than make bench's (`python -m bench NAME ...`)
    custom: bool = False

    @property
    def rows(self) -> list[Figure]:
        rows: list[Figure] = []
        for module in self.modules:
            rows += module.figures
            if module.error is not None:
                rows.append(
                    Figure("module failed", None, "", module=module.name, error=module.error)
                )
        return rows

    @property
    def failed(self) -> list[str]:
        return [m.name for m in self.modules if m.error is not None]


# -- the machine and the commit -----------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and the load average when the run starts."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "memory_gb": None,
        "cpu": platform.processor() or platform.machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass  # not Linux: the platform's words will do
    return info


def commit() -> dict[str, Any]:
    """git HEAD of the repository, and whether the work tree differs from it (dirty)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        subject = git("log", "-1", "--format=%s")
    except (OSError, subprocess.CalledProcessError):
        return {"head": None, "dirty": None, "subject": None}
    return {"head": head, "dirty": dirty, "subject": subject[:100]}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# -- rendering ----------------------------------------------------------------------------------


def number(value: float | None) -> str:
    """A figure as people read it: thousands separated, few decimals."""
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞"
    magnitude = abs(value)
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def verdict(figure: Figure) -> str:
    if figure.error is not None:
        return "ERROR"
    return {True: "met", False: "NOT met", None: ""}[figure.met]


def cells(figure: Figure) -> list[str]:
    """The row's cells: module, figure, value, unit, compared with, ratio, target, met."""
    if figure.error is not None:
        name = f"{figure.name}: {figure.error}"
    else:
        name = figure.name + (f" ({figure.note})" if figure.note else "")
    return [
        figure.module,
        name,
        number(figure.value) if figure.error is None else "—",
        figure.unit,
        figure.compared_with or "",
        f"{figure.ratio:.2f}" if figure.ratio is not None else "",
        figure.target.text(figure.unit) if figure.target else "",
        verdict(figure),
    ]


HEADERS = ["module", "figure", "value", "unit", "compared with", "ratio", "target", "met"]


def kind_of(run: Run) -> str:
    if run.custom:
        return "Run with the sizes given on the command line"
    return "QUICK run (small sizes: smoke, not evidence)" if run.quick else "Full run"


def header_lines(run: Run) -> list[str]:
    m, c = run.machine, run.commit
    head = (c["head"] or "unknown")[:12] + (" (dirty)" if c.get("dirty") else "")
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    lines = [
        f"{kind_of(run)} started {run.started}, {run.seconds / 60:.1f} min in all",
        f"sizes: {run.sizes}",
        f"machine: {m['cores']} cores, {m['memory_gb']} GB, {m['cpu']}; load average at start "
        f"{load}"
        + (
            f" (at the end, the run's own work included: {run.load_end[0]:.2f})"
            if run.load_end
            else ""
        )
        + f"; Python {m['python']}, {m['system']}",
        f"commit: {head} {c.get('subject') or ''}".rstrip(),
    ]
    if m["load_average"][0] > 0.5 * (m["cores"] or 1):
        lines.append(
            "the cores were shared with other work when the run started (load average above "
            "half the cores): figures are lower and noisier than on a quiet machine"
        )
    lines.append(
        "time per module: " + ", ".join(f"{mod.name} {mod.seconds:.0f} s" for mod in run.modules)
    )
    if run.failed:
        lines.append(f"FAILED modules: {', '.join(run.failed)}")
    return lines


def terminal(run: Run) -> str:
    """A plain-text table for the terminal, columns padded."""
    rows = [HEADERS, *(cells(f) for f in run.rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    right = {2, 5}  # numbers

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()

    body = [line(rows[0]), "  ".join("-" * w for w in widths), *(line(r) for r in rows[1:])]
    return "\n".join([*header_lines(run), "", *body])


def markdown(run: Run) -> str:
    """The same table as Markdown, for bench/results/latest.md and the README."""

    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["# Benchmark results", ""]
    lines += [f"- {escape(x)}" for x in header_lines(run)]
    lines += ["", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(escape(c) for c in cells(f)) + " |" for f in run.rows]
    lines += [
        "",
        "Targets are the issues'; a figure that misses one is reported, never failed. "
        "`python -m bench` writes this file (`--quick` for small sizes).",
    ]
    return "\n".join(lines) + "\n"


def as_json(run: Run) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "quick": run.quick,
        "custom_sizes": run.custom,
        "started": run.started,
        "seconds": round(run.seconds, 1),
        "sizes": run.sizes,
        "machine": run.machine,
        "load_average_end": run.load_end,
        "commit": run.commit,
        "modules": [
            {"name": m.name, "seconds": round(m.seconds, 1), "error": m.error} for m in run.modules
        ],
        "figures": [f.as_json() for f in run.rows],
    }
