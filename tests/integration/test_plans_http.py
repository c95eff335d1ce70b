"""The plans HTTP API on the real PostgreSQL, with what it knows of goals fed from the goals
service's real events (without the broker: the broker path is tests/e2e)."""

from __future__ import annotations

from typing import Any

import pytest

from services.goals.seed import seed_id, seed_unit_id
from services.plans.app import create_app
from shared.identity import Identity
from shared.runtime import Runtime
from tests.support import AUDITOR, EDITOR, READER, SignedClient, feed_seeded_goals

SECTOR = seed_unit_id("sektor-bou")
OTHER_SECTOR = seed_unit_id("sektor-sov")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")


@pytest.fixture
def app(goals: Runtime, plans: Runtime) -> Any:
    feed_seeded_goals(goals, plans)
    return create_app(plans.config, plans)


def client(app: Any, who: Identity) -> SignedClient:
    return SignedClient(app, who)


@pytest.fixture
def plan_with_activity(app: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    editor = client(app, Identity("key:rektor", "editor", SECTOR))
    made = editor.post(
        "/api/v1/plans",
        {
            "unit_id": SECTOR,
            "period": "2025/26",
            "title": "Handlingsplan läsåret 2025/26",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    assert made.status_code == 201, made.get_json()
    plan = made.get_json()
    activity = editor.post(
        f"/api/v1/plans/{plan['id']}/activities",
        {
            "title": "Lässtunder varje dag",
            "owner": "arbetslag åk 1-3",
            "starts_on": "2025-08-20",
            "due_on": "2026-06-10",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    assert activity.status_code == 201, activity.get_json()
    return plan, activity.get_json()


def test_a_plan_with_activities_progress_and_derived_overdue(
    app: Any, plan_with_activity: Any
) -> None:
    plan, activity = plan_with_activity
    editor = client(app, EDITOR)
    assert plan["phases"][0]["phase"] == "plan" and plan["status"] == "draft"
    path = f"/api/v1/activities/{activity['id']}"
    started = editor.post(
        f"{path}/progress", {"status": "in_progress", "note": "Igång i alla klasser"}
    )
    assert started.status_code == 200, started.get_json()
    body = started.get_json()
    assert body["status"] == "in_progress" and body["notes"][0]["text"] == "Igång i alla klasser"
    assert editor.get(path).get_json()["overdue"] is True, "due 2026-06-10, still open"
    before = editor.get(f"/api/v1/plans/{plan['id']}/activities?as_of=2026-01-01")
    assert before.status_code == 404, "neither the plan nor its activity existed then"
    refused = editor.post(f"{path}/progress", {"status": "cancelled"})
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    done = editor.post(f"{path}/progress", {"status": "done"}).get_json()
    assert done["status"] == "done" and done["overdue"] is False


def test_linking_a_goal_plans_does_not_know_is_refused(app: Any, plan_with_activity: Any) -> None:
    plan, _ = plan_with_activity
    response = client(app, EDITOR).post(
        f"/api/v1/plans/{plan['id']}/goals", {"goal_ids": ["goal-unheard-of"]}
    )
    assert response.status_code == 409
    assert "no such goal is known" in response.get_json()["detail"]


def test_employee_agreements_are_for_editors_of_the_unit_and_auditors(
    app: Any, plan_with_activity: Any
) -> None:
    plan, activity = plan_with_activity
    body = {"employee_ref": "hr-48121", "activity_ids": [activity["id"]], "agreed_on": "2025-09-15"}
    outsider = client(app, Identity("key:other", "editor", OTHER_SECTOR))
    assert outsider.post(f"/api/v1/plans/{plan['id']}/agreements", body).status_code == 403
    unit_editor = client(app, Identity("key:rektor", "editor", SECTOR))
    made = unit_editor.post(f"/api/v1/plans/{plan['id']}/agreements", body)
    assert made.status_code == 201, made.get_json()
    agreement = made.get_json()
    assert agreement["unit_id"] == SECTOR and agreement["employee_ref"] == "hr-48121"
    path = f"/api/v1/agreements/{agreement['id']}"

    assert unit_editor.get(path).status_code == 200
    assert client(app, AUDITOR).get(path).status_code == 200
    for stranger in (client(app, READER), outsider):
        assert stranger.get(path).status_code == 403
        assert stranger.get(f"/api/v1/plans/{plan['id']}/agreements").status_code == 403
        assert stranger.get(f"/api/v1/history/{agreement['id']}").status_code == 403
    assert client(app, AUDITOR).get(f"/api/v1/history/{agreement['id']}").status_code == 200
    assert client(app, AUDITOR).post(f"{path}/end", {"ended_on": "2026-06-30"}).status_code == 403
    named = unit_editor.post(
        f"/api/v1/plans/{plan['id']}/agreements", {**body, "employee_ref": "Anna Andersson"}
    )
    assert named.status_code == 422 and "employee_ref" in named.get_json()["errors"]
    ended = unit_editor.post(f"{path}/end", {"ended_on": "2026-06-30"})
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"
