"""The goals service's HTTP API against the real PostgreSQL: commands, reads, conventions."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from services.goals.app import create_app
from shared.identity import Identity
from shared.runtime import Runtime
from shared.uow import rebuild_own_read_models
from tests.support import ADMIN, AUDITOR, EDITOR, READER, SignedClient, connect

UNITS = "/api/v1/org-units"


@pytest.fixture
def app(goals: Runtime) -> Any:
    return create_app(goals.config, goals)


@pytest.fixture
def editor(app: Any) -> SignedClient:
    return SignedClient(app, EDITOR)


def as_(app: Any, who: Identity) -> SignedClient:
    return SignedClient(app, who)


def create(client: SignedClient, name: str, kind: str, parent_id: str | None = None) -> Any:
    response = client.post(UNITS, {"name": name, "kind": kind, "parent_id": parent_id})
    assert response.status_code == 201, response.get_json()
    return response


def test_create_then_read_your_own_write_with_etag_and_location(editor: SignedClient) -> None:
    council = create(editor, "Kommunfullmäktige", "council")
    body = council.get_json()
    assert council.headers["ETag"] == '"1"'
    assert council.headers["Location"].endswith(f"{UNITS}/{body['id']}")
    assert body["id"].startswith("org-unit-") and body["status"] == "active"
    read = editor.get(f"{UNITS}/{body['id']}")
    assert read.status_code == 200 and read.get_json() == body
    assert read.headers["ETag"] == '"1"'
    assert "Kommunfullmäktige".encode() in read.data, "å/ä/ö as UTF-8"


def test_the_command_is_recorded_as_an_event_with_who_and_why(
    editor: SignedClient, goals: Runtime
) -> None:
    created = create(editor, "Kommunfullmäktige", "council").get_json()
    history = editor.get(
        f"/api/v1/history/{created['id']}", headers={"X-Correlation-Id": "ignored-on-get"}
    ).get_json()
    [entry] = history["events"]
    assert entry["event_type"] == "OrgUnitCreated.v1" and entry["actor"] == EDITOR.actor
    assert entry["data"] == {
        "unit_id": created["id"],
        "name": "Kommunfullmäktige",
        "kind": "council",
        "parent_id": None,
    }
    with connect(goals) as conn:
        assert goals.store.verify(conn).ok


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "KS"}, "kind"),
        ({"name": "KS", "kind": "ministry"}, "kind"),
        ({"kind": "council"}, "name"),
        ({"name": "", "kind": "council"}, "name"),
        ({"name": "KS", "kind": "council", "colour": "blue"}, "colour"),
        ({"name": 7, "kind": "council"}, "name"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
    editor: SignedClient, goals: Runtime, body: dict[str, Any], field: str
) -> None:
    response = editor.post(UNITS, body)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert field in problem["errors"] and field in problem["detail"]
    assert problem["status"] == 422 and problem["title"]
    with connect(goals) as conn:
        assert goals.store.last_position(conn) == 0


def test_malformed_json_is_400_not_500(editor: SignedClient) -> None:
    response = editor.request("POST", UNITS, data=b'{"name": ')
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def test_unknown_unit_is_404_and_business_rules_are_409(editor: SignedClient) -> None:
    missing = editor.get(f"{UNITS}/org-unit-nope")
    assert missing.status_code == 404 and "org-unit-nope" in missing.get_json()["detail"]
    orphan = editor.post(
        UNITS, {"name": "Nämnd", "kind": "committee", "parent_id": "org-unit-nope"}
    )
    assert orphan.status_code == 404 and "parent_id" in orphan.get_json()["errors"]
    council = create(editor, "KF", "council").get_json()
    wrong = editor.post(UNITS, {"name": "Skola", "kind": "unit", "parent_id": council["id"]})
    assert wrong.status_code == 409
    assert "not under a council" in wrong.get_json()["detail"]


def test_requests_without_a_valid_signature_or_role_are_refused(app: Any) -> None:
    unsigned = app.test_client().get(UNITS)
    assert unsigned.status_code == 401
    assert "gateway" in unsigned.get_json()["detail"]
    forged = SignedClient(app, EDITOR, secret="not-the-secret").get(UNITS)
    assert forged.status_code == 401
    reader_post = as_(app, READER).post(UNITS, {"name": "KF", "kind": "council"})
    assert reader_post.status_code == 403 and "editor" in reader_post.get_json()["detail"]


def test_health_metrics_and_openapi_need_no_identity(app: Any, editor: SignedClient) -> None:
    create(editor, "KF", "council")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").get_json()["last_position"] == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'styrkort_events_appended{service="goals"} 1.0' in metrics
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/org-units" in spec["paths"] and spec["openapi"].startswith("3.")


def test_if_match_makes_an_edit_conditional(editor: SignedClient) -> None:
    unit = create(editor, "KF", "council").get_json()
    path = f"{UNITS}/{unit['id']}/rename"
    ok = editor.post(path, {"name": "Kommunfullmäktige"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = editor.post(path, {"name": "KF igen"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.get_json()["current_version"] == 2
    garbage = editor.post(path, {"name": "KF igen"}, headers={"If-Match": "yesterday"})
    assert garbage.status_code == 422 and "If-Match" in garbage.get_json()["errors"]


def test_concurrent_edits_with_the_same_if_match_one_wins_one_gets_412(
    editor: SignedClient, app: Any
) -> None:
    unit = create(editor, "KF", "council").get_json()
    results: list[int] = []
    barrier = threading.Barrier(2)

    def rename(name: str) -> None:
        client = SignedClient(app, EDITOR)
        barrier.wait()
        response = client.post(
            f"{UNITS}/{unit['id']}/rename", {"name": name}, headers={"If-Match": '"1"'}
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=rename, args=(n,)) for n in ("Fullmäktige", "Rådet")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 412]
    assert editor.get(f"{UNITS}/{unit['id']}").headers["ETag"] == '"2"'


def test_idempotency_key_applies_a_retried_post_once(editor: SignedClient, goals: Runtime) -> None:
    body = {"name": "Kommunfullmäktige", "kind": "council"}
    first = editor.post(UNITS, body, headers={"Idempotency-Key": "k-1"})
    again = editor.post(UNITS, body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["ETag"] == '"1"'
    with connect(goals) as conn:
        assert goals.store.last_position(conn) == 1
    other = editor.post(UNITS, {**body, "name": "KF"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]


def test_as_of_before_and_after_a_rename_returns_the_two_versions(editor: SignedClient) -> None:
    unit = create(editor, "Socialnämnden", "council").get_json()
    time.sleep(0.01)
    between = editor.get(f"/api/v1/history/{unit['id']}").get_json()["events"][0]["recorded_at"]
    time.sleep(0.01)
    editor.post(f"{UNITS}/{unit['id']}/rename", {"name": "Stöd- och omsorgsnämnden"})
    from urllib.parse import quote

    then = editor.get(f"{UNITS}/{unit['id']}?as_of={quote(between)}").get_json()
    now = editor.get(f"{UNITS}/{unit['id']}").get_json()
    assert (then["name"], then["version"]) == ("Socialnämnden", 1)
    assert (now["name"], now["version"]) == ("Stöd- och omsorgsnämnden", 2)
    before = editor.get(f"{UNITS}/{unit['id']}?as_of=2000-01-01")
    assert before.status_code == 404
    bad = editor.get(f"{UNITS}?as_of=2026-13-01")
    assert bad.status_code == 422 and "as_of" in bad.get_json()["errors"]


def test_list_pages_with_a_cursor_and_filters(editor: SignedClient) -> None:
    council = create(editor, "KF", "council").get_json()
    for i in range(5):
        create(editor, f"Nämnd {i}", "committee", council["id"])
    first = editor.get(f"{UNITS}?kind=committee&limit=3").get_json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = editor.get(f"{UNITS}?kind=committee&limit=3&cursor={first['next_cursor']}").get_json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    names = {u["name"] for u in first["items"] + rest["items"]}
    assert names == {f"Nämnd {i}" for i in range(5)}
    assert editor.get(f"{UNITS}?cursor=%%%").status_code == 422


def test_rebuilt_read_model_equals_the_live_one(editor: SignedClient, goals: Runtime) -> None:
    council = create(editor, "KF", "council").get_json()
    committee = create(editor, "BUN", "committee", council["id"]).get_json()
    editor.post(f"{UNITS}/{committee['id']}/rename", {"name": "Barn- och utbildningsnämnden"})
    editor.post(f"{UNITS}/{committee['id']}/close", {"reason": "Ny organisation 2027"})

    def read_model() -> list[tuple[Any, ...]]:
        with connect(goals) as conn:
            return conn.execute(
                "SELECT entity_id, version, valid_from, valid_to, position, state "
                "FROM entity_versions ORDER BY entity_id, version"
            ).fetchall()

    live = read_model()
    assert rebuild_own_read_models(goals.pool, goals.store, goals.projections) == 4
    assert read_model() == live


def test_feed_export_and_verify_for_auditors(app: Any, editor: SignedClient) -> None:
    create(editor, "Kommunfullmäktige", "council")
    auditor = as_(app, AUDITOR)
    feed = auditor.get("/api/v1/events/goals?after=0").get_json()
    assert feed["last_position"] == 1 and feed["next_after"] == 1
    assert feed["events"][0]["type"] == "styrkort.goals.OrgUnitCreated.v1"
    export = auditor.get("/api/v1/export/goals/events.jsonl?after=0")
    lines = export.get_data().splitlines()
    assert export.mimetype == "application/x-ndjson" and len(lines) == 1
    assert json.loads(lines[0]) == feed["events"][0]
    assert auditor.get("/api/v1/admin/goals/verify").get_json()["ok"] is True
    assert as_(app, EDITOR).get("/api/v1/admin/goals/verify").status_code == 403
    republish = as_(app, ADMIN).post("/api/v1/admin/goals/republish", {"from": 1})
    assert republish.status_code == 202
    assert as_(app, ADMIN).post("/api/v1/admin/goals/republish", {"from": 0}).status_code == 422
