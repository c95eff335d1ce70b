"""API keys end to end: issued, listed, rotated and revoked by the CLI and by admins over the
API; each is an event naming who did it; a revoked key and a rotated-away secret are refused
at once; every refusal is a 401/403 Problem; keys are rate-limited; the audit log has a line per
request and nothing personal."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.embedded import free_port
from services.gateway.app import DEFINITION
from services.gateway.cli import COMMANDS
from services.gateway.domain import keys
from shared.cli import main
from shared.config import Config
from shared.http import PROBLEM_JSON
from shared.runtime import Runtime
from tests.gateway_support import Stack, bearer, id_of, make_stack, served
from tests.support import INTERNAL_SECRET, connect


@pytest.fixture
def stack(make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]) -> Stack:
    return make_stack(make_runtime, make_config)


def key_events(runtime: Runtime) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    with connect(runtime) as conn:
        rows = conn.execute(
            "SELECT stream_id, event_type, data, metadata FROM events "
            "WHERE stream_type = 'api_key' ORDER BY position"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def cli(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
) -> tuple[int, list[str], str]:
    """`python -m services.gateway keys …` on the test's gateway database: (code, lines, err)."""
    monkeypatch.setenv("DATABASE_URL", runtime.config.database_url)
    monkeypatch.setenv("STYRKORT_INTERNAL_SECRET", INTERNAL_SECRET)
    monkeypatch.delenv("STYRKORT_ADMIN", raising=False)
    code = main(DEFINITION, ["keys", *args], COMMANDS)
    out, err = capsys.readouterr()
    return code, [line for line in out.splitlines() if not line.startswith('{"time"')], err


def status_of(stack: Stack, key: str, path: str = "/api/v1/org-units") -> int:
    return int(stack.client().get(path, headers=bearer(key)).status_code)


def test_the_cli_creates_lists_rotates_and_revokes_keys_recording_who(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, _ = cli(
        stack.runtime, monkeypatch, capsys, "create", "--role", "editor", "--scope", "*",
        "--name", "Intranätet",
    )  # fmt: skip
    assert code == 0
    key = lines[-1]  # the key alone on the last line
    parsed = keys.parse_key(key)
    assert parsed is not None
    key_id = parsed[0]
    assert status_of(stack, key) == 200

    code, lines, _ = cli(stack.runtime, monkeypatch, capsys, "list")
    [listed] = [json.loads(line) for line in lines]
    assert listed["key_id"] == key_id and listed["role"] == "editor"
    assert listed["name"] == "Intranätet" and listed["issued_by"] == f"cli:{getpass.getuser()}"
    assert parsed[1] not in "".join(lines) and "secret_hash" not in listed

    code, lines, _ = cli(stack.runtime, monkeypatch, capsys, "rotate", key_id)
    assert code == 0
    rotated = lines[-1]
    assert keys.parse_key(rotated) is not None and rotated != key
    assert status_of(stack, key) == 401, "the old secret is refused at once"
    assert status_of(stack, rotated) == 200

    code, lines, _ = cli(stack.runtime, monkeypatch, capsys, "revoke", key_id)
    assert code == 0 and json.loads(lines[-1])["status"] == "revoked"
    assert status_of(stack, rotated) == 401, "a revoked key is refused at once"

    events = key_events(stack.runtime)
    assert [e[1] for e in events] == ["ApiKeyIssued.v1", "ApiKeyRotated.v1", "ApiKeyRevoked.v1"]
    assert {e[0] for e in events} == {f"key-{key_id}"}
    assert {e[3]["actor"] for e in events} == {f"cli:{getpass.getuser()}"}
    assert events[0][2]["role"] == "editor" and events[0][2]["scope"] == "*"
    assert all(parsed[1] not in json.dumps(e) for e in events), "never the secret itself"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("create", "--role", "owner", "--scope", "*"), 2, "unknown role"),
        (("create", "--role", "reader", "--scope", "../x"), 2, "scope"),
        (("rotate", "0123456789abcdef0123"), 1, "no API key"),
        (("revoke", "not-a-key-id"), 2, "not a key id"),
    ],
)
def test_the_cli_refuses_clearly_with_a_failing_exit_code(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    code: int,
    says: str,
) -> None:
    got, _, err = cli(stack.runtime, monkeypatch, capsys, *args)
    assert got == code
    assert says in err
    assert key_events(stack.runtime) == []


def test_the_cli_refuses_revoking_a_revoked_key(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = id_of(stack.key("reader"))
    assert cli(stack.runtime, monkeypatch, capsys, "revoke", key_id)[0] == 0
    code, _, err = cli(stack.runtime, monkeypatch, capsys, "revoke", key_id)
    assert code == 1 and "revoked" in err


def create_council(stack: Stack, key: str) -> str:
    answer = stack.client().post(
        "/api/v1/org-units", json={"name": "Kommunfullmäktige", "kind": "council"},
        headers=bearer(key),
    )  # fmt: skip
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def test_admins_issue_list_rotate_and_revoke_keys_over_the_api(stack: Stack) -> None:
    admin = stack.key("admin")
    admin_id = id_of(admin)
    client = stack.client()
    council = create_council(stack, admin)

    made = client.post(
        "/api/v1/admin/keys",
        json={"role": "editor", "scope": council, "name": "Skolportalen"},
        headers=bearer(admin, **{"X-Correlation-Id": "ticket-4711"}),
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    key, key_id = body["key"], body["key_id"]
    assert made.headers["Location"] == f"/api/v1/admin/keys/{key_id}"
    assert body["scope"] == council and body["issued_by"] == f"key:{admin_id}"
    assert status_of(stack, key) == 200
    shown = client.get(made.headers["Location"], headers=bearer(admin))
    assert shown.status_code == 200 and "key" not in shown.get_json()

    listed = client.get("/api/v1/admin/keys", headers=bearer(admin)).get_json()["items"]
    assert {k["key_id"] for k in listed} == {admin_id, key_id}
    text = json.dumps(listed)
    assert key.split("_")[-1] not in text and "hash" not in text

    rotated = client.post(f"/api/v1/admin/keys/{key_id}/rotate", headers=bearer(admin))
    assert rotated.status_code == 200
    new_key = rotated.get_json()["key"]
    assert status_of(stack, key) == 401 and status_of(stack, new_key) == 200

    revoked = client.post(f"/api/v1/admin/keys/{key_id}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert revoked.get_json()["revoked_by"] == f"key:{admin_id}"
    assert status_of(stack, new_key) == 401
    again = client.post(f"/api/v1/admin/keys/{key_id}/revoke", headers=bearer(admin))
    assert again.status_code == 409 and again.content_type == PROBLEM_JSON
    for tail in (f"{'0' * 20}/rotate", f"{'0' * 20}/revoke", "0" * 20):
        unknown = client.open(
            f"/api/v1/admin/keys/{tail}",
            method="POST" if "/" in tail else "GET",
            headers=bearer(admin),
        )
        assert unknown.status_code == 404 and unknown.content_type == PROBLEM_JSON, tail
    malformed = client.post("/api/v1/admin/keys/key-1/rotate", headers=bearer(admin))
    assert malformed.status_code == 422 and "key_id" in malformed.get_json()["errors"]

    events = [e for e in key_events(stack.runtime) if e[0] == f"key-{key_id}"]
    assert [e[3]["actor"] for e in events] == [f"key:{admin_id}"] * 3
    assert events[0][3]["correlation_id"] == "ticket-4711"


def test_the_keys_as_of_a_date_answer_who_could_change_a_units_goals(stack: Stack) -> None:
    admin = stack.key("admin")
    client = stack.client()
    council = create_council(stack, admin)
    with connect(stack.runtime) as conn:
        before = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    made = client.post(
        "/api/v1/admin/keys", json={"role": "editor", "scope": council}, headers=bearer(admin)
    ).get_json()
    client.post(f"/api/v1/admin/keys/{made['key_id']}/revoke", headers=bearer(admin))
    with connect(stack.runtime) as conn:
        revoked_at = conn.execute(
            "SELECT recorded_at FROM events WHERE event_type = 'ApiKeyRevoked.v1'"
        ).fetchone()[0]  # type: ignore[index]

    def as_of(moment: Any) -> dict[str, Any]:
        answer = client.get(
            "/api/v1/admin/keys", query_string={"as_of": moment.isoformat()}, headers=bearer(admin)
        )
        assert answer.status_code == 200, answer.get_json()
        return {k["key_id"]: k for k in answer.get_json()["items"]}

    assert made["key_id"] not in as_of(before)
    then = as_of(revoked_at - (revoked_at - before) / 1000)  # after the issue (same ms at most)
    now = as_of(revoked_at)
    assert now[made["key_id"]]["status"] == "revoked"
    assert now[made["key_id"]]["scope"] == council and now[made["key_id"]]["role"] == "editor"
    assert made["key_id"] in then
    bad = client.get("/api/v1/admin/keys?as_of=yesterday", headers=bearer(admin))
    assert bad.status_code == 422 and "as_of" in bad.get_json()["errors"]


def test_a_scope_must_be_a_unit_goals_knows(stack: Stack) -> None:
    admin = stack.key("admin")
    answer = stack.client().post(
        "/api/v1/admin/keys",
        json={"role": "editor", "scope": "org-unit-00000000-0000-0000-0000-000000000000"},
        headers=bearer(admin),
    )
    assert answer.status_code == 422 and answer.content_type == PROBLEM_JSON
    assert "scope" in answer.get_json()["errors"]
    bad_role = stack.client().post(
        "/api/v1/admin/keys", json={"role": "boss", "scope": "*"}, headers=bearer(admin)
    )
    assert bad_role.status_code == 422 and "role" in bad_role.get_json()["errors"]
    assert [e[1] for e in key_events(stack.runtime)] == ["ApiKeyIssued.v1"], "only the admin's"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-key",
        "Bearer sk_0123456789abcdef0123_" + "a" * 43,  # unknown key
    ],
)
def test_a_missing_malformed_or_unknown_key_is_a_401_problem_with_a_challenge(
    stack: Stack, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = stack.client().get("/api/v1/goals", headers=headers)
    assert answer.status_code == 401
    assert answer.content_type == PROBLEM_JSON
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.get_json()["title"] == "Not authenticated"


def test_a_wrong_secret_of_a_real_key_is_refused(stack: Stack) -> None:
    key_id = id_of(stack.key("admin"))
    forged = keys.format_key(key_id, keys.new_secret())
    assert status_of(stack, forged) == 401


def test_the_admin_api_is_for_admins_only_a_403_problem(stack: Stack) -> None:
    for role in ("reader", "editor", "auditor"):
        key = stack.key(role)
        answer = stack.client().post(
            "/api/v1/admin/keys", json={"role": "admin", "scope": "*"}, headers=bearer(key)
        )
        assert answer.status_code == 403 and answer.content_type == PROBLEM_JSON
        listed = stack.client().get("/api/v1/admin/keys", headers=bearer(key))
        assert listed.status_code == 403
    assert len(key_events(stack.runtime)) == 3, "no key was issued by a non-admin"


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(
    make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]
) -> None:
    stack = make_stack(make_runtime, make_config, GATEWAY_RATE_LIMIT="3/minute")
    key, other = stack.key("reader"), stack.key("reader")
    answers = [status_of(stack, key) for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = stack.client().get("/api/v1/org-units", headers=bearer(key))
    assert refused.content_type == PROBLEM_JSON
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert status_of(stack, key, "/api/v1/admin/keys") == 429, "one budget across routes"
    assert status_of(stack, other) == 200, "the limit is per key"
    assert stack.client().get("/healthz").status_code == 200, "open paths are not limited"


def test_the_audit_log_has_a_line_per_request_without_query_or_personal_data(
    make_runtime: Callable[..., Runtime], make_config: Callable[..., Config], tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    stack = make_stack(make_runtime, make_config, GATEWAY_AUDIT_LOG=str(log))
    key = stack.key("reader")
    key_id = id_of(key)
    stack.client().get(
        "/api/v1/org-units?name=Anna+Andersson",
        headers=bearer(key, **{"X-Correlation-Id": "case-1"}),
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    stack.client().get("/api/v1/goals")  # no key
    stack.client().get("/healthz")  # a probe: not audited
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    first, second = lines[-2], lines[-1]
    assert first["key_id"] == key_id and first["role"] == "reader"
    assert first["path"] == "/api/v1/org-units" and first["service"] == "goals"
    assert first["method"] == "GET" and first["correlation_id"] == "case-1"
    assert isinstance(first["status"], int) and first["duration_ms"] >= 0
    assert first["request_id"] and first["time"]
    assert second["status"] == 401 and second["key_id"] is None
    text = log.read_text()
    assert "Anna" not in text and "10.1.2.3" not in text and key.split("_")[-1] not in text


def test_the_key_events_go_to_the_gateway_topic_with_who_did_it(stack: Stack) -> None:
    from shared.relay import Relay
    from tests.integration.test_relay_and_consumer import relay_all, topic_events

    key = stack.key("auditor", name="Revisionen")
    key_id = id_of(key)
    relay_all(Relay(stack.runtime.config, stack.runtime.store), stack.runtime)
    [(_, subject, message)] = topic_events(stack.runtime.config, "gateway")
    assert subject == f"key-{key_id}".encode()
    assert message["type"] == "styrkort.gateway.ApiKeyIssued.v1"
    assert message["source"] == "/styrkort/gateway" and message["actor"] == "cli:test"
    assert message["data"]["role"] == "auditor" and key.split("_")[-1] not in json.dumps(message)


def test_the_gateway_spec_documents_its_routes_and_the_bearer_scheme(stack: Stack) -> None:
    spec = stack.gateway.extensions["styrkort.gateway.spec"]()
    assert spec["components"]["securitySchemes"]["apiKey"]["type"] == "http"
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert (
        "Authorization: Bearer <key>"
        in spec["components"]["securitySchemes"]["apiKey"]["description"]
    )
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/admin/keys"])
    assert "post" in spec["paths"]["/api/v1/admin/keys/{key_id}/rotate"]
    served = stack.client().get("/api/v1/openapi.json")  # open: no key
    assert served.status_code == 200, served.get_data(as_text=True)
    merged = served.get_json()["paths"]  # the core's routes beside the services' and views'
    assert "post" in merged["/api/v1/admin/keys/{key_id}/rotate"]
    assert "get" in merged["/api/v1/history/{entity_id}"]


def test_the_cli_asks_goals_whether_a_scopes_unit_exists(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    council = create_council(stack, stack.key("admin"))
    port = free_port()
    monkeypatch.setenv("GOALS_URL", f"http://127.0.0.1:{port}")
    with served(stack.services["goals"], port):
        code, lines, _ = cli(
            stack.runtime, monkeypatch, capsys, "create", "--role", "editor", "--scope", council
        )
        assert code == 0 and json.loads(lines[0])["scope"] == council
        missing = "org-unit-00000000-0000-0000-0000-000000000000"
        code, _, err = cli(
            stack.runtime, monkeypatch, capsys, "create", "--role", "editor", "--scope", missing
        )
        assert code == 2 and "no organisation unit" in err
    code, _, err = cli(
        stack.runtime, monkeypatch, capsys, "create", "--role", "editor", "--scope", council
    )
    assert code == 1 and "goals service is not answering" in err, "goals is down now"
    assert len(key_events(stack.runtime)) == 2, "the admin's and the council editor's"


def test_the_keys_read_model_is_rebuilt_from_the_events_alone(stack: Stack) -> None:
    from shared.uow import rebuild_own_read_models

    admin = stack.key("admin")
    client = stack.client()
    made = client.post(
        "/api/v1/admin/keys", json={"role": "reader", "scope": "*"}, headers=bearer(admin)
    ).get_json()
    rotated = client.post(
        f"/api/v1/admin/keys/{made['key_id']}/rotate", headers=bearer(admin)
    ).get_json()
    other = stack.key("editor")
    client.post(f"/api/v1/admin/keys/{id_of(other)}/revoke", headers=bearer(admin))

    def table() -> list[tuple[Any, ...]]:
        with connect(stack.runtime) as conn:
            return conn.execute("SELECT * FROM api_keys ORDER BY key_id").fetchall()

    before = table()
    applied = rebuild_own_read_models(
        stack.runtime.pool, stack.runtime.store, stack.runtime.projections
    )
    assert applied == 5 and table() == before
    assert status_of(stack, rotated["key"]) == 200 and status_of(stack, other) == 401
