"""Propagation lag (issue 4): from the commit of a goals event to the plans read model.

On a durable PostgreSQL and Tansu started for the run, the goals relay and the plans consumer
run as they do in production (threads here); a steady load of commands renames organisation
units in goals, and a watcher polls the plans database every 2 ms for each (unit, version).
Lag = first seen in plans - commit in goals (one clock). Prints p50 / p99 / max; asserts nothing.
  python -m bench plans [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from bench.table import Figure, at_most, record
from infra.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.goals import handlers
from services.goals.app import DEFINITION as GOALS
from services.plans.app import DEFINITION as PLANS
from shared.config import Config
from shared.consumer import Consumer
from shared.events import Metadata
from shared.migrate import migrate
from shared.relay import Relay
from shared.runtime import Runtime

UNITS = 200


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench plans")
    parser.add_argument("--rate", type=float, default=50.0, help="goal commands per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the load runs")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
        EmbeddedBroker(free_port()) as broker,
    ):
        urls = {name: pg.create_database(f"bench_{name}") for name in ("goals", "plans")}
        migrate(urls["goals"], GOALS.migrations())
        migrate(urls["plans"], PLANS.migrations())
        prefix = f"p{uuid.uuid4().hex[:6]}."
        goals = Runtime(GOALS, Config("goals", urls["goals"], broker.bootstrap_servers, prefix, 6))
        plans_config = Config(
            "plans",
            urls["plans"],
            broker.bootstrap_servers,
            prefix,
            6,
            kafka_max_poll_interval_ms=3000,
        )
        plans = Runtime(PLANS, plans_config)
        metadata = Metadata(actor="system:bench", correlation_id=str(uuid.uuid4()))
        council = handlers.create_org_unit(
            goals.uow(), metadata, name="KF", kind="council", parent_id=None
        )
        units = [
            handlers.create_org_unit(
                goals.uow(), metadata, name=f"Nämnd {i}", kind="committee", parent_id=council.id
            ).id
            for i in range(UNITS)
        ]
        stop = threading.Event()
        workers = [
            threading.Thread(target=Relay(goals.config, goals.store).run, args=(stop, 1.0)),
            threading.Thread(
                target=Consumer(plans_config, plans.pool, plans.applier).run, args=(stop,)
            ),
        ]
        for worker in workers:
            worker.start()
        committed: dict[tuple[str, int], float] = {}
        seen: dict[tuple[str, int], float] = {}
        watching = threading.Event()

        def watch() -> None:
            with psycopg.connect(urls["plans"], autocommit=True) as conn:
                while not watching.is_set():
                    now = time.time()
                    for unit_id, version in conn.execute(
                        "SELECT id, version FROM known_org_units"
                    ).fetchall():
                        seen.setdefault((unit_id, version), now)
                    time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            # wait until plans has caught up with the set-up, then load steadily
            deadline = time.time() + 120
            while len(seen) < UNITS + 1 and time.time() < deadline:
                time.sleep(0.1)
            interval = 1.0 / args.rate
            start = time.time()
            n = 0
            while time.time() - start < args.seconds:
                unit = units[n % UNITS]
                name = f"Nämnd {n % UNITS} v{n}"  # sibling names are unique
                renamed = handlers.rename_org_unit(goals.uow(), metadata, unit, None, name)
                committed[(unit, renamed.version)] = time.time()
                n += 1
                time.sleep(max(0.0, start + n * interval - time.time()))
            deadline = time.time() + 60
            while not set(committed) <= set(seen) and time.time() < deadline:
                time.sleep(0.05)
        finally:
            watching.set()
            watcher.join()
            stop.set()
            for worker in workers:
                worker.join(30)
            goals.close()
            plans.close()
        lags = [(seen[key] - t) * 1000 for key, t in committed.items() if key in seen]
        missing = len(committed) - len(lags)
        print(
            f"load: {len(committed)} goal events at {args.rate:.0f}/s for {args.seconds:.0f} s"
            f" (relay woken by NOTIFY; the watcher polls every 2 ms)"
        )
        print(
            f"propagation lag commit → plans read model: p50 {statistics.median(lags):.0f} ms,"
            f" p99 {percentile(lags, 0.99):.0f} ms, max {max(lags):.0f} ms "
            f"(target p99 ≤ 200 ms){f'; {missing} never arrived' if missing else ''}"
        )
        load = f"{len(committed)} renames at {args.rate:.0f}/s"
        note = f"{missing} never arrived" if missing else None
        record(Figure(f"goal → plans propagation p50, {load}", statistics.median(lags), "ms"))
        record(
            Figure(
                f"goal → plans propagation p99, {load}",
                percentile(lags, 0.99),
                "ms",
                target=at_most(200),
                note=note,
            )
        )


if __name__ == "__main__":
    main()
