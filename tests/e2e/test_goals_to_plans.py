"""The whole flow on real components: HTTP command → events → own read model → relay →
Kafka → the plans consumer → its read model in the plans database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from services.goals.app import create_app
from shared.consumer import Consumer, rebuild_consumer_read_models
from shared.relay import Relay
from shared.runtime import Runtime
from tests.support import EDITOR, SignedClient, connect, wait_for


@pytest.fixture
def running(goals: Runtime, plans: Runtime) -> Iterator[None]:
    """The goals relay and the plans consumer, as their processes run them."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=Relay(goals.config, goals.store).run, args=(stop, 0.2)),
        threading.Thread(
            target=Consumer(plans.config, plans.pool, plans.applier).run, args=(stop,)
        ),
    ]
    for t in threads:
        t.start()
    yield
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)


def known(plans: Runtime, unit_id: str) -> Any:
    with connect(plans) as conn:
        return conn.execute(
            "SELECT name, kind, status, version FROM known_org_units WHERE id = %s", [unit_id]
        ).fetchone()


def test_an_org_unit_created_over_http_reaches_the_plans_database(
    goals: Runtime, plans: Runtime, running: None
) -> None:
    client = SignedClient(create_app(goals.config, goals), EDITOR)
    council = client.post("/api/v1/org-units", {"name": "Kommunfullmäktige", "kind": "council"})
    assert council.status_code == 201
    unit_id = council.get_json()["id"]
    assert wait_for(lambda: known(plans, unit_id), 60, "the unit in plans") == (
        "Kommunfullmäktige",
        "council",
        "active",
        1,
    )

    client.post(f"/api/v1/org-units/{unit_id}/rename", {"name": "Fullmäktige i Götene"})
    client.post(f"/api/v1/org-units/{unit_id}/close", {"reason": "Övningsdata"})
    assert wait_for(
        lambda: known(plans, unit_id) == ("Fullmäktige i Götene", "council", "closed", 3),
        30,
        "the later events",
    )
    with connect(plans) as conn:
        tracked = conn.execute(
            "SELECT source, version FROM consumed_streams WHERE stream_id = %s", [unit_id]
        ).fetchone()
    assert tracked == ("/styrkort/goals", 3)


def test_rebuild_of_the_consumed_read_model_equals_the_live_one(
    goals: Runtime, plans: Runtime, running: None
) -> None:
    client = SignedClient(create_app(goals.config, goals), EDITOR)
    council = client.post("/api/v1/org-units", {"name": "KF", "kind": "council"}).get_json()
    for name in ("Socialnämnden", "Barn- och utbildningsnämnden", "Miljö- och byggnämnden"):
        client.post(
            "/api/v1/org-units", {"name": name, "kind": "committee", "parent_id": council["id"]}
        )

    def rows() -> list[Any]:
        with connect(plans) as conn:
            return conn.execute("SELECT * FROM known_org_units ORDER BY id").fetchall()

    wait_for(lambda: len(rows()) == 4, 60, "four units in plans")
    live = [r[:-1] for r in rows()]  # all but updated_at, which is the event's time anyway
    outcome = rebuild_consumer_read_models(plans.config, plans.pool, plans.applier)
    assert outcome.applied == 4
    assert [r[:-1] for r in rows()] == live
