"""The API says what it does (issue #8): Problem types, content types, strict query parameters,
strong If-Match, a JSONL export that only `\\n` splits, and OpenAPI documents that list every
answer a route gives.

`test_every_answer_is_documented` runs a representative set of requests against every app (the
access matrix's commands as admin, outsider and reader, each command twice, and probes of every
route: unknown entities, unknown query parameters, bad values, stale, weak and malformed
If-Match, bodies that are not JSON or not application/json, no signature) and checks that each
(method, route, status) answered is among the route's responses in the app's own document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, Response, request

from services.goals.app import create_app as create_goals_app
from services.goals.seed import seed
from services.plans.app import create_app as create_plans_app
from services.reports.app import create_app as create_reports_app
from shared import values
from shared.envelope import ReceivedEvent
from shared.http import PROBLEM_BASE, PROBLEM_JSON
from shared.identity import Identity
from shared.runtime import Runtime
from tests.integration.test_access_matrix import (
    GOALS_CASES,
    KF,
    PLANS_CASES,
    REPORTS_CASES,
    STRATEGIC,
    closed_year,
)
from tests.support import ADMIN, AUDITOR, EDITOR, READER, SignedClient, connect

KF_DECISION = {"decided_by": KF, "decided_on": "2023-02-01", "minute_ref": "KF 2023-02-01 §3"}

# -- recording what the apps answer -----------------------------------------------------------


class Recorder:
    """(method, rule, status) of every answer an app gives, and the ids it creates."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, int]] = set()
        self.ids: dict[str, str] = {}  # collection ("plans", "goals") -> an id created there

    def on(self, app: Flask) -> Flask:
        app.after_request(self.record)
        return app

    def record(self, response: Response) -> Response:
        if request.url_rule is not None and request.method not in ("HEAD", "OPTIONS"):
            self.seen.add((request.method, request.url_rule.rule, response.status_code))
        location = response.headers.get("Location")
        if response.status_code == 201 and location:
            collection, entity_id = urlsplit(location).path.rsplit("/", 2)[-2:]
            self.ids[collection] = entity_id
        return response


def openapi(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: `/x/<int:year>` is `/x/{year}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def undocumented(app: Flask, seen: set[tuple[str, str, int]]) -> list[str]:
    paths = openapi(app)["paths"]
    missing = []
    for method, rule, status in sorted(seen):
        if not rule.startswith("/api/v1/") or rule.endswith("openapi.json"):
            continue
        template = openapi_path(rule)
        responses = paths.get(template, {}).get(method.lower(), {}).get("responses", {})
        if str(status) not in responses:
            missing.append(f"{method} {template} -> {status}")
    return missing


@pytest.fixture
def goals_app(goals: Runtime) -> tuple[Flask, Recorder]:
    seed(goals)
    recorder = Recorder()
    return recorder.on(create_goals_app(goals.config, goals)), recorder


def feed(goals: Runtime, plans: Runtime) -> None:
    """Apply the goals service's events to plans' read models, as its consumer would."""
    with connect(goals) as conn:
        events = goals.store.read_all(conn, limit=10_000, upcast=False)
    with connect(plans) as conn, conn.transaction():
        plans.applier.apply_all(conn, [ReceivedEvent("/styrkort/goals", e) for e in events])


@pytest.fixture
def make_plans_app(
    goals: Runtime, goals_app: Any, make_runtime: Callable[..., Runtime]
) -> Callable[[Recorder], Flask]:
    """A plans app on a fresh database (a unit has one plan per period), fed the seeded goals."""

    def make(recorder: Recorder) -> Flask:
        plans = make_runtime("plans")
        feed(goals, plans)
        return recorder.on(create_plans_app(plans.config, plans))

    return make


@pytest.fixture
def make_reports_app(
    goals: Runtime, goals_app: Any, make_runtime: Callable[..., Runtime]
) -> Callable[[Recorder], Flask]:
    """A reports app on a fresh database (one report per unit and period, one result per
    indicator and period, one close per year), fed the seeded goals."""

    def make(recorder: Recorder) -> Flask:
        reports = make_runtime("reports")
        feed(goals, reports)
        return recorder.on(create_reports_app(reports.config, reports))

    return make


# -- a representative run ----------------------------------------------------------------------


def run_case(app: Flask, case: Any, serial: int) -> None:
    """One write route as an admin (three times: again, which is often a rule violation, and
    with a stale If-Match), an editor of another unit and a reader."""
    admin = SignedClient(app, ADMIN)
    outsider = Identity("key:outsider", "editor", case.outsider)
    for k, who in enumerate([ADMIN, outsider, READER]):
        path, body = case.prepare(admin, serial + k)
        client = SignedClient(app, who)
        client.post(path, body)
        if who == ADMIN:
            client.post(path, body)
            client.post(path, body, headers={"If-Match": '"1"'})


def concrete(rule: str, ids: dict[str, str]) -> Iterator[str]:
    """The rule with real ids (of the collection before each argument), and with unknown ids."""
    parts = rule.split("/")
    anything = next(iter(ids.values()), "x")
    real = [
        _fill(part, ids.get(parts[i - 1], anything)) if part.startswith("<") else part
        for i, part in enumerate(parts)
    ]
    yield "/".join(real)
    if any(part.startswith("<") for part in parts):
        yield "/".join(
            _fill(part, "no-such-thing") if part.startswith("<") else part for part in parts
        )


def _fill(part: str, value: str) -> str:
    """A path segment with its argument filled in, keeping a suffix: `<name>.csv`."""
    return value + part[part.index(">") + 1 :]


def probe(app: Flask, ids: dict[str, str]) -> None:
    """Every route, with good and bad requests of every kind the conventions answer."""
    editor, reader, auditor = (SignedClient(app, who) for who in (EDITOR, READER, AUDITOR))
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        for path in concrete(rule.rule, ids):
            if "GET" in (rule.methods or ()):
                for client in (editor, reader, auditor):
                    client.get(path)
                editor.get(path + "?no_such_parameter=1")
                editor.get(path + "?as_of=yesterday&limit=0")
                editor.get(path + "?as_of=%00")
                app.test_client().get(path)  # not signed
            if "POST" in (rule.methods or ()) and "/admin/" in rule.rule:
                SignedClient(app, ADMIN).post(path, {"from": 1})
                SignedClient(app, ADMIN).post(path, {"from": 0})
                editor.post(path, {})
                editor.post(path, data=b"a=1", headers={"Content-Type": "text/plain"})
                app.test_client().post(path, json={})
            elif "POST" in (rule.methods or ()):
                editor.post(path, {})
                editor.post(path, {"no_such_field": 1})
                editor.post(path, data=b"{", headers={"Content-Type": "application/json"})
                editor.post(path, data=b"a=1", headers={"Content-Type": "text/plain"})
                editor.post(path, {}, headers={"If-Match": 'W/"1"'})
                editor.post(path, {}, headers={"If-Match": "version one"})
                editor.post(path, {}, headers={"Idempotency-Key": "k" * 201})
                reader.post(path, {})
                app.test_client().post(path, json={})  # not signed


def test_every_answer_is_documented(
    goals_app: tuple[Flask, Recorder],
    make_plans_app: Callable[[Recorder], Flask],
    make_reports_app: Callable[[Recorder], Flask],
) -> None:
    app, recorder = goals_app
    for n, (_, case) in enumerate(sorted(GOALS_CASES.items())):
        run_case(app, case, 10 * n)
    probe(app, recorder.ids)
    runs = [(app, recorder)]
    plans = Recorder()
    for _, case in sorted(PLANS_CASES.items()):
        plans_app = make_plans_app(plans)
        run_case(plans_app, case, 0)
    probe(plans_app, plans.ids)
    runs.append((plans_app, plans))
    reports = Recorder()
    for _, case in sorted(REPORTS_CASES.items()):
        reports_app = make_reports_app(reports)
        run_case(reports_app, case, 0)
    # the year's close is addressed by the year: one the last case's app has closed
    approved = SignedClient(reports_app, ADMIN).post(
        f"/api/v1/annual-reports/{closed_year(0)}/approve",
        {"decided_by": KF, "decided_on": values.today().isoformat(), "minute_ref": "KF §1"},
    )
    assert approved.status_code == 200, approved.get_json()
    year = str(closed_year(0))
    probe(reports_app, {**reports.ids, "annual-reports": year, "interim-reports": year})
    runs.append((reports_app, reports))
    for app, recorder in runs:
        statuses = {status for _, _, status in recorder.seen}
        assert {200, 201, 400, 401, 403, 404, 409, 412, 415, 422} <= statuses, statuses
        routes = {
            (method, rule.rule)
            for rule in app.url_map.iter_rules()
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
            if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json")
        }
        unexercised = routes - {(method, rule) for method, rule, _ in recorder.seen}
        assert not unexercised, f"routes the run never reached: {sorted(unexercised)}"
        missing = undocumented(app, recorder.seen)
        assert not missing, "answers missing from the OpenAPI document:\n" + "\n".join(missing)


# -- the document itself ----------------------------------------------------------------------


def test_the_documents_describe_problems_headers_and_security(
    goals_app: tuple[Flask, Recorder],
    make_plans_app: Callable[[Recorder], Flask],
    make_reports_app: Callable[[Recorder], Flask],
) -> None:
    for app in (goals_app[0], make_plans_app(Recorder()), make_reports_app(Recorder())):
        spec = openapi(app)
        assert "responses" not in spec["components"]  # flask-smorest's {code, status, message}
        assert "Error" not in spec["components"]["schemas"]
        schemes = spec["components"]["securitySchemes"]
        assert {s["name"] for s in schemes.values()} == {
            "X-Styrkort-Actor",
            "X-Styrkort-Role",
            "X-Styrkort-Scope",
            "X-Styrkort-Timestamp",
            "X-Styrkort-Nonce",
            "X-Styrkort-Signature",
        }
        assert spec["security"] == [{name: [] for name in schemes}]
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if method == "parameters":
                    continue
                where = f"{method.upper()} {path}"
                responses = operation["responses"]
                assert "default" not in responses, where
                for status, response in responses.items():
                    if int(status) >= 400:
                        assert list(response["content"]) == [PROBLEM_JSON], where
                        schema = response["content"][PROBLEM_JSON]["schema"]
                        assert schema == {"$ref": "#/components/schemas/Problem"}, where
                expected = (
                    {"400", "401", "403", "404", "409", "412", "413", "415", "422"}
                    if method == "post"
                    else {"400", "401", "422"}
                )
                assert expected <= set(responses), where
                headers = {
                    p["name"] for p in operation.get("parameters", []) if p["in"] == "header"
                }
                if method == "post":
                    assert "Idempotency-Key" in headers, where
                    success = next(r for s, r in responses.items() if s.startswith("2"))
                    assert "Idempotent-Replayed" in success.get("headers", {}), where
    goals = openapi(goals_app[0])
    adopt = goals["paths"]["/api/v1/goals/{entity_id}/adopt"]["post"]
    assert "If-Match" in {p["name"] for p in adopt["parameters"]}
    assert "ETag" in adopt["responses"]["200"]["headers"]
    create = goals["paths"]["/api/v1/goals"]["post"]
    assert {"ETag", "Location"} <= set(create["responses"]["201"]["headers"])
    assert "If-Match" not in {p["name"] for p in create["parameters"]}
    one = goals["paths"]["/api/v1/goals/{entity_id}"]["get"]
    assert "ETag" in one["responses"]["200"]["headers"] and "404" in one["responses"]
    schemas = goals["components"]["schemas"]
    assert (
        "required" in schemas["DecisionFields"]["properties"]["minute_ref"]["description"].lower()
    )
    draft = schemas["DraftGoal"]["properties"]
    assert "strategic" in draft["development_area_id"]["description"]
    assert "operational" in draft["derived_from"]["description"]
    feed = goals["paths"]["/api/v1/events/goals"]["get"]["responses"]
    assert "403" in feed and "404" not in feed


# -- the answers --------------------------------------------------------------------------------


def problem_of(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body: dict[str, Any] = response.get_json()
    assert body["type"] == PROBLEM_BASE + kind, body
    assert body["status"] == status
    return body


def test_each_kind_of_problem_has_its_type(goals_app: tuple[Flask, Recorder]) -> None:
    app, _ = goals_app
    editor = SignedClient(app, EDITOR)
    area = editor.post("/api/v1/development-areas", {"name": "Område X", **KF_DECISION})
    assert area.status_code == 201, area.get_json()
    goal = editor.post(
        "/api/v1/goals",
        {
            "level": "strategic",
            "owner_unit_id": KF,
            "period": "2023-2026",
            "title": "Ett mål",
            "development_area_id": area.get_json()["id"],
        },
    )
    assert goal.status_code == 201 and goal.headers["ETag"] == '"1"', goal.get_json()
    adopt = f"/api/v1/goals/{goal.get_json()['id']}/adopt"

    problem_of(
        editor.post(adopt, KF_DECISION, headers={"If-Match": 'W/"1"'}), 412, "version-conflict"
    )
    problem_of(
        editor.post(adopt, KF_DECISION, headers={"If-Match": '"7"'}), 412, "version-conflict"
    )
    assert editor.post(adopt, KF_DECISION, headers={"If-Match": '"1"'}).status_code == 200
    problem_of(editor.post(adopt, KF_DECISION), 409, "rule-violation")
    body = problem_of(editor.post(adopt, {"decided_on": "2023-02-01"}), 422, "invalid-input")
    assert "decided_by" in body["errors"]
    problem_of(editor.get("/api/v1/goals/goal-nope"), 404, "not-found")
    refused = problem_of(SignedClient(app, READER).post(adopt, KF_DECISION), 403, "forbidden")
    assert {"scope", "rule"} <= set(refused)
    problem_of(app.test_client().get("/api/v1/goals"), 401, "unauthenticated")
    headers = {"Content-Type": "application/json"}
    problem_of(editor.post(adopt, data=b"{", headers=headers), 400, "malformed-request")
    text = editor.post(adopt, data=b"decided_by=kf", headers={"Content-Type": "text/plain"})
    assert "Content-Type" in problem_of(text, 415, "unsupported-media-type")["errors"]
    no_type = editor.post(
        adopt, data=json.dumps(KF_DECISION).encode(), headers={"Content-Type": ""}
    )
    problem_of(no_type, 415, "unsupported-media-type")
    wrong_method = editor.request("PUT", adopt)
    problem_of(wrong_method, 405, "method-not-allowed")
    assert wrong_method.headers["Allow"]
    long_url = "/api/v1/goals?title=" + "x" * 5000
    problem_of(SignedClient(app, READER).get(long_url), 414, "too-large")
    auditor = SignedClient(app, AUDITOR)
    problem_of(auditor.request("DELETE", "/api/v1/events/goals"), 405, "method-not-allowed")


def test_unknown_query_parameters_are_named_in_a_400(goals_app: tuple[Flask, Recorder]) -> None:
    app, _ = goals_app
    reader = SignedClient(app, READER)
    typo = reader.get("/api/v1/goals?levle=strategic&period=2023-2026&statuss=adopted")
    body = problem_of(typo, 400, "unknown-query-parameter")
    assert set(body["errors"]) == {"levle", "statuss"}
    assert "levle" in body["detail"] and "statuss" in body["detail"]
    assert reader.get("/api/v1/goals?level=strategic&period=2023-2026").status_code == 200
    assert reader.get(f"/api/v1/goals/{STRATEGIC}?as_of=2099-01-01").status_code == 200
    problem_of(
        reader.get(f"/api/v1/goals/{STRATEGIC}?asof=2099-01-01"), 400, "unknown-query-parameter"
    )
    problem_of(reader.get("/api/v1/goals?level=none"), 422, "invalid-input")


def test_the_jsonl_export_splits_only_at_newlines(goals_app: tuple[Flask, Recorder]) -> None:
    app, _ = goals_app
    editor = SignedClient(app, EDITOR)
    tricky = "rad\u2028två\u2029tre"  # U+0085 is a control character: refused as input
    document = {
        "doc_type": "routine",
        "owner_unit_id": KF,
        "title": "Rutin",
        "summary": tricky,
        "valid_from": "2026-01-01",
    }
    assert editor.post("/api/v1/documents", document).status_code == 201
    export = SignedClient(app, AUDITOR).get("/api/v1/export/goals/events.jsonl")
    assert export.status_code == 200
    raw = export.get_data()
    for character in ("\u2028", "\u2029"):
        assert character.encode() not in raw
    lines = raw.decode("utf-8").splitlines()  # splits at U+2028, U+2029 and U+0085 too
    assert len(lines) == raw.count(b"\n")
    events = [json.loads(line) for line in lines]
    assert any(e["data"].get("content", {}).get("summary") == tricky for e in events)
