"""The web pages' server render time (issue #12: p95 ≤ 300 ms) for a municipality-sized dataset.

The dataset: goals made by its command handlers as the API would (bench/goals.py
`build_structure`: the council, 8 committees, the vision, 4 areas, 60 strategic and 240
operational adopted goals with 2 indicators each) plus 91 units under the committees and 400
more indicators, so 100 units, 300 goals and 1,000 indicators, as the reports benchmarks have.
Goals' relay puts its events on a Tansu topic and reports' read models are rebuilt from it
(`rebuild_consumed`, what its consumer would have done); then ten years of results for every
indicator, 5 % corrected (bench/reports.py `result_history`, folded by `rebuild_own`), an
assessment of every goal, 100 approved quality reports and the year's approval (bench/annual.py
`follow_up`). Plans has no plans and the annual wheel no deadlines (their pages show empty
lists). The goals are recorded now (by the handlers), so the scorecard `as_of` is timed at the
end of today, through the same as-of reads; the diff spans a correction of 2017.

Each page is fetched through the gateway's Flask test client (its routing, session, the page's
calls to the services over their real WSGI apps with signed identity, composition and Jinja2
rendering), N times after a warm call; p50, p95 and p99 per page. The reviewer's pages are read
with a session made by the login form with an auditor's key (its cookie is Secure, so those
requests are made as HTTPS). The audit page runs `verify` over every store. The PDFs are left
to `bench annual`. Runs its own PostgreSQL and Tansu;
prints figures, asserts nothing.
  python -m bench web [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.annual import follow_up
from bench.goals import META as GOALS_META
from bench.goals import World, build_structure, decision_by
from bench.reports import BulkLog, percentile, result_history
from bench.table import Figure, at_most, record
from infra.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.gateway import key_commands
from services.gateway.app import DEFINITION as GATEWAY
from services.gateway.app import create_app as create_gateway_app
from services.gateway.upstream import Upstreams
from services.goals import handlers as goals_handlers
from services.goals.app import DEFINITION as GOALS
from services.goals.app import create_app as create_goals_app
from services.goals.domain.indicator import DataSource, Definition, Thresholds
from services.plans.app import DEFINITION as PLANS
from services.plans.app import create_app as create_plans_app
from services.reports.app import DEFINITION as REPORTS
from services.reports.app import create_app as create_reports_app
from shared import values
from shared.config import Config
from shared.events import Metadata
from shared.migrate import migrate
from shared.rebuild import rebuild_consumed, rebuild_own
from shared.relay import Relay
from shared.runtime import Runtime, ServiceDefinition

SECRET = "bench-web-" + uuid.uuid4().hex
YEAR = 2025
UNITS_BELOW = 91  # with the council and 8 committees: 100 units
MORE_INDICATORS = 400  # with build_structure's 600: 1,000
TARGET_P95 = 0.300
DECIDED_ON = dt.date(2023, 3, 1)  # as build_structure's indicators
SERVICES: dict[str, tuple[ServiceDefinition, Callable[..., Any]]] = {
    "goals": (GOALS, create_goals_app),
    "plans": (PLANS, create_plans_app),
    "reports": (REPORTS, create_reports_app),
}


# -- the dataset ---------------------------------------------------------------------------------


def grow(runtime: Runtime, world: World, more_indicators: int = MORE_INDICATORS) -> None:
    """Units under the committees and more indicators on the operational goals, by the goals
    service's handlers, up to the municipality's size."""
    uow = runtime.uow
    for u in range(UNITS_BELOW):
        committee = world.committees[u % len(world.committees)]
        goals_handlers.create_org_unit(
            uow(), GOALS_META, name=f"Enhet {u + 1}", kind="unit", parent_id=committee.id
        )
    operational = [g for g in world.goals.values() if g.level == "operational"]
    for k in range(more_indicators):
        goal = operational[k % len(operational)]
        goals_handlers.define_indicator(
            uow(),
            GOALS_META,
            goal.id,
            definition=Definition(
                f"Indikator {3 + k // len(operational)}",
                "%",
                "higher_is_better",
                DataSource("manual"),
            ),
            decision=decision_by(world.unit(goal.owner_unit_id), DECIDED_ON, 10_000 + k),
            targets={year: 60.0 + year - 2023 for year in range(2023, 2027)},
            thresholds=Thresholds(80.0, 60.0),
        )


def relay_all(goals: Runtime) -> None:
    """Goals' events onto the topic by the real relay, until its checkpoint is the store's head."""
    with psycopg.connect(goals.config.database_url, autocommit=True) as conn:
        row = conn.execute("SELECT max(position) FROM events").fetchone()
        head = int(row[0]) if row and row[0] is not None else 0
        stop = threading.Event()
        relay = Relay(goals.config, goals.store)
        thread = threading.Thread(target=relay.run, args=(stop, 0.2))
        thread.start()
        try:
            while relay.checkpoint(conn) < head:
                time.sleep(0.2)
        finally:
            stop.set()
            thread.join(30)


def indicator_ids(goals: Runtime) -> list[str]:
    with psycopg.connect(goals.config.database_url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT stream_id FROM events WHERE stream_type = 'indicator' ORDER BY 1"
        ).fetchall()
    return [str(r[0]) for r in rows]


def dataset(runtimes: dict[str, Runtime], small: bool = False) -> str:
    """Makes the dataset (a tenth of the goals and indicators when `small`, for quick runs);
    returns a line saying what it is."""
    started = time.perf_counter()
    goals, reports = runtimes["goals"], runtimes["reports"]
    world = build_structure(goals, strategic=6) if small else build_structure(goals)
    grow(goals, world, 40 if small else MORE_INDICATORS)
    relay_all(goals)
    consumed = rebuild_consumed(reports.config, reports.pool, reports.applier)
    indicators = indicator_ids(goals)
    with psycopg.connect(reports.config.database_url) as conn:
        log = BulkLog(conn)
        result_history(log, indicators, random.Random(7))
        log.flush()
    rebuild_own(reports.pool, reports.store, reports.projections)
    assessed, approved = follow_up(reports, world.council.id, 10 if small else 100)
    return (
        f"dataset: 100 units, {len(world.goals)} goals, {len(indicators):,} indicators "
        f"(goals' events relayed, {consumed.applied:,} consumed by reports), {log.written:,} "
        f"result events, {assessed} assessments, {approved} approved quality reports; "
        f"{time.perf_counter() - started:.0f} s to make"
    )


# -- the gateway with the pages ------------------------------------------------------------------


@contextlib.contextmanager
def system(
    pg: EmbeddedPostgres, broker: EmbeddedBroker
) -> Iterator[tuple[Any, Runtime, dict[str, Runtime]]]:
    prefix = f"w{uuid.uuid4().hex[:6]}."
    runtimes: dict[str, Runtime] = {}
    definitions = {name: definition for name, (definition, _) in SERVICES.items()}
    definitions["gateway"] = GATEWAY
    try:
        for name, definition in definitions.items():
            url = pg.create_database(f"bench_web_{name}")
            migrate(url, definition.migrations())
            config = Config(name, url, broker.bootstrap_servers, prefix, 3, internal_secret=SECRET)
            runtimes[name] = Runtime(definition, config)
        apps = {
            name: make(runtimes[name].config, runtimes[name])
            for name, (_, make) in SERVICES.items()
        }
        transports = {name: httpx.WSGITransport(app=app) for name, app in apps.items()}
        upstreams = Upstreams(
            {name: f"http://{name}.bench" for name in SERVICES}, SECRET, 30.0, transports=transports
        )
        gateway = create_gateway_app(
            runtimes["gateway"].config, upstreams=upstreams, runtime=runtimes["gateway"]
        )
        yield gateway, runtimes["gateway"], runtimes
    finally:
        for runtime in runtimes.values():
            runtime.close()


def sample_ids(runtimes: dict[str, Runtime]) -> dict[str, str]:
    """The ids the pages are opened for: an operational goal, the council, a committee, a
    corrected result and an approved quality report."""

    def first(runtime: Runtime, query: str) -> str:
        with psycopg.connect(runtime.config.database_url) as conn:
            row = conn.execute(query).fetchone()
        assert row is not None, query
        return str(row[0])

    goals, reports = runtimes["goals"], runtimes["reports"]
    return {
        "goal": first(
            goals,
            "SELECT stream_id FROM events WHERE event_type LIKE 'GoalDrafted%' "
            "AND data->>'level' = 'operational' ORDER BY position LIMIT 1",
        ),
        "council": first(
            goals,
            "SELECT stream_id FROM events WHERE event_type LIKE 'OrgUnitCreated%' "
            "AND data->>'kind' = 'council'",
        ),
        "committee": first(
            goals,
            "SELECT stream_id FROM events WHERE event_type LIKE 'OrgUnitCreated%' "
            "AND data->>'kind' = 'committee' ORDER BY position LIMIT 1",
        ),
        "result": first(
            reports,
            "SELECT stream_id FROM events WHERE event_type LIKE 'ResultCorrected%' LIMIT 1",
        ),
        "report": first(
            reports,
            "SELECT stream_id FROM events WHERE event_type LIKE 'QualityReportApproved%' LIMIT 1",
        ),
    }


# -- timing --------------------------------------------------------------------------------------


LOGIN = "/review/logga-in"
#: the session cookie is Secure, as in production: the reviewer's requests are HTTPS to it
HTTPS = "https://localhost"


def reviewer_session(gateway: Any, runtime: Runtime) -> Any:
    """A test client logged in through the login form with an auditor's key, as a reviewer
    would be (the form's CSRF token read from the page)."""
    _, key = key_commands.issue(
        runtime,
        Metadata(actor="cli:bench", correlation_id="bench-web"),
        role="auditor",
        scope="*",
        name="bench web",
        check_scope=lambda _scope: None,
    )
    client = gateway.test_client()
    form = client.get(LOGIN, base_url=HTTPS).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found is not None, form[:500]
    answer = client.post(LOGIN, data={"key": key, "csrf_token": found.group(1)}, base_url=HTTPS)
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    return client


def pages(ids: dict[str, str]) -> list[tuple[str, str, bool]]:
    """(label, path, needs a reviewer's session) of each page timed: every page of the issue
    except the PDFs (bench annual times making them)."""
    goal, council = ids["goal"], ids["council"]
    return [
        ("public dashboard", "/", False),
        ("goal page", f"/mal/{goal}", False),
        ("reviewer start", "/review/", True),
        ("scorecard, council, now", f"/review/styrkort?enhet={council}&ar={YEAR}", True),
        (
            "scorecard, council, as_of",
            f"/review/styrkort?enhet={council}&ar={YEAR}&as_of={values.today().isoformat()}",
            True,
        ),
        ("scorecard, a committee", f"/review/styrkort?enhet={ids['committee']}&ar={YEAR}", True),
        ("timeline of a goal", f"/review/historik/{goal}", True),
        ("timeline of a result", f"/review/historik/{ids['result']}", True),
        (
            "diff of a result",
            f"/review/skillnad/{ids['result']}?fran=2017-02-15&till=2017-03-15",
            True,
        ),
        ("plans", "/review/planer", True),
        ("quality reports", "/review/kvalitetsrapporter", True),
        ("a quality report", f"/review/kvalitetsrapporter/{ids['report']}", True),
        ("reports", f"/review/rapporter?ar={YEAR}", True),
        ("annual report (HTML)", f"/review/arsredovisning/{YEAR}", True),
        ("interim report (HTML)", f"/review/delarsrapport/{YEAR}", True),
        ("overdue", "/review/forsenat", True),
        ("audit (verify every store)", "/review/granskning", True),
    ]


def time_page(client: Any, path: str, runs: int) -> tuple[list[float], int]:
    """The seconds of each of `runs` calls after a warm one, and the page's size in bytes."""

    def call() -> int:
        response = client.get(path, base_url=HTTPS)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
        return len(response.get_data())

    size = call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples, size


def report(label: str, samples: list[float], size: int) -> str:
    p50, p95, p99 = (percentile(samples, p) * 1000 for p in (50, 95, 99))
    verdict = "within" if p95 <= TARGET_P95 * 1000 else "OVER"
    return (
        f"  {label:<28} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms "
        f"{size / 1000:8,.1f} kB (target p95 ≤ {TARGET_P95 * 1000:.0f} ms: {verdict})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench web")
    parser.add_argument("--runs", type=int, default=50, help="of each page (50)")
    parser.add_argument(
        "--small", action="store_true", help="a tenth of the goals and indicators (quick runs)"
    )
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
        EmbeddedBroker(free_port()) as broker,
        system(pg, broker) as (gateway, gateway_runtime, runtimes),
    ):
        print(dataset(runtimes, args.small))
        ids = sample_ids(runtimes)
        public = gateway.test_client()
        reviewer = None
        print(f"server render through the gateway's test client, {args.runs} runs after a warm one")
        for label, path, needs_session in pages(ids):
            # the gateway's audit line per request is part of the cost; it goes to stdout
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                if needs_session and reviewer is None:
                    reviewer = reviewer_session(gateway, gateway_runtime)
                client = reviewer if needs_session else public
                samples, size = time_page(client, path, args.runs)
            print(report(label, samples, size))
            record(
                Figure(
                    f"page render p95: {label}",
                    percentile(samples, 95) * 1000,
                    "ms",
                    target=at_most(TARGET_P95 * 1000),
                    note=f"{args.runs} runs, {size / 1000:,.0f} kB"
                    + (", a tenth-size dataset" if args.small else ""),
                )
            )


if __name__ == "__main__":
    main()
