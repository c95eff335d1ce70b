"""Soak (issue #13): a steady mixed load on the whole dev stack for N minutes, watching memory,
errors and lag over time. Not one of `make bench`'s benchmarks: `make soak MINUTES=30`.

The dev stack runs as `make run` starts it (bench/gateway.py: DevStackRun, on free ports in a
temporary directory). The load is tests/fault's (bench/load.py: commands in goals, plans and
reports through the gateway, each retried with its Idempotency-Key until answered) plus reads
after every command, in turn: the scorecard, the public dashboard page and the merged event
feed (followed with its cursor). Every SAMPLE seconds it notes each process group's memory
(psutil, proportional set size: a web app's gunicorn master and workers summed, each relay and
consumer, the broker, PostgreSQL with its backends) and the relay and consumer lag
(`/api/v1/admin/lag`).

At the end it writes `bench/results/soak.md` (memory of each group at start and end, requests,
errors by status, max lag) and `bench/results/soak.svg` (memory and lag over the run). It
reports figures; it asserts nothing.
  python -m bench.soak --minutes 30 [--workers 3] [--sample 5]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import platform
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import psutil

from bench.gateway import REPO, DevStackRun
from bench.load import BUN, RESULT_YEAR, Client, Load

RESULTS = REPO / "bench" / "results"
MB = 1024 * 1024


@dataclass
class Sample:
    seconds: float
    memory_mb: dict[str, float]
    #: per service: relay lag and the largest lag of its consumers (events)
    lag: dict[str, int]


@dataclass
class Reads:
    """Statuses of the reads (a non-2xx is an error of the soak)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    cursor: dict[int, str] = field(default_factory=dict)

    def note(self, status: int) -> None:
        with self.lock:
            self.statuses[status] += 1


def group_of(proc: psutil.Process) -> str | None:
    """The process group a process of the stack belongs to: goals-web, plans-relay, kafka, ..."""
    line = " ".join(proc.cmdline())
    if "/bin/postgres -D" in line:
        return "postgres"
    if " broker --listener-url" in line:
        return "kafka"
    for service in ("gateway", "goals", "plans", "reports"):
        if f"services.{service}.wsgi" in line:
            return f"{service}-web"
        for worker in ("relay", "consumer"):
            if line.endswith(f"services.{service} {worker}"):
                return f"{service}-{worker}"
    return None


def memory(stack: DevStackRun) -> dict[str, float]:
    """Memory (MB, proportional set size: shared pages divided among the processes sharing
    them, so PostgreSQL's shared buffers count once, not once per backend) of each process
    group; PostgreSQL's backends count with it."""
    found: dict[str, float] = {}
    for proc in stack.processes():
        with contextlib.suppress(psutil.Error):
            group = group_of(proc)
            if group is None:
                continue
            members = [proc]
            if group == "postgres":
                members += proc.children(recursive=True)
            for member in members:
                with contextlib.suppress(psutil.Error):
                    pss = member.memory_full_info().pss
                    found[group] = found.get(group, 0.0) + pss / MB
    return dict(found)


def lag(admin: httpx.Client) -> dict[str, int]:
    try:
        answer = admin.get("/api/v1/admin/lag")
        services = answer.json()["services"]
    except (httpx.HTTPError, ValueError, KeyError):
        return {}
    found = {}
    for service, state in services.items():
        if state.get("status") != "ok":
            continue
        found[f"{service} relay"] = int(state["relay"]["lag"] or 0)
        for source, consumer in state["consumers"].items():
            found[f"{service} ← {source}"] = int(consumer["lag"] or 0)
    return found


def reader(reads: Reads) -> Callable[[Client], None]:
    """After each command a worker reads one of: the scorecard, the dashboard, the feed."""
    turn: Counter[int] = Counter()

    def read(client: Client) -> None:
        me = id(client)
        turn[me] += 1
        kind = turn[me] % 3
        if kind == 0:
            answer = client.get("/api/v1/scorecard", unit_id=BUN, year=str(RESULT_YEAR))
        elif kind == 1:
            answer = client.get("/")
        else:
            cursor = reads.cursor.get(me)  # none at first: the feed starts at the beginning
            answer = client.get("/api/v1/events", **({"after": cursor} if cursor else {}))
            if answer.status_code == 200:
                reads.cursor[me] = answer.json().get("next_after") or cursor or ""
        reads.note(answer.status_code)

    return read


def run(minutes: float, workers: int, sample_every: float) -> tuple[list[Sample], Load, Reads]:
    env = {"GATEWAY_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        stack = DevStackRun(Path(tmp) / "dev", env)
        print("starting the dev stack ...", flush=True)
        stack.start()
        samples: list[Sample] = []
        load = Load(stack.url("gateway"), stack.admin_key, workers=workers)
        reads = Reads()
        try:
            load.setup()
            load.extra.append(reader(reads))
            admin = httpx.Client(
                base_url=stack.url("gateway"),
                headers={"Authorization": f"Bearer {stack.admin_key}"},
                timeout=30,
                trust_env=False,
            )
            began = time.monotonic()
            load.start()
            end = began + minutes * 60
            while time.monotonic() < end and not load.halt.is_set():
                now = time.monotonic() - began
                samples.append(Sample(now, memory(stack), lag(admin)))
                last = samples[-1]
                print(
                    f"  {now:6.0f} s  {len(load.tally.accepted):6d} accepted  "
                    f"memory {sum(last.memory_mb.values()):6.0f} MB  "
                    f"max lag {max(last.lag.values(), default=0)}",
                    flush=True,
                )
                load.halt.wait(min(sample_every, max(0.0, end - time.monotonic())))
            load.stop()
            samples.append(Sample(time.monotonic() - began, memory(stack), lag(admin)))
            admin.close()
        finally:
            load.halt.set()
            stack.stop()
    return samples, load, reads


# -- the report -------------------------------------------------------------------------------


def machine() -> str:
    memory_gb = psutil.virtual_memory().total / 1024**3
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return f"{os.cpu_count()} CPUs, {memory_gb:.1f} GB, {platform.python_version()}, {commit}"


def markdown(samples: list[Sample], load: Load, reads: Reads, minutes: float, workers: int) -> str:
    first, last = samples[0], samples[-1]
    tally = load.tally
    groups = sorted(set(first.memory_mb) | set(last.memory_mb))
    lags = sorted({name for s in samples for name in s.lag})
    errors = Counter({int(k): v for k, v in tally.failures.items() if k.isdigit()})
    errors.update(tally.refused)
    errors.update({s: n for s, n in reads.statuses.items() if not 200 <= s < 300})
    other = {k: v for k, v in tally.failures.items() if not k.isdigit()}
    lines = [
        "# Soak",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; `python -m bench.soak --minutes "
        f"{minutes:g}`: {last.seconds / 60:.1f} minutes of load by {workers} client threads on "
        f"the dev stack ({machine()}); a sample every ~{samples[1].seconds - first.seconds:.0f} s "
        f"({len(samples)} samples). Plot: `soak.svg`.",
        "",
        "## Requests",
        "",
        "| what | count |",
        "|---|---|",
        f"| commands accepted (2xx) | {len(tally.accepted)} |",
        f"| commands failed, then retried until answered | {tally.retried} |",
        f"| reads (scorecard, dashboard page, event feed) | {sum(reads.statuses.values())} |",
        f"| requests in all | {tally.requests} |",
        "",
        "Errors (non-2xx answers, by status; retried ones included): "
        + (", ".join(f"{s}: {n}" for s, n in sorted(errors.items())) or "none")
        + (f"; connection errors: {other}" if other else "")
        + ".",
        "",
        "## Memory (proportional set size, MB)",
        "",
        "| process | start | end | change |",
        "|---|---:|---:|---:|",
    ]
    for group in groups:
        start, end = first.memory_mb.get(group, 0.0), last.memory_mb.get(group, 0.0)
        lines.append(f"| {group} | {start:.0f} | {end:.0f} | {end - start:+.0f} |")
    total_start, total_end = sum(first.memory_mb.values()), sum(last.memory_mb.values())
    lines += [
        f"| **all** | {total_start:.0f} | {total_end:.0f} | {total_end - total_start:+.0f} |",
        "",
        "## Lag (events behind)",
        "",
        "| relay or consumer | max | at the end |",
        "|---|---:|---:|",
    ]
    for name in lags:
        top = max(s.lag.get(name, 0) for s in samples)
        lines.append(f"| {name} | {top} | {last.lag.get(name, 0)} |")
    return "\n".join(lines) + "\n"


def svg(samples: list[Sample]) -> str:
    """Two panels over the run's time: memory per process group, lag per relay/consumer."""
    width, panel_height, left, right, top = 900, 260, 60, 200, 40
    colours = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
        "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#637939",
    ]  # fmt: skip
    end = max(samples[-1].seconds, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{2 * panel_height + 2 * top + 20}" role="img" font-family="sans-serif" '
        'font-size="11"><title>Soak: memory and lag over the run</title>',
        '<rect width="100%" height="100%" fill="white"/>',
    ]

    def panel(y0: float, title: str, unit: str, series: dict[str, list[float]]) -> None:
        plot_w, plot_h = width - left - right, panel_height - 40
        # a top divisible by the 4 tick intervals: whole numbers on the axis
        high = float(
            math.ceil(max([v for values in series.values() for v in values] + [4.0]) / 4) * 4
        )
        parts.append(f'<text x="{left}" y="{y0 - 10}" font-size="13">{escape(title)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y0}" width="{plot_w}" height="{plot_h}" fill="none" '
            'stroke="#333"/>'
        )
        for i in range(5):  # value ticks
            value = high * i / 4
            y = y0 + plot_h - plot_h * i / 4
            parts.append(
                f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#ddd"/>'
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:.0f}</text>'
            )
        for i in range(6):  # time ticks
            t = end * i / 5
            x = left + plot_w * i / 5
            parts.append(
                f'<text x="{x:.1f}" y="{y0 + plot_h + 14}" text-anchor="middle">'
                f"{t / 60:.1f} min</text>"
            )
        parts.append(
            f'<text x="14" y="{y0 + plot_h / 2}" transform="rotate(-90 14 {y0 + plot_h / 2})" '
            f'text-anchor="middle">{escape(unit)}</text>'
        )
        for n, (name, values) in enumerate(sorted(series.items())):
            colour = colours[n % len(colours)]
            points = " ".join(
                f"{left + plot_w * s.seconds / end:.1f},{y0 + plot_h - plot_h * v / high:.1f}"
                for s, v in zip(samples, values, strict=True)
            )
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>'
            )
            y = y0 + 12 + 14 * n
            parts.append(
                f'<line x1="{left + plot_w + 10}" x2="{left + plot_w + 30}" y1="{y - 4}" '
                f'y2="{y - 4}" stroke="{colour}" stroke-width="2"/>'
                f'<text x="{left + plot_w + 34}" y="{y}">{escape(name)}</text>'
            )

    groups = sorted({g for s in samples for g in s.memory_mb})
    lags = sorted({name for s in samples for name in s.lag})
    panel(
        top,
        "Memory (PSS) per process group",
        "MB",
        {g: [s.memory_mb.get(g, 0.0) for s in samples] for g in groups},
    )
    panel(
        top * 2 + panel_height,
        "Lag of relays and consumers",
        "events behind",
        {name: [float(s.lag.get(name, 0)) for s in samples] for name in lags},
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=3, help="client threads")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where soak.md/.svg go")
    args = parser.parse_args(argv)
    samples, load, reads = run(args.minutes, args.workers, args.sample)
    args.out.mkdir(parents=True, exist_ok=True)
    report = markdown(samples, load, reads, args.minutes, args.workers)
    (args.out / "soak.md").write_text(report, encoding="utf-8")
    (args.out / "soak.svg").write_text(svg(samples), encoding="utf-8")
    print(report)
    print(f"wrote {args.out / 'soak.md'} and {args.out / 'soak.svg'}")


if __name__ == "__main__":
    main()
