"""A service whose database connections broke (PostgreSQL restarted, tests/fault kills it):
the request that meets a broken connection is a 503 to retry, never a 500 (a bug), and the
retry with the same Idempotency-Key runs the command once."""

from __future__ import annotations

from typing import Any

from services.goals.app import create_app
from shared.runtime import Runtime
from tests.support import EDITOR, SignedClient, connect

UNITS = "/api/v1/org-units"


def break_connections(runtime: Runtime) -> int:
    """End every other session on the service's database, as a PostgreSQL restart does."""
    with connect(runtime) as conn:
        ended = conn.execute(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t"
        ).fetchone()
    assert ended is not None
    return int(ended[0])


def units(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        found = conn.execute("SELECT count(*) FROM events").fetchone()
    assert found is not None
    return int(found[0])


def test_a_broken_database_connection_is_a_503_and_the_retry_runs_once(goals: Runtime) -> None:
    editor = SignedClient(create_app(goals.config, goals), EDITOR)
    assert editor.get(UNITS).status_code == 200  # the pool holds a connection now
    assert break_connections(goals) >= 1
    body = {"name": "Kommunfullmäktige", "kind": "council"}
    headers = {"Idempotency-Key": "outage-1"}
    answers: list[Any] = []
    for _ in range(5):  # each broken pooled connection is met once, then replaced
        answers.append(editor.post(UNITS, body, headers=headers))
        if answers[-1].status_code != 503:
            break
    statuses = [a.status_code for a in answers]
    assert statuses[0] == 503, statuses
    assert answers[0].headers["Content-Type"] == "application/problem+json"
    assert answers[0].headers["Retry-After"] == "1"
    assert statuses[-1] == 201 and 500 not in statuses, statuses
    assert units(goals) == 1, "the command ran once"
