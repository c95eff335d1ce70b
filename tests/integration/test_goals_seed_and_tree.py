"""Demo seed, the goal tree and reads as of an instant, through the goals HTTP API."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest

from services.goals.app import create_app
from services.goals.seed import seed
from shared.runtime import Runtime
from shared.uow import rebuild_own_read_models
from tests.support import EDITOR, READER, SignedClient, connect


@pytest.fixture
def seeded(goals: Runtime) -> Runtime:
    seed(goals)
    return goals


@pytest.fixture
def reader(seeded: Runtime) -> SignedClient:
    return SignedClient(create_app(seeded.config, seeded), READER)


def test_seeding_twice_does_not_duplicate(seeded: Runtime) -> None:
    with connect(seeded) as conn:
        before = seeded.store.last_position(conn)
    assert "seeded 0 entities" in seed(seeded)
    with connect(seeded) as conn:
        assert seeded.store.last_position(conn) == before
        assert seeded.store.verify(conn).ok


def test_the_tree_runs_from_the_vision_to_the_indicators(reader: SignedClient) -> None:
    tree = reader.get("/api/v1/goals/tree").get_json()
    assert tree["vision"]["title"] == "Bo i Götene, lev i världen"
    names = [a["name"] for a in tree["development_areas"]]
    assert sorted(names) == sorted(
        ["Attraktiva livsmiljöer", "Dynamiskt näringsliv", "Ökad rörlighet", "Ett synligt Götene"]
    )
    livsmiljo = next(a for a in tree["development_areas"] if a["name"] == "Attraktiva livsmiljöer")
    trygg = next(g for g in livsmiljo["strategic_goals"] if "trygg" in g["title"])
    operational = {g["title"] for g in trygg["operational_goals"]}
    assert "Alla elever når kunskapskraven i grundskolan" in operational
    school = next(g for g in trygg["operational_goals"] if "elever" in g["title"])
    assert school["owner_unit_name"] == "Barn- och utbildningsnämnden"
    assert school["indicators"][0]["definition"]["source"]["kpi_id"] == "N15419"
    assert tree["goal_count"] == 8


def test_lists_filter_and_every_read_takes_as_of(reader: SignedClient) -> None:
    strategic = reader.get("/api/v1/goals?level=strategic&period=2023-2026").get_json()
    assert len(strategic["items"]) == 4
    assert {g["status"] for g in strategic["items"]} == {"adopted"}
    policies = reader.get("/api/v1/documents?doc_type=vision").get_json()["items"]
    assert policies[0]["decision"]["minute_ref"] == "KF 2009-01-26 §5"
    long_ago = reader.get("/api/v1/goals?as_of=2000-01-01").get_json()
    assert long_ago["items"] == []
    empty_tree = reader.get("/api/v1/goals/tree?as_of=2000-01-01").get_json()
    assert empty_tree["goal_count"] == 0 and empty_tree["vision"] is None


def test_as_of_before_and_after_a_revision_returns_the_two_versions(seeded: Runtime) -> None:
    editor = SignedClient(create_app(seeded.config, seeded), EDITOR)
    goal = editor.get("/api/v1/goals?level=strategic&limit=1").get_json()["items"][0]
    time.sleep(0.01)
    between = editor.get(f"/api/v1/history/{goal['id']}").get_json()["events"][-1]["recorded_at"]
    time.sleep(0.01)
    council = goal["decision"]["decided_by"]
    revised = editor.post(
        f"/api/v1/goals/{goal['id']}/revise",
        {
            "title": "En ny lydelse",
            "decided_by": council,
            "decided_on": "2024-06-17",
            "minute_ref": "KF 2024-06-17 §60",
        },
        headers={"If-Match": f'"{goal["version"]}"'},
    )
    assert revised.status_code == 200, revised.get_json()
    then = editor.get(f"/api/v1/goals/{goal['id']}?as_of={quote(between)}").get_json()
    now = editor.get(f"/api/v1/goals/{goal['id']}").get_json()
    assert then["content"]["title"] == goal["content"]["title"]
    assert now["content"]["title"] == "En ny lydelse"
    assert now["decision"]["minute_ref"] == "KF 2024-06-17 §60"
    tree_then = editor.get(f"/api/v1/goals/tree?as_of={quote(between)}").get_json()
    titles_then = {g["title"] for a in tree_then["development_areas"] for g in a["strategic_goals"]}
    assert goal["content"]["title"] in titles_then and "En ny lydelse" not in titles_then


def test_history_is_complete_ordered_and_names_the_decision(seeded: Runtime) -> None:
    editor = SignedClient(create_app(seeded.config, seeded), EDITOR)
    goal = editor.get("/api/v1/goals?level=operational&limit=1").get_json()["items"][0]
    history = editor.get(f"/api/v1/history/{goal['id']}").get_json()
    events = history["events"]
    assert [e["event_type"] for e in events] == ["GoalDrafted.v1", "GoalAdopted.v1"]
    assert [e["version"] for e in events] == [1, 2]
    assert events[0]["position"] < events[1]["position"]
    assert events[1]["decision"]["decided_by"] == goal["owner_unit_id"]
    assert events[1]["actor"] == "system:seed" and events[1]["decision"]["minute_ref"]


def test_the_rebuilt_read_model_equals_the_live_one(seeded: Runtime) -> None:
    def rows() -> list[Any]:
        with connect(seeded) as conn:
            return conn.execute(
                "SELECT entity_id, version, valid_from, valid_to, state "
                "FROM entity_versions ORDER BY entity_id, version"
            ).fetchall()

    live = rows()
    assert len(live) > 40
    rebuild_own_read_models(seeded.pool, seeded.store, seeded.projections)
    assert rows() == live
