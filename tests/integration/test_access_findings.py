"""The access findings of the review, replayed: an editor of one school wrote all over the
organisation, and `decided_by` was trusted as sent. Each is refused now, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from services.goals.app import create_app as create_goals_app
from services.goals.seed import seed, seed_id, seed_unit_id
from services.plans.app import create_app as create_plans_app
from shared import values
from shared.identity import Identity
from shared.runtime import Runtime
from tests.support import ADMIN, SignedClient, connect, feed_seeded_goals

KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SON = seed_unit_id("son")
SECTOR = seed_unit_id("sektor-bou")
SCHOOL = seed_unit_id("hasslerud")
CARE_HOME = seed_unit_id("ladugardsbacken")
AREA = seed_id("area-", "livsmiljo")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
CARE_GOAL = seed_id("goal-", "o-aldre")
SCHOOL_EDITOR = Identity("key:rektor-hasslerud", "editor", SCHOOL)


def refused(response: Any, unit: str | None = None) -> dict[str, Any]:
    assert response.status_code == 403, response.get_json()
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = response.get_json()
    assert problem["scope"] == SCHOOL_EDITOR.scope and problem["rule"]
    if unit is not None:
        assert problem["unit_id"] == unit, problem
        assert unit in problem["detail"] and SCHOOL_EDITOR.scope in problem["detail"]
    return problem


def position(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        return runtime.store.last_position(conn)


@pytest.fixture
def goals_app(goals: Runtime) -> Flask:
    seed(goals)
    return create_goals_app(goals.config, goals)


def test_a_school_editor_cannot_touch_another_committee_or_its_units(
    goals_app: Flask, goals: Runtime
) -> None:
    school = SignedClient(goals_app, SCHOOL_EDITOR)
    before = position(goals)
    refused(school.post(f"/api/v1/org-units/{SON}/rename", {"name": "Omsorgsnämnden"}), KF)
    refused(
        school.post("/api/v1/org-units", {"name": "Ny enhet", "kind": "sector", "parent_id": SON}),
        SON,
    )
    refused(school.post(f"/api/v1/org-units/{CARE_HOME}/close", {"reason": "Stängs"}))
    assert position(goals) == before, "nothing was written"
    assert SignedClient(goals_app, ADMIN).get(f"/api/v1/org-units/{SON}").get_json()["name"] == (
        "Socialnämnden"
    )


def test_a_school_editor_cannot_draft_or_adopt_a_strategic_goal_of_the_council(
    goals_app: Flask, goals: Runtime
) -> None:
    school = SignedClient(goals_app, SCHOOL_EDITOR)
    draft = {
        "level": "strategic",
        "owner_unit_id": KF,
        "period": "2023-2026",
        "title": "Alla skolor får nya lokaler",
        "development_area_id": AREA,
    }
    before = position(goals)
    refused(school.post("/api/v1/goals", draft), KF)
    made = SignedClient(goals_app, ADMIN).post("/api/v1/goals", draft)
    assert made.status_code == 201
    before = position(goals)
    council = {"decided_by": KF, "decided_on": "2023-02-01", "minute_ref": "KF 2023-02-01 §3"}
    refused(school.post(f"/api/v1/goals/{made.get_json()['id']}/adopt", council), KF)
    assert position(goals) == before


def test_decided_by_is_not_trusted_a_sector_editor_cannot_record_its_committees_decision(
    goals_app: Flask, goals: Runtime
) -> None:
    """The guideline is the sector's own, so the owner is in scope; but the sector's editor
    may not write that the committee (nämnden) adopted it."""
    admin = SignedClient(goals_app, ADMIN)
    guideline = admin.post(
        "/api/v1/documents",
        {
            "doc_type": "guideline",
            "owner_unit_id": SECTOR,
            "title": "Riktlinjer för skolskjuts",
            "valid_from": "2026-01-01",
        },
    ).get_json()
    sector_editor = Identity("key:sektorchef", "editor", SECTOR)
    before = position(goals)
    response = SignedClient(goals_app, sector_editor).post(
        f"/api/v1/documents/{guideline['id']}/adopt",
        {"decided_by": BUN, "decided_on": "2026-01-15", "minute_ref": "BUN 2026-01-15 §4"},
    )
    assert response.status_code == 403, response.get_json()
    problem = response.get_json()
    assert problem["errors"] == {"decided_by": ["outside the caller's scope"]}
    assert problem["unit_id"] == BUN and problem["scope"] == SECTOR
    assert position(goals) == before


def test_an_unknown_deciding_body_is_not_found(goals_app: Flask) -> None:
    goal_draft = SignedClient(goals_app, ADMIN).post(
        "/api/v1/goals",
        {
            "level": "operational",
            "owner_unit_id": BUN,
            "period": "2023-2026",
            "title": "Fler behöriga lärare",
            "derived_from": [seed_id("goal-", "s-trygg")],
        },
    )
    bun_editor = SignedClient(goals_app, Identity("key:bun", "editor", BUN))
    response = bun_editor.post(
        f"/api/v1/goals/{goal_draft.get_json()['id']}/adopt",
        {"decided_by": "org-unit-nowhere", "decided_on": "2023-03-01", "minute_ref": "§1"},
    )
    assert response.status_code == 404 and "decided_by" in response.get_json()["errors"]


def test_a_school_editor_cannot_adopt_or_close_another_units_plan(
    goals: Runtime, plans: Runtime
) -> None:
    feed_seeded_goals(goals, plans)
    app = create_plans_app(plans.config, plans)
    admin = SignedClient(app, ADMIN)
    care_plan = admin.post(
        "/api/v1/plans",
        {"unit_id": CARE_HOME, "period": "2026", "title": "Handlingsplan 2026"},
    ).get_json()
    school = SignedClient(app, SCHOOL_EDITOR)
    before = position(plans)
    decision = {"decided_by": CARE_HOME, "decided_on": values.today().isoformat()}
    refused(school.post(f"/api/v1/plans/{care_plan['id']}/adopt", decision), CARE_HOME)
    refused(school.post(f"/api/v1/plans/{care_plan['id']}/close", {"summary": "Klar"}), CARE_HOME)
    assert position(plans) == before
    assert admin.get(f"/api/v1/plans/{care_plan['id']}").get_json()["status"] == "draft"
