"""Annual report benchmark: the målavstämning of a municipality's year as JSON, HTML and PDF.

The dataset is the reports scorecard's (bench/reports.py): 100 units, 4 development areas, 300
goals (60 strategic, 240 operational), 1,000 indicators with targets and thresholds, 10 years of
results (each year's own and an interim one, 5 % corrected) folded by the real rebuild; and, by
the real command handlers, an assessment of every goal and 100 approved quality reports of
2025 (each unit's, with a section per goal it owns), then the council's approval of the year
(which states the chain heads the report shows). Timed, median and max of N runs after a warm
run, through the Flask test client with signed identity headers (routing, signature, query
schema, composition, serialisation or rendering):

- `GET /api/v1/annual-reports/2025` (JSON; target ≤ 2 s)
- `GET /api/v1/annual-reports/2025?format=html` (target ≤ 3 s)
- `GET /api/v1/annual-reports/2025?format=pdf` (target ≤ 15 s), made anew each run, and
  again while the state is unchanged (kept: documents.PDFS)

and, to say where the time goes, the composition alone, the HTML rendering alone and
WeasyPrint's layout and PDF writing alone. Runs its own durable PostgreSQL; prints figures,
asserts nothing.
  python -m bench annual [--runs N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.reports import META, READER, SECRET, BulkLog, municipality, result_history
from bench.table import Figure, at_most, record
from infra.embedded import EmbeddedPostgres, free_port
from services.reports import documents, handlers, known
from services.reports.app import DEFINITION as REPORTS
from services.reports.app import create_app
from services.reports.domain.report import SECTIONS
from shared import values
from shared.config import Config
from shared.identity import sign, signing_target
from shared.migrate import migrate
from shared.rebuild import rebuild_own
from shared.runtime import Runtime

YEAR = 2025
REPORTS_WANTED = 100
VERDICTS = ("met", "partly_met", "not_met", "cannot_be_assessed")


def timed(call: Callable[[], Any], runs: int, warm: bool = True) -> tuple[float, float, Any]:
    """(median, max) seconds of `runs` calls after a warm one (unless not `warm`: quick runs),
    and the last call's value."""
    value = call() if warm else None
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        value = call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples), value


def follow_up(
    runtime: Runtime, council: str = "org-unit-kf", reports_wanted: int = REPORTS_WANTED
) -> tuple[int, int]:
    """Assess every goal and approve 100 quality reports of the year, by the command handlers;
    then the council (its id) approves the year. Returns (assessments, reports)."""
    rng = random.Random(11)
    uow = runtime.uow
    with runtime.pool.connection() as conn:
        goal_ids = [r[0] for r in conn.execute("SELECT id FROM known_goals ORDER BY id")]
        units = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM known_org_units WHERE kind <> 'council' ORDER BY id"
            )
        ]
    for goal_id in goal_ids:
        handlers.assess_goal(
            uow(),
            META,
            goal_id=goal_id,
            year=YEAR,
            verdict=rng.choice(VERDICTS),
            analysis="Analys av måluppfyllelsen: utfallen jämförs med målvärdena. " * 4,
        )
    periods = [(u, str(YEAR)) for u in units]
    periods += [(u, f"{YEAR - 1}/{YEAR % 100:02d}") for u in units]
    approved = 0
    for unit_id, period in periods[:reports_wanted]:
        report = handlers.start_report(uow(), META, unit_id=unit_id, period=period)
        with runtime.pool.connection() as conn:
            served = known.goals_owned_by(conn, unit_id, YEAR)
        for goal_id in served:
            handlers.write_goal_section(
                uow(),
                META,
                report.id,
                None,
                goal_id=goal_id,
                verdict=rng.choice(VERDICTS),
                analysis="Enhetens analys av målet, med orsaker och åtgärder. " * 6,
            )
        changes: list[Callable[[Any], Any]] = [
            lambda r: r.write_quality_assurance(["student_survey"], "Enkäter och jämförelser."),
            lambda r: r.write_improvement_areas([("Rutiner", "Gemensamma rutiner")]),
            *[lambda r, s=section: r.mark_done(s) for section in SECTIONS],
        ]
        for decide in changes:
            handlers.change_report(uow(), META, report.id, None, decide)
        handlers.submit_report(uow(), META, report.id, None)
        handlers.approve_report(
            uow(),
            META,
            report.id,
            None,
            decided_by=unit_id,
            decided_on=values.today(),
            minute_ref=f"§{approved + 1}",
        )
        approved += 1
    handlers.approve_annual_report(
        uow(),
        META,
        year=YEAR,
        decided_by=council,
        decided_on=values.today(),
        minute_ref="KF §45",
    )
    return len(goal_ids), approved


def annual_bench(runtime: Runtime, runs: int, small: bool) -> None:
    indicators, wanted = (100, 10) if small else (1000, REPORTS_WANTED)
    with psycopg.connect(runtime.config.database_url) as conn:
        started = time.perf_counter()
        _, indicator_ids = municipality(conn, random.Random(7), indicators)
        log = BulkLog(conn)
        result_history(log, indicator_ids, random.Random(7))
        log.flush()
    applied = rebuild_own(runtime.pool, runtime.store, runtime.projections)
    assessed, approved = follow_up(runtime, reports_wanted=wanted)
    size = f"300 goals, {indicators:,} indicators, {approved} quality reports"
    print(
        f"dataset: 100 units, 300 goals, {indicators:,} indicators, {log.written:,} result events "
        f"(2016-2026) folded ({applied:,}); {assessed} assessments, {approved} approved "
        f"quality reports, the year approved; {time.perf_counter() - started:.0f} s to make"
    )
    app = create_app(runtime.config, runtime)
    client = app.test_client()

    def get(query: str) -> Callable[[], bytes]:
        url = f"/api/v1/annual-reports/{YEAR}{query}"

        def call() -> bytes:
            headers = sign(SECRET, READER, "GET", signing_target(url), audience="reports")
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            return response.get_data()

        return call

    with runtime.pool.connection() as conn:
        compose_median, _, doc = timed(lambda: documents.compose(conn, "annual", YEAR, None), runs)
    lines = sum(1 for _ in documents.indicator_lines(doc))
    charts = sum(len(area["goals"]) for area in doc["development_areas"])
    print(
        f"annual report {YEAR}: {doc['summary']['goals']} goals, {lines:,} indicator lines, "
        f"{charts} strategic goals charted; {doc['summary']['text']}"
    )
    print(f"  documents.compose        median {compose_median:6.2f} s ({runs} runs)")
    render_median, _, html = timed(lambda: documents.render_html(doc), runs)
    print(f"  documents.render_html    median {render_median:6.2f} s, {len(html) / 1e6:.1f} MB")

    def cold(call: Callable[[], bytes]) -> Callable[[], bytes]:
        def made_anew() -> bytes:
            documents.PDFS.clear()  # a PDF of the same state is kept: measure making it
            return call()

        return made_anew

    for label, call, target in (
        ("JSON", get(""), 2.0),
        ("HTML", get("?format=html"), 3.0),
        ("PDF ", cold(get("?format=pdf")), 15.0),
        ("PDF kept", get("?format=pdf"), 15.0),
    ):
        median, worst, body = timed(call, runs, warm=not small)
        verdict = "within" if median <= target else "OVER"
        print(
            f"  GET {label}  median {median:6.2f} s, max {worst:6.2f} s, "
            f"{len(body) / 1e6:5.1f} MB (target ≤ {target:.0f} s: {verdict})"
        )
        what = {"PDF ": "PDF made anew", "PDF kept": "PDF of an unchanged state (kept)"}
        record(
            Figure(
                f"annual report {YEAR} as {what.get(label, label)}, {size}",
                median,
                "s",
                target=at_most(target),
                note=f"median of {runs}, {len(body) / 1e6:.1f} MB",
            )
        )
    if not small:  # where the time goes: one more PDF, not worth it at quick sizes
        pdf_layout(doc)


def pdf_layout(doc: dict[str, Any]) -> None:
    """Where the PDF's time goes: rendering the HTML, WeasyPrint's layout, writing the PDF; in
    wall time and in this process's CPU time, which stays comparable when other work shares
    the two cores (the wall time then does not)."""
    import weasyprint

    started, cpu_started = time.perf_counter(), time.process_time()
    html = documents.render_html(doc, for_print=True)
    rendered, cpu_rendered = time.perf_counter(), time.process_time()
    laid_out = weasyprint.HTML(string=html, url_fetcher=documents.no_fetching()).render()
    layout, cpu_layout = time.perf_counter(), time.process_time()
    body = laid_out.write_pdf()
    written, cpu_written = time.perf_counter(), time.process_time()
    print(
        f"  PDF in parts: HTML {rendered - started:.2f} s, layout {layout - rendered:.2f} s "
        f"({len(laid_out.pages)} pages), write {written - layout:.2f} s, "
        f"{len(body) / 1e6:.1f} MB; CPU time: HTML {cpu_rendered - cpu_started:.2f} s, "
        f"layout {cpu_layout - cpu_rendered:.2f} s, write {cpu_written - cpu_layout:.2f} s, "
        f"in all {cpu_written - cpu_started:.2f} s"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench annual")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each form (3)")
    parser.add_argument(
        "--small", action="store_true", help="100 indicators and 10 quality reports (quick runs)"
    )
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        print("PostgreSQL durable (fsync on); figures are noisy when the 2 cores are shared")
        url = pg.create_database("bench_annual")
        migrate(url, REPORTS.migrations())
        runtime = Runtime(REPORTS, Config("reports", url, internal_secret=SECRET))
        try:
            annual_bench(runtime, args.runs, args.small)
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
