"""Warehouse feed benchmarks (issue #11 item 6).

1. Events export: `GET /api/v1/export/reports/events.jsonl` of N events (default 1,000,000;
   --quick 100,000) against PostgreSQL's own `COPY (SELECT <every column> FROM events ORDER BY
   position) TO STDOUT` of the same table, read by a client that only counts bytes. Events/s of
   each and their ratio (target ≥ 0.5). The export runs in a child process (the reports app
   through its WSGI interface, the Flask test client streaming the body; no socket) whose peak
   RSS (VmHWM) is the memory figure (target ≤ 200 MB); 3 interleaved runs, medians. The
   events are results recorded and corrected over ten years, written by COPY with a valid
   hash chain (bench/reports.py BulkLog). The export is then checked offline by
   `shared.verify_export` (events/s).
2. CSV snapshots of the municipality-sized dataset: goals made by their command handlers as
   the API would (bench/goals.py build_structure: council, 10 committees, 300 goals, 600
   indicators with 4 years of targets); reports' knowledge of a municipality and ten years of
   results (bench/reports.py: 1,000 indicators, ~21,000 result events folded by the real
   rebuild). Each table's full snapshot through its route: rows, MB, seconds (median of 3).

Runs its own durable PostgreSQL (fsync on); prints figures, asserts nothing.
  python -m bench warehouse [--quick] [--events N] [--only export|csv]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.goals import build_structure
from bench.reports import BulkLog, municipality, result_history
from bench.table import Figure, at_least, at_most, record
from infra.embedded import EmbeddedPostgres, free_port
from services.goals.app import DEFINITION as GOALS
from services.reports.app import DEFINITION as REPORTS
from shared import verify_export
from shared.config import Config
from shared.identity import Identity, sign, signing_target
from shared.migrate import migrate
from shared.rebuild import rebuild_own
from shared.runtime import Runtime

SECRET = "bench-" + uuid.uuid4().hex
AUDITOR = Identity("key:bench-auditor", "auditor", "*")
COLUMNS = (
    "position, stream_id, stream_type, version, event_id, event_type, data, metadata, "
    "recorded_at, prev_hash, hash"
)


def fill_events(url: str, events: int) -> float:
    """N result events in reports' store, by COPY with a valid chain; the seconds it took."""
    count = max(1, events // 21 + 1)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        log = BulkLog(conn)
        result_history(log, [f"indicator-{i}" for i in range(count)], random.Random(3), events)
        log.flush()
    return time.perf_counter() - started


def copy_to_stdout(url: str) -> tuple[int, int, float]:
    """PostgreSQL's COPY of the events table to a client: (rows, bytes, seconds)."""
    rows = size = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        query = f"COPY (SELECT {COLUMNS} FROM events ORDER BY position) TO STDOUT"
        with cur.copy(query) as copy:
            for block in copy:
                size += len(block)
                rows += bytes(block).count(b"\n")
        return rows, size, time.perf_counter() - started


def memory_kb() -> tuple[int, int]:
    """(resident now, peak resident) of this process in kB: VmRSS and VmHWM, which start anew
    with the exec (getrusage's ru_maxrss would keep the forking parent's peak)."""
    fields = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.split()[0] if value.split() else "0"
    return int(fields["VmRSS"]), int(fields["VmHWM"])


def export_child(url: str, out: str) -> None:
    """In the child process: stream the export through the reports app into `out` (`-`: count
    only); print events, bytes, seconds, the resident memory before and the peak, as JSON."""
    from services.reports.app import create_app

    runtime = Runtime(REPORTS, Config("reports", url, internal_secret=SECRET))
    app = create_app(runtime.config, runtime)
    client = app.test_client()
    path = "/api/v1/export/reports/events.jsonl"
    before, _ = memory_kb()
    headers = sign(SECRET, AUDITOR, "GET", signing_target(path), audience="reports")
    lines = size = 0
    started = time.perf_counter()
    response = client.get(path, headers=headers, buffered=False)
    assert response.status_code == 200, response.status_code
    with open(out if out != "-" else os.devnull, "wb") as sink:
        for chunk in response.response:
            lines += chunk.count(b"\n")
            size += len(chunk)
            if out != "-":  # the timed runs only count, as the COPY's client does
                sink.write(chunk)
    seconds = time.perf_counter() - started
    response.close()
    _, peak = memory_kb()
    runtime.close()
    figures = {"events": lines, "bytes": size, "seconds": seconds, "rss_before_kb": before}
    print(json.dumps({**figures, "peak_rss_kb": peak}))


def run_export(url: str, out: str) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, "-m", "bench.warehouse", "--child", url, out],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures


def export_bench(pg: EmbeddedPostgres, events: int, check: bool, runs: int) -> None:
    url = pg.create_database("bench_warehouse_events")
    migrate(url, REPORTS.migrations())
    made = fill_events(url, events)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events")
    print(f"events: {events:,} results recorded/corrected, written by COPY in {made:.1f} s")
    copies, exports = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "events.jsonl")
        for _ in range(runs):  # interleaved, so other work on the cores hits both alike
            copies.append(copy_to_stdout(url))
            exports.append(run_export(url, "-"))
        rows, size, _ = copies[0]
        copy_rate = statistics.median(rows / seconds for rows, _, seconds in copies)
        rate = statistics.median(f["events"] / f["seconds"] for f in exports)
        print(
            f"  COPY (SELECT … FROM events ORDER BY position) TO STDOUT: {rows:,} rows, "
            f"{size / 1e6:,.0f} MB: {copy_rate:,.0f} rows/s (median of {runs})"
        )
        print(
            f"  GET …/export/reports/events.jsonl: {exports[0]['events']:,} events, "
            f"{exports[0]['bytes'] / 1e6:,.0f} MB: {rate:,.0f} events/s (median of {runs}); "
            f"ratio to COPY {rate / copy_rate:.2f} (target ≥ 0.5)"
        )
        pairs = ", ".join(
            f"{(f['events'] / f['seconds']) / (r / s):.2f}"
            for (r, _, s), f in zip(copies, exports, strict=True)
        )
        print(f"    ratio of each interleaved pair: {pairs}")
        peak = max(f["peak_rss_kb"] for f in exports)
        before = max(f["rss_before_kb"] for f in exports)
        print(
            f"  exporting process: peak RSS {peak / 1024:,.0f} MB ({before / 1024:,.0f} MB with "
            f"the app loaded, before the export; target ≤ 200 MB)"
        )
        record(
            Figure(
                f"JSONL events export of {exports[0]['events']:,} events",
                rate,
                "events/s",
                f"COPY … TO STDOUT {copy_rate:,.0f} rows/s",
                rate / copy_rate,
                at_least(0.5, "ratio"),
                note=f"median of {runs} interleaved pairs",
            )
        )
        record(
            Figure(
                f"peak RSS of the exporting process, {exports[0]['events']:,} events",
                peak / 1024,
                "MB",
                f"app loaded, before the export {before / 1024:,.0f} MB",
                peak / before,
                at_most(200),
            )
        )
        if check:
            run_export(url, out)  # once more into a file, untimed
            started = time.perf_counter()
            result = verify_export.check_file(Path(out))
            took = time.perf_counter() - started
            print(
                f"  python -m shared.verify_export: {result.summary()[:60]}… in {took:.1f} s = "
                f"{result.checked / took:,.0f} events/s"
            )


def snapshot(client: Any, service: str, table: str, runs: int = 3) -> tuple[int, int, float]:
    """One table's full CSV snapshot over the app: (rows, bytes, median seconds)."""
    path = f"/api/v1/export/{service}/{table}.csv"
    samples = []
    body = b""
    for _ in range(runs):
        headers = sign(SECRET, AUDITOR, "GET", signing_target(path), audience=service)
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        body = answer.get_data()
        samples.append(time.perf_counter() - started)
        assert answer.status_code == 200, body[:300]
    return body.count(b"\r\n") - 1, len(body), statistics.median(samples)


def csv_bench(pg: EmbeddedPostgres) -> None:
    from services.goals.app import create_app as goals_app
    from services.reports.app import create_app as reports_app

    goals_url = pg.create_database("bench_warehouse_goals")
    migrate(goals_url, GOALS.migrations())
    reports_url = pg.create_database("bench_warehouse_reports")
    migrate(reports_url, REPORTS.migrations())
    goals = Runtime(GOALS, Config("goals", goals_url, internal_secret=SECRET))
    reports = Runtime(REPORTS, Config("reports", reports_url, internal_secret=SECRET))
    try:
        started = time.perf_counter()
        world = build_structure(goals)
        print(
            f"goals: {len(world.goals)} goals, {len(world.indicators)} indicators made by their "
            f"handlers in {time.perf_counter() - started:.1f} s"
        )
        rng = random.Random(7)
        with psycopg.connect(reports_url) as conn:
            _, indicator_ids = municipality(conn, rng)
            log = BulkLog(conn)
            result_history(log, indicator_ids, rng)
            log.flush()
        rebuild_own(reports.pool, reports.store, reports.projections)
        print(f"reports: {len(indicator_ids):,} indicators, {log.written:,} result events")
        total = 0.0
        for service, app in (
            ("goals", goals_app(goals.config, goals)),
            ("reports", reports_app(reports.config, reports)),
        ):
            client = app.test_client()
            for table in _tables(service):
                rows, size, seconds = snapshot(client, service, table)
                total += seconds
                print(
                    f"  {service}/{table}.csv: {rows:,} rows, {size / 1e6:.2f} MB in "
                    f"{seconds * 1000:.0f} ms (median of 3)"
                )
        print(f"  all tables of both: {total:.2f} s")
        record(Figure("CSV snapshot of every table, municipality-sized", total, "s"))
    finally:
        goals.close()
        reports.close()


def _tables(service: str) -> list[str]:
    if service == "goals":
        from services.goals.warehouse import TABLES
    else:
        from services.reports.warehouse import TABLES
    return [t.name for t in TABLES]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench warehouse")
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--events", type=int, help="events to export (1,000,000; quick 100,000)")
    parser.add_argument("--only", choices=("export", "csv"), help="one part only")
    parser.add_argument("--no-verify", action="store_true", help="skip the offline check")
    parser.add_argument("--runs", type=int, default=3, help="interleaved COPY/export pairs")
    args = parser.parse_args(argv)
    events = args.events or (100_000 if args.quick else 1_000_000)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        print("PostgreSQL durable (fsync on); figures are noisy when the 2 cores are shared")
        if args.only in (None, "export"):
            print(f"-- 1. events export of {events:,} events")
            export_bench(pg, events, not args.no_verify, args.runs)
        if args.only in (None, "csv"):
            print("-- 2. CSV snapshots, municipality-sized")
            csv_bench(pg)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        export_child(sys.argv[2], sys.argv[3])
    else:
        main()
