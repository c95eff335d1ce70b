"""The gateway in front of the real service apps (each on its own PostgreSQL database, reached
through httpx.WSGITransport): every route of every service is reached, answers come back
unchanged (status, body, ETag, Location, Problem+JSON, as_of, Idempotency-Key), the identity
is the key's whatever a client sends, hop-by-hop headers stay on their hop, and a service that
is down is a 503 naming it while the others answer."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from infra.embedded import free_port
from services.gateway.proxy import owner
from services.gateway.upstream import BACKENDS
from shared.config import Config
from shared.http import PROBLEM_JSON
from shared.runtime import Runtime
from tests.gateway_support import SERVICE_APPS, Stack, bearer, id_of, make_stack, served
from tests.support import connect

#: an id of each service's own, for the routes whose owner the id decides (history)
OWN_ID = {"goals": "goal-1", "plans": "plan-1", "reports": "result-1"}


@pytest.fixture
def stack(make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]) -> Stack:
    return make_stack(make_runtime, make_config)


def concrete(rule: str, service: str) -> str:
    """A path of a url_map rule: each placeholder filled in as a client would."""
    path = re.sub(r"<int:[a-z_]+>", "2025", rule)
    return re.sub(r"<[a-z_]+>", OWN_ID[service], path)


def test_every_route_of_every_service_is_sent_to_its_owner(
    make_runtime: Callable[..., Runtime],
) -> None:
    checked = 0
    for service in BACKENDS:
        runtime = make_runtime(service)
        app = SERVICE_APPS[service](runtime.config, runtime)
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
                continue
            rest = concrete(rule.rule, service).removeprefix("/api/v1/")
            assert owner(rest) == service, f"{rule.rule} of {service} goes to {owner(rest)}"
            checked += 1
    assert checked > 100


def event_metadata(runtime: Runtime, stream_id: str) -> list[dict[str, Any]]:
    with connect(runtime) as conn:
        rows = conn.execute(
            "SELECT metadata FROM events WHERE stream_id = %s ORDER BY position", [stream_id]
        ).fetchall()
    return [row[0] for row in rows]


def test_answers_pass_through_unchanged_and_events_carry_the_key_and_correlation(
    stack: Stack,
) -> None:
    editor = stack.key("editor")
    editor_id = id_of(editor)
    client = stack.client()
    body = {"name": "Kommunfullmäktige", "kind": "council"}
    sent = bearer(editor, **{"Idempotency-Key": "create-kf", "X-Correlation-Id": "case-77"})
    made = client.post("/api/v1/org-units", json=body, headers=sent)
    assert made.status_code == 201, made.get_json()
    unit = made.get_json()
    assert made.headers["Location"] == f"/api/v1/org-units/{unit['id']}"
    assert made.headers["ETag"] == '"1"'
    assert made.headers["Content-Type"] == "application/json"
    assert made.headers["X-Correlation-Id"] == "case-77" and made.headers["X-Request-Id"]

    replayed = client.post("/api/v1/org-units", json=body, headers=sent)
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_json()["id"] == unit["id"]

    [metadata] = event_metadata(stack.runtimes["goals"], unit["id"])
    assert metadata["actor"] == f"key:{editor_id}"
    assert metadata["correlation_id"] == "case-77"

    read = client.get(made.headers["Location"], headers=bearer(editor))
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.get_json() == unit

    stale = client.post(
        f"/api/v1/org-units/{unit['id']}/rename",
        json={"name": "KF"},
        headers=bearer(editor, **{"If-Match": '"7"'}),
    )
    assert stale.status_code == 412 and stale.content_type == PROBLEM_JSON
    assert stale.get_json()["current_version"] == 1
    renamed = client.post(
        f"/api/v1/org-units/{unit['id']}/rename",
        json={"name": "KF"},
        headers=bearer(editor, **{"If-Match": '"1"'}),
    )
    assert renamed.status_code == 200 and renamed.headers["ETag"] == '"2"'

    past = client.get(f"/api/v1/org-units/{unit['id']}?as_of=2001-01-01", headers=bearer(editor))
    assert past.status_code == 404 and past.content_type == PROBLEM_JSON
    assert "at that time" in past.get_json()["detail"]
    unknown_query = client.get("/api/v1/org-units?colour=red", headers=bearer(editor))
    assert unknown_query.status_code == 400 and "colour" in unknown_query.get_json()["errors"]
    invalid = client.post("/api/v1/org-units", json={"kind": "council"}, headers=bearer(editor))
    assert invalid.status_code == 422 and "name" in invalid.get_json()["errors"]


def test_an_unknown_path_is_a_404_problem_of_the_gateway(stack: Stack) -> None:
    reader = stack.key("reader")
    for path in ("/api/v1/nothing", "/api/v1/events/gateway", "/api/v1/history/x-1"):
        answer = stack.client().get(path, headers=bearer(reader))
        assert answer.status_code == 404 and answer.content_type == PROBLEM_JSON, path
    missing = stack.client().get("/api/v1/goals/goal-nope", headers=bearer(reader))
    assert missing.status_code == 404 and missing.content_type == PROBLEM_JSON


def test_a_forged_identity_header_does_not_change_who_acts(stack: Stack) -> None:
    reader = stack.key("reader")
    forged = {
        "X-Styrkort-Actor": "key:boss",
        "X-Styrkort-Role": "admin",
        "X-Styrkort-Scope": "*",
    }
    refused = stack.client().post(
        "/api/v1/org-units",
        json={"name": "Kommunfullmäktige", "kind": "council"},
        headers=bearer(reader, **forged),
    )
    assert refused.status_code == 403 and refused.content_type == PROBLEM_JSON
    editor = stack.key("editor")
    made = stack.client().post(
        "/api/v1/org-units",
        json={"name": "Kommunfullmäktige", "kind": "council"},
        headers=bearer(editor, **forged),
    )
    assert made.status_code == 201
    [metadata] = event_metadata(stack.runtimes["goals"], made.get_json()["id"])
    assert metadata["actor"] == f"key:{id_of(editor)}"


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A stand-in service that answers with the headers it received, and hop-by-hop ones."""
    received = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Connection", "X-Hop"),
            ("X-Hop", "service-side"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Authenticate", "Basic"),
            ("ETag", '"9"'),
        ],
    )
    return [json.dumps(received).encode()]


def test_hop_by_hop_and_client_identity_headers_stay_on_their_hop(
    make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]
) -> None:
    stack = make_stack(
        make_runtime, make_config, transports={"plans": httpx.WSGITransport(app=echo_app)}
    )
    key = stack.key("reader")
    answer = stack.client().get(
        "/api/v1/plans?period=2026",
        headers=bearer(
            key,
            **{
                "Connection": "X-Client-Hop",
                "X-Client-Hop": "1",
                "Keep-Alive": "timeout=9",
                "Cookie": "session=abc",
                "Proxy-Authorization": "Basic eA==",
                "X-Styrkort-Actor": "key:boss",
                "Accept-Language": "sv",
            },
        ),
    )
    assert answer.status_code == 200
    received = answer.get_json()
    for name in ("x-client-hop", "keep-alive", "cookie", "proxy-authorization", "authorization"):
        assert name not in received, name
    assert received["accept-language"] == "sv"
    assert received["x-styrkort-actor"] == f"key:{id_of(key)}"
    assert received["x-styrkort-signature"] and received["x-correlation-id"]
    for name in ("X-Hop", "Keep-Alive", "Proxy-Authenticate"):
        assert name not in answer.headers, name
    assert answer.headers["ETag"] == '"9"'


def test_a_service_that_is_down_is_a_503_naming_it_and_the_others_still_answer(
    make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    stack = make_stack(make_runtime, make_config, urls={"reports": closed}, timeout=2.0)
    key = stack.key("reader")
    client = stack.client()
    down = client.get("/api/v1/scorecard?year=2025", headers=bearer(key))
    assert down.status_code == 503 and down.content_type == PROBLEM_JSON
    assert down.get_json()["service"] == "reports" and "reports" in down.get_json()["detail"]
    assert client.get("/api/v1/org-units", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/plans", headers=bearer(key)).status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["services"]["reports"]["status"] == "down"
    assert ready.get_json()["services"]["goals"]["status"] == "ready"
    assert "reports" in ready.get_json()["reason"]


def test_an_export_streams_through_and_metrics_count_by_service(
    make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]
) -> None:
    port = free_port()
    stack = make_stack(make_runtime, make_config, urls={"goals": f"http://127.0.0.1:{port}"})
    admin = stack.key("admin")
    client = stack.client()
    with served(stack.services["goals"], port):
        made = client.post(
            "/api/v1/org-units", json={"name": "KF", "kind": "council"}, headers=bearer(admin)
        )
        assert made.status_code == 201
        export = client.get("/api/v1/export/goals/events.jsonl", headers=bearer(admin))
        assert export.status_code == 200
        assert export.headers["Content-Type"].startswith("application/x-ndjson")
        lines = export.get_data().decode().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["type"].endswith("OrgUnitCreated.v1")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'requests_total\{service="goals",status="200"\} 1\.0', metrics)
    assert re.search(r'requests_total\{service="goals",status="201"\} 1\.0', metrics)


def test_a_body_over_the_limit_is_a_413_problem_and_reaches_no_service(stack: Stack) -> None:
    editor = stack.key("editor")
    huge = b'{"name": "' + b"x" * 1_100_000 + b'", "kind": "council"}'
    answer = stack.client().post(
        "/api/v1/org-units",
        data=huge,
        headers=bearer(editor, **{"Content-Type": "application/json"}),
    )
    assert answer.status_code == 413 and answer.content_type == PROBLEM_JSON
    with connect(stack.runtimes["goals"]) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)


def test_a_service_slower_than_the_timeout_is_a_503_naming_it(
    make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]
) -> None:
    release = threading.Event()

    def slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        release.wait(30)  # far beyond the gateway's timeout; released when the test ends
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    port = free_port()
    stack = make_stack(
        make_runtime, make_config, urls={"plans": f"http://127.0.0.1:{port}"}, timeout=0.5
    )
    key = stack.key("reader")
    try:
        with served(slow_app, port):
            slow = stack.client().get("/api/v1/plans", headers=bearer(key))
            assert slow.status_code == 503 and slow.content_type == PROBLEM_JSON
            assert slow.get_json()["service"] == "plans"
            assert "no answer within 0.5 s" in slow.get_json()["detail"]
            other = stack.client().get("/api/v1/org-units", headers=bearer(key))
            assert other.status_code == 200
            release.set()
    finally:
        release.set()


def test_a_keys_scope_reaches_the_service_that_checks_it(stack: Stack) -> None:
    admin = stack.key("admin")
    client = stack.client()
    council = client.post(
        "/api/v1/org-units", json={"name": "KF", "kind": "council"}, headers=bearer(admin)
    ).get_json()["id"]
    committee = client.post(
        "/api/v1/org-units",
        json={"name": "Barn- och utbildningsnämnden", "kind": "committee", "parent_id": council},
        headers=bearer(admin),
    ).get_json()["id"]
    editor = stack.key("editor", scope=committee)
    inside = client.post(
        "/api/v1/org-units",
        json={"name": "Sektor BoU", "kind": "sector", "parent_id": committee},
        headers=bearer(editor),
    )
    assert inside.status_code == 201, inside.get_json()
    outside = client.post(
        "/api/v1/org-units",
        json={"name": "Kommunstyrelsen", "kind": "executive_board", "parent_id": council},
        headers=bearer(editor),
    )
    assert outside.status_code == 403 and outside.content_type == PROBLEM_JSON
    assert outside.get_json()["scope"] == committee


@pytest.mark.parametrize(
    "query",
    [b"kind=\xc3\xa4mbete", b'kind="council"', b"kind=%C3%A4mbete", b"kind=a|b^c"],
)
def test_a_query_reaches_the_service_as_sent_never_as_a_signature_mismatch(
    stack: Stack, query: bytes
) -> None:
    reader = stack.key("reader")
    raw = query.decode("latin-1")  # WSGI carries the bytes as latin-1 text
    answer = stack.client().get("/api/v1/org-units", query_string=raw, headers=bearer(reader))
    assert answer.status_code == 422, answer.get_json()  # the service read the value: no 401
    assert "kind" in answer.get_json()["errors"]
