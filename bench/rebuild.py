"""Rebuild while clients write (issue #8 item 7): what a rebuild costs the service's commands.

Runs its own durable PostgreSQL (fsync on), fills the goals store with N events, then measures
4 clients sending commands (each reads the read model, as the access check does, then appends
and projects one event): their p99 without a rebuild, and during a rebuild of the read models
(shared/rebuild.py), with the rebuild's events/s and how long its last (locking) step took.
Prints figures; asserts nothing.
  python -m bench rebuild [--events N] [--clients 4] [--seconds 8]
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from bench.foundation import META, unit_event
from bench.table import Figure, record
from infra.embedded import EmbeddedPostgres, free_port
from services.goals.app import DEFINITION as GOALS
from shared import versions
from shared.config import Config
from shared.events import NewEvent
from shared.migrate import migrate
from shared.rebuild import rebuild_own
from shared.runtime import Runtime


def fill(runtime: Runtime, n: int, per_command: int = 100) -> None:
    """N events: commands of `per_command` events (a unit created, then renamed)."""
    with psycopg.connect(runtime.config.database_url) as conn:
        for b in range(n // per_command):
            events = [unit_event(b)] + [
                NewEvent("OrgUnitRenamed.v1", {"unit_id": f"org-unit-{b}", "name": f"Enhet {i}"})
                for i in range(per_command - 1)
            ]
            runtime.store.append(conn, f"org-unit-fill-{b}", "org_unit", 0, events, META)
            conn.commit()


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Clients:
    """`count` threads sending one command after another, each timed."""

    def __init__(self, runtime: Runtime, count: int) -> None:
        self.runtime = runtime
        self.count = count
        self.latencies: list[float] = []
        self.failures: list[BaseException] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _run(self, n: int) -> None:
        i = 0
        while not self.stop.is_set():
            unit_id = f"org-unit-{uuid.uuid4()}"
            start = time.perf_counter()
            try:
                with self.runtime.uow() as uow:
                    versions.get(uow.conn, "org-unit-fill-0")  # the access check's read
                    uow.append(unit_id, "org_unit", 0, [unit_event(n * 10_000_000 + i)], META)
            except Exception as exc:
                self.failures.append(exc)
                return
            self.latencies.append(time.perf_counter() - start)
            i += 1

    def __enter__(self) -> Clients:
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(self.count)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


class LastStep(logging.Handler):
    """Catches the rebuild's log line about its last (locking) step."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench rebuild")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0, help="of the baseline")
    args = parser.parse_args(argv)
    caught = LastStep()
    logger = logging.getLogger("shared.rebuild")
    logger.addHandler(caught)
    logger.setLevel(logging.INFO)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        url = pg.create_database("bench_goals")
        migrate(url, GOALS.migrations())
        runtime = Runtime(GOALS, Config("goals", url, "localhost:1", "b.", 1))
        try:
            started = time.perf_counter()
            fill(runtime, args.events)
            print(f"filled {args.events:,} events in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            alone = rebuild_own(runtime.pool, runtime.store, runtime.projections)
            alone_s = time.perf_counter() - started
            print(f"rebuild alone: {alone:,} events at {alone / alone_s:,.0f} events/s")

            with Clients(runtime, args.clients) as base:
                time.sleep(args.seconds)
            print(
                f"{args.clients} clients without a rebuild: {len(base.latencies):,} commands, "
                f"p99 {p99(base.latencies) * 1000:.1f} ms, "
                f"max {max(base.latencies) * 1000:.1f} ms"
            )
            caught.lines.clear()
            with Clients(runtime, args.clients) as during:
                time.sleep(0.5)
                first = len(during.latencies)
                started = time.perf_counter()
                applied = rebuild_own(runtime.pool, runtime.store, runtime.projections)
                seconds = time.perf_counter() - started
                window = during.latencies[first : len(during.latencies)]
            print(
                f"{args.clients} clients during the rebuild: {len(window):,} commands, "
                f"p99 {p99(window) * 1000:.1f} ms, max {max(window) * 1000:.1f} ms"
            )
            print(f"rebuild under load: {applied:,} events at {applied / seconds:,.0f} events/s")
            steps = [line for line in caught.lines if re.search("last step", line)]
            for line in steps:
                print(f"  {line}")
            took = [
                float(m.group(1)) for line in steps if (m := re.search(r"took ([0-9.]+) s", line))
            ]
            if took:
                record(Figure("the rebuild's locked last step under load", max(took) * 1000, "ms"))
            record(
                Figure(
                    f"rebuild of goals' read models alone, {alone:,} events",
                    alone / alone_s,
                    "events/s",
                )
            )
            record(
                Figure(
                    f"rebuild while {args.clients} clients write, {applied:,} events",
                    applied / seconds,
                    "events/s",
                    "the rebuild alone",
                    (applied / seconds) / (alone / alone_s),
                )
            )
            record(
                Figure(
                    f"{args.clients} writing clients' p99 during the rebuild",
                    p99(window) * 1000,
                    "ms",
                    f"without a rebuild {p99(base.latencies) * 1000:.1f} ms",
                    p99(window) / p99(base.latencies),
                )
            )
            failures = base.failures + during.failures
            print(f"failed commands: {len(failures)}" + (f" ({failures[0]!r})" if failures else ""))
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
