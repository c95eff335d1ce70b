"""Foundation benchmarks (issue 2): append, relay and consumer rates on this machine.

Runs its own durable PostgreSQL (fsync on) and Tansu broker, prints figures; asserts nothing.
  python -m bench foundation [--events N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench.table import Figure, at_least, record
from infra.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.goals.app import DEFINITION as GOALS
from services.plans.app import DEFINITION as PLANS
from shared.config import Config
from shared.consumer import read_topics_to_end
from shared.events import Metadata, NewEvent
from shared.migrate import migrate
from shared.relay import Relay
from shared.runtime import Runtime

META = Metadata(actor="key:bench", correlation_id=str(uuid.uuid4()))


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def unit_event(i: int) -> NewEvent:
    return NewEvent(
        "OrgUnitCreated.v1",
        {"unit_id": f"org-unit-{i}", "name": f"Förskola {i}", "kind": "unit", "parent_id": None},
    )


_RAW_INSERT = (
    "INSERT INTO raw_events (position, stream_id, stream_type, version, event_id, event_type, "
    "data, metadata, recorded_at, prev_hash, hash) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s)"
)


def bench_single_appends(runtime: Runtime, n: int) -> dict[str, float]:
    """One event per transaction: through the store, vs a raw INSERT + COMMIT of the same row
    (same columns and indexes, values made up front) into a copy of the events table."""
    with psycopg.connect(runtime.config.database_url) as conn:
        conn.execute("CREATE TABLE raw_events (LIKE events INCLUDING ALL)")
        conn.commit()

        def raw(first: int, last: int) -> None:
            for i in range(first, last):
                conn.execute(
                    _RAW_INSERT,
                    (
                        i + 1,
                        f"raw-{i}",
                        "org_unit",
                        1,
                        uuid.uuid4(),
                        "OrgUnitCreated.v1",
                        Jsonb(unit_event(i).data),
                        Jsonb(META.as_dict()),
                        "0" * 64,
                        "0" * 64,
                    ),
                )
                conn.commit()

        def store(first: int, last: int) -> None:
            for i in range(first, last):
                runtime.store.append(conn, f"single-{i}", "org_unit", 0, [unit_event(i)], META)
                conn.commit()

        # Alternate in slices so that drift in the machine's speed hits both sides alike.
        raw_s = store_s = 0.0
        step = max(n // 10, 1)
        for first in range(0, n, step):
            last = min(first + step, n)
            raw_s += timed(lambda f=first, la=last: raw(f, la))
            store_s += timed(lambda f=first, la=last: store(f, la))
    return {"raw_per_s": rate(n, raw_s), "store_per_s": rate(n, store_s), "ratio": raw_s / store_s}


def bench_batched_appends(runtime: Runtime, n: int, per_command: int = 100) -> float:
    """Commands of `per_command` events each (one stream, one transaction)."""
    with psycopg.connect(runtime.config.database_url) as conn:

        def run() -> None:
            for b in range(n // per_command):
                events = [unit_event(b)] + [
                    NewEvent(
                        "OrgUnitRenamed.v1", {"unit_id": f"org-unit-{b}", "name": f"Enhet {i}"}
                    )
                    for i in range(per_command - 1)
                ]
                runtime.store.append(conn, f"batch-{b}", "org_unit", 0, events, META)
                conn.commit()

        return rate(n - n % per_command, timed(run))


def bench_relay(runtime: Runtime) -> tuple[int, float]:
    relay = Relay(runtime.config, runtime.store)
    with psycopg.connect(runtime.config.database_url, autocommit=True) as conn:
        total = runtime.store.last_position(conn)

        seconds = timed(lambda: relay.catch_up(conn))
    relay.close()
    return total, rate(total, seconds)


def bench_consumer(plans: Runtime, config: Config) -> tuple[int, float]:
    """Apply records already fetched from the topic: the database side of the consumer."""
    batches = list(read_topics_to_end(config, [config.topic("goals")], timeout=300))
    count = sum(len(b) for b in batches)
    with psycopg.connect(plans.config.database_url) as conn:

        def run() -> None:
            for batch in batches:
                for start in range(0, len(batch), 500):  # the consumer's max_poll_records
                    plans.applier.apply_records(conn, batch[start : start + 500])
                    conn.commit()

        return count, rate(count, timed(run))


def record_figures(
    n: int, single: dict[str, float], events: int, batched: float, relayed: int, relay: float
) -> None:
    """The table's rows: appends against a raw INSERT of the same rows, measured alike."""
    record(
        Figure(
            f"single-event append through the store, {n:,} commits",
            single["store_per_s"],
            "events/s",
            f"raw INSERT+COMMIT {single['raw_per_s']:,.0f}/s",
            single["ratio"],
            at_least(0.7, "ratio"),
        )
    )
    record(
        Figure(
            f"batched append, 100-event commands, {events:,} events",
            batched,
            "events/s",
            f"raw INSERT+COMMIT of single rows {single['raw_per_s']:,.0f}/s",
            batched / single["raw_per_s"],
            at_least(20_000),
        )
    )
    record(
        Figure(
            f"relay to the broker, {relayed:,} events", relay, "events/s", target=at_least(20_000)
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench foundation")
    parser.add_argument("--single", type=int, default=2000, help="single appends to time")
    parser.add_argument("--events", type=int, default=50_000, help="batched events to append")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
        EmbeddedBroker(free_port()) as broker,
    ):
        urls = {name: pg.create_database(f"bench_{name}") for name in ("goals", "plans")}
        migrate(urls["goals"], GOALS.migrations())
        migrate(urls["plans"], PLANS.migrations())
        prefix = f"b{uuid.uuid4().hex[:6]}."
        goals_cfg = Config("goals", urls["goals"], broker.bootstrap_servers, prefix, 6)
        plans_cfg = Config("plans", urls["plans"], broker.bootstrap_servers, prefix, 6)
        goals, plans = Runtime(GOALS, goals_cfg), Runtime(PLANS, plans_cfg)
        try:
            print(f"PostgreSQL {pg.url()} durable (fsync on); Tansu {broker.bootstrap_servers}")
            single = bench_single_appends(goals, args.single)
            print(
                f"single-event append: store {single['store_per_s']:,.0f}/s, raw INSERT+COMMIT "
                f"{single['raw_per_s']:,.0f}/s, ratio {single['ratio']:.2f} (target ≥ 0.7)"
            )
            batched = bench_batched_appends(goals, args.events)
            print(f"batched append (100 events/command): {batched:,.0f} events/s (target ≥ 20,000)")
            relayed, relay_rate = bench_relay(goals)
            print(f"relay: {relayed:,} events at {relay_rate:,.0f} events/s (target ≥ 20,000)")
            consumed, consume_rate = bench_consumer(plans, plans_cfg)
            print(f"consumer apply: {consumed:,} events at {consume_rate:,.0f} events/s")
            record_figures(args.single, single, args.events, batched, relayed, relay_rate)
            record(Figure(f"consumer apply, {consumed:,} events", consume_rate, "events/s"))
        finally:
            goals.close()
            plans.close()


if __name__ == "__main__":
    main()
