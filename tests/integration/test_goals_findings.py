"""The findings of issue #7, replayed over HTTP against the real PostgreSQL: each is refused with
a Problem+JSON naming the field, and nothing changes. Every one of these was accepted before."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from services.goals.app import create_app
from services.goals.seed import seed, seed_id, seed_unit_id
from shared.events import Metadata, NewEvent
from shared.runtime import Runtime
from shared.uow import rebuild_own_read_models
from tests.support import EDITOR, SignedClient, connect

KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SON = seed_unit_id("son")
SECTOR = seed_unit_id("sektor-bou")
AREA = seed_id("area-", "livsmiljo")
STRATEGIC = seed_id("goal-", "s-trygg")  # adopted by the council on 2022-11-28
COUNCIL_DECISION = {"decided_by": KF, "decided_on": "2023-01-30", "minute_ref": "KF §7"}
UNITS = "/api/v1/org-units"


@pytest.fixture
def api(goals: Runtime) -> SignedClient:
    seed(goals)
    return SignedClient(create_app(goals.config, goals), EDITOR)


def last_position(goals: Runtime) -> int:
    with connect(goals) as conn:
        return goals.store.last_position(conn)


def refused(goals: Runtime, send: Any, status: int, field: str) -> dict[str, Any]:
    """`send()` is answered `status` as Problem+JSON naming `field`, and records nothing."""
    before = last_position(goals)
    response = send()
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert field in body.get("errors", {}), body
    assert last_position(goals) == before, "a refused command changes nothing"
    return body


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def draft_strategic(api: SignedClient, period: str = "2027-2030", **extra: Any) -> dict[str, Any]:
    body = {
        "level": "strategic",
        "owner_unit_id": KF,
        "period": period,
        "title": "Fler unga väljer att bo kvar",
        "development_area_id": AREA,
        **extra,
    }
    return created(api.post("/api/v1/goals", body))


# -- organisation ---------------------------------------------------------------------------------


def test_a_second_council_is_refused(api: SignedClient, goals: Runtime) -> None:
    body = refused(
        goals, lambda: api.post(UNITS, {"name": "Fullmäktige", "kind": "council"}), 409, "kind"
    )
    assert "one council" in body["detail"]
    assert len(api.get(f"{UNITS}?kind=council").get_json()["items"]) == 1


def test_concurrent_creations_of_a_council_make_one(goals: Runtime) -> None:
    """The check reads other units; the append lock taken first makes check-then-append atomic."""
    app = create_app(goals.config, goals)
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def create(name: str) -> None:
        try:
            client = SignedClient(app, EDITOR)
            barrier.wait()
            statuses.append(client.post(UNITS, {"name": name, "kind": "council"}).status_code)
        except BaseException as exc:  # raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(f"KF {i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    assert sorted(statuses) == [201, 409, 409, 409]


def test_a_second_executive_board_is_refused(api: SignedClient, goals: Runtime) -> None:
    second = {"name": "KS 2", "kind": "executive_board", "parent_id": KF}
    refused(goals, lambda: api.post(UNITS, second), 409, "kind")


def test_sibling_units_with_the_same_name_but_case_or_whitespace_are_refused(
    api: SignedClient, goals: Runtime
) -> None:
    same = {"name": "  SEKTOR barn   och UTBILDNING ", "kind": "sector", "parent_id": BUN}
    body = refused(goals, lambda: api.post(UNITS, same), 409, "name")
    assert "Sektor barn och utbildning" in body["detail"]
    other = created(
        api.post(UNITS, {"name": "Sektor elevhälsa", "kind": "sector", "parent_id": BUN})
    )
    rename = {"name": "sektor barn och utbildning"}
    refused(goals, lambda: api.post(f"{UNITS}/{other['id']}/rename", rename), 409, "name")
    elsewhere = created(
        api.post(UNITS, {"name": "Sektor Barn och Utbildning", "kind": "sector", "parent_id": SON})
    )
    move = {"parent_id": BUN}
    refused(goals, lambda: api.post(f"{UNITS}/{elsewhere['id']}/move", move), 409, "name")
    assert api.get(f"{UNITS}/{elsewhere['id']}").get_json()["parent_id"] == SON


def test_closing_a_committee_with_open_units_below_is_refused(
    api: SignedClient, goals: Runtime
) -> None:
    close = {"reason": "Ny organisation 2027"}
    body = refused(goals, lambda: api.post(f"{UNITS}/{BUN}/close", close), 409, "units_below")
    # the sector and its two schools (Ljungsgården, Hasslerudskolan) lie below the committee
    assert "3 open unit(s)" in body["detail"] and "Hasslerudskolan" in body["detail"]
    assert api.get(f"{UNITS}/{BUN}").get_json()["status"] == "active"


# -- names and titles -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\u200b", "\x07\x08", "Nämnd\x1b[31m", " \u200b\u2060 "])
def test_names_of_control_characters_or_a_lone_zero_width_space_are_refused(
    api: SignedClient, goals: Runtime, bad: str
) -> None:
    attempts: list[tuple[str, dict[str, Any], str]] = [
        (UNITS, {"name": bad, "kind": "committee", "parent_id": KF}, "name"),
        (
            "/api/v1/goals",
            {
                "level": "strategic",
                "owner_unit_id": KF,
                "period": "2027-2030",
                "title": bad,
                "development_area_id": AREA,
            },
            "title",
        ),
        (
            "/api/v1/documents",
            {"doc_type": "policy", "owner_unit_id": BUN, "title": bad, "valid_from": "2026-01-01"},
            "title",
        ),
        ("/api/v1/development-areas", {"name": bad, **COUNCIL_DECISION}, "name"),
        (
            f"/api/v1/goals/{STRATEGIC}/indicators",
            {
                "name": bad,
                "unit_of_measure": "%",
                "direction": "higher_is_better",
                "source": {"kind": "manual"},
                **COUNCIL_DECISION,
            },
            "name",
        ),
    ]
    for path, body, field in attempts:
        refused(goals, lambda path=path, body=body: api.post(path, body), 422, field)
    refused(goals, lambda: api.post(f"{UNITS}/{BUN}/rename", {"name": bad}), 422, "name")


# -- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "period",
    [
        "2027-2030\n",
        "\u0662\u0660\u0662\u0667-\u0662\u0660\u0663\u0660",  # Arabic-Indic digits
        "\uff12\uff10\uff12\uff17-\uff12\uff10\uff13\uff10",  # full-width digits
    ],
)
def test_a_mandate_period_with_a_trailing_newline_or_unicode_digits_is_refused(
    api: SignedClient, goals: Runtime, period: str
) -> None:
    body = {
        "level": "strategic",
        "owner_unit_id": KF,
        "period": period,
        "title": "Trygg uppväxt",
        "development_area_id": AREA,
    }
    refused(goals, lambda: api.post("/api/v1/goals", body), 422, "period")


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"year": 2027.5, "value": 60}, "year"),
        ({"year": "2027", "value": 60}, "year"),
        ({"year": 2027, "value": "8.0"}, "value"),
    ],
)
def test_a_target_year_is_an_integer_and_its_value_a_number(
    api: SignedClient, goals: Runtime, target: dict[str, Any], field: str
) -> None:
    goal = draft_strategic(api)  # 2027-2030, so 2027 is a year of its mandate period
    indicator = created(
        api.post(
            f"/api/v1/goals/{goal['id']}/indicators",
            {
                "name": "Andel unga som bor kvar",
                "unit_of_measure": "%",
                "direction": "higher_is_better",
                "source": {"kind": "manual"},
                **COUNCIL_DECISION,
            },
        )
    )
    path = f"/api/v1/indicators/{indicator['id']}/targets"
    refused(goals, lambda: api.post(path, {**target, **COUNCIL_DECISION}), 422, field)
    assert api.get(f"/api/v1/indicators/{indicator['id']}").get_json()["targets"] == {}


@pytest.mark.parametrize("key", ["\uff12\uff10\uff12\uff16", "2026\n"])
def test_the_target_years_of_a_new_indicator_are_four_ascii_digits(
    api: SignedClient, goals: Runtime, key: str
) -> None:
    body = {
        "name": "Andel unga som bor kvar",
        "unit_of_measure": "%",
        "direction": "higher_is_better",
        "source": {"kind": "manual"},
        "targets": {key: 12},
        **COUNCIL_DECISION,
    }
    refused(goals, lambda: api.post(f"/api/v1/goals/{STRATEGIC}/indicators", body), 422, "targets")


@pytest.mark.parametrize("day", ["2030-12-31", "2200-12-31"])
def test_decisions_dated_in_the_future_are_refused(
    api: SignedClient, goals: Runtime, day: str
) -> None:
    future = {**COUNCIL_DECISION, "decided_on": day}
    goal = draft_strategic(api)  # 2027-2030: 2030-12-31 lies in its mandate period
    refused(goals, lambda: api.post(f"/api/v1/goals/{goal['id']}/adopt", future), 422, "decided_on")
    vision = created(
        api.post(
            "/api/v1/documents",
            {
                "doc_type": "vision",
                "owner_unit_id": KF,
                "title": "Vision",
                "valid_from": "2027-01-01",
            },
        )
    )
    adopt = f"/api/v1/documents/{vision['id']}/adopt"
    refused(goals, lambda: api.post(adopt, future), 422, "decided_on")
    retire = {"reason": "Ersatt", **future}
    refused(goals, lambda: api.post(f"/api/v1/goals/{STRATEGIC}/retire", retire), 422, "decided_on")
    assert api.get(f"/api/v1/goals/{goal['id']}").get_json()["status"] == "draft"
    assert api.get(f"/api/v1/goals/{STRATEGIC}").get_json()["status"] == "adopted"


def test_a_retirement_dated_before_the_adoption_is_refused(
    api: SignedClient, goals: Runtime
) -> None:
    early = {"reason": "Ersatt", **COUNCIL_DECISION, "decided_on": "2022-01-01"}
    body = refused(
        goals, lambda: api.post(f"/api/v1/goals/{STRATEGIC}/retire", early), 422, "decided_on"
    )
    assert "2022-11-28" in body["detail"]
    assert api.get(f"/api/v1/goals/{STRATEGIC}").get_json()["status"] == "adopted"


# -- who decides ----------------------------------------------------------------------------------


def test_a_committee_adopting_another_committees_policy_is_refused(
    api: SignedClient, goals: Runtime
) -> None:
    policy = created(
        api.post(
            "/api/v1/documents",
            {
                "doc_type": "policy",
                "owner_unit_id": SON,
                "title": "Policy för anhörigstöd",
                "valid_from": "2026-01-01",
            },
        )
    )
    adopt = f"/api/v1/documents/{policy['id']}/adopt"
    by_bun = {"decided_by": BUN, "decided_on": "2026-01-10", "minute_ref": "BUN 2026-01-10 §3"}
    body = refused(goals, lambda: api.post(adopt, by_bun), 409, "decided_by")
    assert "body above it" in body["detail"]
    assert api.get(f"/api/v1/documents/{policy['id']}").get_json()["status"] == "draft"
    by_son = {**by_bun, "decided_by": SON, "minute_ref": "SON 2026-01-10 §4"}
    assert api.post(adopt, by_son).status_code == 200


def test_indicators_need_the_decision_of_the_body_that_decides_the_goal(
    api: SignedClient, goals: Runtime
) -> None:
    body = {
        "name": "Andel unga som bor kvar",
        "unit_of_measure": "%",
        "direction": "higher_is_better",
        "source": {"kind": "manual"},
    }
    path = f"/api/v1/goals/{STRATEGIC}/indicators"
    refused(goals, lambda: api.post(path, body), 422, "decided_by")
    by_bun = {"decided_by": BUN, "decided_on": "2023-03-01", "minute_ref": "BUN §9"}
    refused(goals, lambda: api.post(path, {**body, **by_bun}), 409, "decided_by")
    made = created(api.post(path, {**body, **COUNCIL_DECISION}))
    history = api.get(f"/api/v1/history/{made['id']}").get_json()["events"]
    assert history[0]["event_type"] == "IndicatorDefined.v2"
    assert history[0]["data"]["minute_ref"] == "KF §7"


# -- lineage --------------------------------------------------------------------------------------


def test_goal_carried_forward_is_recorded_when_the_successor_is_adopted_not_drafted(
    api: SignedClient, goals: Runtime
) -> None:
    def history() -> list[str]:
        events = api.get(f"/api/v1/history/{STRATEGIC}").get_json()["events"]
        return [e["event_type"] for e in events]

    successor = draft_strategic(
        api,
        title="Trygg uppväxt 2027-2030",
        lineage={"relation": "continues", "predecessors": [STRATEGIC]},
    )
    assert "GoalCarriedForward.v1" not in history()
    assert api.get(f"/api/v1/goals/{STRATEGIC}").get_json()["successors"] == []
    decision = {**COUNCIL_DECISION, "decided_on": "2026-10-05"}
    adopted = api.post(f"/api/v1/goals/{successor['id']}/adopt", decision)
    assert adopted.status_code == 200, adopted.get_json()
    assert history()[-1] == "GoalCarriedForward.v1"
    assert api.get(f"/api/v1/goals/{STRATEGIC}").get_json()["successors"] == [
        {"goal_id": successor["id"], "relation": "continues"}
    ]


# -- events recorded before they carried the decision ---------------------------------------------


def test_an_indicator_recorded_as_v1_reads_as_v2_with_no_decision(
    api: SignedClient, goals: Runtime
) -> None:
    old = "indicator-00000000-0000-4000-8000-000000000001"
    definition = {
        "name": "Andel trygga",
        "unit_of_measure": "%",
        "direction": "higher_is_better",
        "source": {"kind": "manual", "kpi_id": None, "description": ""},
        "baseline": None,
    }
    recorded_then = [
        NewEvent(
            "IndicatorDefined.v1",
            {"indicator_id": old, "goal_id": STRATEGIC, "definition": definition},
        ),
        NewEvent("IndicatorTargetSet.v1", {"indicator_id": old, "year": 2026, "value": 70.0}),
    ]
    with connect(goals) as conn:
        goals.store.append(conn, old, "indicator", 0, recorded_then, Metadata("system:old", "c-1"))
    rebuild_own_read_models(goals.pool, goals.store, goals.projections)
    assert api.get(f"/api/v1/indicators/{old}").get_json()["targets"] == {"2026": 70.0}
    retire = {"reason": "Ersatt", **COUNCIL_DECISION}
    assert api.post(f"/api/v1/indicators/{old}/retire", retire).status_code == 200
    history = api.get(f"/api/v1/history/{old}").get_json()["events"]
    assert [e["event_type"] for e in history] == [
        "IndicatorDefined.v2",
        "IndicatorTargetSet.v2",
        "IndicatorRetired.v2",
    ]
    assert history[0]["data"]["decided_by"] is None
    assert history[-1]["data"]["decided_by"] == KF
    with connect(goals) as conn:
        assert goals.store.verify(conn).ok, "upcasting never rewrites what was recorded"
