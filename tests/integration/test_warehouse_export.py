"""The data-warehouse feed (issue #11 item 6) from the real services with the demo data:
the tables load into DuckDB (CSV and Parquet) and into PostgreSQL with COPY as
docs/warehouse.md says, and join up; a cursor gives exactly the rows changed since it; the
events export verifies offline, and a tampered line is named."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from infra.embedded import EmbeddedPostgres, create_database
from services.goals.app import create_app as goals_app
from services.plans.app import create_app as plans_app
from services.reports import seed
from services.reports.app import create_app as reports_app
from shared import admin, verify_export
from shared.envelope import ReceivedEvent
from shared.runtime import Runtime
from shared.warehouse import NEXT_SINCE_HEADER, create_table_sql
from tests.support import (
    AUDITOR,
    EDITOR,
    READER,
    REPO,
    SignedClient,
    connect,
    feed_seeded_goals,
)

COUNCIL = seed.seed_id(seed.UNIT_PREFIX, "kf")
TABLES = {
    "goals": ["units", "goals", "indicators", "targets", "goal_decisions"],
    "plans": ["plans", "activities", "plan_decisions"],
    "reports": ["results", "statuses", "quality_reports", "report_decisions"],
}
#: DuckDB reads a quoted empty field as NULL unless told not to; "" is an empty text here
KEEP_EMPTY = "ALLOW_QUOTED_NULLS false"
#: results ↔ indicators ↔ goals ↔ units: each result with the unit owning its goal
JOIN = """SELECT count(*), count(DISTINCT u.unit_id)
            FROM results r JOIN indicators i ON i.indicator_id = r.indicator_id
            JOIN goals g ON g.goal_id = i.goal_id JOIN units u ON u.unit_id = g.owner_unit_id
           WHERE r.current"""


@pytest.fixture
def seeded(goals: Runtime, plans: Runtime, reports: Runtime) -> dict[str, Any]:
    """The three services with the demo data, and an auditor's client of each."""
    feed_seeded_goals(goals, reports)
    feed_seeded_goals(goals, plans)
    seed.seed(reports)
    with connect(reports) as conn:
        events = reports.store.read_all(conn, limit=10_000, upcast=False)
    with connect(plans) as conn, conn.transaction():
        plans.applier.apply_all(conn, [ReceivedEvent("/styrkort/reports", e) for e in events])
    apps = {
        "goals": goals_app(runtime=goals),
        "plans": plans_app(runtime=plans),
        "reports": reports_app(runtime=reports),
    }
    runtimes = {"goals": goals, "plans": plans, "reports": reports}
    return {
        "apps": apps,
        "runtimes": runtimes,
        "auditor": {name: SignedClient(app, AUDITOR) for name, app in apps.items()},
    }


def export_all(seeded: dict[str, Any], out: Path, fmt: str) -> dict[str, dict[str, Any]]:
    """Every table of every service written to `out` as a loader would; their descriptions."""
    described = {}
    for service, client in seeded["auditor"].items():
        listing = client.get(f"/api/v1/export/{service}/tables")
        assert listing.status_code == 200, listing.get_data(as_text=True)
        assert [t["name"] for t in listing.get_json()["tables"]] == TABLES[service]
        for table in listing.get_json()["tables"]:
            answer = client.get(f"/api/v1/export/{service}/{table['name']}.{fmt}")
            assert answer.status_code == 200, answer.get_data(as_text=True)
            assert int(answer.headers[NEXT_SINCE_HEADER]) > 0
            (out / f"{table['name']}.{fmt}").write_bytes(answer.get_data())
            described[table["name"]] = table
    return described


def expected_counts(seeded: dict[str, Any]) -> dict[str, int]:
    """Rows each table should have, counted in the services' own databases."""
    queries = {
        "goals": {
            "units": "SELECT count(*) FROM entity_versions "
            "WHERE entity_type = 'org_unit' AND valid_to IS NULL",
            "goals": "SELECT count(*) FROM entity_versions "
            "WHERE entity_type = 'goal' AND valid_to IS NULL",
            "indicators": "SELECT count(*) FROM entity_versions "
            "WHERE entity_type = 'indicator' AND valid_to IS NULL",
            "targets": "SELECT count(*) FROM entity_versions, "
            "jsonb_object_keys(state -> 'targets') "
            "WHERE entity_type = 'indicator' AND valid_to IS NULL",
            "goal_decisions": "SELECT count(*) FROM events WHERE data ? 'decided_by'",
        },
        "plans": {
            "plans": "SELECT count(*) FROM entity_versions "
            "WHERE entity_type = 'action_plan' AND valid_to IS NULL",
            "activities": "SELECT count(*) FROM entity_versions "
            "WHERE entity_type = 'activity' AND valid_to IS NULL",
            "plan_decisions": "SELECT count(*) FROM events WHERE data ? 'decided_by'",
        },
        "reports": {
            "results": "SELECT count(*) FROM result_versions",
            "statuses": "SELECT count(DISTINCT (indicator_id, year)) FROM result_versions "
            "WHERE valid_to IS NULL AND status = 'recorded'",
            "quality_reports": "SELECT count(*) FROM entity_versions "
            "WHERE entity_type = 'quality_report' AND valid_to IS NULL",
            "report_decisions": "SELECT count(*) FROM events WHERE data ? 'decided_by'",
        },
    }
    counts = {}
    for service, by_table in queries.items():
        with connect(seeded["runtimes"][service]) as conn:
            for table, sql in by_table.items():
                row = conn.execute(sql).fetchone()
                assert row is not None
                counts[table] = row[0]
    return counts


def test_the_tables_load_into_duckdb_from_csv_and_parquet_and_join_up(
    seeded: dict[str, Any], tmp_path: Path
) -> None:
    counts = expected_counts(seeded)
    assert counts["results"] == 12 and counts["units"] == 12 and counts["goal_decisions"] > 0
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        out.mkdir()
        described = export_all(seeded, out, fmt)
        db = duckdb.connect()
        for name, table in described.items():
            path = str(out / f"{name}.{fmt}")
            if fmt == "csv":  # as docs/warehouse.md: the documented types, then COPY
                db.execute(create_table_sql(table, "duckdb"))
                db.execute(f"COPY \"{name}\" FROM '{path}' (FORMAT csv, HEADER, {KEEP_EMPTY})")
            else:  # Parquet carries its types
                db.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{path}')")
            loaded = db.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            assert loaded == (counts[name],), (fmt, name)
        assert db.execute(JOIN).fetchone() == (12, 4), fmt
        # typed as documented, in both formats
        kinds = dict(db.execute("DESCRIBE results").fetchall()[i][:2] for i in range(17))
        assert kinds["recorded_at"] == "TIMESTAMP WITH TIME ZONE"
        assert kinds["value"] == "DOUBLE" and kinds["interim"] == "BOOLEAN"
        assert db.execute("SELECT typeof(decided_on) FROM goal_decisions LIMIT 1").fetchone() == (
            "DATE",
        )
        # text with Swedish letters, NULL apart from the empty string
        assert db.execute(
            "SELECT count(*) FROM indicators WHERE name LIKE '%åk 9%'"
        ).fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM units WHERE parent_id IS NULL").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM results WHERE comment IS NULL").fetchone() == (0,)
        colours = dict(
            db.execute(
                "SELECT colour, count(*) FROM statuses WHERE year = 2025 GROUP BY 1"
            ).fetchall()
        )
        assert colours["green"] >= 1 and colours["red"] >= 1
        db.close()


def test_the_csv_loads_into_postgresql_with_copy(
    seeded: dict[str, Any], tmp_path: Path, pg_server: EmbeddedPostgres
) -> None:
    described = export_all(seeded, tmp_path, "csv")
    url = create_database(pg_server.url(), "warehouse_copy_test")
    counts = expected_counts(seeded)
    with psycopg.connect(url, autocommit=True) as conn:
        for name, table in described.items():
            conn.execute(create_table_sql(table, "postgresql"))  # type: ignore[arg-type]
            # what `\copy name FROM 'name.csv' CSV HEADER` does in psql
            with conn.cursor().copy(f'COPY "{name}" FROM STDIN (FORMAT csv, HEADER)') as copy:
                copy.write((tmp_path / f"{name}.csv").read_bytes())
            row = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()  # type: ignore[arg-type]
            assert row == (counts[name],), name
        assert conn.execute(JOIN).fetchone() == (12, 4)  # type: ignore[arg-type]
        empty = conn.execute("SELECT count(*) FROM results WHERE comment = ''").fetchone()
        assert empty is not None and empty[0] > 0  # "" stays an empty text, not NULL
        ids = conn.execute("SELECT derived_from FROM goals WHERE level = 'operational'").fetchall()
        assert ids and all(isinstance(r[0], list) for r in ids)  # json columns as jsonb


def csv_rows(answer: Any) -> list[str]:
    return answer.get_data(as_text=True).split("\r\n")[1:-1]


def test_since_a_cursor_gives_exactly_the_rows_changed_after_it(seeded: dict[str, Any]) -> None:
    auditor = seeded["auditor"]["goals"]
    editor = SignedClient(seeded["apps"]["goals"], EDITOR)
    snapshot = auditor.get("/api/v1/export/goals/units.csv")
    cursor = int(snapshot.headers[NEXT_SINCE_HEADER])
    assert len(csv_rows(snapshot)) == 12
    for table in TABLES["goals"]:  # nothing changed yet: headers alone, the same cursor
        answer = auditor.get(f"/api/v1/export/goals/{table}.csv?since={cursor}")
        assert csv_rows(answer) == [] and answer.headers[NEXT_SINCE_HEADER] == str(cursor)

    made = editor.post(
        "/api/v1/org-units",
        {"name": 'Lagerlöfska "nya"', "kind": "committee", "parent_id": COUNCIL},
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    indicator = seed.seed_id(seed.INDICATOR_PREFIX, "i-behorighet")
    with connect(seeded["runtimes"]["goals"]) as conn:
        owner = conn.execute(  # the committee owning the indicator's goal decides its targets
            "SELECT g.state ->> 'owner_unit_id' FROM entity_versions i JOIN entity_versions g "
            "ON g.entity_id = i.state ->> 'goal_id' AND g.valid_to IS NULL "
            "WHERE i.entity_id = %s AND i.valid_to IS NULL",
            [indicator],
        ).fetchone()
    assert owner is not None
    target = editor.post(
        f"/api/v1/indicators/{indicator}/targets",
        {
            "year": 2023,
            "value": 85.5,
            "decided_by": owner[0],
            "decided_on": "2023-03-01",
            "minute_ref": "KF 2023-03-01 § 4",
        },
    )
    assert target.status_code == 200, target.get_data(as_text=True)

    units = auditor.get(f"/api/v1/export/goals/units.csv?since={cursor}")
    [row] = csv_rows(units)
    assert row.startswith(
        f'"{made.get_json()["id"]}","Lagerlöfska ""nya""","committee","{COUNCIL}"'
    )
    targets = csv_rows(auditor.get(f"/api/v1/export/goals/targets.csv?since={cursor}"))
    assert [r.split(",")[:3] for r in targets] == [
        [f'"{indicator}"', "2023", "85.5"],
        [f'"{indicator}"', "2024", "86.0"],
        [f'"{indicator}"', "2025", "88.0"],
        [f'"{indicator}"', "2026", "90.0"],
    ]
    decisions = csv_rows(auditor.get(f"/api/v1/export/goals/goal_decisions.csv?since={cursor}"))
    assert len(decisions) == 1 and '"KF 2023-03-01 § 4"' in decisions[0]
    assert csv_rows(auditor.get(f"/api/v1/export/goals/goals.csv?since={cursor}")) == []
    following = int(units.headers[NEXT_SINCE_HEADER])
    assert following == cursor + 2
    assert csv_rows(auditor.get(f"/api/v1/export/goals/units.csv?since={following}")) == []
    # the snapshot now has the new unit too
    assert len(csv_rows(auditor.get("/api/v1/export/goals/units.csv"))) == 13


def test_the_routes_are_the_auditors_and_bad_queries_are_named(seeded: dict[str, Any]) -> None:
    reader = SignedClient(seeded["apps"]["reports"], READER)
    for path in ("tables", "results.csv", "results.parquet"):
        refused = reader.get(f"/api/v1/export/reports/{path}")
        assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    auditor = seeded["auditor"]["reports"]
    for bad in ("-1", "x", "1.5", str(2**63)):
        answer = auditor.get(f"/api/v1/export/reports/results.csv?since={bad}")
        assert answer.status_code == 422, bad
        assert "since" in json.dumps(answer.get_json())
    for _ in range(15):  # answers closed unread give their connection back (a pool of 10)
        auditor.get("/api/v1/export/reports/results.csv").close()
    assert auditor.get("/api/v1/export/reports/results.csv").status_code == 200
    spec = seeded["apps"]["reports"].test_client().get("/api/v1/openapi.json").get_json()
    for suffix in ("csv", "parquet"):
        answer = spec["paths"][f"/api/v1/export/reports/{{name}}.{suffix}"]["get"]["responses"]
        assert NEXT_SINCE_HEADER in answer["200"]["headers"]
    unknown = auditor.get("/api/v1/export/reports/budget.csv")
    assert unknown.status_code == 404 and "results" in unknown.get_json()["detail"]


def test_the_events_export_verifies_offline_resumes_and_names_a_tampered_line(
    seeded: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auditor = seeded["auditor"]["reports"]
    with connect(seeded["runtimes"]["reports"]) as conn:
        head = conn.execute("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        last, head_hash = head.fetchone() or (0, "")
    whole = auditor.get("/api/v1/export/reports/events.jsonl").get_data()
    lines = whole.splitlines(keepends=True)
    assert len(lines) == last > 20
    full = tmp_path / "full.jsonl"
    full.write_bytes(whole)
    assert verify_export.main([str(full)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"OK: {last} events, positions 1..{last}, head {head_hash}"
    )

    # resumed after the 20th event: the rest, and it joins the first part's head
    first = lines[:20]
    rest = auditor.get("/api/v1/export/reports/events.jsonl?after=20").get_data()
    assert b"".join(first) + rest == whole
    part = tmp_path / "rest.jsonl"
    part.write_bytes(rest)
    joined = json.loads(first[-1])["hash"]
    assert verify_export.main([str(part), "--after-hash", joined]) == 0
    assert verify_export.main([str(part)]) == 0  # from its own first prevhash
    assert verify_export.main([str(part), "--after-hash", "ab" * 32]) == 1
    assert "BROKEN at line 1: position 21: prev_hash" in capsys.readouterr().err

    # one value changed in the 7th line: that line is named, nothing before it doubted
    event = json.loads(lines[6])
    key = next(k for k, v in sorted(event["data"].items()) if isinstance(v, str | int) and v)
    event["data"][key] = event["data"][key] * 2  # "a" -> "aa", 2025 -> 4050
    assert json.loads(lines[6])["data"] != event["data"]
    tampered = [*lines[:6], json.dumps(event).encode() + b"\n", *lines[7:]]
    bad = tmp_path / "tampered.jsonl"
    bad.write_bytes(b"".join(tampered))
    assert verify_export.main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("BROKEN at line 7: position 7: hash does not match"), err
    assert "6 lines before it verified" in err
    # a line removed: the gap is named
    gap = tmp_path / "gap.jsonl"
    gap.write_bytes(b"".join(lines[:9] + lines[10:]))
    assert verify_export.main([str(gap)]) == 1
    assert "BROKEN at line 10: position 11: position 10 is missing" in capsys.readouterr().err
    # the check reads a stream: the same answer from memory
    assert verify_export.check_lines(io.BytesIO(whole)).head_hash == head_hash


def test_an_export_left_half_read_gives_its_connection_back(
    seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin, "EXPORT_CHUNK", 1)  # a chunk a line: the copy is mid-way
    auditor = seeded["auditor"]["reports"]
    whole = auditor.get("/api/v1/export/reports/events.jsonl").get_data()
    for _ in range(12):  # more than the pool's 10 connections
        answer = auditor.get("/api/v1/export/reports/events.jsonl")
        body = iter(answer.response)
        first = [next(body) for _ in range(3)]
        assert b"".join(first) == b"".join(whole.splitlines(keepends=True)[:3])
        answer.close()
    assert auditor.get("/api/v1/export/reports/events.jsonl").get_data() == whole


def test_docs_list_every_table_and_column_with_its_type() -> None:
    from services.goals.warehouse import TABLES as GOALS_TABLES
    from services.plans.warehouse import TABLES as PLANS_TABLES
    from services.reports.warehouse import TABLES as REPORTS_TABLES

    docs = (REPO / "docs" / "warehouse.md").read_text(encoding="utf-8")
    for service, tables in (
        ("goals", GOALS_TABLES),
        ("plans", PLANS_TABLES),
        ("reports", REPORTS_TABLES),
    ):
        assert [t.name for t in tables] == TABLES[service]
        for table in tables:
            section = docs.split(f"#### `{table.name}` — `/api/v1/export/{service}/")[1]
            section = section.split("#### ")[0]
            rows = [line for line in section.splitlines() if line.startswith("| `")]
            documented = [tuple(cell.strip(" `") for cell in r.split("|")[1:3]) for r in rows]
            assert documented == [(c.name, c.type) for c in table.columns], table.name


def test_a_correction_since_a_cursor_sends_both_versions_and_the_new_status(
    seeded: dict[str, Any],
) -> None:
    auditor = seeded["auditor"]["reports"]
    editor = SignedClient(seeded["apps"]["reports"], EDITOR)
    snapshot = auditor.get("/api/v1/export/reports/results.csv")
    cursor = int(snapshot.headers[NEXT_SINCE_HEADER])
    indicator = seed.seed_id(seed.INDICATOR_PREFIX, "i-behorighet")
    [line] = [r for r in csv_rows(snapshot) if f'"{indicator}","2025"' in r]
    result_id = line.split(",")[0].strip('"')
    assert csv_rows(auditor.get(f"/api/v1/export/reports/statuses.csv?since={cursor}")) == []

    corrected = editor.post(
        f"/api/v1/results/{result_id}/correct", {"value": 95.5, "reason": "källan rättad"}
    )
    assert corrected.status_code == 200, corrected.get_data(as_text=True)

    rows = [
        r.split(",")
        for r in csv_rows(auditor.get(f"/api/v1/export/reports/results.csv?since={cursor}"))
    ]
    assert [(r[0].strip('"'), r[1], r[6], r[12], r[13]) for r in rows] == [
        (result_id, "1", "89.1", "false", "false"),  # the first value, superseded
        (result_id, "2", "95.5", "true", "true"),  # the correction, current
    ]
    assert rows[0][15] == rows[1][14] != ""  # superseded when the correction was recorded
    assert rows[1][15] == ""  # the current version is not superseded
    statuses = csv_rows(auditor.get(f"/api/v1/export/reports/statuses.csv?since={cursor}"))
    assert statuses and all(s.startswith(f'"{indicator}",') for s in statuses)
    [year] = [s.split(",") for s in statuses if s.startswith(f'"{indicator}",2025,')]
    assert year[2] == '"green"' and year[5] == "95.5"
