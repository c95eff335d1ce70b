"""Kolada import benchmark: 1,000 KPIs x 5 municipalities x 10 years from a local server.

A local stand-in for Kolada v3 (tests/kolada_server.py's server, answering from rows indexed
by KPI instead of scanning them all) serves generated values: 1,000 KPIs, the municipality
(1471) and the four comparison municipalities, 2016-2025, each value with its split by gender
(T, K, M), 5,000 rows a page. Reports' read models know 1,000 active Kolada indicators (one per
KPI), written straight into `known_indicators`. The client's throttle is off.

Two runs of `import_kolada` into a fresh database: the first import (10,000 results recorded
by the result handlers, 40,000 comparison values in batches) and a re-import of the same data
(every value unchanged: nothing appended). values/s = values handled (KPI x municipality x
year) / the run's wall time, fetching included. Runs its own durable PostgreSQL (fsync on);
prints figures, asserts nothing.
  python -m bench kolada [--kpis 1000] [--years 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from bench.table import Figure, record
from infra.embedded import EmbeddedPostgres, free_port
from services.reports.app import DEFINITION as REPORTS
from services.reports.kolada import KoladaClient
from services.reports.kolada_import import ImportReport, import_kolada
from shared.config import DEFAULT_KOLADA_COMPARISONS, Config
from shared.migrate import migrate
from shared.runtime import Runtime
from tests.kolada_server import KoladaFixtureServer

MUNICIPALITY = "1471"
COMPARISONS = [code for code, _ in DEFAULT_KOLADA_COMPARISONS]
LAST_YEAR = 2025
PAGE = 5000


class IndexedServer(KoladaFixtureServer):
    """The fixture server without its quirks (no 429, a true count), answering from rows
    indexed by (KPI, municipality, year): the benchmark measures the import, not the stand-in."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        super().__init__([], page_size=PAGE, count_lie=0, rate_limit_at=())
        self.index = {(r["kpi"], r["municipality"], int(r["period"])): r for r in rows}

    def answer(
        self, number: int, path: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], Any]:
        parts = path.strip("/").split("/")
        kpis, municipalities, years = (parts[i].split(",") for i in (3, 5, 7))
        chosen = [
            row
            for k in kpis
            for m in municipalities
            for y in years
            if (row := self.index.get((k, m, int(y)))) is not None
        ]
        page = int(query.get("page", ["1"])[0])
        size = min(int(query.get("per_page", [str(PAGE)])[0]), self.page_size)
        start = (page - 1) * size
        following = {k: v[0] for k, v in query.items()} | {"page": str(page + 1)}
        next_url = (
            f"{self.base_url}{path}?" + "&".join(f"{k}={v}" for k, v in following.items())
            if start + size < len(chosen)
            else None
        )
        body = {"values": chosen[start : start + size], "count": len(chosen), "next_url": next_url}
        return 200, {}, body


def generated_rows(kpis: list[str], years: list[int], rng: random.Random) -> list[dict[str, Any]]:
    def entry(gender: str, value: float) -> dict[str, Any]:
        return {"gender": gender, "count": 1, "status": "", "value": value, "isdeleted": False}

    rows = []
    for kpi in kpis:
        for municipality in [MUNICIPALITY, *COMPARISONS]:
            for year in years:
                total = round(40 + rng.random() * 50, 1)
                rows.append(
                    {
                        "kpi": kpi,
                        "municipality": municipality,
                        "period": year,
                        "values": [
                            entry("T", total),
                            entry("K", round(total + 2.5, 1)),
                            entry("M", round(total - 2.5, 1)),
                        ],
                    }
                )
    return rows


def kolada_indicators(conn: psycopg.Connection[Any], kpis: list[str]) -> None:
    """1,000 active Kolada indicators, one per KPI, as reports knows them from goals."""
    created = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO known_goals (id, level, owner_unit_id, period, title, status,
                   development_area_id, derived_from, perspectives, drafted_at, adopted_at,
                   version, updated_at)
               VALUES ('goal-k', 'strategic', 'org-unit-kf', '2023-2026', 'Jämförelser',
                       'adopted', NULL, '{}', '{social}', %s, %s, 2, %s)""",
            [created, created, created],
        )
        cur.executemany(
            """INSERT INTO known_indicators (id, goal_id, name, unit_of_measure, direction,
                   source_kind, kpi_id, status, defined_at, version, updated_at)
               VALUES (%s, 'goal-k', %s, '%%', 'higher_is_better', 'kolada', %s, 'active',
                       %s, 1, %s)""",
            [(f"indicator-{k}", f"Kolada {k}", k, created, created) for k in kpis],
        )
    conn.commit()
    conn.execute("ANALYZE known_indicators")
    conn.commit()


def timed_import(
    runtime: Runtime, server: KoladaFixtureServer, years: list[int]
) -> tuple[ImportReport, float, float, float]:
    """The run, its wall time, the time until everything was fetched, and until the
    municipality's results were handled (the comparison values come after them)."""
    fetched_at: list[float] = []
    results_at: list[float] = []

    def progress(report: ImportReport) -> None:
        if report.planned and not fetched_at:
            fetched_at.append(time.perf_counter())
        if report.comparisons.values and not results_at:
            results_at.append(time.perf_counter())

    with KoladaClient(server.base_url, requests_per_second=0) as client:
        start = time.perf_counter()
        report = import_kolada(
            runtime,
            client,
            municipality=MUNICIPALITY,
            comparisons=COMPARISONS,
            years=years,
            progress=progress,
            progress_every=1,  # so the end of fetching is seen at once
        )
        took = time.perf_counter() - start
    fetched = fetched_at[0] if fetched_at else start + took
    results = results_at[0] if results_at else start + took
    return report, took, fetched - start, results - fetched


def show(what: str, report: ImportReport, took: float, fetching: float, results: float) -> None:
    values = report.planned
    counts = report.totals()
    mine = report.results
    theirs = report.comparisons.values
    print(
        f"{what}: {values:,} values ({report.fetched:,} observations) in {took:.1f} s = "
        f"{values / took:,.0f} values/s; fetching {fetching:.1f} s, {mine:,} results "
        f"{results:.1f} s ({mine / max(results, 1e-9):,.0f}/s), {theirs:,} comparison values "
        f"{took - fetching - results:.1f} s "
        f"({theirs / max(took - fetching - results, 1e-9):,.0f}/s); new {counts['new']:,}, "
        f"corrected {counts['corrected']:,}, unchanged {counts['unchanged']:,}, "
        f"events appended {report.events:,}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench kolada")
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args(argv)
    rng = random.Random(10)
    kpis = [f"N{10000 + k}" for k in range(args.kpis)]
    years = list(range(LAST_YEAR - args.years + 1, LAST_YEAR + 1))
    rows = generated_rows(kpis, years, rng)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
        IndexedServer(rows) as server,
    ):
        print("PostgreSQL durable (fsync on); throttle off; local server, 5,000 rows a page")
        url = pg.create_database("bench_kolada")
        migrate(url, REPORTS.migrations())
        with psycopg.connect(url) as conn:
            kolada_indicators(conn, kpis)
        runtime = Runtime(REPORTS, Config("reports", url))
        try:
            first = timed_import(runtime, server, years)
            show("first import", *first)
            again = timed_import(runtime, server, years)
            show("re-import (unchanged)", *again)
            size = f"{args.kpis:,} KPIs x 5 municipalities x {args.years} years"
            first_rate = first[0].planned / first[1]
            record(Figure(f"Kolada first import, {size}", first_rate, "values/s"))
            record(
                Figure(
                    f"Kolada re-import, all unchanged, {size}",
                    again[0].planned / again[1],
                    "values/s",
                    "the first import",
                    (again[0].planned / again[1]) / first_rate,
                )
            )
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
