"""Who may write what: every write route of goals, plans and reports, for every role and scope.

The routes come from the apps' own route tables, so a new write route without a row here fails
`test_every_write_route_has_a_case`. Each case prepares a fresh target (as an admin), then sends
the same command as: an admin; an editor whose scope covers the owning unit; an editor of
another unit; a reader and an auditor of the owning unit. Refusals are 403 Problem+JSON naming
the unit, the caller's scope and the rule, and append nothing.
"""

from __future__ import annotations

import datetime as dt
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
from services.reports.app import create_app as create_reports_app
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
ELIGIBLE = seed_id("indicator-", "i-behorighet")  # measures SCHOOL_GOAL, owned by BUN
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
    #: the owning unit a refusal of the outsider names (None: the municipality as a whole)
    owner: str | None = ""
    #: an administrator's alone (e.g. starting an import job): every editor is refused too
    admin_only: bool = False


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


# -- reports ------------------------------------------------------------------------------------

#: one quality report per unit and period: each cell works on a report of its own period
REPORT_PERIODS = ("2023", "2024", "2025", "2026", "2022/23", "2023/24", "2024/25", "2025/26")


def bun_decision() -> dict[str, Any]:
    return {"decided_by": BUN, "decided_on": today(), "minute_ref": "BUN §12"}


def kf_decision() -> dict[str, Any]:
    return {"decided_by": KF, "decided_on": today(), "minute_ref": "KF §45"}


def result_body(n: int) -> dict[str, Any]:
    """A result of an interim date of its own: one result per indicator and period."""
    day = dt.date(2025, 1, 1) + dt.timedelta(days=n)
    return {"indicator_id": ELIGIBLE, "period": day.isoformat(), "value": 80.0}


def result(admin: SignedClient, n: int) -> str:
    return created(admin.post("/api/v1/results", result_body(n)))


def draft_report(admin: SignedClient, n: int) -> str:
    """The committee's report of a period of its own; it covers the committee's goals."""
    return created(
        admin.post("/api/v1/quality-reports", {"unit_id": BUN, "period": REPORT_PERIODS[n]})
    )


def ready_report(admin: SignedClient, n: int) -> str:
    """A draft report with every section written and marked done."""
    report = draft_report(admin, n)
    path = f"/api/v1/quality-reports/{report}"
    for goal in ok(admin.get(path))["goal_ids"]:  # the committee's goals, SCHOOL_GOAL among them
        ok(admin.post(f"{path}/goals", {"goal_id": goal, "verdict": "met", "analysis": "Ja"}))
    ok(admin.post(f"{path}/quality-assurance", {"methods": ["comparison"], "text": "Jämförelse"}))
    ok(admin.post(f"{path}/improvement-areas", {"areas": [{"title": "Läsning"}]}))
    for section in (
        "goals",
        "activities",
        "quality_assurance",
        "improvement_areas",
        "improvement_proposals",
    ):
        ok(admin.post(f"{path}/done", {"section": section}))
    return report


def submitted_report(admin: SignedClient, n: int) -> str:
    report = ready_report(admin, n)
    ok(admin.post(f"/api/v1/quality-reports/{report}/submit", {}))
    return report


def approved_report(admin: SignedClient, n: int) -> str:
    report = submitted_report(admin, n)
    ok(admin.post(f"/api/v1/quality-reports/{report}/approve", bun_decision()))
    return report


def proposal(admin: SignedClient, n: int) -> str:
    body = {"report_id": draft_report(admin, n), "title": "Läsfrämjande insatser"}
    return created(admin.post("/api/v1/improvements", body))


def on_report(
    make: Callable[[SignedClient, int], str], action: str, body: Callable[[], dict[str, Any]]
) -> Prepare:
    return lambda admin, n: (f"/api/v1/quality-reports/{make(admin, n)}/{action}", body())


def closed_year(n: int) -> int:
    """A year of its own per cell, ended, and apart from the years the other cases write."""
    return 2010 + n


def approve_year(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/annual-reports/{closed_year(n)}/approve", kf_decision()


def reopen_year(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    path, decision = approve_year(admin, n)
    ok(admin.post(path, decision))
    return (
        f"/api/v1/annual-reports/{closed_year(n)}/reopen",
        {**kf_decision(), "minute_ref": "KF §60", "reason": "Rättelse av utfall"},
    )


def deadline_year(n: int) -> int:
    """A year of its own per cell for the annual wheel, apart from the other cases' years."""
    return 2040 + n


def deadline_body(n: int) -> dict[str, Any]:
    year = deadline_year(n)
    return {"kind": "results_due", "year": year, "date": f"{year + 1}-01-31", **kf_decision()}


def deadline(admin: SignedClient, n: int) -> str:
    return created(admin.post("/api/v1/calendar/deadlines", deadline_body(n)))


def change_deadline(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    body = {"date": f"{deadline_year(n) + 1}-02-28", "reason": "Sportlovet", **kf_decision()}
    return f"/api/v1/calendar/deadlines/{deadline(admin, n)}/change", body


def remove_deadline(admin: SignedClient, n: int) -> tuple[str, dict[str, Any]]:
    body = {"reason": "Ingår i delårsrapporten", **kf_decision()}
    return f"/api/v1/calendar/deadlines/{deadline(admin, n)}/remove", body


REPORTS_CASES: dict[str, Case] = {
    "/api/v1/results": Case(
        BUN, SON, lambda admin, n: ("/api/v1/results", result_body(n)), 201, owner=BUN
    ),
    "/api/v1/results/<entity_id>/correct": Case(
        BUN,
        SON,
        lambda admin, n: (
            f"/api/v1/results/{result(admin, n)}/correct",
            {"value": 81.5, "reason": "SCB rättade underlaget"},
        ),
        owner=BUN,
    ),
    "/api/v1/results/<entity_id>/withdraw": Case(
        BUN,
        SON,
        lambda admin, n: (
            f"/api/v1/results/{result(admin, n)}/withdraw",
            {"reason": "Källan drog tillbaka värdet"},
        ),
        owner=BUN,
    ),
    "/api/v1/assessments": Case(
        BUN,
        SON,
        lambda admin, n: (
            "/api/v1/assessments",
            {"goal_id": SCHOOL_GOAL, "year": 2025, "verdict": "met", "analysis": f"Analys {n}"},
        ),
        201,
        owner=BUN,
    ),
    "/api/v1/quality-reports": Case(
        BUN,
        SON,
        lambda admin, n: (
            "/api/v1/quality-reports",
            {"unit_id": BUN, "period": REPORT_PERIODS[n]},
        ),
        201,
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/goals": Case(
        BUN,
        SON,
        on_report(
            draft_report,
            "goals",
            lambda: {"goal_id": SCHOOL_GOAL, "verdict": "partly_met", "analysis": "Nära"},
        ),
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/activities": Case(
        BUN,
        SON,
        on_report(draft_report, "activities", lambda: {"comment": "Genomförda"}),
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/quality-assurance": Case(
        BUN,
        SON,
        on_report(
            draft_report,
            "quality-assurance",
            lambda: {"methods": ["student_survey"], "text": "Elevenkät"},
        ),
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/improvement-areas": Case(
        BUN,
        SON,
        on_report(
            draft_report,
            "improvement-areas",
            lambda: {"areas": [{"title": "Läsförståelse", "description": "åk 4-6"}]},
        ),
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/done": Case(
        BUN,
        SON,
        on_report(draft_report, "done", lambda: {"section": "activities"}),
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/submit": Case(
        BUN,
        SON,
        on_report(ready_report, "submit", lambda: {}),
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/return": Case(
        BUN,
        SON,
        on_report(submitted_report, "return", lambda: {"reason": "Komplettera analysen"}),
        owner=BUN,
    ),
    "/api/v1/quality-reports/<entity_id>/approve": Case(
        BUN, SON, on_report(submitted_report, "approve", bun_decision), owner=BUN
    ),
    "/api/v1/quality-reports/<entity_id>/reopen": Case(
        BUN,
        SON,
        on_report(
            approved_report,
            "reopen",
            lambda: {**bun_decision(), "minute_ref": "BUN §20", "reason": "Ny statistik"},
        ),
        owner=BUN,
    ),
    "/api/v1/improvements": Case(
        BUN,
        SON,
        lambda admin, n: (
            "/api/v1/improvements",
            {"report_id": draft_report(admin, n), "title": "Mer läsning", "description": "x"},
        ),
        201,
        owner=BUN,
    ),
    "/api/v1/improvements/<entity_id>/edit": Case(
        BUN,
        SON,
        lambda admin, n: (f"/api/v1/improvements/{proposal(admin, n)}/edit", {"title": "Ny"}),
        owner=BUN,
    ),
    "/api/v1/improvements/<entity_id>/withdraw": Case(
        BUN,
        SON,
        lambda admin, n: (
            f"/api/v1/improvements/{proposal(admin, n)}/withdraw",
            {"reason": "Ingår i ett annat förslag"},
        ),
        owner=BUN,
    ),
    # the year's close and the status rules belong to the municipality: the council's scope
    "/api/v1/annual-reports/<int:year>/approve": Case(KF, BUN, approve_year, owner=None),
    "/api/v1/annual-reports/<int:year>/reopen": Case(KF, BUN, reopen_year, owner=None),
    "/api/v1/status-rules": Case(
        KF,
        BUN,
        lambda admin, n: (
            "/api/v1/status-rules",
            {"yellow_share_of_target": 0.7 + n / 100, **kf_decision()},
        ),
        owner=None,
    ),
    # an import of Kolada's values is an administrator's job (it runs against the configured
    # Kolada: in the tests an address where nothing listens, so the job fails and records
    # nothing)
    "/api/v1/imports/kolada": Case(
        KF,
        BUN,
        lambda admin, n: ("/api/v1/imports/kolada", {"years": [2024]}),
        202,
        admin_only=True,
    ),
    # the annual wheel is the municipality's, decided by the council or the executive board
    "/api/v1/calendar/deadlines": Case(
        KF, BUN, lambda admin, n: ("/api/v1/calendar/deadlines", deadline_body(n)), 201, None
    ),
    "/api/v1/calendar/deadlines/<entity_id>/change": Case(KF, BUN, change_deadline, owner=None),
    "/api/v1/calendar/deadlines/<entity_id>/remove": Case(KF, BUN, remove_deadline, owner=None),
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
    in_scope = 403 if case.admin_only else case.success
    return [
        ("admin", ADMIN, case.success),
        ("editor in scope", Identity("key:in-scope", "editor", case.scope), in_scope),
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
            if cell == "editor out of scope" and case.owner != "":
                assert "unit_id" in problem and problem["unit_id"] == case.owner, problem
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


@pytest.fixture
def reports_app(goals: Runtime, reports: Runtime) -> Flask:
    feed_seeded_goals(goals, reports)
    return create_reports_app(reports.config, reports)


def test_every_write_route_has_a_case(
    goals_app: Flask, plans_app: Flask, reports_app: Flask
) -> None:
    assert write_routes(goals_app) == set(GOALS_CASES), "add the new goals route to GOALS_CASES"
    assert write_routes(plans_app) == set(PLANS_CASES), "add the new plans route to PLANS_CASES"
    assert write_routes(reports_app) == set(REPORTS_CASES), (
        "add the new reports route to REPORTS_CASES"
    )


@pytest.mark.parametrize("route", sorted(GOALS_CASES))
def test_goals_route_by_role_and_scope(goals_app: Flask, goals: Runtime, route: str) -> None:
    run_matrix(goals_app, goals, GOALS_CASES[route])


@pytest.mark.parametrize("route", sorted(PLANS_CASES))
def test_plans_route_by_role_and_scope(plans_app: Flask, plans: Runtime, route: str) -> None:
    run_matrix(plans_app, plans, PLANS_CASES[route])


@pytest.mark.parametrize("route", sorted(REPORTS_CASES))
def test_reports_route_by_role_and_scope(reports_app: Flask, reports: Runtime, route: str) -> None:
    run_matrix(reports_app, reports, REPORTS_CASES[route])


def test_recording_a_decision_needs_a_scope_covering_the_deciding_body(
    reports_app: Flask, reports: Runtime
) -> None:
    """The committee's editor owns its report, but may not record that the council decided."""
    admin = SignedClient(reports_app, ADMIN)
    report = submitted_report(admin, 0)
    committee = SignedClient(reports_app, Identity("key:bun", "editor", BUN))
    before = last_position(reports)
    refused = committee.post(f"/api/v1/quality-reports/{report}/approve", kf_decision())
    assert refused.status_code == 403, refused.get_json()
    problem = refused.get_json()
    assert problem["unit_id"] == KF and "decided_by" in problem["errors"], problem
    assert last_position(reports) == before
    council = SignedClient(reports_app, Identity("key:kf", "editor", KF))
    wrong_body = council.post(f"/api/v1/quality-reports/{report}/approve", kf_decision())
    assert wrong_body.status_code == 409, "in scope, but the report is its own unit's to approve"
    assert (
        committee.post(f"/api/v1/quality-reports/{report}/approve", bun_decision()).status_code
        == 200
    )
