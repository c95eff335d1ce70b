"""The overdue list of a municipality: what `GET /api/v1/overdue` costs on a year's worth of data.

The dataset is bench/reports.py's municipality (100 units, 300 adopted goals for 2023-2026,
1,000 indicators with ten years of results, folded by the real rebuild), with a tenth of the
indicators never given their 2025 result; what reports knows of plans written straight into its
read models (every unit but the council a plan for 2025 and one for 2025/26, 40 activities each,
a third done, a tenth cancelled, the rest open, due dates spread over 2025-2026); quality
reports of 2025 started by half the reporting units and submitted by half of those (events of
reports' own store, folded by the rebuild, as is the council's standard wheel for 2023-2026,
recorded after the results). Then `overdue.overdue` and `GET /api/v1/overdue` (Flask test
client, signed headers: routing, signature check, schema, serialisation), for the whole
municipality and for one committee's subtree, now and `as_of` 1 October 2026; p50 / p95 / p99 of
N runs; target p95 ≤ 200 ms for the whole municipality over HTTP.

Runs its own durable PostgreSQL (fsync on); prints figures, asserts nothing.
  python -m bench wheel [--runs N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from bench.reports import (
    READER,
    SECRET,
    BulkLog,
    at,
    municipality,
    percentile,
    result_history,
    spread,
    time_runs,
)
from bench.table import Figure, at_most, record
from infra.embedded import EmbeddedPostgres, free_port
from services.reports import overdue
from services.reports.app import DEFINITION as REPORTS
from services.reports.app import create_app
from services.reports.domain import calendar, report
from services.reports.domain.calendar import Deadline
from services.reports.domain.decisions import Decision, UnitFacts
from services.reports.domain.report import QualityReport
from services.reports.seed import STANDARD_WHEEL
from shared.config import Config
from shared.identity import sign, signing_target
from shared.migrate import migrate
from shared.rebuild import rebuild_own
from shared.runtime import Runtime

ACTIVITIES_PER_PLAN = 40
PERIODS = ("2025", "2025/26")
PAST = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
NAMES = {"result": "results", "quality_report": "quality reports", "activity": "activities"}


def plans_and_activities(conn: psycopg.Connection[Any], rng: random.Random) -> int:
    """Every unit but the council a plan for each period serving its goals, with activities."""
    units = [r[0] for r in conn.execute("SELECT id FROM known_org_units WHERE kind <> 'council'")]
    goals: dict[str, list[str]] = {}
    for goal_id, owner in conn.execute("SELECT id, owner_unit_id FROM known_goals"):
        goals.setdefault(owner, []).append(goal_id)
    plans, activities = [], []
    now = at(2025, 1, 15)
    for unit in units:
        for period in PERIODS:
            plan_id = f"plan-{unit}-{period.replace('/', '-')}"
            plans.append((plan_id, unit, period, f"Plan {period}", goals.get(unit, ["goal-s0"])))
            for n in range(ACTIVITIES_PER_PLAN):
                due = dt.date(2025, 2, 1) + dt.timedelta(days=rng.randrange(0, 600))
                draw = rng.random()
                status = "done" if draw < 0.33 else "cancelled" if draw < 0.43 else "planned"
                done_on = due - dt.timedelta(days=3) if status == "done" else None
                cancelled_on = due - dt.timedelta(days=30) if status == "cancelled" else None
                activities.append(
                    (
                        f"activity-{plan_id}-{n}",
                        plan_id,
                        f"Aktivitet {n}",
                        "rektor",
                        dt.date(2025, 1, 10),
                        due,
                        status,
                        done_on,
                        cancelled_on,
                    )
                )
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO known_plans (id, unit_id, period, title, status, goal_ids, version,
                   updated_at) VALUES (%s, %s, %s, %s, 'adopted', %s, 2, %s)""",
            [(*p, now) for p in plans],
        )
        cur.executemany(
            """INSERT INTO known_activities (id, plan_id, title, owner, starts_on, due_on, status,
                   completed_on, cancelled_on, version, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s)""",
            [(*a, now) for a in activities],
        )
    conn.commit()
    conn.execute("ANALYZE known_plans")
    conn.execute("ANALYZE known_activities")
    conn.commit()
    return len(activities)


def quality_reports(log: BulkLog, units: list[str]) -> None:
    """Half the units start their 2025 report in January 2026, half of those submit it."""
    for n, unit in enumerate(units[::2]):
        report_id = report.report_id_for(unit, "2025")
        started = QualityReport.Started(report_id, unit, "2025", None, ())
        log.add(report_id, report.STREAM_TYPE, started.TYPE, started.as_data(), at(2026, 1, 10, n))
        if n % 2 == 0:
            submitted = QualityReport.Submitted(report_id, dt.date(2026, 2, 10), ())
            log.add(
                report_id, report.STREAM_TYPE, submitted.TYPE, submitted.as_data(), at(2026, 2, 10)
            )


def wheel(log: BulkLog, council: str) -> None:
    """The council's standard wheel for 2023-2026, as the events the deadline handler appends
    (recorded after the results: the log's clock never goes back)."""
    for year in range(2023, 2027):
        decided_on = dt.date(year - 1, 11, 28)
        for kind, month, day, next_year in STANDARD_WHEEL:
            the_date = dt.date(year + 1 if next_year else year, month, day)
            events = Deadline.set_first(
                kind,
                year,
                the_date,
                None,
                UnitFacts(council, "Kommunfullmäktige", "council", "active"),
                Decision(council, decided_on, f"KF {decided_on} § 112"),
            )
            for event in events:
                stream = calendar.deadline_id(kind, year)
                log.add(stream, calendar.STREAM_TYPE, event.TYPE, event.as_data(), at(2022, 1, 1))


def overdue_bench(runtime: Runtime, runs: int, indicator_count: int = 1000) -> None:
    rng = random.Random(11)
    with psycopg.connect(runtime.config.database_url) as conn:
        council, indicator_ids = municipality(conn, rng, indicator_count)
        log = BulkLog(conn)
        result_history(log, indicator_ids, rng)
        wheel(log, council)
        units = [
            r[0] for r in conn.execute("SELECT id FROM known_org_units WHERE kind <> 'council'")
        ]
        quality_reports(log, units)
        log.flush()
        activities = plans_and_activities(conn, rng)
    rebuild_own(runtime.pool, runtime.store, runtime.projections)
    with psycopg.connect(runtime.config.database_url) as conn:
        # a tenth of the indicators never got their 2025 result
        conn.execute(
            """DELETE FROM result_versions WHERE period = '2025'
                AND indicator_id = ANY(%s)""",
            [indicator_ids[::10]],
        )
        conn.commit()
    committee = "org-unit-c0"
    print(
        f"dataset: {len(units) + 1} units, {len(indicator_ids):,} indicators, "
        f"{log.written:,} result and report events, {activities:,} activities in "
        f"{len(units) * len(PERIODS)} plans, the wheel 2023-2026"
    )
    client = create_app(runtime.config, runtime).test_client()
    for label, as_of in (("now", None), (f"as_of {PAST.date()}", PAST)):
        for scope in (None, committee):
            with runtime.pool.connection() as conn:
                listing = overdue.overdue(conn, as_of, scope)

                def read(c: Any = conn, a: Any = as_of, s: Any = scope) -> None:
                    overdue.overdue(c, a, s)

                direct = time_runs(read, runs)
            url = "/api/v1/overdue?" + "&".join(
                part
                for part in (
                    f"as_of={quote(as_of.isoformat())}" if as_of else "",
                    f"unit_id={scope}" if scope else "",
                )
                if part
            )
            size = [0]

            def get(u: str = url, size: list[int] = size) -> None:
                headers = sign(SECRET, READER, "GET", signing_target(u), audience="reports")
                response = client.get(u, headers=headers)
                assert response.status_code == 200, response.get_data(as_text=True)[:500]
                size[0] = len(response.get_data())

            over_http = time_runs(get, runs)
            counts = ", ".join(f"{n:,} {NAMES[what]}" for what, n in listing["counts"].items())
            where = "the municipality" if scope is None else "one committee's subtree"
            print(f"overdue {label}, {where}: {counts}; {size[0] / 1e6:.2f} MB JSON")
            print(f"  overdue.overdue      p50/p95/p99 {spread(direct)} ms ({runs} runs)")
            print(f"  GET /api/v1/overdue  p50/p95/p99 {spread(over_http)} ms")
            if scope is None:
                record(
                    Figure(
                        f"overdue list {label}, the municipality ({len(indicator_ids):,} "
                        "indicators), over HTTP p95",
                        percentile(over_http, 95) * 1000,
                        "ms",
                        target=at_most(200),
                    )
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench wheel")
    parser.add_argument("--runs", type=int, default=30, help="of each read (30)")
    parser.add_argument("--indicators", type=int, default=1000, help="of the municipality")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        print("PostgreSQL durable (fsync on); figures are noisy when the 2 cores are shared")
        url = pg.create_database("bench_wheel")
        migrate(url, REPORTS.migrations())
        runtime = Runtime(REPORTS, Config("reports", url, internal_secret=SECRET))
        try:
            overdue_bench(runtime, args.runs, args.indicators)
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
