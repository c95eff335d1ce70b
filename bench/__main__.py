"""`python -m bench [--quick]`: every benchmark, ONE table, written to bench/results/latest.md
and latest.json. `python -m bench NAME [--quick] [module options]`: one module, its rows printed.

Sizes are chosen here, per module, so that the full run fits in 25 minutes on 2 cores and the
quick one in 3 (its figures at small sizes are smoke, not evidence). A module that fails is an
error row; the others' figures are kept, and the exit status is non-zero at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import (
    access,
    annual,
    foundation,
    gateway,
    gateway_feed,
    goals,
    kolada,
    plans,
    rebuild,
    reports,
    rules,
    table,
    warehouse,
    web,
    wheel,
)

BENCHMARKS: dict[str, Callable[[list[str] | None], None]] = {
    "foundation": foundation.main,
    "goals": goals.main,
    "plans": plans.main,
    "access": access.main,
    "rules": rules.main,
    "rebuild": rebuild.main,
    "reports": reports.main,
    "kolada": kolada.main,
    "wheel": wheel.main,
    "annual": annual.main,
    "gateway": gateway.main,
    "gateway_feed": gateway_feed.main,
    "warehouse": warehouse.main,
    "web": web.main,
}

#: (full, quick) arguments of each module; the full sizes are the issues' where they set one
#: (1,000,000 events for the rebuild and the export), the quick ones small enough for 3 minutes.
SIZES: dict[str, tuple[list[str], list[str]]] = {
    "foundation": (
        ["--single", "2000", "--events", "50000"],
        ["--single", "200", "--events", "5000"],
    ),
    "goals": (
        ["--events", "100000", "--runs", "20", "--seconds", "8", "--clients", "1,4"],
        [
            "--events",
            "5000",
            "--runs",
            "3",
            "--seconds",
            "2",
            "--clients",
            "4",
            "--strategic",
            "12",
        ],
    ),
    "plans": (["--seconds", "15"], ["--seconds", "2"]),
    "access": (["--seconds", "4", "--rounds", "2"], ["--seconds", "1", "--rounds", "2"]),
    "rules": ([], []),
    "rebuild": (["--events", "100000", "--seconds", "6"], ["--events", "10000", "--seconds", "2"]),
    "reports": (
        ["--events", "1000000", "--consumed-events", "200000", "--runs", "50", "--seconds", "15"],
        ["--events", "10000", "--runs", "5", "--seconds", "2", "--indicators", "200"],
    ),
    "kolada": (["--kpis", "1000", "--years", "10"], ["--kpis", "50", "--years", "3"]),
    "wheel": (["--runs", "20"], ["--runs", "3", "--indicators", "100"]),
    "annual": (["--runs", "1"], ["--runs", "1", "--small"]),
    "gateway": (["--requests", "1000"], ["--requests", "100"]),
    "gateway_feed": (["--events", "40000"], ["--events", "4000"]),
    "warehouse": (
        ["--events", "1000000", "--runs", "3", "--no-verify"],
        ["--events", "20000", "--runs", "1", "--no-verify", "--only", "export"],
    ),
    "web": (["--runs", "10"], ["--runs", "3", "--small"]),
}

RESULTS = Path(__file__).resolve().parent / "results"


def run_module(name: str, argv: list[str]) -> table.ModuleRun:
    """One module, its figures collected; an exception becomes the module's error."""
    print(f"== {name} {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    error = None
    with table.collecting(name) as figures:
        try:
            BENCHMARKS[name](argv)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            traceback.print_exc()
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return table.ModuleRun(name, time.perf_counter() - started, figures, error)


def sizes_text(plan: dict[str, list[str]]) -> str:
    """The arguments each module runs with, which say its sizes."""
    return "; ".join(f"{name} {' '.join(argv)}" for name, argv in plan.items() if argv)


def write(run: table.Run, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.md").write_text(table.markdown(run), encoding="utf-8")
    (directory / "latest.json").write_text(
        json.dumps(table.as_json(run), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", nargs="?", choices=list(BENCHMARKS), help="one module only")
    parser.add_argument("--quick", action="store_true", help="small sizes: ≤ 3 minutes in all")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="where latest.md/.json go (all modules)"
    )
    parser.add_argument(
        "--modules", help="comma-separated modules to run and write (default: all)", default=None
    )
    args, rest = parser.parse_known_args(argv)
    if args.name is not None:
        names = [args.name]
    elif args.modules:
        names = args.modules.split(",")
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark(s) {unknown}; one of {', '.join(BENCHMARKS)}")
    else:
        names = list(BENCHMARKS)
    # a module's own options (e.g. `python -m bench reports --only scorecard`) win
    plan = {
        name: rest if args.name is not None and rest else SIZES[name][args.quick] for name in names
    }
    run = table.Run(
        quick=args.quick,
        started=table.now(),
        machine=table.machine(),
        commit=table.commit(),
        sizes=sizes_text(plan),
        custom=args.name is not None and bool(rest),
    )
    started = time.perf_counter()
    for name, module_argv in plan.items():
        run.modules.append(run_module(name, module_argv))
        run.seconds = time.perf_counter() - started
    run.load_end = [round(x, 2) for x in os.getloadavg()]
    print()
    print(table.terminal(run))
    if args.name is None:
        write(run, args.results)
        print(f"\nwritten to {args.results / 'latest.md'} and latest.json")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
