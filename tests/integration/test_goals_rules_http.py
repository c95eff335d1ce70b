"""Business rules answered over HTTP: clear Problem+JSON, the right status, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from services.goals.app import create_app
from services.goals.seed import seed, seed_id, seed_unit_id
from shared.runtime import Runtime
from tests.support import EDITOR, SignedClient, connect

KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SECTOR = seed_unit_id("sektor-bou")
AREA = seed_id("area-", "livsmiljo")
STRATEGIC = seed_id("goal-", "s-trygg")
COUNCIL_DECISION = {"decided_by": KF, "decided_on": "2023-01-30", "minute_ref": "KF §7"}


@pytest.fixture
def api(goals: Runtime) -> SignedClient:
    seed(goals)
    return SignedClient(create_app(goals.config, goals), EDITOR)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def draft_strategic(api: SignedClient, **extra: Any) -> dict[str, Any]:
    body = {
        "level": "strategic",
        "owner_unit_id": KF,
        "period": "2023-2026",
        "title": "Fler unga väljer att bo kvar",
        "development_area_id": AREA,
        "perspectives": ["social"],
        **extra,
    }
    response = api.post("/api/v1/goals", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_policy_adopted_by_a_unit_manager_is_refused_naming_who_may(
    api: SignedClient, goals: Runtime
) -> None:
    policy = api.post(
        "/api/v1/documents",
        {
            "doc_type": "policy",
            "owner_unit_id": SECTOR,
            "title": "Policy för läsfrämjande",
            "valid_from": "2026-01-01",
        },
    ).get_json()
    with connect(goals) as conn:
        before = goals.store.last_position(conn)
    refused = problem(
        api.post(
            f"/api/v1/documents/{policy['id']}/adopt",
            {"decided_by": SECTOR, "decided_on": "2026-01-10"},
        ),
        409,
    )
    assert "executive board" in refused["detail"] and "chief executive" in refused["detail"]
    assert "decided_by" in refused["errors"]
    with connect(goals) as conn:
        assert goals.store.last_position(conn) == before, "a refused command changes nothing"
    adopted = api.post(
        f"/api/v1/documents/{policy['id']}/adopt",
        {"decided_by": BUN, "decided_on": "2026-01-10", "minute_ref": "BUN 2026-01-10 §3"},
    )
    assert adopted.status_code == 200 and adopted.get_json()["edition"] == 1


def test_wrong_transitions_are_409_with_the_reason(api: SignedClient) -> None:
    goal = draft_strategic(api)
    path = f"/api/v1/goals/{goal['id']}"
    assert api.post(f"{path}/adopt", COUNCIL_DECISION).status_code == 200
    edit = problem(api.post(f"{path}/edit", {"title": "Ändrad"}), 409)
    assert "new decision" in edit["detail"]
    assert api.post(f"{path}/retire", {"reason": "Ersatt", **COUNCIL_DECISION}).status_code == 200
    again = problem(api.post(f"{path}/adopt", COUNCIL_DECISION), 409)
    assert "retired" in again["detail"]


def test_dates_outside_the_mandate_period_are_422(api: SignedClient) -> None:
    goal = draft_strategic(api)
    late = problem(
        api.post(
            f"/api/v1/goals/{goal['id']}/adopt", {**COUNCIL_DECISION, "decided_on": "2031-01-01"}
        ),
        422,
    )
    assert "decided_on" in late["errors"]
    indicator = api.post(
        f"/api/v1/goals/{goal['id']}/indicators",
        {
            "name": "Andel unga 20-29 år",
            "unit_of_measure": "%",
            "direction": "higher_is_better",
            "source": {"kind": "manual"},
            "targets": {"2030": 12},
            **COUNCIL_DECISION,
        },
    )
    assert "year" in problem(indicator, 422)["errors"]


def test_an_operational_goal_must_trace_to_an_adopted_strategic_goal(api: SignedClient) -> None:
    draft = draft_strategic(api)
    body = {
        "level": "operational",
        "owner_unit_id": BUN,
        "period": "2023-2026",
        "title": "Fler elever läser på fritiden",
    }
    assert "derived_from" in problem(api.post("/api/v1/goals", body), 422)["errors"]
    not_adopted = problem(api.post("/api/v1/goals", {**body, "derived_from": [draft["id"]]}), 409)
    assert "not adopted" in not_adopted["detail"]
    made = api.post("/api/v1/goals", {**body, "derived_from": [STRATEGIC]})
    assert made.status_code == 201
    assert made.get_json()["placement"]["derived_from"] == [STRATEGIC]


def test_a_goal_carried_into_the_next_period_is_followed_across_periods(
    api: SignedClient,
) -> None:
    successor = draft_strategic(
        api,
        period="2027-2030",
        title="Trygg uppväxt 2027-2030",
        lineage={"relation": "continues", "predecessors": [STRATEGIC]},
    )
    assert successor["lineage"] == {"relation": "continues", "predecessors": [STRATEGIC]}
    adopted = api.post(
        f"/api/v1/goals/{successor['id']}/adopt", {**COUNCIL_DECISION, "decided_on": "2026-10-05"}
    )
    assert adopted.status_code == 200, adopted.get_json()
    predecessor = api.get(f"/api/v1/goals/{STRATEGIC}").get_json()
    assert predecessor["successors"] == [{"goal_id": successor["id"], "relation": "continues"}]
    history = api.get(f"/api/v1/history/{STRATEGIC}").get_json()["events"]
    assert history[-1]["event_type"] == "GoalCarriedForward.v1"
    backwards = problem(
        api.post(
            "/api/v1/goals",
            {
                "level": "strategic",
                "owner_unit_id": KF,
                "period": "2019-2022",
                "title": "Bakåt",
                "development_area_id": AREA,
                "lineage": {"relation": "continues", "predecessors": [STRATEGIC]},
            },
        ),
        409,
    )
    assert "later period" in backwards["detail"]


def test_unknown_ids_are_404_naming_the_field(api: SignedClient) -> None:
    assert problem(api.get("/api/v1/goals/goal-nope"), 404)
    assert problem(api.get("/api/v1/indicators/indicator-nope"), 404)
    assert problem(api.get(f"/api/v1/goals/{KF}"), 404), "an org unit id is not a goal"
    missing_area = problem(
        api.post(
            "/api/v1/goals",
            {
                "level": "strategic",
                "owner_unit_id": KF,
                "period": "2023-2026",
                "title": "X",
                "development_area_id": "area-nope",
            },
        ),
        404,
    )
    assert "development_area_id" in missing_area["errors"]
    nobody = problem(
        api.post(
            f"/api/v1/goals/{draft_strategic(api)['id']}/adopt",
            {**COUNCIL_DECISION, "decided_by": "mayor"},
        ),
        422,
    )
    assert "decided_by" in nobody["errors"]


def test_indicator_targets_and_thresholds_over_http(api: SignedClient) -> None:
    created = api.post(
        f"/api/v1/goals/{STRATEGIC}/indicators",
        {
            "name": "Andel invånare som känner sig trygga",
            "unit_of_measure": "%",
            "direction": "higher_is_better",
            "source": {"kind": "kolada", "kpi_id": "U07414"},
            "baseline": {"value": 71.5, "year": 2022},
            "targets": {"2025": 75, "2026": 78},
            "thresholds": {"green": 76, "yellow": 70},
            **COUNCIL_DECISION,
        },
    )
    assert created.status_code == 201, created.get_json()
    indicator = created.get_json()
    assert indicator["targets"] == {"2025": 75.0, "2026": 78.0}
    path = f"/api/v1/indicators/{indicator['id']}"
    changed = api.post(
        f"{path}/targets",
        {"year": 2026, "value": 80, **COUNCIL_DECISION},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200 and changed.get_json()["targets"]["2026"] == 80.0
    listed = api.get(f"/api/v1/goals/{STRATEGIC}/indicators").get_json()["items"]
    assert indicator["id"] in {i["id"] for i in listed}
    bad = problem(
        api.post(f"{path}/thresholds", {"green": 60, "yellow": 70, **COUNCIL_DECISION}), 422
    )
    assert "thresholds" in bad["errors"]
    kolada = problem(
        api.post(
            f"/api/v1/goals/{STRATEGIC}/indicators",
            {
                "name": "X",
                "unit_of_measure": "%",
                "direction": "higher_is_better",
                "source": {"kind": "kolada", "kpi_id": "945"},
                **COUNCIL_DECISION,
            },
        ),
        422,
    )
    assert "source.kpi_id" in kolada["errors"]
