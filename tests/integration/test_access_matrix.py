"""Who may write what: every write route of goals and plans, for every role and scope.

The routes come from the apps' own route tables, so a new write route without a row here fails
`test_every_write_route_has_a_case`. Each case prepares a fresh target (as an admin), then sends
the same command as: an admin; an editor whose scope covers the owning unit; an editor of
another unit; a reader and an auditor of the owning unit. Refusals are 403 Problem+JSON naming
the unit, the caller's scope and the rule, and append nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from services.goals.app import create_app as create_goals_app
from services.goals.seed import seed, seed_id, seed_unit_id
from services.plans.app import create_app as create_plans_app
from services.plans.domain.plan import period_dates
from shared import values
from shared.identity import Identity
from shared.runtime import Runtime
from tests.support import ADMIN, SignedClient, connect, feed_seeded_goals

KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SON = seed_unit_id("son")
SECTOR = seed_unit_id("sektor-bou")
OTHER_SECTOR = seed_unit_id("sektor-sov")
SCHOOL = seed_unit_id("hasslerud")
STRATEGIC = seed_id("goal-", "s-trygg")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
BUN_DECISION = {"decided_by": BUN, "decided_on": "2023-03-01", "minute_ref": "BUN 2023-03-01 §5"}
KF_DECISION = {"decided_by": KF, "decided_on": "2023-02-01", "minute_ref": "KF 2023-02-01 §3"}
_serial = itertools.count(1)

#: (path, body) of the command to send, prepared with an admin client
Prepare = Callable[[SignedClient, int], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    scope: str  # an editor with this scope may run the command
    outsider: str  # an editor with this scope may not
    prepare: Prepare
    success: int = 200


def created(response: Any) -> str:
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


# -- goals --------------------------------------------------------------------------------------


def new_unit(admin: SignedClient, parent: str = SECTOR, kind: str = "unit") -> str:
    body = {"name": f"Enhet {next(_serial)}", "kind": kind, "parent_id": parent}
    return created(admin.post("/api/v1/org-units", body))


def draft_routine(admin: SignedClient) -> str:
    body = {
        "doc_type": "routine",
        "owner_unit_id": SECTOR,
        "title": f"Rutin {next(_serial)}",
        "valid_from": "2026-01-01",
    }
    return created(admin.post("/api/v1/documents", body))


ROUTINE_DECISION = {"decided_by": SECTOR, "decided_on": "2026-01-15"}


def adopted_routine(admin: SignedClient) -> str:
    document = draft_routine(admin)
    ok(admin.post(f"/api/v1/documents/{document}/adopt", ROUTINE_DECISION))
    return document


def operational_goal_body() -> dict[str, Any]:
    return {
        "level": "operational",
        "owner_unit_id": BUN,
        "period": "2023-2026",
        "title": f"Verksamhetsmål {next(_serial)}",
        "derived_from": [STRATEGIC],
    }


def draft_goal(admin: SignedClient) -> str:
    return created(admin.post("/api/v1/goals", operational_goal_body()))


def adopted_goal(admin: SignedClient) -> str:
    goal = draft_goal(admin)
    ok(admin.post(f"/api/v1/goals/{goal}/adopt", BUN_DECISION))
    return goal


def indicator_body() -> dict[str, Any]:
    return {
        "name": f"Indikator {next(_serial)}",
        "unit_of_measure": "%",
        "direction": "higher_is_better",
        "source": {"kind": "manual"},
        **BUN_DECISION,
    }


def indicator(admin: SignedClient) -> str:
    goal = adopted_goal(admin)
    return created(admin.post(f"/api/v1/goals/{goal}/indicators", indicator_body()))


def area_body() -> dict[str, Any]:
    return {
        "name": f"Område {next(_serial)}",
        "description": "Ett nytt utvecklingsområde",
        **KF_DECISION,
    }


def on_unit(action: str, body: dict[str, Any]) -> Prepare:
    return lambda admin, n: (f"/api/v1/org-units/{new_unit(admin)}/{action}", body)


def rename(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    """Sibling names are unique, so each cell renames its unit to a name of its own."""
    return f"/api/v1/org-units/{new_unit(admin)}/rename", {"name": f"Omdöpt enhet {n}"}


def on(
    collection: str, make: Callable[[SignedClient], str], action: str, body: dict[str, Any]
) -> Prepare:
    return lambda admin, n: (f"/api/v1/{collection}/{make(admin)}/{action}", body)


def move(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    unit = new_unit(admin)
    sector = new_unit(admin, BUN, "sector")
    return f"/api/v1/org-units/{unit}/move", {"parent_id": sector}


GOALS_CASES: dict[str, Case] = {
    "/api/v1/org-units": Case(
        SECTOR,
        OTHER_SECTOR,
        lambda admin, n: (
            "/api/v1/org-units",
            {"name": f"Ny enhet {n}", "kind": "unit", "parent_id": SECTOR},
        ),
        201,
    ),
    "/api/v1/org-units/<entity_id>/rename": Case(SECTOR, OTHER_SECTOR, rename),
    "/api/v1/org-units/<entity_id>/move": Case(BUN, SON, move),
    "/api/v1/org-units/<entity_id>/close": Case(
        SECTOR, OTHER_SECTOR, on_unit("close", {"reason": "Verksamheten flyttas"})
    ),
    "/api/v1/documents": Case(
        SECTOR,
        OTHER_SECTOR,
        lambda admin, n: (
            "/api/v1/documents",
            {
                "doc_type": "routine",
                "owner_unit_id": SECTOR,
                "title": f"Rutin {n}",
                "valid_from": "2026-01-01",
            },
        ),
        201,
    ),
    "/api/v1/documents/<entity_id>/edit": Case(
        SECTOR, OTHER_SECTOR, on("documents", draft_routine, "edit", {"title": "Ny rubrik"})
    ),
    "/api/v1/documents/<entity_id>/adopt": Case(
        SECTOR, OTHER_SECTOR, on("documents", draft_routine, "adopt", ROUTINE_DECISION)
    ),
    "/api/v1/documents/<entity_id>/revise": Case(
        SECTOR,
        OTHER_SECTOR,
        on("documents", adopted_routine, "revise", {"title": "Utgåva 2", **ROUTINE_DECISION}),
    ),
    "/api/v1/documents/<entity_id>/repeal": Case(
        SECTOR,
        OTHER_SECTOR,
        on("documents", adopted_routine, "repeal", {"reason": "Ersatt", **ROUTINE_DECISION}),
    ),
    "/api/v1/development-areas": Case(
        KF, BUN, lambda admin, n: ("/api/v1/development-areas", area_body()), 201
    ),
    "/api/v1/development-areas/<entity_id>/retire": Case(
        KF,
        BUN,
        on(
            "development-areas",
            lambda admin: created(admin.post("/api/v1/development-areas", area_body())),
            "retire",
            {"reason": "Ingår i ett annat område", **KF_DECISION},
        ),
    ),
    "/api/v1/goals": Case(
        BUN, SON, lambda admin, n: ("/api/v1/goals", operational_goal_body()), 201
    ),
    "/api/v1/goals/<entity_id>/edit": Case(
        BUN, SON, on("goals", draft_goal, "edit", {"title": "Ny rubrik"})
    ),
    "/api/v1/goals/<entity_id>/adopt": Case(
        BUN, SON, on("goals", draft_goal, "adopt", BUN_DECISION)
    ),
    "/api/v1/goals/<entity_id>/revise": Case(
        BUN, SON, on("goals", adopted_goal, "revise", {"title": "Reviderat", **BUN_DECISION})
    ),
    "/api/v1/goals/<entity_id>/retire": Case(
        BUN, SON, on("goals", adopted_goal, "retire", {"reason": "Uppnått", **BUN_DECISION})
    ),
    "/api/v1/goals/<entity_id>/evaluate": Case(
        BUN,
        SON,
        on(
            "goals",
            adopted_goal,
            "evaluate",
            {
                "outcome": "met",
                "reasoning": "Målet nåddes",
                "evaluated_on": "2026-11-02",
                **BUN_DECISION,
                "decided_on": "2026-11-02",
            },
        ),
    ),
    "/api/v1/goals/<goal_id>/indicators": Case(
        BUN,
        SON,
        lambda admin, n: (f"/api/v1/goals/{adopted_goal(admin)}/indicators", indicator_body()),
        201,
    ),
    "/api/v1/indicators/<entity_id>/targets": Case(
        BUN,
        SON,
        on("indicators", indicator, "targets", {"year": 2026, "value": 91.0, **BUN_DECISION}),
    ),
    "/api/v1/indicators/<entity_id>/thresholds": Case(
        BUN,
        SON,
        on(
            "indicators",
            indicator,
            "thresholds",
            {"green": 90.0, "yellow": 80.0, **BUN_DECISION},
        ),
    ),
    "/api/v1/indicators/<entity_id>/retire": Case(
        BUN,
        SON,
        on("indicators", indicator, "retire", {"reason": "Mäts inte längre", **BUN_DECISION}),
    ),
}


# -- plans --------------------------------------------------------------------------------------

#: one plan per unit and period: each cell of a case works on a plan of its own period
PERIODS = ("2023", "2024", "2025", "2026", "2025/26", "2024/25", "2023/24", "2026/27")


def today() -> str:
    return values.today().isoformat()


def plan_decision() -> dict[str, Any]:
    return {"decided_by": SCHOOL, "decided_on": today(), "minute_ref": None}


def plan_body(n: int) -> dict[str, Any]:
    return {
        "unit_id": SCHOOL,
        "period": PERIODS[n],
        "title": f"Handlingsplan {PERIODS[n]}",
        "goal_ids": [SCHOOL_GOAL],
    }


def draft_plan(admin: SignedClient, n: int) -> str:
    return created(admin.post("/api/v1/plans", plan_body(n)))


def adopted_plan(admin: SignedClient, n: int) -> str:
    plan = draft_plan(admin, n)
    ok(admin.post(f"/api/v1/plans/{plan}/adopt", plan_decision()))
    return plan


def activity_body(n: int) -> dict[str, Any]:
    first, last = period_dates(PERIODS[n])
    return {
        "title": "Lässtunder varje dag",
        "owner": "arbetslag åk 1-3",
        "starts_on": first.isoformat(),
        "due_on": last.isoformat(),
        "goal_ids": [SCHOOL_GOAL],
    }


def activity(admin: SignedClient, n: int) -> str:
    plan = adopted_plan(admin, n)
    return created(admin.post(f"/api/v1/plans/{plan}/activities", activity_body(n)))


def agreement(admin: SignedClient, n: int) -> tuple[str, str]:
    task = activity(admin, n)
    plan = ok(admin.get(f"/api/v1/activities/{task}"))["plan_id"]
    body = {"employee_ref": f"hr-{n}", "activity_ids": [task], "agreed_on": today()}
    return created(admin.post(f"/api/v1/plans/{plan}/agreements", body)), task


def on_plan(
    make: Callable[[SignedClient, int], str], action: str, body: Callable[[], dict[str, Any]]
) -> Prepare:
    return lambda admin, n: (f"/api/v1/plans/{make(admin, n)}/{action}", body())


def make_agreement(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    task = activity(admin, n)
    plan = ok(admin.get(f"/api/v1/activities/{task}"))["plan_id"]
    body = {"employee_ref": "hr-48121", "activity_ids": [task], "agreed_on": today()}
    return f"/api/v1/plans/{plan}/agreements", body


def change_agreement(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    made, task = agreement(admin, n)
    return f"/api/v1/agreements/{made}/activities", {"activity_ids": [task], "agreed_on": today()}


def end_agreement(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    made, _ = agreement(admin, n)
    return f"/api/v1/agreements/{made}/end", {"ended_on": today()}


PLANS_CASES: dict[str, Case] = {
    "/api/v1/plans": Case(
        SECTOR, OTHER_SECTOR, lambda admin, n: ("/api/v1/plans", plan_body(n)), 201
    ),
    "/api/v1/plans/<entity_id>/goals": Case(
        SECTOR, OTHER_SECTOR, on_plan(draft_plan, "goals", lambda: {"goal_ids": [SCHOOL_GOAL]})
    ),
    "/api/v1/plans/<entity_id>/adopt": Case(
        SECTOR, OTHER_SECTOR, on_plan(draft_plan, "adopt", plan_decision)
    ),
    "/api/v1/plans/<entity_id>/revise": Case(
        SECTOR,
        OTHER_SECTOR,
        on_plan(adopted_plan, "revise", lambda: {"title": "Reviderad", **plan_decision()}),
    ),
    "/api/v1/plans/<entity_id>/phase": Case(
        SECTOR, OTHER_SECTOR, on_plan(adopted_plan, "phase", lambda: {"phase": "do"})
    ),
    "/api/v1/plans/<entity_id>/close": Case(
        SECTOR, OTHER_SECTOR, on_plan(adopted_plan, "close", lambda: {"summary": "Klar"})
    ),
    "/api/v1/plans/<plan_id>/activities": Case(
        SECTOR,
        OTHER_SECTOR,
        lambda admin, n: (
            f"/api/v1/plans/{adopted_plan(admin, n)}/activities",
            activity_body(n),
        ),
        201,
    ),
    "/api/v1/activities/<entity_id>/progress": Case(
        SECTOR,
        OTHER_SECTOR,
        lambda admin, n: (
            f"/api/v1/activities/{activity(admin, n)}/progress",
            {"status": "in_progress", "note": "Igång"},
        ),
    ),
    "/api/v1/plans/<plan_id>/agreements": Case(SECTOR, OTHER_SECTOR, make_agreement, 201),
    "/api/v1/agreements/<agreement_id>/activities": Case(SECTOR, OTHER_SECTOR, change_agreement),
    "/api/v1/agreements/<agreement_id>/end": Case(SECTOR, OTHER_SECTOR, end_agreement),
}


# -- the matrix ---------------------------------------------------------------------------------


def write_routes(app: Flask) -> set[str]:
    """Every route that changes something (POST), except the admin jobs (admin only)."""
    return {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
        and rule.rule.startswith("/api/v1/")
        and not rule.rule.startswith("/api/v1/admin/")
    }


def cells(case: Case) -> list[tuple[str, Identity, int]]:
    return [
        ("admin", ADMIN, case.success),
        ("editor in scope", Identity("key:in-scope", "editor", case.scope), case.success),
        ("editor out of scope", Identity("key:outsider", "editor", case.outsider), 403),
        ("reader", Identity("key:reader", "reader", case.scope), 403),
        ("auditor", Identity("key:auditor", "auditor", case.scope), 403),
    ]


def last_position(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        return runtime.store.last_position(conn)


def run_matrix(app: Flask, runtime: Runtime, case: Case) -> None:
    admin = SignedClient(app, ADMIN)
    wrong: list[str] = []
    for n, (cell, identity, expected) in enumerate(cells(case)):
        path, body = case.prepare(admin, n)
        before = last_position(runtime)
        response = SignedClient(app, identity).post(path, body)
        if response.status_code != expected:
            wrong.append(f"{cell}: {response.status_code} {response.get_json()}, not {expected}")
            continue
        if expected == 403:
            problem = response.get_json()
            assert response.content_type == "application/problem+json"
            assert problem["scope"] == identity.scope and problem["rule"], problem
            assert last_position(runtime) == before, f"{cell}: a refused command appended events"
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def goals_app(goals: Runtime) -> Flask:
    seed(goals)
    return create_goals_app(goals.config, goals)


@pytest.fixture
def plans_app(goals: Runtime, plans: Runtime) -> Flask:
    feed_seeded_goals(goals, plans)
    return create_plans_app(plans.config, plans)


def test_every_write_route_has_a_case(goals_app: Flask, plans_app: Flask) -> None:
    assert write_routes(goals_app) == set(GOALS_CASES), "add the new goals route to GOALS_CASES"
    assert write_routes(plans_app) == set(PLANS_CASES), "add the new plans route to PLANS_CASES"


@pytest.mark.parametrize("route", sorted(GOALS_CASES))
def test_goals_route_by_role_and_scope(goals_app: Flask, goals: Runtime, route: str) -> None:
    run_matrix(goals_app, goals, GOALS_CASES[route])


@pytest.mark.parametrize("route", sorted(PLANS_CASES))
def test_plans_route_by_role_and_scope(plans_app: Flask, plans: Runtime, route: str) -> None:
    run_matrix(plans_app, plans, PLANS_CASES[route])
