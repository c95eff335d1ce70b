"""Issue #8, nothing can stall delivery: bounded requests, events the broker can take, and a
relay that stops on a permanent produce error until an administrator decides; on the real
PostgreSQL and Tansu broker."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from services.goals.app import create_app as create_goals_app
from services.goals.seed import seed_id, seed_unit_id
from services.plans.app import create_app
from shared.config import Config
from shared.errors import EventTooLarge
from shared.events import Metadata, NewEvent
from shared.metrics import StoreCollector
from shared.relay import (
    AdminError,
    DeliveryBlocked,
    Relay,
    make_producer,
    record_skip,
    relay_status,
)
from shared.runtime import Runtime
from shared.store import EventStore
from tests.integration.test_relay_and_consumer import topic_events
from tests.support import (
    ADMIN,
    AUDITOR,
    EDITOR,
    REPO,
    SignedClient,
    connect,
    feed_seeded_goals,
    wait_for,
)

META = Metadata(actor="key:test", correlation_id="corr")
SECTOR = seed_unit_id("sektor-bou")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")


def draft_plan(client: SignedClient) -> dict[str, Any]:
    made = client.post(
        "/api/v1/plans",
        {"unit_id": SECTOR, "period": "2025/26", "title": "Handlingsplan", "goal_ids": []},
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()  # type: ignore[no-any-return]


def last_position(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        return runtime.store.last_position(conn)


def activity(indicator_ids: list[str]) -> dict[str, Any]:
    return {
        "title": "Lässtunder",
        "owner": "arbetslag",
        "starts_on": "2025-08-20",
        "due_on": "2026-06-10",
        "indicator_ids": indicator_ids,
    }


# -- requests ---------------------------------------------------------------------------------


def test_the_poison_request_is_refused_and_appends_nothing(goals: Runtime, plans: Runtime) -> None:
    feed_seeded_goals(goals, plans)
    client = SignedClient(create_app(plans.config, plans), EDITOR)
    plan = draft_plan(client)
    before = last_position(plans)
    poison = [f"indicator-{i:06d}-" + "x" * 173 for i in range(6000)]  # 190 characters each
    assert all(len(i) == 190 for i in poison)
    response = client.post(f"/api/v1/plans/{plan['id']}/activities", activity(poison))
    assert response.status_code == 413, response.get_json()
    assert response.content_type == "application/problem+json"
    # under the request limit, the list is still too long for the schema
    response = client.post(f"/api/v1/plans/{plan['id']}/activities", activity(poison[:51]))
    assert response.status_code == 422, response.get_json()
    assert "indicator_ids" in response.get_json()["errors"]
    assert last_position(plans) == before


def test_a_body_over_the_request_limit_is_413_problem_json_unparsed(plans: Runtime) -> None:
    client = SignedClient(create_app(plans.config, plans), EDITOR)
    body = json.dumps({"title": "x" * (2 * 1024 * 1024)}).encode()
    response = client.request("POST", "/api/v1/plans", data=body)
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 413 and problem["instance"] == "/api/v1/plans"


def test_an_event_over_the_message_limit_is_413_naming_type_size_and_limit(
    goals: Runtime, make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]
) -> None:
    plans = make_runtime("plans", make_config("plans", kafka_max_message_bytes=4000))
    feed_seeded_goals(goals, plans)
    client = SignedClient(create_app(plans.config, plans), EDITOR)
    plan = draft_plan(client)
    made = client.post(f"/api/v1/plans/{plan['id']}/activities", activity([]))
    assert made.status_code == 201, made.get_json()
    before = last_position(plans)
    path = f"/api/v1/activities/{made.get_json()['id']}/progress"
    response = client.post(path, {"status": "in_progress", "note": "å" * 5000})
    assert response.status_code == 413, response.get_json()
    problem = response.get_json()
    assert response.content_type == "application/problem+json"
    assert problem["event_type"].startswith("Activity"), problem
    assert problem["limit"] == 4000 and problem["size"] > 4000
    assert last_position(plans) == before


# -- the store --------------------------------------------------------------------------------


def test_the_store_refuses_an_event_over_the_limit_and_appends_nothing(goals: Runtime) -> None:
    small = NewEvent("OrgUnitCreated.v1", {"unit_id": "u-1", "name": "Enhet", "kind": "unit"})
    big = NewEvent("OrgUnitRenamed.v1", {"unit_id": "u-1", "name": "n" * 1_100_000})
    with connect(goals) as conn:
        with pytest.raises(EventTooLarge) as refused, conn.transaction():
            goals.store.append(conn, "u-1", "org_unit", 0, [small, big], META)
        assert refused.value.event_type == "OrgUnitRenamed.v1"
        assert refused.value.limit == 1_000_000 and refused.value.size > 1_100_000
        assert goals.store.last_position(conn) == 0
        # numbers PostgreSQL writes without exponent grow: 1e-300 is 302 characters there
        tiny = NewEvent("OrgUnitCreated.v1", {"unit_id": "u-2", "x": [1e-300] * 4000})
        with pytest.raises(EventTooLarge), conn.transaction():
            goals.store.append(conn, "u-2", "org_unit", 0, [tiny], META)
        assert goals.store.last_position(conn) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Enhet"},
        {"name": "å, ä: ö " * 2000, "list": list(range(500))},
        {"name": '\n\t"\\\u0001' * 500, "nested": {"a": [{"b": None, "c": True}] * 100}},
        {"x": [1e-300, 2.5e-7, 1.5, -0.0001, 123456789012345678901234567890] * 50},
        {"emoji": "🎉" * 3000},
    ],
)
def test_the_size_bound_is_at_least_the_envelope_the_relay_sends(
    goals: Runtime, data: dict[str, Any]
) -> None:
    meta = Metadata(actor="key:ä" * 20, correlation_id="c" * 36, request_id="r" * 36)
    event = NewEvent("OrgUnitRenamed.v1", {"unit_id": "u-1", **data})
    with connect(goals) as conn:
        with pytest.raises(EventTooLarge) as measured:
            EventStore(max_message_bytes=1).append(conn, "u-1", "org_unit", 0, [event], meta)
        goals.store.append(conn, "u-1", "org_unit", 0, [event], meta)
        [(_, key, value)] = goals.store.read_wire(conn, goals.config.source, 0, 10)
    sent = len(key.encode()) + len(value)
    assert sent <= measured.value.size <= sent * 1.25 + 1000


# -- the relay --------------------------------------------------------------------------------


def small_producer(config: Config) -> Any:
    return make_producer(config, max_request_size=10_000)


def append_around_a_big_one(goals: Runtime) -> None:
    """Positions 1, 2 small; 3 larger than the relay's producer takes; 4, 5 small."""
    permissive = EventStore(max_message_bytes=10_000_000)
    with connect(goals) as conn:
        for n in range(1, 6):
            name = "b" * 30_000 if n == 3 else f"Enhet {n}"
            permissive.append(
                conn,
                f"org-unit-{n}",
                "org_unit",
                0,
                [NewEvent("OrgUnitCreated.v1", {"unit_id": f"org-unit-{n}", "name": name})],
                META,
            )


def blocked_gauge(goals: Runtime) -> dict[str, float]:
    return {
        sample.labels["relay"]: sample.value
        for family in StoreCollector(goals).collect()
        if family.name == "styrkort_relay_blocked_position"
        for sample in family.samples
    }


def cli(config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": config.kafka_bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": config.topic_prefix,
        "STYRKORT_ADMIN": "Driftansvarig Anna",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.goals", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_permanent_produce_error_stops_the_relay_until_an_admin_skips_that_position(
    goals: Runtime,
) -> None:
    append_around_a_big_one(goals)
    relay = Relay(goals.config, goals.store, producer_factory=small_producer)
    with connect(goals) as conn:
        with pytest.raises(DeliveryBlocked) as stopped:
            relay.catch_up(conn)
        assert stopped.value.new and stopped.value.block.position == 3
        assert "MessageSizeTooLargeError" in stopped.value.block.error
        assert relay.checkpoint(conn) == 2, "what came before is delivered and checkpointed"
        with pytest.raises(DeliveryBlocked) as again:  # no spinning: nothing is sent again
            relay.catch_up(conn)
        assert not again.value.new and relay.checkpoint(conn) == 2
        status = relay_status(conn, goals.config)
        event_id = conn.execute("SELECT event_id::text FROM events WHERE position = 3").fetchone()
    assert status["stopped"]["position"] == 3 and status["stopped"]["event_id"] == event_id[0]
    assert status["checkpoint"] == 2 and status["lag"] == 3
    assert blocked_gauge(goals) == {relay.name: 3}

    shown = cli(goals.config, "relay-status")
    assert shown.returncode == 1, shown.stderr
    assert json.loads(shown.stdout)["stopped"]["position"] == 3
    wrong = cli(goals.config, "relay-skip", "--position", "4", "--reason", "typo")
    assert wrong.returncode == 2 and "stopped at position 3" in wrong.stderr
    skipped = cli(
        goals.config, "relay-skip", "--position", "3", "--reason", "ärende 2026-17: för stort"
    )
    assert skipped.returncode == 0, skipped.stderr
    decision = json.loads(skipped.stdout)["skipped"]
    assert decision["decided_by"] == "Driftansvarig Anna" and decision["event_id"] == event_id[0]
    assert decision["reason"] == "ärende 2026-17: för stort" and decision["decided_at"]

    with connect(goals) as conn:
        assert relay.catch_up(conn) == 2
        assert relay.checkpoint(conn) == 5
        assert relay_status(conn, goals.config)["stopped"] is None
        with pytest.raises(AdminError):
            record_skip(conn, goals.config, 3, "again", "someone")
    assert blocked_gauge(goals) == {relay.name: 0}
    positions = [m["position"] for _, _, m in topic_events(goals.config)]
    assert sorted(positions) == [1, 2, 4, 5]

    # a republish honours the recorded skip too
    with connect(goals) as conn:
        relay.reset_checkpoint(conn, 1)
        relay.catch_up(conn)
    relay.close()
    positions = [m["position"] for _, _, m in topic_events(goals.config)]
    assert sorted(set(positions)) == [1, 2, 4, 5] and len(positions) == 8


def test_the_running_relay_logs_a_permanent_error_once_waits_and_goes_on_after_a_skip_over_http(
    goals: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    append_around_a_big_one(goals)
    relay = Relay(goals.config, goals.store, producer_factory=small_producer)
    app = create_goals_app(goals.config, goals)
    stop = threading.Event()
    with caplog.at_level(logging.INFO, logger="shared.relay"):
        thread = threading.Thread(target=relay.run, args=(stop, 0.1))
        thread.start()
        try:
            wait_for(lambda: "STOPPED" in caplog.text, what="the relay to stop")
            time.sleep(2)  # twenty idle rounds: nothing more is tried or logged
            stopped = [r for r in caplog.records if "STOPPED" in r.getMessage()]
            assert len(stopped) == 1 and stopped[0].levelno == logging.ERROR
            assert "position 3" in stopped[0].getMessage()
            assert "broker unavailable" not in caplog.text
            status = SignedClient(app, AUDITOR).get("/api/v1/admin/goals/relay").get_json()
            assert status["stopped"]["position"] == 3 and status["checkpoint"] == 2
            refused = SignedClient(app, AUDITOR).post(
                "/api/v1/admin/goals/relay/skip", {"position": 3, "reason": "för stort"}
            )
            assert refused.status_code == 403
            skipped = SignedClient(app, ADMIN).post(
                "/api/v1/admin/goals/relay/skip", {"position": 3, "reason": "för stort"}
            )
            assert skipped.status_code == 200, skipped.get_json()
            assert skipped.get_json()["skipped"]["decided_by"] == ADMIN.actor
            with connect(goals) as conn:
                wait_for(lambda: relay.checkpoint(conn) == 5, what="the rest delivered")
        finally:
            stop.set()
            thread.join(timeout=30)
    assert "leaving out position 3" in caplog.text
    positions = [m["position"] for _, _, m in topic_events(goals.config)]
    assert sorted(positions) == [1, 2, 4, 5]
