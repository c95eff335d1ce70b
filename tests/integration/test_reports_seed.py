"""The reports demo seed: waits for goals' seeded data, colours the scorecard, approves one
quality report whose improvement proposal becomes an activity of plans, and is idempotent.
(The broker path, with the real consumers, is tested in tests/e2e/test_devstack.py.)"""

from __future__ import annotations

import pytest

from services.reports import overdue, queries, seed
from shared.envelope import ReceivedEvent
from shared.runtime import Runtime
from tests.support import connect, feed_seeded_goals

COUNCIL = seed.seed_id(seed.UNIT_PREFIX, "kf")


def test_without_goals_data_the_seed_waits_then_names_what_is_missing(reports: Runtime) -> None:
    lines: list[str] = []
    with pytest.raises(seed.NotKnownYet, match=r"i-behorighet.*hasslerud, kf"):
        seed.wait_until_known(reports, timeout=0.6, progress=lines.append)
    assert lines and "waiting for goals.events" in lines[0]


def test_seed_colours_the_scorecard_proposes_once_and_is_idempotent(
    goals: Runtime, reports: Runtime, plans: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    feed_seeded_goals(goals, plans)
    first = seed.seed(reports)
    assert "seeded 12 results and 2 assessments and approved" in first
    assert first.endswith("decided 16 deadlines of the annual wheel 2023-2026")

    with connect(reports) as conn:
        before = reports.store.last_position(conn)
        card = queries.scorecard(conn, COUNCIL, 2025, None)
    colours = {
        line["name"]: line["status"]["colour"] for g in card["goals"] for line in g["indicators"]
    }
    assert colours == {
        "Elever i åk 9 behöriga till gymnasiets yrkesprogram": "green",
        "Energianvändning i kommunens lokaler": "yellow",
        "Brukare i särskilt boende som känner sig trygga": "red",
        "Nöjd Medborgar-Index, helhet": "no_data",  # a target for 2026 only
    }
    assert card["summary"]["assessed"]["met"] == 1
    with connect(reports) as conn:
        wheel = overdue.year_calendar(conn, 2025, None)["deadlines"]
        late = overdue.overdue(conn, None)
    assert [(d["kind"], d["date"]) for d in wheel] == [
        ("interim_report_as_of", "2025-08-31"),
        ("results_due", "2026-01-31"),
        ("quality_report_due", "2026-02-15"),
        ("annual_report_due", "2026-04-30"),
    ]
    assert {d["decided_by"] for d in wheel} == {COUNCIL}
    # the committees' reports of 2025 were never written: overdue since 15 February 2026
    owed = {
        (i["owner_unit_id"], i["period"])
        for u in late["units"]
        for i in u["items"]
        if i["what"] == "quality_report"
    }
    assert (seed.seed_id(seed.UNIT_PREFIX, "bun"), "2025") in owed
    assert seed.seed(reports) == (
        "reports: seeded 0 results and 0 assessments "
        "the quality report of Hasslerudskolan 2025 was approved already; "
        "the annual wheel 2023-2026 was decided already"
    )
    with connect(reports) as conn:
        assert reports.store.last_position(conn) == before
        events = reports.store.read_all(conn, limit=10_000, upcast=False)
    proposed = [e for e in events if e.event_type == "ImprovementProposed.v1"]
    assert len(proposed) == 1 and proposed[0].metadata["actor"] == "system:seed"

    # plans' consumer turns it into an activity of the school's 2026 plan
    with connect(plans) as conn, conn.transaction():
        plans.applier.apply_all(conn, [ReceivedEvent("/styrkort/reports", e) for e in events])
    with connect(plans) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE event_type LIKE 'ActivityPlanned%%'"
        ).fetchone()
    assert row is not None and row[0] == 1
