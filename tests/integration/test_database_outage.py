"""A service whose database restarted or is down (tests/fault kills PostgreSQL): connections a
restart broke are replaced before a request gets them, and while the database does not answer
a request is a 503 to retry, never a 500 (a bug)."""

from __future__ import annotations

from collections.abc import Callable

from infra.embedded import free_port
from services.goals.app import create_app
from shared.config import Config
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


def test_connections_broken_by_a_database_restart_are_replaced_before_use(
    goals: Runtime,
) -> None:
    editor = SignedClient(create_app(goals.config, goals), EDITOR)
    assert editor.get(UNITS).status_code == 200  # the pool holds a connection now
    assert break_connections(goals) >= 1
    body = {"name": "Kommunfullmäktige", "kind": "council"}
    made = editor.post(UNITS, body, headers={"Idempotency-Key": "restart-1"})
    assert made.status_code == 201, made.get_json()
    assert editor.get(UNITS).status_code == 200


def test_a_database_that_does_not_answer_is_a_503_problem_not_a_500(
    make_config: Callable[..., Config], make_runtime: Callable[..., Runtime]
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=1"
    goals = make_runtime("goals", make_config("goals", database_url=nowhere))
    goals.pool.timeout = 1.0  # how long a request waits for a connection
    editor = SignedClient(create_app(goals.config, goals), EDITOR)
    answer = editor.post(UNITS, {"name": "KF", "kind": "council"}, headers={"Idempotency-Key": "x"})
    assert answer.status_code == 503, answer.get_json()
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "1"
