"""Plans built from goal events over Kafka (issue 4): real PostgreSQL, broker, relay, consumer."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaProducer

from services.goals.app import create_app as goals_app
from services.goals.seed import seed, seed_id, seed_unit_id
from services.plans.app import create_app as plans_app
from shared import envelope, values
from shared.consumer import Consumer, rebuild_consumer_read_models
from shared.events import RecordedEvent
from shared.kafka import ensure_topic
from shared.relay import Relay
from shared.runtime import Runtime
from shared.uow import rebuild_own_read_models
from tests.support import EDITOR, SignedClient, connect, wait_for

SECTOR = seed_unit_id("sektor-bou")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
TODAY = values.today().isoformat()


@pytest.fixture
def system(goals: Runtime, plans: Runtime) -> Iterator[tuple[SignedClient, SignedClient, Relay]]:
    seed(goals)
    ensure_topic(plans.config, plans.config.topic("reports"))
    stop = threading.Event()
    relay = Relay(goals.config, goals.store)
    threads = [
        threading.Thread(target=relay.run, args=(stop, 0.2)),
        threading.Thread(
            target=Consumer(plans.config, plans.pool, plans.applier).run, args=(stop,)
        ),
    ]
    for t in threads:
        t.start()
    yield (
        SignedClient(goals_app(goals.config, goals), EDITOR),
        SignedClient(plans_app(plans.config, plans), EDITOR),
        relay,
    )
    stop.set()
    for t in threads:
        t.join(30)


def known_goal(plans: Runtime, goal_id: str) -> Any:
    with connect(plans) as conn:
        return conn.execute(
            "SELECT level, status FROM known_goals WHERE id = %s", [goal_id]
        ).fetchone()


def known_unit(plans: Runtime, unit_id: str) -> Any:
    with connect(plans) as conn:
        return conn.execute("SELECT kind FROM known_org_units WHERE id = %s", [unit_id]).fetchone()


def snapshot(plans: Runtime) -> dict[str, list[Any]]:
    with connect(plans) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("known_org_units", "known_goals", "entity_versions")
        }


def test_plans_follow_goals_over_kafka(system: Any, goals: Runtime, plans: Runtime) -> None:
    goals_api, plans_api, relay = system
    wait_for(
        lambda: known_goal(plans, SCHOOL_GOAL) == ("operational", "adopted"),
        60,
        "the adopted goal to reach plans",
    )

    # a plan for the sector, serving the adopted goal, with an activity linked to it
    created = plans_api.post(
        "/api/v1/plans",
        {
            "unit_id": SECTOR,
            "period": "2026",
            "title": "Handlingsplan 2026",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    assert created.status_code == 201, created.get_json()
    plan = created.get_json()
    again = plans_api.post(
        "/api/v1/plans", {"unit_id": SECTOR, "period": "2026", "title": "En till", "goal_ids": []}
    )
    assert again.status_code == 409 and "already has a plan" in again.get_json()["detail"]
    activity = plans_api.post(
        f"/api/v1/plans/{plan['id']}/activities",
        {
            "title": "Läsfrämjande insatser i åk 4-6",
            "owner": "rektor",
            "starts_on": "2026-01-10",
            "due_on": "2026-06-10",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    assert activity.status_code == 201, activity.get_json()
    adopted = plans_api.post(
        f"/api/v1/plans/{plan['id']}/adopt",
        {"decided_by": SECTOR, "decided_on": TODAY},  # a plan is decided after it was drafted
    )
    assert adopted.status_code == 200, adopted.get_json()
    assert plans_api.post(f"/api/v1/plans/{plan['id']}/phase", {"phase": "do"}).status_code == 200

    # linking a goal that is not adopted is refused with the reason
    draft = goals_api.post(
        "/api/v1/goals",
        {
            "level": "operational",
            "owner_unit_id": BUN,
            "period": "2023-2026",
            "title": "Fler elever i kulturskolan",
            "derived_from": [seed_id("goal-", "s-trygg")],
        },
    )
    assert draft.status_code == 201
    wait_for(lambda: known_goal(plans, draft.get_json()["id"]), 30, "the draft goal in plans")
    refused = plans_api.post(
        f"/api/v1/plans/{plan['id']}/revise",
        {
            "goal_ids": [SCHOOL_GOAL, draft.get_json()["id"]],
            "decided_by": SECTOR,
            "decided_on": TODAY,
        },
    )
    assert refused.status_code == 409 and "not adopted" in refused.get_json()["detail"]

    # retiring the goal flags the plan for review, once
    retired = goals_api.post(
        f"/api/v1/goals/{SCHOOL_GOAL}/retire",
        {
            "reason": "Ersätts av nytt mål",
            "decided_by": BUN,
            "decided_on": "2026-03-02",
            "minute_ref": "BUN 2026-03-02 §21",
        },
    )
    assert retired.status_code == 200, retired.get_json()

    def flags() -> list[Any]:
        result: list[Any] = plans_api.get(f"/api/v1/plans/{plan['id']}").get_json()["review_flags"]
        return result

    assert wait_for(flags, 30, "the plan to be flagged")[0]["reason"] == "goal_retired"
    history = plans_api.get(f"/api/v1/history/{plan['id']}").get_json()["events"]
    assert history[-1]["event_type"] == "ActionPlanFlaggedForReview.v1"
    assert history[-1]["actor"] == "system:plans-consumer"

    # replaying goals.events (twice) changes nothing
    before = snapshot(plans)
    with connect(goals) as conn:
        last = goals.store.last_position(conn)
    for _ in range(2):
        with connect(goals) as conn:
            relay.reset_checkpoint(conn, 1)
        wait_for(lambda: _checkpoint(relay, goals) == last, 30, "the republish")
    with connect(plans) as conn:
        wait_for(lambda: _consumed_position(plans) >= last, 30, "the consumer to catch up")
    assert snapshot(plans) == before and len(flags()) == 1

    # rebuilding the plans read models from events (own store + topic) gives the same
    rebuild_own_read_models(plans.pool, plans.store, plans.projections)
    rebuild_consumer_read_models(plans.config, plans.pool, plans.applier)
    assert snapshot(plans) == before


def _checkpoint(relay: Relay, goals: Runtime) -> int:
    with connect(goals) as conn:
        return relay.checkpoint(conn)


def _consumed_position(plans: Runtime) -> int:
    with connect(plans) as conn:
        row = conn.execute("SELECT coalesce(max(position), 0) FROM consumed_streams").fetchone()
    return int(row[0]) if row else 0


def test_an_improvement_proposal_becomes_an_activity_of_next_periods_plan_once(
    system: Any, plans: Runtime
) -> None:
    _, plans_api, _ = system
    # a proposal for a unit plans does not know (yet) is rejected, not forced into a plan
    wait_for(lambda: known_unit(plans, SECTOR), 60, "the sector to reach plans")
    proposal = RecordedEvent(
        position=7,
        stream_id="proposal-1",
        stream_type="improvement_proposal",
        version=1,
        event_id=uuid.uuid4(),
        event_type="ImprovementProposed.v1",
        data={
            "unit_id": SECTOR,
            "period": "2025/26",
            "title": "Mer läsning i alla ämnen",
            "description": "Ur kvalitetsredovisningen 2025/26",
        },
        metadata={"actor": "key:rektor", "correlation_id": "c-1"},
        recorded_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    producer = KafkaProducer(bootstrap_servers=plans.config.kafka_bootstrap_servers)
    for _ in range(2):  # delivered twice
        producer.send(
            plans.config.topic("reports"),
            key=b"proposal-1",
            value=envelope.encode(envelope.to_cloudevent(proposal, "/styrkort/reports")),
        )
    producer.flush()
    producer.close()

    def next_plan() -> Any:
        found = plans_api.get(f"/api/v1/plans?unit_id={SECTOR}&period=2026/27").get_json()
        return found["items"]

    [plan] = wait_for(next_plan, 60, "the next period's plan")
    assert (plan["status"], plan["title"]) == ("draft", "Handlingsplan 2026/27")

    def activities() -> Any:
        return plans_api.get(f"/api/v1/plans/{plan['id']}/activities").get_json()["items"]

    [activity] = wait_for(activities, 30, "the proposed activity")
    assert activity["work"]["title"] == "Mer läsning i alla ämnen"
    assert activity["proposed_by"] == "proposal-1"
    assert (activity["work"]["starts_on"], activity["work"]["due_on"]) == (
        "2026-08-01",
        "2027-06-30",
    )
    with connect(plans) as conn:
        assert conn.execute(
            "SELECT count(*) FROM events WHERE stream_type = 'activity'"
        ).fetchone() == (1,), "made once, however often it arrives"
