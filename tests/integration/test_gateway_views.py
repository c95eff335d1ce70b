"""The gateway's views across services against the real goals, plans and reports apps on the
real PostgreSQL (reached through `Upstreams` with WSGI transports, no sockets): the merged
OpenAPI document and the offline docs page, history routed by the id's prefix, the merged
event feed and its cursor, verify and lag across services, and the admin CLI.

The gateway core (API keys) is not part of these tests: a tiny test app sets `g.identity`
from a fixture variable, never from a header.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
import pytest
import schemathesis
from flask import Flask, g, request

from services.gateway import admin_cli, admin_ops, audit_trail, docs
from services.gateway.openapi_merge import (
    API_KEY_SCHEME,
    GATEWAY_ROUTED,
    MISSING_KEY,
    unresolved_refs,
)
from services.gateway.upstream import Upstreams
from services.goals.app import create_app as goals_app
from services.goals.seed import seed, seed_id
from services.plans.app import create_app as plans_app
from services.reports.app import create_app as reports_app
from shared.events import Metadata, NewEvent
from shared.http import register_error_handlers
from shared.identity import Identity
from shared.relay import relay_status
from shared.runtime import Runtime
from tests.integration.test_witness import relay_all
from tests.support import ADMIN, AUDITOR, EDITOR, INTERNAL_SECRET, READER, connect

META = Metadata(actor="key:test", correlation_id="corr-gw", causation_id=None, request_id="r")
SERVICES = ("goals", "plans", "reports")
#: nothing listens here: a service that is down (connection refused at once)
DOWN_URL = "http://127.0.0.1:9"


@dataclass
class Gateway:
    """The test gateway app, and who the next request is (set by the test, not a header)."""

    app: Flask
    service_apps: dict[str, Flask]
    runtimes: dict[str, Runtime]
    identity: Identity | None = None
    seen_authorization: list[str | None] = field(default_factory=list)

    def as_(self, identity: Identity | None) -> Any:
        self.identity = identity
        return self.app.test_client()


def make_upstreams(apps: dict[str, Flask], down: tuple[str, ...] = ()) -> Upstreams:
    urls = {name: DOWN_URL if name in down else f"http://{name}.test" for name in apps}
    transports: dict[str, httpx.BaseTransport] = {
        name: httpx.WSGITransport(app=app) for name, app in apps.items() if name not in down
    }
    return Upstreams(urls, INTERNAL_SECRET, timeout=60, transports=transports)


def make_gateway_app(upstreams: Upstreams, state: dict[str, Any]) -> Flask:
    app = Flask("test-gateway")
    register_error_handlers(app)

    @app.before_request
    def _identity() -> None:
        gateway: Gateway = state["gateway"]
        g.identity = gateway.identity  # the test's fixture variable
        gateway.seen_authorization.append(request.headers.get("Authorization"))

    for make in (docs.blueprint, audit_trail.blueprint, admin_ops.blueprint):
        app.register_blueprint(make(upstreams))

    # a stand-in for the core's proxy, which forwards these by path (for the CLI's tests)
    @app.route("/api/v1/admin/<service>/<path:rest>", methods=["GET", "POST"])
    def _forward(service: str, rest: str) -> Any:
        identity = g.identity
        assert identity is not None
        sent = upstreams.request(
            service,
            request.method,
            request.full_path.rstrip("?"),
            identity,
            request.get_data(),
            {"Content-Type": request.content_type} if request.content_type else None,
        )
        headers = {k: v for k, v in sent.headers.items() if k in ("Content-Type", "Location")}
        return sent.content, sent.status_code, headers

    return app


@pytest.fixture
def gateway(goals: Runtime, plans: Runtime, reports: Runtime) -> Iterator[Gateway]:
    runtimes = {"goals": goals, "plans": plans, "reports": reports}
    apps = {
        "goals": goals_app(goals.config, goals),
        "plans": plans_app(plans.config, plans),
        "reports": reports_app(reports.config, reports),
    }
    upstreams = make_upstreams(apps)
    state: dict[str, Any] = {}
    made = Gateway(make_gateway_app(upstreams, state), apps, runtimes)
    state["gateway"] = made
    yield made
    upstreams.close()


def gateway_with_down(gateway: Gateway, down: str) -> Gateway:
    """The same services, but `down` is not answering (nothing listens at its URL)."""
    state: dict[str, Any] = {}
    upstreams = make_upstreams(gateway.service_apps, down=(down,))
    other = Gateway(make_gateway_app(upstreams, state), gateway.service_apps, gateway.runtimes)
    state["gateway"] = other
    return other


def append(runtime: Runtime, stream: str, count: int = 1, start_version: int = 0) -> None:
    with connect(runtime) as conn, conn.transaction():
        runtime.store.append(
            conn,
            stream,
            "thing",
            start_version,
            [NewEvent("ThingNoted.v1", {"n": start_version + i}) for i in range(count)],
            META,
        )


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    for name in fields:
        assert name in body.get("errors", {}), body
    return body


# -- OpenAPI and docs ---------------------------------------------------------------------


def service_document(app: Flask) -> dict[str, Any]:
    document: dict[str, Any] = app.test_client().get("/api/v1/openapi.json").get_json()
    return document


CORE_DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "gateway", "version": "v1"},
    "paths": {
        "/api/v1/keys": {
            "get": {
                "tags": ["keys"],
                "responses": {
                    "200": {
                        "description": "keys",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Key"}}
                        },
                    }
                },
            }
        }
    },
    "components": {
        "schemas": {"Key": {"type": "object", "properties": {"id": {"type": "string"}}}}
    },
    "tags": [{"name": "keys"}],
}


def test_the_merged_document_is_valid_openapi_with_every_services_paths_and_the_gateways(
    gateway: Gateway,
) -> None:
    gateway.app.extensions[docs.CORE_SPEC_EXTENSION] = lambda: CORE_DOCUMENT
    response = gateway.as_(None).get("/api/v1/openapi.json")
    assert response.status_code == 200
    merged = response.get_json()
    schemathesis.openapi.from_dict(merged).validate()  # the OpenAPI 3.0 meta-schema
    assert unresolved_refs(merged) == []
    assert MISSING_KEY not in merged
    for name, app in gateway.service_apps.items():
        own = service_document(app)
        assert set(own["paths"]) <= set(merged["paths"]), name
        assert own["paths"], name
    assert set(merged["paths"]) >= GATEWAY_ROUTED
    for path in ("/api/v1/keys", "/api/v1/events", "/api/v1/admin/verify", "/api/v1/admin/lag"):
        assert path in merged["paths"], path
    assert merged["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    assert merged["components"]["schemas"]["Key"]["properties"]["id"]["type"] == "string"
    assert merged["components"]["securitySchemes"] == {"apiKey": API_KEY_SCHEME}
    assert merged["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert "Bearer" in merged["components"]["securitySchemes"]["apiKey"]["description"]
    assert merged["security"] == [{"apiKey": []}]
    text = json.dumps(merged)
    assert "X-Styrkort-Signature" not in text and "X-Styrkort-Role" not in text
    for path, item in merged["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for requirement in operation.get("security", []):
                assert set(requirement) == {"apiKey"}, (path, method)


def test_a_service_down_leaves_its_part_out_and_names_it(gateway: Gateway) -> None:
    down = gateway_with_down(gateway, "plans")
    response = down.as_(None).get("/api/v1/openapi.json")
    assert response.status_code == 200
    merged = response.get_json()
    assert set(merged[MISSING_KEY]) == {"plans"} and "plans" in merged[MISSING_KEY]["plans"]
    plans_paths = set(service_document(gateway.service_apps["plans"])["paths"]) - GATEWAY_ROUTED
    assert plans_paths and not plans_paths & set(merged["paths"])
    goals_paths = set(service_document(gateway.service_apps["goals"])["paths"])
    assert goals_paths <= set(merged["paths"])
    assert unresolved_refs(merged) == []
    schemathesis.openapi.from_dict(merged).validate()


class Referenced(HTMLParser):
    """The URLs of a page's scripts, stylesheets and icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (
                (tag == "script" and name == "src") or (tag == "link" and name == "href")
            ):
                self.urls.append(value)


#: URLs in Swagger UI's files that the browser never fetches: XML namespaces, links in error
#: messages and comments, and the test strings of its URL and link parsers
HARMLESS_URL = re.compile(
    r"^(https?://(www\.w3\.org/|reactjs\.org/|redux\.js\.org/|github\.com/|fb\.me/"
    r"|(www\.)?(facebook|twitter|instagram|soundcloud)\.com/)"
    r"|https?://$|https?://(a|x|a@b|тест)([/#?].*)?$)"
)
#: URLs in the bundle's defaults that the page's own configuration replaces (url,
#: validatorUrl): asserted below that it does
OVERRIDDEN_DEFAULTS = {
    "https://petstore.swagger.io/v2/swagger.json",
    "https://validator.swagger.io/validator",
}


def test_the_docs_page_and_every_file_it_uses_fetch_nothing_from_elsewhere(
    gateway: Gateway,
) -> None:
    client = gateway.as_(None)
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    parser = Referenced()
    parser.feed(html)
    assert len(parser.urls) >= 4
    to_fetch = [urljoin("/api/v1/docs", url) for url in parser.urls]
    fetched: dict[str, str] = {"/api/v1/docs": html}
    while to_fetch:
        url = to_fetch.pop()
        if url in fetched:
            continue
        assert not urlparse(url).netloc, f"the page refers to another host: {url}"
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data().decode("utf-8", errors="replace")
        fetched[url] = text
        for mapped in re.findall(r"sourceMappingURL=([^\s*]+)", text):
            to_fetch.append(urljoin(url, mapped))
        for inner in re.findall(r"url\(([^)]+)\)", text if url.endswith(".css") else ""):
            inner = inner.strip("'\"")
            if not inner.startswith("data:"):
                to_fetch.append(urljoin(url, inner))
    assert any(u.endswith("swagger-ui-bundle.js") for u in fetched)
    assert any(u.endswith(".map") for u in fetched)
    own = {u: t for u, t in fetched.items() if u == "/api/v1/docs" or u.endswith(docs.INIT_SCRIPT)}
    assert len(own) == 2
    for url, text in own.items():
        assert not re.search(r"https?://", text), f"{url} names an external URL"
    init = own[next(u for u in own if u.endswith(docs.INIT_SCRIPT))]
    assert "validatorUrl: null" in init and 'url: "/api/v1/openapi.json"' in init
    external: set[str] = set()
    for url, text in fetched.items():
        if url.endswith(".map"):
            continue  # read by a developer's tools only; its sources quote the same strings
        for found in re.findall(r"https?://[^\s\"'`<>()\\]*", text):
            if not HARMLESS_URL.match(found) and found not in OVERRIDDEN_DEFAULTS:
                external.add(f"{url}: {found}")
    assert not external, sorted(external)
    assert client.get("/api/v1/docs/index.html").status_code == 404
    assert client.get("/api/v1/docs/..%2Fpyproject.toml").status_code == 404


# -- history ------------------------------------------------------------------------------


def test_history_is_asked_of_the_service_that_owns_the_id_and_passed_through(
    gateway: Gateway,
) -> None:
    seed(gateway.runtimes["goals"])
    goal = seed_id("goal-", "o-kunskap")
    append(gateway.runtimes["plans"], "plan-7a", 2)
    time.sleep(0.01)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    append(gateway.runtimes["plans"], "plan-7a", 1, start_version=2)
    append(gateway.runtimes["reports"], "annual-report-2025", 1)
    client = gateway.as_(AUDITOR)
    found = client.get(f"/api/v1/history/{goal}")
    assert found.status_code == 200, found.get_json()
    assert found.get_json()["entity_id"] == goal
    assert found.get_json()["events"][0]["actor"]
    plan = client.get("/api/v1/history/plan-7a").get_json()
    assert [e["version"] for e in plan["events"]] == [1, 2, 3]
    then = client.get(f"/api/v1/history/plan-7a?as_of={between.replace('+', '%2B')}")
    assert [e["version"] for e in then.get_json()["events"]] == [1, 2]
    annual = client.get("/api/v1/history/annual-report-2025").get_json()
    assert annual["entity_id"] == "annual-report-2025" and len(annual["events"]) == 1
    # the owning service's Problems pass through unchanged
    missing = assert_problem(client.get("/api/v1/history/plan-nothing"), 404)
    assert "plans" in missing["detail"]
    bad = client.get("/api/v1/history/plan-7a?as_of=yesterday")
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    unknown = assert_problem(client.get("/api/v1/history/plan-7a?asof=x"), 400, "asof")
    assert "asof" in unknown["detail"]


def test_an_id_no_service_owns_is_a_404_and_key_history_uses_the_cores_hook(
    gateway: Gateway,
) -> None:
    client = gateway.as_(READER)
    assert (
        "names no service" in assert_problem(client.get("/api/v1/history/thing-1"), 404)["detail"]
    )
    assert_problem(client.get("/api/v1/history/key-1"), 404)
    asked: list[tuple[str, str | None]] = []

    def key_history(entity_id: str, as_of: str | None) -> Any:
        asked.append((entity_id, as_of))
        return {"entity_id": entity_id, "events": []}

    gateway.app.extensions[audit_trail.KEY_HISTORY_EXTENSION] = key_history
    answer = client.get("/api/v1/history/key-1?as_of=2026-01-01T00:00:00Z")
    assert answer.status_code == 200 and answer.get_json()["entity_id"] == "key-1"
    assert asked == [("key-1", "2026-01-01T00:00:00Z")]
    assert_problem(gateway.as_(None).get("/api/v1/history/goal-1"), 401)


def test_history_of_a_service_that_is_down_is_a_503_naming_it(gateway: Gateway) -> None:
    down = gateway_with_down(gateway, "reports")
    problem = assert_problem(down.as_(ADMIN).get("/api/v1/history/result-1"), 503)
    assert problem["service"] == "reports"
    assert_problem(down.as_(ADMIN).get("/api/v1/history/plan-none"), 404)  # plans still works


# -- the merged feed ----------------------------------------------------------------------


def all_events(runtime: Runtime) -> list[str]:
    with connect(runtime) as conn:
        return [str(e.event_id) for e in runtime.store.read_all(conn, 0, 100_000, upcast=False)]


def test_paging_the_feed_while_services_append_at_different_rates_gives_each_event_once(
    gateway: Gateway,
) -> None:
    runtimes = gateway.runtimes
    rates = {"goals": 5, "plans": 1, "reports": 2}
    for service, runtime in runtimes.items():
        append(runtime, f"{'goal' if service == 'goals' else service[:-1]}-start", 3)
    client = gateway.as_(AUDITOR)
    seen: list[dict[str, Any]] = []
    after = None
    pages = 0
    versions = dict.fromkeys(runtimes, 0)
    while True:
        query = f"?limit=4&after={after}" if after else "?limit=4"
        page = client.get(f"/api/v1/events{query}")
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        assert len(body["events"]) <= 4
        assert set(body["positions"]) == set(SERVICES)
        seen.extend(body["events"])
        after = body["next_after"]
        pages += 1
        if pages <= 6:  # the services move on between pages, each at its own speed
            for service, rate in rates.items():
                stream = f"{'goal' if service == 'goals' else service[:-1]}-moving"
                append(runtimes[service], stream, rate, start_version=versions[service])
                versions[service] += rate
        elif body["caught_up"]:
            break
        assert pages < 100
    assert pages > 6
    for service, runtime in runtimes.items():
        mine = [e for e in seen if e["source"] == f"/styrkort/{service}"]
        assert [e["id"] for e in mine] == all_events(runtime), service
        assert [e["position"] for e in mine] == sorted(e["position"] for e in mine)
        assert all("hash" in e and e["specversion"] == "1.0" for e in mine)
    assert len(seen) == sum(len(all_events(r)) for r in runtimes.values())
    last = client.get(f"/api/v1/events?after={after}").get_json()
    assert last["events"] == [] and last["caught_up"] is True and last["next_after"] == after


def test_the_feed_is_for_auditors_and_refuses_cursors_it_did_not_give(gateway: Gateway) -> None:
    assert_problem(gateway.as_(None).get("/api/v1/events"), 401)
    assert_problem(gateway.as_(EDITOR).get("/api/v1/events"), 403)
    assert_problem(gateway.as_(READER).get("/api/v1/events"), 403)
    assert gateway.as_(ADMIN).get("/api/v1/events").status_code == 200
    client = gateway.as_(AUDITOR)
    negative = audit_trail.encode_cursor({"goals": -1})
    unknown = audit_trail.encode_cursor({"kolada": 3})
    for cursor in ("garbage!", "bm90IGpzb24", negative, unknown):
        problem = assert_problem(client.get(f"/api/v1/events?after={cursor}"), 400, "after")
        assert problem["detail"].startswith("after:")
    assert_problem(client.get("/api/v1/events?limit=0"), 400, "limit")
    assert_problem(client.get("/api/v1/events?limit=many"), 400, "limit")
    assert_problem(client.get("/api/v1/events?afterr=x"), 400, "afterr")
    assert_problem(client.get("/api/v1/events?after=&after="), 400, "after")


def test_a_service_down_fails_the_feed_page_naming_it(gateway: Gateway) -> None:
    append(gateway.runtimes["goals"], "goal-1", 2)
    down = gateway_with_down(gateway, "plans")
    problem = assert_problem(down.as_(AUDITOR).get("/api/v1/events"), 503)
    assert problem["service"] == "plans" and "plans" in problem["detail"]


# -- verify and lag -----------------------------------------------------------------------


def tamper(runtime: Runtime, position: int) -> None:
    with connect(runtime) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("""UPDATE events SET data = '{"n": 999}' WHERE position = %s""", [position])


def test_verify_checks_every_store_and_names_the_broken_one(gateway: Gateway) -> None:
    for runtime in gateway.runtimes.values():
        append(runtime, "goal-v", 4)
    client = gateway.as_(AUDITOR)
    clean = client.get("/api/v1/admin/verify")
    assert clean.status_code == 200, clean.get_json()
    body = clean.get_json()
    assert body["ok"] is True and set(body["services"]) == set(SERVICES)
    for found in body["services"].values():
        assert found["status"] == "ok" and found["checked"] == 4
        assert found["head"]["position"] == 4 and len(found["head"]["hash"]) == 64
        assert found["witness"]["consulted"] is True
    tamper(gateway.runtimes["plans"], 2)
    broken = client.get("/api/v1/admin/verify").get_json()
    assert broken["ok"] is False
    assert broken["services"]["plans"]["status"] == "broken"
    assert broken["services"]["plans"]["first_broken_position"] == 2
    assert broken["services"]["goals"]["ok"] and broken["services"]["reports"]["ok"]
    assert_problem(gateway.as_(EDITOR).get("/api/v1/admin/verify"), 403)
    assert gateway.as_(ADMIN).get("/api/v1/admin/verify").status_code == 200


def test_verify_with_a_service_down_is_not_ok_and_names_it(gateway: Gateway) -> None:
    body = gateway_with_down(gateway, "reports").as_(AUDITOR).get("/api/v1/admin/verify")
    found = body.get_json()
    assert found["ok"] is False and found["complete"] is False
    assert found["services"]["reports"]["status"] == "unavailable"
    assert "reports" in found["services"]["reports"]["reason"]
    assert found["services"]["goals"]["ok"] is True


def feed_to(runtime: Runtime, source: Runtime, up_to: int) -> None:
    """Apply `source`'s events up to a position to `runtime`'s read models, as its consumer
    would (the broker path is tested in tests/e2e)."""
    from shared.envelope import ReceivedEvent

    with connect(source) as conn:
        events = source.store.read_all(conn, 0, up_to, upcast=False)
    name = source.config.service
    with connect(runtime) as conn, conn.transaction():
        runtime.applier.apply_all(conn, [ReceivedEvent(f"/styrkort/{name}", e) for e in events])


def test_lag_shows_each_relay_and_each_consumer_behind_its_source(gateway: Gateway) -> None:
    goals, plans = gateway.runtimes["goals"], gateway.runtimes["plans"]
    seed(goals)
    with connect(goals) as conn:
        head = goals.store.last_position(conn)
    feed_to(plans, goals, head - 5)
    consumer = plans_consumer(gateway)
    assert consumer["sources"]["goals"]["applied_position"] == head - 5
    assert consumer["sources"]["goals"]["streams"] > 0
    body = gateway.as_(AUDITOR).get("/api/v1/admin/lag")
    assert body.status_code == 200, body.get_json()
    services = body.get_json()["services"]
    assert services["goals"]["last_position"] == head
    assert services["goals"]["relay"] == {"checkpoint": 0, "lag": head, "stopped": None}
    assert services["goals"]["consumers"] == {}
    assert services["plans"]["consumers"]["goals"]["lag"] == 5
    assert services["plans"]["consumers"]["goals"]["source_position"] == head
    assert services["reports"]["consumers"]["goals"]["applied_position"] == 0
    assert services["reports"]["consumers"]["goals"]["lag"] == head
    feed_to(plans, goals, head)
    again = gateway.as_(AUDITOR).get("/api/v1/admin/lag").get_json()["services"]
    assert again["plans"]["consumers"]["goals"]["lag"] == 0
    down = gateway_with_down(gateway, "goals").as_(AUDITOR).get("/api/v1/admin/lag").get_json()
    assert down["services"]["goals"]["status"] == "unavailable"
    assert down["services"]["plans"]["consumers"]["goals"]["lag"] is None
    assert_problem(gateway.as_(READER).get("/api/v1/admin/lag"), 403)


def plans_consumer(gateway: Gateway) -> dict[str, Any]:
    """The plans service's own consumer route, asked directly with a signed auditor."""
    from tests.support import SignedClient

    response = SignedClient(gateway.service_apps["plans"], AUDITOR).get(
        "/api/v1/admin/plans/consumer"
    )
    assert response.status_code == 200, response.get_json()
    assert (
        SignedClient(gateway.service_apps["plans"], EDITOR)
        .get("/api/v1/admin/plans/consumer")
        .status_code
        == 403
    )
    body: dict[str, Any] = response.get_json()
    return body


# -- the admin CLI ------------------------------------------------------------------------


def run_cli(gateway: Gateway, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = admin_cli.main(
        ["--url", "http://gateway.test", *argv],
        transport=httpx.WSGITransport(app=gateway.app),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


def test_the_admin_cli_verifies_shows_lag_rebuilds_and_republishes(
    gateway: Gateway, tmp_path: Path
) -> None:
    key_file = tmp_path / "admin-key"
    key_file.write_text("sk-test-admin\n")
    key = ["--key-file", str(key_file)]
    for runtime in gateway.runtimes.values():
        append(runtime, "goal-cli", 3)
    relay_all(gateway.runtimes["goals"])  # goals' relay has sent all 3 to the broker
    gateway.identity = ADMIN
    code, out, err = run_cli(gateway, *key, "verify")
    assert (code, err) == (0, ""), out
    assert out.count(" ok ") == 3 and "every chain is sound" in out
    assert gateway.seen_authorization[-1] == "Bearer sk-test-admin"
    code, out, _ = run_cli(gateway, *key, "lag")
    assert code == 0 and "consumer of goals: applied 0 of 3" in out
    assert "goals    last 3, relayed 3, relay lag 0" in out
    assert "plans    last 3, relayed 0, relay lag 3" in out
    code, out, _ = run_cli(gateway, *key, "rebuild", "plans")
    assert code == 0 and "rebuild of plans: job" in out and "done:" in out, out
    code, out, _ = run_cli(gateway, *key, "republish", "goals", "--from", "2")
    assert code == 0 and "re-sends from position 2" in out
    with connect(gateway.runtimes["goals"]) as conn:
        assert relay_status(conn, gateway.runtimes["goals"].config)["checkpoint"] == 1
    tamper(gateway.runtimes["reports"], 2)
    code, out, _ = run_cli(gateway, *key, "--json", "verify")
    assert code == 1 and "reports  BROKEN at position 2" in out and '"ok": false' in out


def test_the_admin_cli_says_why_it_could_not_run(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(admin_cli.KEY_ENV, raising=False)
    code, _, err = run_cli(gateway, "--key-file", str(tmp_path / "none"), "lag")
    assert code == 2 and "no API key" in err and "STYRKORT_API_KEY" in err
    monkeypatch.setenv(admin_cli.KEY_ENV, "sk-from-env")
    gateway.identity = READER
    code, _, err = run_cli(gateway, "lag")
    assert code == 2 and "403" in err and "auditor" in err
    assert gateway.seen_authorization[-1] == "Bearer sk-from-env"
    out, err_out = io.StringIO(), io.StringIO()
    unreachable = admin_cli.main(["--url", DOWN_URL, "verify"], out=out, err=err_out)
    assert unreachable == 2 and "did not answer" in err_out.getvalue()
    with pytest.raises(SystemExit):
        admin_cli.main(["rebuild", "warehouse"], err=io.StringIO())


def test_the_merged_document_is_kept_for_a_while_then_fetched_anew(gateway: Gateway) -> None:
    now = [1000.0]
    upstreams = make_upstreams(gateway.service_apps)
    try:
        merged = docs.MergedDocument(upstreams, clock=lambda: now[0])
        first = merged.get(None)
        now[0] += docs.CACHE_SECONDS - 1
        assert merged.get(None) is first
        now[0] += 2
        again = merged.get(None)
        assert again is not first and again == first
    finally:
        upstreams.close()
    down = make_upstreams(gateway.service_apps, down=("reports",))
    try:
        missing = docs.MergedDocument(down, clock=lambda: now[0])
        partial = missing.get(None)
        assert set(partial[MISSING_KEY]) == {"reports"}
        now[0] += docs.MISSING_CACHE_SECONDS + 0.1
        assert missing.get(None) is not partial  # a missing part is asked for again soon
    finally:
        down.close()


def test_a_service_refusing_the_gateway_fails_the_feed_naming_it_not_a_500(
    gateway: Gateway,
) -> None:
    """A gateway signing with a secret the services do not share (a misconfiguration)."""
    urls = {name: f"http://{name}.test" for name in gateway.service_apps}
    transports: dict[str, httpx.BaseTransport] = {
        name: httpx.WSGITransport(app=app) for name, app in gateway.service_apps.items()
    }
    upstreams = Upstreams(urls, "not-the-secret", timeout=60, transports=transports)
    state: dict[str, Any] = {}
    wrong = Gateway(make_gateway_app(upstreams, state), gateway.service_apps, gateway.runtimes)
    state["gateway"] = wrong
    try:
        problem = assert_problem(wrong.as_(AUDITOR).get("/api/v1/events"), 502)
        assert problem["service"] == "goals" and problem["upstream_status"] == 401
        verify = wrong.as_(AUDITOR).get("/api/v1/admin/verify").get_json()
        assert verify["ok"] is False
        assert "401" in verify["services"]["plans"]["reason"]
    finally:
        upstreams.close()
