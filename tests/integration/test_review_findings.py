"""Findings of the hostile review after the access and rules work, replayed: a closed unit
still decided in plans, a revision dropped a goal its open activities serve, one malformed
improvement proposal could stop the consumer, and an invisible character made a second
sibling with the same name. Each is refused (or recorded as rejected) and changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from services.goals.app import create_app as create_goals_app
from services.goals.seed import seed_id, seed_unit_id
from services.plans.app import create_app as create_plans_app
from shared import values
from shared.envelope import ReceivedEvent
from shared.events import RecordedEvent
from shared.identity import Identity
from shared.runtime import Runtime
from tests.support import ADMIN, SignedClient, connect, feed_seeded_goals

SECTOR = seed_unit_id("sektor-bou")
SCHOOL = seed_unit_id("hasslerud")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
TODAY = values.today().isoformat()


def position(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        return runtime.store.last_position(conn)


def refused(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"], response.get_json()


def test_a_closed_units_plan_takes_no_decisions_activities_or_phases(
    goals: Runtime, plans: Runtime
) -> None:
    feed_seeded_goals(goals, plans)
    org = SignedClient(create_goals_app(goals.config, goals), ADMIN)
    made = org.post(
        "/api/v1/org-units", {"name": "Nya skolan", "kind": "unit", "parent_id": SECTOR}
    )
    unit = made.get_json()["id"]
    feed_seeded_goals(goals, plans)  # plans learns of the unit
    app = create_plans_app(plans.config, plans)
    plan = SignedClient(app, ADMIN).post(
        "/api/v1/plans",
        {"unit_id": unit, "period": "2026", "title": "Plan 2026", "goal_ids": [SCHOOL_GOAL]},
    )
    assert plan.status_code == 201, plan.get_json()
    assert org.post(f"/api/v1/org-units/{unit}/close", {"reason": "Slogs ihop"}).status_code == 200
    feed_seeded_goals(goals, plans)  # plans learns the unit closed
    editor = SignedClient(app, Identity("key:rektor", "editor", unit))
    path = f"/api/v1/plans/{plan.get_json()['id']}"
    before = position(plans)
    refused(editor.post(f"{path}/adopt", {"decided_by": unit, "decided_on": TODAY}), 409, "unit_id")
    refused(editor.post(f"{path}/goals", {"goal_ids": []}), 409, "unit_id")
    activity = {
        "title": "Läsa",
        "owner": "rektor",
        "starts_on": "2026-02-01",
        "due_on": "2026-06-01",
        "goal_ids": [SCHOOL_GOAL],
    }
    refused(editor.post(f"{path}/activities", activity), 409, "unit_id")
    assert position(plans) == before


def test_a_revision_keeps_the_goals_its_open_activities_serve(
    goals: Runtime, plans: Runtime
) -> None:
    feed_seeded_goals(goals, plans)
    editor = SignedClient(
        create_plans_app(plans.config, plans), Identity("key:r", "editor", SECTOR)
    )
    plan = editor.post(
        "/api/v1/plans",
        {"unit_id": SCHOOL, "period": "2026", "title": "Plan 2026", "goal_ids": [SCHOOL_GOAL]},
    ).get_json()
    path = f"/api/v1/plans/{plan['id']}"
    task = editor.post(
        f"{path}/activities",
        {
            "title": "Läsa",
            "owner": "rektor",
            "starts_on": "2026-02-01",
            "due_on": "2026-06-01",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    assert task.status_code == 201, task.get_json()
    refused(editor.post(f"{path}/goals", {"goal_ids": []}), 409, "goal_ids")
    decision = {"decided_by": SCHOOL, "decided_on": TODAY}
    assert editor.post(f"{path}/adopt", decision).status_code == 200
    before = position(plans)
    refused(editor.post(f"{path}/revise", {**decision, "goal_ids": []}), 409, "goal_ids")
    assert position(plans) == before
    done = editor.post(
        f"/api/v1/activities/{task.get_json()['id']}/progress",
        {"status": "cancelled", "reason": "Utgår"},
    )
    assert done.status_code == 200, done.get_json()
    assert editor.post(f"{path}/revise", {**decision, "goal_ids": []}).status_code == 200


def test_a_proposal_missing_its_title_is_recorded_as_rejected(
    goals: Runtime, plans: Runtime
) -> None:
    feed_seeded_goals(goals, plans)
    event = RecordedEvent(
        position=1,
        stream_id="proposal-no-title",
        stream_type="improvement_proposal",
        version=1,
        event_id=uuid.uuid4(),
        event_type="ImprovementProposed.v1",
        data={"unit_id": SCHOOL, "period": "2025/26"},
        metadata={"actor": "key:rektor", "correlation_id": "c-1"},
        recorded_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    with connect(plans) as conn, conn.transaction():
        plans.applier.apply(conn, ReceivedEvent("/styrkort/reports", event))
    with connect(plans) as conn:
        rows = conn.execute("SELECT event_type, data FROM events ORDER BY position").fetchall()
    assert [r[0] for r in rows] == ["ImprovementProposalRejected.v1"]
    assert "title" in rows[0][1]["reason"]


def test_an_invisible_character_does_not_make_a_second_sibling_name(goals: Runtime) -> None:
    from services.goals.seed import seed

    seed(goals)
    admin = SignedClient(create_goals_app(goals.config, goals), ADMIN)
    before = position(goals)
    for hidden in ("\u200b", "\u00ad", "\u034f"):
        twin = {"name": f"Hasslerud{hidden}skolan", "kind": "unit", "parent_id": SECTOR}
        refused(admin.post("/api/v1/org-units", twin), 409, "name")
    assert position(goals) == before
