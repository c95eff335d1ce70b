"""What reports keeps of goals.events and plans.events (services/reports/consumed.py, known.py),
on the real PostgreSQL, fed from the services' real events without the broker (except the
rebuild, which reads the topics)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from typing import Any

import pytest

from services.goals import handlers as goals_handlers
from services.goals.domain.decisions import Decision
from services.goals.domain.indicator import Thresholds
from services.goals.seed import seed_id, seed_unit_id
from services.plans import handlers as plans_handlers
from services.plans.domain.activity import Work
from services.reports import known
from shared import values
from shared.access import SqlOrgTree
from shared.consumer import rebuild_consumer_read_models
from shared.envelope import ReceivedEvent
from shared.events import Metadata, RecordedEvent
from shared.relay import Relay
from shared.runtime import Runtime
from tests.support import connect, feed_seeded_goals

META = Metadata(actor="key:test", correlation_id="corr")
KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SECTOR = seed_unit_id("sektor-bou")
SCHOOL = seed_unit_id("hasslerud")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
ELIGIBLE = seed_id("indicator-", "i-behorighet")  # targets 2024-2026, thresholds 88/84
ENERGY = seed_id("indicator-", "i-energi")
BUN_DECISION = Decision(BUN, dt.date(2024, 2, 14), "BUN 2024-02-14 §9")
TABLES = (
    "known_org_units",
    "known_areas",
    "known_goals",
    "known_indicators",
    "known_targets",
    "known_thresholds",
    "known_plans",
    "known_activities",
    "consumed_heads",
)


def events_of(runtime: Runtime, after: int = 0) -> list[RecordedEvent]:
    """The service's events as recorded (as the relay puts them on the wire)."""
    with connect(runtime) as conn:
        return runtime.store.read_all(conn, after, limit=100_000, upcast=False)


def feed(reports: Runtime, service: str, events: list[RecordedEvent]) -> Any:
    """Apply events of a service to reports' read models, as its consumer would."""
    with connect(reports) as conn, conn.transaction():
        return reports.applier.apply_all(
            conn, [ReceivedEvent(f"/styrkort/{service}", e) for e in events]
        )


def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    with connect(runtime) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in TABLES}


@pytest.fixture
def fed(goals: Runtime, plans: Runtime, reports: Runtime) -> dict[str, Any]:
    """Seeded goals with targets changed and an indicator retired, and a plan with activities
    in several states, all applied to reports' read models."""
    feed_seeded_goals(goals, reports)
    seeded = events_of(goals)
    for value in (91.0, 93.5):
        goals_handlers.set_target(goals.uow(), META, ELIGIBLE, None, 2026, value, BUN_DECISION)
    goals_handlers.set_thresholds(
        goals.uow(), META, ELIGIBLE, None, Thresholds(89.0, 85.0), BUN_DECISION
    )
    goals_handlers.retire_indicator(
        goals.uow(),
        META,
        ENERGY,
        None,
        "mäts inte längre",
        Decision(seed_unit_id("mbn"), dt.date(2024, 3, 1), "MBN 2024-03-01 §3"),
    )
    feed(reports, "goals", events_of(goals, seeded[-1].position))

    feed_seeded_goals(goals, plans)  # plans knows the goals it links
    plan = plans_handlers.draft_plan(
        plans.uow(),
        META,
        unit_id=SECTOR,
        period="2025/26",
        title="Handlingsplan läsåret 2025/26",
        goal_ids=[SCHOOL_GOAL],
    )
    work = Work(
        "Lässtunder varje dag",
        "arbetslag åk 1-3",
        dt.date(2025, 8, 20),
        dt.date(2026, 6, 10),
        (SCHOOL_GOAL,),
        (ELIGIBLE,),
    )
    reading = plans_handlers.plan_activity(plans.uow(), META, plan.id, work)
    dropped = plans_handlers.plan_activity(
        plans.uow(), META, plan.id, replace(work, title="Läxhjälp", indicator_ids=())
    )
    plans_handlers.report_progress(
        plans.uow(), META, reading.id, None, "in_progress", "Igång i alla klasser", ""
    )
    plans_handlers.report_progress(plans.uow(), META, reading.id, None, None, "Halvvägs", "")
    plans_handlers.report_progress(
        plans.uow(), META, dropped.id, None, "cancelled", None, "ingen personal"
    )
    today = values.today()
    plans_handlers.adopt_plan(plans.uow(), META, plan.id, None, SECTOR, today, None)
    feed(reports, "plans", events_of(plans))
    return {"plan": plan.id, "reading": reading.id, "dropped": dropped.id, "today": today}


def test_targets_keep_their_history_and_yardsticks_read_as_of(
    reports: Runtime, fed: dict[str, Any]
) -> None:
    with connect(reports) as conn:
        rows = conn.execute(
            "SELECT value, recorded_at FROM known_targets WHERE indicator_id = %s AND year = 2026"
            " ORDER BY position",
            [ELIGIBLE],
        ).fetchall()
        assert [r[0] for r in rows] == [90.0, 91.0, 93.5], "every decision is kept"
        between = rows[1][1]  # when 91 was set, before 93.5 was
        now = known.yardsticks(conn, [ELIGIBLE, ENERGY], [2025, 2026], None)
        assert now[(ELIGIBLE, 2026)] == (93.5, 89.0, 85.0)
        assert now[(ELIGIBLE, 2025)] == (88.0, 89.0, 85.0)
        assert now[(ENERGY, 2025)] == (None, 145.0, 155.0)
        then = known.yardsticks(conn, [ELIGIBLE], [2026], between)
        assert then == {(ELIGIBLE, 2026): (91.0, 88.0, 84.0)}, "as known then"
        before = known.yardsticks(conn, [ELIGIBLE], [2026], rows[0][1] - dt.timedelta(seconds=1))
        assert before == {(ELIGIBLE, 2026): (None, None, None)}
        assert known.yardsticks(conn, [], [2026], None) == {}

        energy = known.indicator(conn, ENERGY)
        assert energy is not None and energy.status == "retired"
        assert energy.direction == "lower_is_better" and energy.source_kind == "manual"
        eligible = known.indicator(conn, ELIGIBLE)
        assert eligible is not None and eligible.status == "active"
        assert eligible.owner_unit_id == BUN and eligible.kpi_id == "N15419"
        assert (eligible.baseline_value, eligible.baseline_year) == (84.0, 2022)
        assert known.indicator(conn, "indicator-unheard-of") is None
        retired_at = conn.execute(
            "SELECT retired_at IS NOT NULL FROM known_indicators WHERE id = %s", [ENERGY]
        ).fetchone()
        assert retired_at == (True,)


def test_goals_units_and_areas(reports: Runtime, fed: dict[str, Any]) -> None:
    with connect(reports) as conn:
        goal = known.goal(conn, SCHOOL_GOAL)
        assert goal is not None
        assert (goal.level, goal.owner_unit_id, goal.period, goal.status) == (
            "operational",
            BUN,
            "2023-2026",
            "adopted",
        )
        assert goal.derived_from == (seed_id("goal-", "s-trygg"),)
        strategic = known.goal(conn, seed_id("goal-", "s-klimat"))
        assert strategic is not None and strategic.perspectives == ("environmental",)
        assert strategic.development_area_id == seed_id("area-", "livsmiljo")
        assert strategic.derived_from == ()
        stamps = conn.execute(
            "SELECT drafted_at <= adopted_at, retired_at FROM known_goals WHERE id = %s",
            [SCHOOL_GOAL],
        ).fetchone()
        assert stamps == (True, None)
        areas = conn.execute("SELECT count(*), min(status) FROM known_areas").fetchone()
        assert areas == (4, "active")

        school = known.unit(conn, SCHOOL)
        assert school == known.UnitRow(SCHOOL, "Hasslerudskolan", "unit", SECTOR, "active")
        assert known.unit(conn, "org-unit-unheard-of") is None
        assert SqlOrgTree().ancestry(conn, SCHOOL) == [SCHOOL, SECTOR, BUN, KF]
        assert SqlOrgTree().root(conn) == KF
        below = known.subtree(conn, BUN)
        assert below[:2] == [BUN, SECTOR]
        assert set(below) == {BUN, SECTOR, seed_unit_id("ljungs"), SCHOOL}
        assert known.subtree(conn, SCHOOL) == [SCHOOL]
        assert known.subtree(conn, "org-unit-unheard-of") == []
        assert len(known.subtree(conn, KF)) == 12


def test_plans_and_activities(reports: Runtime, fed: dict[str, Any]) -> None:
    with connect(reports) as conn:
        plan = known.plan_for(conn, SECTOR, "2025/26")
        assert plan == known.PlanRow(
            fed["plan"], SECTOR, "2025/26", "Handlingsplan läsåret 2025/26", "adopted",
            (SCHOOL_GOAL,),
        )  # fmt: skip
        assert known.plan_for(conn, SECTOR, "2026") is None
        found = {a.id: a for a in known.activities(conn, fed["plan"])}
        reading, dropped = found[fed["reading"]], found[fed["dropped"]]
        assert reading.status == "in_progress"
        assert reading.indicator_ids == (ELIGIBLE,) and reading.goal_ids == (SCHOOL_GOAL,)
        assert (reading.starts_on, reading.due_on) == (dt.date(2025, 8, 20), dt.date(2026, 6, 10))
        assert [n.text for n in reading.notes] == ["Igång i alla klasser", "Halvvägs"]
        assert {n.written_on for n in reading.notes} == {fed["today"]}
        assert dropped.status == "cancelled" and dropped.cancel_reason == "ingen personal"
        assert dropped.cancelled_on == fed["today"] and dropped.notes == ()
        assert known.activities(conn, "plan-unheard-of") == []


def test_unknown_types_are_ignored_and_new_versions_read(
    goals: Runtime, reports: Runtime, fed: dict[str, Any]
) -> None:
    before = snapshot(reports)
    drafted = next(e for e in events_of(goals) if e.event_type == "GoalDrafted.v1")
    new_goal = f"goal-{uuid.uuid4()}"
    strangers = [
        replace(drafted, stream_id=f"goal-{uuid.uuid4()}", event_type="GoalHugged.v1"),
        replace(drafted, stream_id=f"thing-{uuid.uuid4()}", event_type="ThingHappened.v1"),
    ]
    newer = replace(drafted, stream_id=new_goal, event_type="GoalDrafted.v9", position=10**6)
    with connect(reports) as conn, conn.transaction():
        for event in strangers:  # past the consumer's tracking, straight to the projections
            for projection in reports.applier.all_projections:
                projection.apply(conn, event)
        assert snapshot(reports) == before
        # a newer version of a known event is read for the fields it still has, never dropped
        for projection in reports.applier.all_projections:
            projection.apply(conn, newer)
        found = known.goal(conn, new_goal)
    assert found is not None and found.status == "draft"


def test_applying_the_same_events_again_changes_nothing(
    goals: Runtime, plans: Runtime, reports: Runtime, fed: dict[str, Any]
) -> None:
    before = snapshot(reports)
    assert feed(reports, "goals", events_of(goals)).applied == 0, "the consumer skips them"
    assert feed(reports, "plans", events_of(plans)).applied == 0
    assert snapshot(reports) == before
    # and the read models alone, without the consumer's tracking (e.g. a lost tracking row)
    with connect(reports) as conn, conn.transaction():
        for service, runtime in (("goals", goals), ("plans", plans)):
            for event in events_of(runtime):
                for projection in reports.applier.projections[service]:
                    projection.apply(conn, event)
    assert snapshot(reports) == before


def test_every_table_is_declared_for_the_rebuild(reports: Runtime) -> None:
    # consumed_heads is filled by one projection per source; the rebuild copies it once
    declared = set(t for p in reports.applier.all_projections for t in p.tables)
    assert sorted(declared) == sorted(TABLES), "a table left out would be written live"


def test_a_rebuild_from_the_topics_gives_the_same_tables(
    goals: Runtime, plans: Runtime, reports: Runtime, fed: dict[str, Any]
) -> None:
    for runtime in (goals, plans):
        relay = Relay(runtime.config, runtime.store)
        try:
            with connect(runtime) as conn:
                relay.catch_up(conn)
        finally:
            relay.close()
    live = snapshot(reports)
    outcome = rebuild_consumer_read_models(reports.config, reports.pool, reports.applier)
    assert outcome.applied == len(events_of(goals)) + len(events_of(plans))
    assert outcome.gaps == outcome.rejected == 0
    assert snapshot(reports) == live
    with connect(reports) as conn:  # the functions walk the swapped-in table
        assert SqlOrgTree().ancestry(conn, SCHOOL) == [SCHOOL, SECTOR, BUN, KF]
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'known_org_units' ORDER BY 1"
        ).fetchall()
        assert indexes == [("known_org_units_parent_idx",), ("known_org_units_pkey",)]
