"""A removed or rewritten tail is found: the topic as witness, and anchors (issue #8 item 6).

The attacker here is a database superuser: the append-only trigger is disabled, the newest
events deleted (and perhaps replaced by others with correctly recomputed hashes), so the chain
in the store is valid. What the relay already handed to the broker, and the anchor a council
wrote into its minutes, still remember the old head.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from infra.embedded import free_port
from services.goals.app import create_app
from shared.config import Config
from shared.events import Metadata, NewEvent
from shared.relay import Relay
from shared.runtime import Runtime
from shared.witness import current_anchor, parse_anchors, verify_all
from tests.support import AUDITOR, REPO, SignedClient, connect

META = Metadata(actor="key:test", correlation_id="corr")


def add(goals: Runtime, count: int, start: int = 0, name: str = "Enhet") -> int:
    """`count` one-event streams; return the store's head."""
    with connect(goals) as conn, conn.transaction():
        for i in range(start, start + count):
            stream = f"org-unit-{i:04d}"
            event = NewEvent(
                "OrgUnitCreated.v1",
                {"unit_id": stream, "name": f"{name} {i}", "kind": "unit", "parent_id": None},
            )
            goals.store.append(conn, stream, "org_unit", 0, [event], META)
        return goals.store.last_position(conn)


def relay_all(goals: Runtime) -> None:
    relay = Relay(goals.config, goals.store, batch_size=7)  # several batches per partition
    with connect(goals) as conn:
        relay.catch_up(conn)
    relay.close()


def truncate(goals: Runtime, after: int) -> None:
    """What an attacker with the superuser's password does: remove the newest events."""
    with connect(goals) as conn:
        conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        conn.execute("DELETE FROM events WHERE position > %s", [after])
        conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")


def verify(goals: Runtime, **kw: Any) -> dict[str, Any]:
    with connect(goals) as conn:
        return verify_all(conn, goals.store, goals.config, **kw)


def test_a_clean_store_and_topic_verify_ok(goals: Runtime) -> None:
    head = add(goals, 40)
    relay_all(goals)
    result = verify(goals)
    assert result["ok"] and result["complete"], result
    assert result["witness"]["status"] == "agrees"
    assert result["witness"]["topic_position"] == head == result["last_position"]
    # verify's older fields are all still there
    assert {"service", "checked", "first_broken_position", "reason"} <= result.keys()
    # a store ahead of its topic (the relay lags) is not a finding
    add(goals, 5, start=40)
    assert verify(goals)["ok"]


def test_a_truncated_tail_is_reported_by_the_topic_at_its_position(goals: Runtime) -> None:
    add(goals, 30)
    relay_all(goals)
    truncate(goals, 24)
    with connect(goals) as conn:
        assert goals.store.verify(conn).ok, "the chain alone cannot tell"
    result = verify(goals)
    assert not result["ok"]
    assert result["first_broken_position"] == 25
    assert result["witness"]["status"] == "truncated"
    assert result["witness"]["topic_position"] == 30
    assert "position 30" in result["reason"] and "ends at 24" in result["reason"]


def test_a_rewritten_tail_with_recomputed_hashes_is_reported(goals: Runtime) -> None:
    add(goals, 30)
    relay_all(goals)
    truncate(goals, 26)
    assert add(goals, 4, start=26, name="Förfalskad") == 30  # same head, other events
    with connect(goals) as conn:
        assert goals.store.verify(conn).ok, "the hashes were recomputed: the chain is valid"
    result = verify(goals)
    assert not result["ok"]
    assert result["witness"]["status"] == "rewritten"
    assert result["first_broken_position"] == 27
    assert "position 27" in result["reason"]


def test_an_unreachable_broker_is_reported_not_passed(
    goals: Runtime, make_config: Callable[..., Config]
) -> None:
    add(goals, 3)
    cut_off = replace(goals.config, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    with connect(goals) as conn:
        result = verify_all(conn, goals.store, cut_off)
    assert result["ok"], "nothing was found broken"
    assert result["complete"] is False
    assert result["witness"]["status"] == "unavailable"
    assert "could not be consulted" in result["witness"]["reason"]


def _cli(goals: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    config = goals.config
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": config.kafka_bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": config.topic_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.goals", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_anchor_then_truncate_is_reported_by_verify_anchor(goals: Runtime, tmp_path: Path) -> None:
    add(goals, 12)
    done = _cli(goals, "anchor")
    assert done.returncode == 0, done.stderr
    line, as_json = done.stdout.splitlines()
    assert line.startswith("styrkort-anchor service=goals position=12 hash=")
    assert json.loads(as_json)["line"] == line
    minutes = tmp_path / "protokoll.txt"
    minutes.write_text(f"§ 45 Kommunfullmäktige noterar:\n  {line}\nJusteras.\n")
    assert _cli(goals, "verify", "--anchor", str(minutes)).returncode == 0
    add(goals, 3, start=12)
    assert _cli(goals, "verify", "--anchor", str(minutes)).returncode == 0, "later events are fine"

    truncate(goals, 9)  # nothing was relayed: only the anchor remembers
    done = _cli(goals, "verify", "--anchor", str(minutes))
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["first_broken_position"] == 12
    assert result["anchors"][0]["ok"] is False
    assert "anchored position 12 is missing" in result["reason"]
    assert "position 12" in done.stderr


def test_a_rewritten_anchored_position_is_reported(goals: Runtime) -> None:
    add(goals, 6)
    with connect(goals) as conn:
        anchor = current_anchor(conn, "goals")
    truncate(goals, 4)
    add(goals, 2, start=4, name="Annan")
    (again,) = parse_anchors(json.dumps(anchor.as_dict()))
    result = verify(goals, anchors=[again], witness=False)
    assert not result["ok"] and result["first_broken_position"] == 6
    assert "has hash" in result["reason"]
    assert result["complete"] is False and result["witness"]["status"] == "not consulted"


def test_anchor_and_verify_over_http_for_auditors(goals: Runtime) -> None:
    add(goals, 5)
    relay_all(goals)
    auditor = SignedClient(create_app(goals.config, goals), AUDITOR)
    anchor = auditor.get("/api/v1/admin/goals/anchor").get_json()
    assert (anchor["service"], anchor["position"]) == ("goals", 5)
    assert anchor["line"].startswith("styrkort-anchor service=goals position=5 hash=")
    truncate(goals, 3)
    result = auditor.get("/api/v1/admin/goals/verify").get_json()
    assert result["ok"] is False and result["first_broken_position"] == 4
    assert result["witness"]["status"] == "truncated"
