"""Helpers for tests: signed HTTP clients, identities, connections."""

from __future__ import annotations

import json as json_mod
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from shared.identity import Identity, sign, signing_target
from shared.runtime import Runtime

INTERNAL_SECRET = "test-secret-" + uuid.uuid4().hex


def connect(runtime: Runtime) -> psycopg.Connection[Any]:
    return psycopg.connect(runtime.config.database_url, autocommit=True)


class SignedClient:
    """A Flask test client that sends the gateway's signed identity headers, signed anew for
    each request, for the app's own service (its audience) unless `audience` names another."""

    def __init__(
        self,
        app: Any,
        identity: Identity,
        secret: str = INTERNAL_SECRET,
        audience: str | None = None,
    ) -> None:
        self.client = app.test_client()
        self.identity = identity
        self.secret = secret
        self.audience = audience or app.extensions["styrkort.runtime"].config.service

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: Any = None,
        data: bytes | None = None,
    ) -> Any:
        body = (
            data
            if data is not None
            else (json_mod.dumps(json).encode("utf-8") if json is not None else b"")
        )
        sent = {"Content-Type": "application/json"} if body else {}
        sent.update(dict(headers or {}))
        all_headers = sign(
            self.secret,
            self.identity,
            method,
            signing_target(path),
            body,
            audience=self.audience,
            headers=sent,
        )
        all_headers.update(sent)  # a test may send its own identity headers, e.g. forged ones
        return self.client.open(path, method=method, data=body, headers=all_headers)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json=json, **kw)


EDITOR = Identity("key:test-editor", "editor", "*")
READER = Identity("key:test-reader", "reader", "*")
AUDITOR = Identity("key:test-auditor", "auditor", "*")
ADMIN = Identity("key:test-admin", "admin", "*")

REPO = Path(__file__).resolve().parent.parent


def feed_seeded_goals(goals: Runtime, plans: Runtime) -> None:
    """Seed goals (Götene) and apply its events to plans' read models, as the consumer would
    (without the broker: the broker path is tested in tests/e2e)."""
    from services.goals.seed import seed
    from shared.envelope import ReceivedEvent

    seed(goals)
    with connect(goals) as conn:
        events = goals.store.read_all(conn, limit=10_000, upcast=False)
    with connect(plans) as conn, conn.transaction():
        plans.applier.apply_all(conn, [ReceivedEvent("/styrkort/goals", e) for e in events])


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; return its value or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
