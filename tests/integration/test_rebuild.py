"""Rebuilding read models while the service takes commands (issue #8 item 7; shared/rebuild.py),
on the real PostgreSQL: shadow tables folded in batches, swapped in by one short step."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from services.goals.app import create_app
from shared import rebuild
from shared.rebuild import RebuildBusy, rebuild_own
from shared.runtime import Runtime
from tests.integration.test_guarantees import META, _goals_entity
from tests.support import ADMIN, AUDITOR, EDITOR, SignedClient, connect

UNITS = "/api/v1/org-units"


def _rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT entity_id, entity_type, version, valid_from, valid_to, position, state "
        "FROM entity_versions ORDER BY position"
    ).fetchall()


def _indexes(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT indexname, regexp_replace(indexdef, '^.* USING ', '') FROM pg_indexes "
        "WHERE tablename = 'entity_versions' ORDER BY indexname"
    ).fetchall()


def test_rebuild_while_four_clients_send_commands_loses_and_doubles_nothing(
    goals: Runtime,
) -> None:
    app = create_app(goals.config, goals)
    editor = SignedClient(app, EDITOR)
    council = editor.post(UNITS, {"name": "KF", "kind": "council", "parent_id": None})
    council_id = council.get_json()["id"]
    # a store of some size, so the rebuild is under way while the clients write
    with goals.uow() as uow:
        for n in range(4000):
            stream_id, stream_type, event = _goals_entity(n)
            uow.append(stream_id, stream_type, 0, [event], META)
    with connect(goals) as conn:
        indexes_before = _indexes(conn)
    stop = threading.Event()
    failures: list[Any] = []
    latencies: list[float] = []
    done = [0]

    def client(n: int) -> None:
        me = SignedClient(app, EDITOR)
        i = 0
        while not stop.is_set():
            start = time.perf_counter()
            made = me.post(
                UNITS, {"name": f"Nämnd {n}-{i}", "kind": "committee", "parent_id": council_id}
            )
            if made.status_code != 201:
                failures.append(made.get_json())
                return
            renamed = me.post(f"{UNITS}/{made.get_json()['id']}/rename", {"name": f"N {n}-{i}"})
            latencies.append(time.perf_counter() - start)
            if renamed.status_code != 200:
                failures.append(renamed.get_json())
                return
            done[0] += 2
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        before = done[0]
        applied = rebuild_own(goals.pool, goals.store, goals.projections)
        during = done[0] - before
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not failures, failures[:3]
    assert during > 0, "commands went on during the rebuild"
    assert applied >= 4001
    with connect(goals) as conn:
        events = conn.execute(
            "SELECT stream_id, version, position FROM events ORDER BY position"
        ).fetchall()
        rebuilt = _rows(conn)
        assert [(r[0], r[2], r[5]) for r in rebuilt] == events, "one row per event"
        assert _indexes(conn) == indexes_before, "the live index names are kept"
        schemas = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'"
        ).fetchone()
        assert schemas == (0,), "the shadow schema is gone"
    # the same as a fold from scratch with nothing writing
    rebuild_own(goals.pool, goals.store, goals.projections)
    with connect(goals) as conn:
        assert _rows(conn) == rebuilt
        # the read model answers queries (its current-state index and the org tree)
        row = conn.execute("SELECT count(*) FROM org_ancestry(%s)", [council_id]).fetchone()
        assert row == (1,)


def test_a_second_rebuild_of_the_same_models_is_refused_while_one_runs(goals: Runtime) -> None:
    with connect(goals) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [rebuild.OWN_REBUILD_LOCK])
        with pytest.raises(RebuildBusy):
            rebuild_own(goals.pool, goals.store, goals.projections)
        conn.execute("SELECT pg_advisory_unlock(%s)", [rebuild.OWN_REBUILD_LOCK])
    assert rebuild_own(goals.pool, goals.store, goals.projections) == 0


def test_rebuild_over_http_is_a_job_answered_202_whose_status_reaches_done(
    goals: Runtime,
) -> None:
    app = create_app(goals.config, goals)
    editor = SignedClient(app, EDITOR)
    council = editor.post(UNITS, {"name": "KF", "kind": "council", "parent_id": None})
    committee = {"name": "Nämnd", "kind": "committee", "parent_id": council.get_json()["id"]}
    assert editor.post(UNITS, committee).status_code == 201
    admin = SignedClient(app, ADMIN)
    assert SignedClient(app, EDITOR).post("/api/v1/admin/goals/rebuild").status_code == 403
    started = admin.post("/api/v1/admin/goals/rebuild")
    assert started.status_code == 202, started.get_json()
    location = started.headers["Location"]
    assert location == f"/api/v1/admin/goals/rebuild/{started.get_json()['id']}"
    assert started.get_json()["state"] in ("queued", "running", "done")
    auditor = SignedClient(app, AUDITOR)
    deadline = time.monotonic() + 30
    while True:
        status = auditor.get(location)
        assert status.status_code == 200
        job = status.get_json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    with connect(goals) as conn:
        count = conn.execute("SELECT count(*) FROM events").fetchone()
    assert count is not None and job["events_applied"] == count[0]
    assert job["started_at"] and job["finished_at"] and job["requested_by"] == ADMIN.actor
    missing = auditor.get("/api/v1/admin/goals/rebuild/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert auditor.get("/api/v1/admin/goals/rebuild/not-a-job").status_code == 404
