"""The findings of issue #7 in the plans service, replayed over HTTP on the real PostgreSQL: each
is refused with a Problem+JSON naming the field, and nothing is recorded. Each test failed on
the code before the issue (d810f7c)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from services.goals.seed import seed_id, seed_unit_id
from services.plans.app import create_app
from services.plans.projections import GoalChangesFlagPlans, ImprovementProposalsBecomeActivities
from shared import values
from shared.envelope import ReceivedEvent
from shared.events import RecordedEvent
from shared.identity import Identity
from shared.runtime import Runtime
from tests.support import SignedClient, connect, feed_seeded_goals

SECTOR = seed_unit_id("sektor-bou")
BUN = seed_unit_id("bun")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")  # operational, adopted, 2023-2026
ELDERLY_GOAL = seed_id("goal-", "o-aldre")  # operational, adopted, another committee's
STRATEGIC_GOAL = seed_id("goal-", "s-trygg")
SCHOOL_INDICATOR = seed_id("indicator-", "i-behorighet")  # measures SCHOOL_GOAL
ELDERLY_INDICATOR = seed_id("indicator-", "i-trygghet")  # measures ELDERLY_GOAL
TODAY = values.today().isoformat()
FULL_WIDTH_2027 = "\uff12\uff10\uff12\uff17"
ARABIC_INDIC_2027 = "\u0662\u0660\u0662\u0667"


@pytest.fixture
def app(goals: Runtime, plans: Runtime) -> Any:
    feed_seeded_goals(goals, plans)
    return create_app(plans.config, plans)


@pytest.fixture
def editor(app: Any) -> SignedClient:
    return SignedClient(app, Identity("key:rektor", "editor", SECTOR))


def event_count(plans: Runtime) -> int:
    with connect(plans) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


def refused(response: Any, status: int, field: str) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()
    assert response.status_code == status, body
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert field in body.get("errors", {}), body
    return body


def make_plan(editor: SignedClient, period: str = "2025/26", **extra: Any) -> dict[str, Any]:
    body = {"unit_id": SECTOR, "period": period, "title": f"Handlingsplan {period}"}
    made = editor.post("/api/v1/plans", {**body, "goal_ids": [SCHOOL_GOAL], **extra})
    assert made.status_code == 201, made.get_json()
    result: dict[str, Any] = made.get_json()
    return result


def adopt(editor: SignedClient, plan: dict[str, Any]) -> dict[str, Any]:
    adopted = editor.post(
        f"/api/v1/plans/{plan['id']}/adopt",
        {"decided_by": SECTOR, "decided_on": TODAY, "minute_ref": "Rektorsbeslut §4"},
    )
    assert adopted.status_code == 200, adopted.get_json()
    result: dict[str, Any] = adopted.get_json()
    return result


def add_activity(editor: SignedClient, plan: dict[str, Any], **work: Any) -> Any:
    body = {
        "title": "Lässtunder varje dag",
        "owner": "arbetslag åk 1-3",
        "starts_on": "2025-08-20",
        "due_on": "2026-06-10",
        "goal_ids": [SCHOOL_GOAL],
    }
    return editor.post(f"/api/v1/plans/{plan['id']}/activities", {**body, **work})


def test_a_plan_keeps_the_minute_ref_of_its_adoption(editor: SignedClient) -> None:
    plan = adopt(editor, make_plan(editor))
    assert plan["minute_ref"] == "Rektorsbeslut §4"
    assert editor.get(f"/api/v1/plans/{plan['id']}").get_json()["minute_ref"] == "Rektorsbeslut §4"


def test_a_plan_decision_is_not_in_the_future(editor: SignedClient, plans: Runtime) -> None:
    plan = make_plan(editor)
    before = event_count(plans)
    tomorrow = (values.today() + dt.timedelta(days=1)).isoformat()
    for day in (tomorrow, "9999-12-31", "2020-01-01"):
        response = editor.post(
            f"/api/v1/plans/{plan['id']}/adopt", {"decided_by": SECTOR, "decided_on": day}
        )
        refused(response, 422, "decided_on")
    assert event_count(plans) == before


@pytest.mark.parametrize("period", ["2027\n", FULL_WIDTH_2027, ARABIC_INDIC_2027])
def test_a_period_in_other_digits_or_with_a_newline_is_no_second_plan(
    editor: SignedClient, plans: Runtime, period: str
) -> None:
    make_plan(editor, "2027", goal_ids=[])
    before = event_count(plans)
    response = editor.post(
        "/api/v1/plans", {"unit_id": SECTOR, "period": period, "title": "En till", "goal_ids": []}
    )
    refused(response, 422, "period")
    assert event_count(plans) == before
    listed = editor.get(f"/api/v1/plans?unit_id={SECTOR}").get_json()["items"]
    assert [p["period"] for p in listed] == ["2027"]


@pytest.mark.parametrize("period", ["0000", "9999"])
def test_an_implausible_year_is_no_period(
    editor: SignedClient, plans: Runtime, period: str
) -> None:
    before = event_count(plans)
    response = editor.post(
        "/api/v1/plans", {"unit_id": SECTOR, "period": period, "title": "Plan", "goal_ids": []}
    )
    assert refused(response, 422, "period")["errors"]["period"] == ["implausible year"]
    assert event_count(plans) == before


def test_a_phase_cannot_begin_in_9999(editor: SignedClient, plans: Runtime) -> None:
    plan = adopt(editor, make_plan(editor))
    before = event_count(plans)
    response = editor.post(
        f"/api/v1/plans/{plan['id']}/phase", {"phase": "do", "since": "9999-12-31"}
    )
    refused(response, 422, "since")
    assert event_count(plans) == before
    assert editor.get(f"/api/v1/plans/{plan['id']}").get_json()["phases"][-1]["phase"] == "plan"


def test_an_agreement_cannot_end_before_it_began(editor: SignedClient, plans: Runtime) -> None:
    plan = make_plan(editor)
    activity = add_activity(editor, plan).get_json()
    made = editor.post(
        f"/api/v1/plans/{plan['id']}/agreements",
        {"employee_ref": "hr-48121", "activity_ids": [activity["id"]], "agreed_on": "2025-09-15"},
    )
    assert made.status_code == 201, made.get_json()
    path = f"/api/v1/agreements/{made.get_json()['id']}"
    before = event_count(plans)
    refused(editor.post(f"{path}/end", {"ended_on": "2025-09-01"}), 422, "ended_on")
    future = editor.post(
        f"/api/v1/plans/{plan['id']}/agreements",
        {"employee_ref": "hr-1", "activity_ids": [activity["id"]], "agreed_on": "9999-01-01"},
    )
    refused(future, 422, "agreed_on")
    assert event_count(plans) == before
    assert editor.get(path).get_json()["status"] == "active"


@pytest.mark.parametrize(
    ("starts_on", "due_on", "field"),
    [
        ("1900-01-01", "2026-06-10", "starts_on"),
        ("2025-07-31", "2026-06-10", "starts_on"),
        ("2025-08-20", "2026-07-01", "due_on"),
    ],
)
def test_an_activity_lies_within_its_plans_period(
    editor: SignedClient, plans: Runtime, starts_on: str, due_on: str, field: str
) -> None:
    plan = make_plan(editor)  # 2025/26: 2025-08-01 to 2026-06-30
    before = event_count(plans)
    refused(add_activity(editor, plan, starts_on=starts_on, due_on=due_on), 422, field)
    assert event_count(plans) == before


def test_a_2040_plan_does_not_serve_a_goal_of_2023_2026(
    editor: SignedClient, plans: Runtime
) -> None:
    before = event_count(plans)
    response = editor.post(
        "/api/v1/plans",
        {"unit_id": SECTOR, "period": "2040", "title": "Plan 2040", "goal_ids": [SCHOOL_GOAL]},
    )
    assert "2023-2026" in refused(response, 409, "goal_ids")["detail"]
    assert event_count(plans) == before


@pytest.mark.parametrize("goal_id", [STRATEGIC_GOAL, ELDERLY_GOAL])
def test_an_activity_serves_only_goals_its_plan_serves(
    editor: SignedClient, plans: Runtime, goal_id: str
) -> None:
    plan = make_plan(editor)
    before = event_count(plans)
    refused(add_activity(editor, plan, goal_ids=[SCHOOL_GOAL, goal_id]), 409, "goal_ids")
    assert event_count(plans) == before


@pytest.mark.parametrize("indicator_id", ["indicator-unheard-of", ELDERLY_INDICATOR])
def test_an_activitys_indicators_exist_and_measure_its_goals(
    editor: SignedClient, plans: Runtime, indicator_id: str
) -> None:
    plan = make_plan(editor)
    before = event_count(plans)
    response = add_activity(editor, plan, indicator_ids=[SCHOOL_INDICATOR, indicator_id])
    refused(response, 409, "indicator_ids")
    assert event_count(plans) == before
    fine = add_activity(editor, plan, indicator_ids=[SCHOOL_INDICATOR])
    assert fine.status_code == 201, fine.get_json()


def test_a_closed_plan_takes_no_progress_and_no_agreements(
    editor: SignedClient, plans: Runtime
) -> None:
    plan = adopt(editor, make_plan(editor))
    activity = add_activity(editor, plan).get_json()
    closed = editor.post(f"/api/v1/plans/{plan['id']}/close", {"summary": "Läsåret är slut"})
    assert closed.status_code == 200, closed.get_json()
    before = event_count(plans)
    path = f"/api/v1/activities/{activity['id']}/progress"
    refused(editor.post(path, {"status": "in_progress"}), 409, "plan_id")
    refused(editor.post(path, {"note": "Gick bra"}), 409, "plan_id")
    agreement = editor.post(
        f"/api/v1/plans/{plan['id']}/agreements",
        {"employee_ref": "hr-48121", "activity_ids": [activity["id"]], "agreed_on": TODAY},
    )
    refused(agreement, 409, "plan_id")
    refused(add_activity(editor, plan), 409, "plan_id")
    assert event_count(plans) == before


def test_a_draft_plan_is_not_closed(editor: SignedClient, plans: Runtime) -> None:
    plan = make_plan(editor)
    before = event_count(plans)
    refused(editor.post(f"/api/v1/plans/{plan['id']}/close", {"summary": ""}), 409, "status")
    assert event_count(plans) == before
    assert editor.get(f"/api/v1/plans/{plan['id']}").get_json()["status"] == "draft"


def proposed(unit_id: str, stream_id: str = "proposal-7") -> RecordedEvent:
    return RecordedEvent(
        position=1,
        stream_id=stream_id,
        stream_type="improvement_proposal",
        version=1,
        event_id=uuid.uuid4(),
        event_type="ImprovementProposed.v1",
        data={"unit_id": unit_id, "period": "2025/26", "title": "Mer läsning i alla ämnen"},
        metadata={"actor": "key:rektor", "correlation_id": "c-1"},
        recorded_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def test_a_proposal_for_a_committee_is_recorded_as_rejected_and_makes_no_plan(
    app: Any, plans: Runtime
) -> None:
    for _ in range(2):  # delivered twice: decided once
        with connect(plans) as conn, conn.transaction():
            plans.applier.apply(conn, ReceivedEvent("/styrkort/reports", proposed(BUN)))
    with connect(plans) as conn:
        rows = conn.execute(
            "SELECT stream_type, event_type, data FROM events ORDER BY position"
        ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("improvement_proposal", "ImprovementProposalRejected.v1")
    ]
    assert "not by a committee" in rows[0][2]["reason"]
    from services.plans.domain import proposal  # not at the top: d810f7c has no proposals

    with connect(plans) as conn:
        stream = proposal.proposal_stream_id("proposal-7")
        assert plans.store.stream_version(conn, stream) == 1


def test_a_proposal_for_a_closed_plan_is_recorded_as_rejected(
    editor: SignedClient, plans: Runtime
) -> None:
    plan = adopt(editor, make_plan(editor, "2026/27"))
    assert editor.post(f"/api/v1/plans/{plan['id']}/close", {}).status_code == 200
    before = event_count(plans)
    with connect(plans) as conn, conn.transaction():
        plans.applier.apply(conn, ReceivedEvent("/styrkort/reports", proposed(SECTOR, "p-9")))
    with connect(plans) as conn:
        rows = conn.execute(
            "SELECT event_type, data FROM events WHERE position > %s", [before]
        ).fetchall()
    assert [r[0] for r in rows] == ["ImprovementProposalRejected.v1"]
    assert "closed" in rows[0][1]["reason"]


def test_a_proposal_for_a_sector_becomes_an_activity_once(app: Any, plans: Runtime) -> None:
    for _ in range(2):
        with connect(plans) as conn, conn.transaction():
            plans.applier.apply(conn, ReceivedEvent("/styrkort/reports", proposed(SECTOR, "p-8")))
    with connect(plans) as conn:
        types = [r[0] for r in conn.execute("SELECT event_type FROM events ORDER BY position")]
    assert types == [
        "ActionPlanDrafted.v1",
        "ActivityPlanned.v1",
        "ImprovementProposalAccepted.v1",
    ]


def test_reactions_load_and_append_through_the_runtimes_store(plans: Runtime) -> None:
    reactions = [
        p
        for p in plans.applier.all_projections
        if isinstance(p, GoalChangesFlagPlans | ImprovementProposalsBecomeActivities)
    ]
    assert len(reactions) == 2
    assert all(r.store is plans.store for r in reactions), "so upcasters apply"
