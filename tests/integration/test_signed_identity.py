"""Signed identity v2 on the real PostgreSQL (docs/adr/0011): a signature is accepted once, for
the service it names, within ±60 s, covering If-Match, Idempotency-Key and Content-Type."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask

from services.goals.app import create_app as create_goals_app
from services.plans.app import create_app as create_plans_app
from shared import replays
from shared.identity import Identity, sign
from shared.runtime import Runtime
from tests.support import ADMIN, INTERNAL_SECRET, SignedClient, connect

UNITS = "/api/v1/org-units"
COUNCIL = json.dumps({"name": "Kommunfullmäktige", "kind": "council"}).encode()
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def goals_app(goals: Runtime) -> Flask:
    return create_goals_app(goals.config, goals)


def signed(
    who: Identity = ADMIN,
    method: str = "POST",
    path: str = UNITS,
    body: bytes = COUNCIL,
    sent: dict[str, str] | None = None,
    audience: str = "goals",
    **kw: Any,
) -> dict[str, str]:
    sent = dict(JSON if sent is None else sent)
    return sign(INTERNAL_SECRET, who, method, path, body, audience=audience, headers=sent, **kw) | (
        sent
    )


def events(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(count)


def refused(response: Any, reason: str) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert reason in response.get_json()["detail"], response.get_json()


def test_a_replayed_post_is_refused_and_appends_nothing(goals_app: Flask, goals: Runtime) -> None:
    client = goals_app.test_client()
    headers = signed()
    first = client.post(UNITS, data=COUNCIL, headers=headers)
    assert first.status_code == 201, first.get_json()
    appended = events(goals)
    refused(client.post(UNITS, data=COUNCIL, headers=headers), "replayed")
    assert events(goals) == appended == 1
    # a GET too is accepted once
    read = signed(method="GET", path=f"{UNITS}/{first.get_json()['id']}", body=b"", sent={})
    path = f"{UNITS}/{first.get_json()['id']}"
    assert client.get(path, headers=read).status_code == 200
    refused(client.get(path, headers=read), "replayed")


def test_the_same_request_signed_twice_is_two_requests(goals_app: Flask, goals: Runtime) -> None:
    """A retry is signed anew (a new nonce): the same body twice within a second is accepted."""
    client = SignedClient(goals_app, ADMIN)
    body = {"name": "KF", "kind": "council"}
    key = {"Idempotency-Key": "retry-1"}
    first, retry = client.post(UNITS, body, headers=key), client.post(UNITS, body, headers=key)
    assert first.status_code == retry.status_code == 201, retry.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert events(goals) == 1


@pytest.mark.parametrize(("shift", "reason"), [(61, "future"), (-61, "stale")])
def test_a_signature_61_seconds_off_the_clock_is_refused(
    goals_app: Flask, goals: Runtime, shift: int, reason: str
) -> None:
    headers = signed(timestamp=int(time.time()) + shift)
    refused(goals_app.test_client().post(UNITS, data=COUNCIL, headers=headers), reason)
    assert events(goals) == 0


def test_a_request_signed_for_goals_is_refused_by_plans(goals_app: Flask, plans: Runtime) -> None:
    plans_app = create_plans_app(plans.config, plans)
    path = "/api/v1/history/org-unit-x"
    for_goals = signed(method="GET", path=path, body=b"", sent={})
    refused(plans_app.test_client().get(path, headers=for_goals), "does not match")
    for_plans = signed(method="GET", path=path, body=b"", sent={}, audience="plans")
    assert plans_app.test_client().get(path, headers=for_plans).status_code != 401


@pytest.mark.parametrize(
    ("name", "signed_value", "sent_value"),
    [
        ("If-Match", '"1"', '"2"'),
        ("If-Match", '"1"', None),
        ("If-Match", None, '"1"'),
        ("Idempotency-Key", "key-1", "key-2"),
        ("Idempotency-Key", None, "key-1"),
        ("Content-Type", "application/json", "application/json; charset=utf-8"),
    ],
)
def test_a_signed_header_changed_after_signing_is_refused(
    goals_app: Flask,
    goals: Runtime,
    name: str,
    signed_value: str | None,
    sent_value: str | None,
) -> None:
    created = SignedClient(goals_app, ADMIN).post(UNITS, {"name": "KF", "kind": "council"})
    path = f"{UNITS}/{created.get_json()['id']}/rename"
    body = json.dumps({"name": "Fullmäktige"}).encode()
    sent = dict(JSON)
    if signed_value is not None:
        sent[name] = signed_value
    headers = signed(path=path, body=body, sent=sent)
    headers.pop(name, None)
    if sent_value is not None:
        headers[name] = sent_value
    refused(goals_app.test_client().post(path, data=body, headers=headers), "does not match")
    assert events(goals) == 1


def test_a_non_ascii_actor_authenticates_and_is_recorded_as_sent(
    goals_app: Flask, goals: Runtime
) -> None:
    asa = Identity("key:åsa-öberg", "admin")
    created = SignedClient(goals_app, asa).post(UNITS, {"name": "KF", "kind": "council"})
    assert created.status_code == 201, created.get_json()
    with connect(goals) as conn:
        (actor,) = conn.execute("SELECT metadata ->> 'actor' FROM events").fetchone()
    assert actor == "key:åsa-öberg"
    history = SignedClient(goals_app, asa).get(f"/api/v1/history/{created.get_json()['id']}")
    assert history.get_json()["events"][0]["actor"] == "key:åsa-öberg"


def test_expired_signatures_are_deleted_in_bounded_batches(
    goals: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replays, "SWEEP_BATCH", 3)
    guard = replays.ReplayGuard(goals.pool, 60)
    now = time.time()
    with connect(goals) as conn:
        for n, age in enumerate([121, 122, 123, 124, 125, 119]):
            conn.execute(
                "INSERT INTO signature_replays (signature, signed_at) "
                "VALUES (%s, to_timestamp(%s))",
                ["recent" if age < 120 else f"old-{n}", now - age],
            )
    assert guard.sweep(now) == 3
    assert guard.sweep(now) == 2
    assert guard.sweep(now) == 0
    with connect(goals) as conn:
        rows = conn.execute("SELECT signature FROM signature_replays").fetchall()
    assert rows == [("recent",)]
    with pytest.raises(Exception, match="replayed"):
        guard.accept_once("recent", int(now))
