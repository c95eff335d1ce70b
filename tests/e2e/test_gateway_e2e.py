"""The gateway as the one door (issue #11, "Show it"): the whole system as `make run` starts it
(infra/devstack.py: embedded PostgreSQL and broker; goals, plans, reports and the gateway under
gunicorn with their relays and consumers), used only over HTTP through the gateway with API keys.

The stack starts once for the module (about a minute) on free ports in a temporary directory,
with a short upstream timeout so a dead service is a quick 503. Its admin key makes the other
keys over the admin API. The tests share the stack, so each makes its own units and names, and
the fuzzing runs last (it writes whatever the schema allows)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import psutil
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from bench.gateway import DevStackRun
from services.goals.seed import seed_id, seed_unit_id
from shared import values
from shared.identity import ACTOR_HEADER, ROLE_HEADER, SCOPE_HEADER

pytestmark = pytest.mark.slow

KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SECTOR = seed_unit_id("sektor-bou")  # under BUN
OTHER_SECTOR = seed_unit_id("sektor-sov")  # under the social committee, not BUN
AREA = seed_id("area-", "livsmiljo")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")  # seeded, owned by BUN
TODAY = values.today().isoformat()
PROBLEM = "application/problem+json"
#: a service killed must be a 503 after at most this (the stack's GATEWAY_UPSTREAM_TIMEOUT)
UPSTREAM_TIMEOUT = 5
#: examples schemathesis draws per operation: enough to reach every route's validation and
#: its handler with valid input, few enough for the whole API in a few minutes
EXAMPLES_PER_OPERATION = 12


# -- the running system ---------------------------------------------------------------------------


@dataclass
class Keys:
    """The stack's API keys by who holds them: (key, key id)."""

    made: dict[str, tuple[str, str]]

    def key(self, who: str) -> str:
        return self.made[who][0]

    def actor(self, who: str) -> str:
        return f"key:{self.made[who][1]}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStackRun]:
    env = {
        "GATEWAY_UPSTREAM_TIMEOUT": str(UPSTREAM_TIMEOUT),
        # the fuzzing's requests with one key must not be refused by the per-key limit
        "GATEWAY_RATE_LIMIT": "100000/minute",
    }
    run = DevStackRun(tmp_path_factory.mktemp("gateway-e2e") / "dev", env)
    try:
        run.start()
    except (RuntimeError, TimeoutError) as exc:
        run.stop()
        pytest.fail(f"the dev stack did not start: {exc}")
    try:
        yield run
    finally:
        run.stop()
    assert run.processes() == [], "every process of the stack stopped"


def client(stack: DevStackRun, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.Client(base_url=stack.url("gateway"), headers=headers, timeout=30, trust_env=False)


@pytest.fixture(scope="module")
def admin(stack: DevStackRun) -> Iterator[httpx.Client]:
    with client(stack, stack.admin_key) as made:
        yield made


@pytest.fixture(scope="module")
def keys(admin: httpx.Client) -> Keys:
    """A reader, an auditor, an editor of BUN (whose subtree holds SECTOR) and one of another
    committee's sector, issued by the admin over the API."""
    wanted = {
        "reader": ("reader", "*"),
        "auditor": ("auditor", "*"),
        "editor_a": ("editor", BUN),
        "editor_b": ("editor", OTHER_SECTOR),
    }
    made = {}
    for who, (role, scope) in wanted.items():
        made[who] = issue(admin, role, scope, f"e2e {who}")
    return Keys(made)


def issue(admin: httpx.Client, role: str, scope: str, name: str) -> tuple[str, str]:
    answer = admin.post("/api/v1/admin/keys", json={"role": role, "scope": scope, "name": name})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["role"] == role and body["scope"] == scope
    return body["key"], body["key_id"]


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.request.method, answer.request.url, answer.text)
    return answer.json()


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, (answer.request.url, answer.text)
    assert answer.headers["Content-Type"].startswith(PROBLEM), answer.headers
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def wait(
    predicate: Callable[[], Any], what: str, timeout: float = 60.0, interval: float = 0.3
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(interval)


def caught_up(admin: httpx.Client) -> bool:
    """Every relay has published every event and every consumer applied every event of its
    sources, as the gateway's `/api/v1/admin/lag` shows them."""
    services = ok(admin.get("/api/v1/admin/lag"))["services"]
    for found in services.values():
        if found["status"] != "ok" or found["relay"]["lag"] != 0:
            return False
        if any(c["lag"] != 0 for c in found["consumers"].values()):
            return False
    return True


def settled(admin: httpx.Client) -> None:
    wait(lambda: caught_up(admin), "relays and consumers caught up")


def new_unit(editor: httpx.Client, name: str, parent_id: str = SECTOR) -> dict[str, Any]:
    body = {"name": name, "kind": "unit", "parent_id": parent_id}
    made: dict[str, Any] = ok(editor.post("/api/v1/org-units", json=body), 201)
    return made


# -- 1. the full story ----------------------------------------------------------------------------


def scorecard_line(
    reader: httpx.Client, unit_id: str, indicator_id: str, as_of: str | None = None
) -> dict[str, Any]:
    params = {"unit_id": unit_id, "year": "2025", **({"as_of": as_of} if as_of else {})}
    card = ok(reader.get("/api/v1/scorecard", params=params))
    for goal in card["goals"]:
        for line in goal["indicators"]:
            if line["indicator_id"] == indicator_id:
                return dict(line)
    raise AssertionError(f"{indicator_id} is not on the scorecard of {unit_id}: {card}")


def write_goals(admin: httpx.Client, editor: httpx.Client) -> tuple[str, str, str]:
    """The council's strategic goal (by the admin), the committee's operational goal derived
    from it and its indicator with a 2025 target (by the committee's editor), all adopted."""
    strategic = ok(
        admin.post(
            "/api/v1/goals",
            json={
                "level": "strategic",
                "owner_unit_id": KF,
                "period": "2023-2026",
                "title": "Alla barn läser med glädje",
                "development_area_id": AREA,
                "perspectives": ["social"],
            },
        ),
        201,
    )["id"]
    council = {"decided_by": KF, "decided_on": TODAY, "minute_ref": "KF 2026 §101"}
    ok(admin.post(f"/api/v1/goals/{strategic}/adopt", json=council))
    operational = ok(
        editor.post(
            "/api/v1/goals",
            json={
                "level": "operational",
                "owner_unit_id": BUN,
                "period": "2023-2026",
                "title": "Fler elever läser varje dag",
                "derived_from": [strategic],
            },
        ),
        201,
    )["id"]
    committee = {"decided_by": BUN, "decided_on": TODAY, "minute_ref": "BUN 2026 §42"}
    ok(editor.post(f"/api/v1/goals/{operational}/adopt", json=committee))
    indicator = ok(
        editor.post(
            f"/api/v1/goals/{operational}/indicators",
            json={
                "name": "Elever som läser varje dag",
                "unit_of_measure": "%",
                "direction": "higher_is_better",
                "source": {"kind": "survey"},
                "targets": {"2025": 50},
                **committee,
            },
        ),
        201,
    )["id"]
    return strategic, operational, indicator


def write_plan(editor: httpx.Client, unit_id: str, goal_id: str) -> tuple[str, str]:
    plan = ok(
        editor.post(
            "/api/v1/plans",
            json={
                "unit_id": unit_id,
                "period": "2025",
                "title": "Handlingsplan 2025",
                "goal_ids": [goal_id],
            },
        ),
        201,
    )
    activity = ok(
        editor.post(
            f"/api/v1/plans/{plan['id']}/activities",
            json={
                "title": "Läsecirklar i åk 4-6",
                "owner": "rektor",
                "starts_on": "2025-01-10",
                "due_on": "2025-06-10",
                "goal_ids": [goal_id],
            },
        ),
        201,
    )
    return plan["id"], activity["id"]


def approve_quality_report(
    editor: httpx.Client, unit_id: str, goal_id: str, plan_id: str, activity_id: str
) -> tuple[str, str]:
    """The unit's quality report for 2025 with one improvement proposal, approved by the unit
    (its manager: the committee's editor, whose scope holds it)."""
    report = ok(
        editor.post("/api/v1/quality-reports", json={"unit_id": unit_id, "period": "2025"}), 201
    )
    assert (report["plan_id"], report["goal_ids"]) == (plan_id, [goal_id]), report
    path = f"/api/v1/quality-reports/{report['id']}"
    for action, body in [
        ("goals", {"goal_id": goal_id, "verdict": "partly_met", "analysis": "Nära målet."}),
        ("activities", {"comment": "Läsecirklarna genomfördes."}),
        ("quality-assurance", {"methods": ["student_survey"], "text": "Elevenkät i åk 5."}),
        ("improvement-areas", {"areas": [{"title": "Läslust", "description": "åk 4-6"}]}),
    ]:
        ok(editor.post(f"{path}/{action}", json=body))
    proposal = ok(
        editor.post(
            "/api/v1/improvements",
            json={"report_id": report["id"], "title": "Läsvänner åk 6", "description": "åk 1-6"},
        ),
        201,
    )["id"]
    for section in (
        "goals",
        "activities",
        "quality_assurance",
        "improvement_areas",
        "improvement_proposals",
    ):
        ok(editor.post(f"{path}/done", json={"section": section}))
    submitted = ok(editor.post(f"{path}/submit", json={}))
    assert [o["activity_id"] for o in submitted["activity_outcomes"]] == [activity_id]
    approved = ok(editor.post(f"{path}/approve", json={"decided_by": unit_id, "decided_on": TODAY}))
    assert approved["status"] == "approved"
    return report["id"], proposal


def next_years_activity(editor: httpx.Client, unit_id: str) -> Any:
    plans = ok(editor.get("/api/v1/plans", params={"unit_id": unit_id, "period": "2026"}))
    if not plans["items"]:
        return None
    activities = ok(editor.get(f"/api/v1/plans/{plans['items'][0]['id']}/activities"))["items"]
    return activities[0] if activities else None


def check_export(auditor: httpx.Client, service: str, must_hold: set[str]) -> None:
    """The service's JSON Lines export through the gateway: CloudEvents in position order whose
    hashes chain, holding the entities of the story."""
    answer = auditor.get(f"/api/v1/export/{service}/events.jsonl")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines and all(line["specversion"] == "1.0" for line in lines)
    positions = [line["position"] for line in lines]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    for before, after in itertools.pairwise(lines):
        assert after["prevhash"] == before["hash"], (before["position"], after["position"])
    assert must_hold <= {line["subject"] for line in lines}, must_hold
    # ... and the loader's own check of what it received, offline, as docs/warehouse.md says
    with tempfile.TemporaryDirectory() as tmp:
        received = Path(tmp) / f"{service}.jsonl"
        received.write_bytes(answer.content)
        checked = subprocess.run(
            [sys.executable, "-m", "shared.verify_export", str(received)],
            capture_output=True,
            text=True,
            check=False,
        )
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked


def check_table(auditor: httpx.Client, path: str, column: str, must_hold: set[str]) -> None:
    """A warehouse table as CSV through the gateway, with a header row, holding the story."""
    answer = auditor.get(path)
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert must_hold <= {row[column] for row in rows}, (path, must_hold)


def test_the_whole_story_through_the_gateway(
    admin: httpx.Client, keys: Keys, stack: DevStackRun
) -> None:
    with (
        client(stack, keys.key("editor_a")) as editor,
        client(stack, keys.key("reader")) as reader,
        client(stack, keys.key("auditor")) as auditor,
    ):
        unit = new_unit(editor, "Läsvänliga skolan")["id"]
        _, goal, indicator = write_goals(admin, editor)
        settled(admin)  # plans and reports know the unit, the goal and the indicator
        plan, activity = write_plan(editor, unit, goal)
        result = editor.post(
            "/api/v1/results", json={"indicator_id": indicator, "period": "2025", "value": 45}
        )
        assert result.status_code == 201, result.text
        result_id, result_etag = result.json()["id"], result.headers["ETag"]
        settled(admin)  # reports knows the plan and its activity
        report, proposal = approve_quality_report(editor, unit, goal, plan, activity)

        proposed = wait(lambda: next_years_activity(editor, unit), "activity in the 2026 plan")
        assert proposed["proposed_by"] == proposal
        assert proposed["work"]["title"] == "Läsvänner åk 6"

        line = scorecard_line(reader, BUN, indicator)
        assert (line["target"], line["result"]["value"]) == (50.0, 45.0)
        assert line["status"]["colour"] == "yellow", line["status"]

        history = ok(auditor.get(f"/api/v1/history/{goal}"))
        assert history["entity_id"] == goal
        events = history["events"]
        assert [e["version"] for e in events] == list(range(1, len(events) + 1))
        assert {e["actor"] for e in events} == {keys.actor("editor_a")}
        decided = [e["decision"] for e in events if e["decision"]]
        assert decided and decided[-1]["minute_ref"] == "BUN 2026 §42"
        assert decided[-1]["decided_by"] == BUN

        corrected = editor.post(
            f"/api/v1/results/{result_id}/correct",
            json={"value": 52, "reason": "Enkäten räknades om"},
            headers={"If-Match": result_etag},
        )
        assert corrected.status_code == 200, corrected.text
        versions = ok(auditor.get(f"/api/v1/history/{result_id}"))["events"]
        assert len(versions) == 2 and versions[1]["actor"] == keys.actor("editor_a")
        corrected_at = dt.datetime.fromisoformat(versions[1]["recorded_at"])
        before = (corrected_at - dt.timedelta(microseconds=1)).isoformat()
        now = scorecard_line(reader, BUN, indicator)
        assert (now["result"]["value"], now["status"]["colour"]) == (52.0, "green")
        then = scorecard_line(reader, BUN, indicator, as_of=before)
        assert (then["result"]["value"], then["status"]["colour"]) == (45.0, "yellow")

        settled(admin)
        check_export(auditor, "goals", {unit, goal, indicator})
        check_export(auditor, "plans", {plan, activity})
        check_export(auditor, "reports", {result_id, report, proposal})
        check_table(auditor, "/api/v1/export/goals/units.csv", "unit_id", {unit})
        check_table(auditor, "/api/v1/export/plans/activities.csv", "activity_id", {activity})
        verified = ok(auditor.get("/api/v1/admin/verify"))
        assert verified["ok"] is True, verified
        assert set(verified["services"]) == {"goals", "plans", "reports"}
        for service, found in verified["services"].items():
            assert found["status"] == "ok" and found["checked"] >= 1, (service, found)


# -- 2. roles and scopes --------------------------------------------------------------------------


def test_each_role_and_scope_may_do_what_it_should_and_nothing_more(
    admin: httpx.Client, keys: Keys, stack: DevStackRun
) -> None:
    with (
        client(stack, keys.key("reader")) as reader,
        client(stack, keys.key("editor_a")) as editor_a,
        client(stack, keys.key("editor_b")) as editor_b,
        client(stack, keys.key("auditor")) as auditor,
        client(stack) as nobody,
        client(stack, "sk_nosuchkey_" + "x" * 40) as forger,
    ):
        everyone = {"reader": reader, "editor_a": editor_a, "editor_b": editor_b}
        everyone |= {"auditor": auditor, "admin": admin}
        for who, caller in everyone.items():  # every role reads
            assert caller.get(f"/api/v1/goals/{SCHOOL_GOAL}").status_code == 200, who
            assert caller.get("/api/v1/org-units", params={"kind": "sector"}).status_code == 200

        # a write in the editor's own subtree; the same by others
        assert new_unit(editor_a, "Rollskolan A")["parent_id"] == SECTOR
        body = {"name": "Rollskolan B", "kind": "unit", "parent_id": SECTOR}
        for caller in (editor_b, reader, auditor):
            problem(caller.post("/api/v1/org-units", json=body), 403)
        own = {"name": "Rollenheten", "kind": "unit", "parent_id": OTHER_SECTOR}
        ok(editor_b.post("/api/v1/org-units", json=own), 201)
        problem(editor_a.post("/api/v1/org-units", json=own), 403)
        ok(admin.post("/api/v1/org-units", json={**own, "name": "Adminenheten"}), 201)

        # the export and the chain check are the auditor's (and the admin's)
        for who, caller in (("auditor", auditor), ("admin", admin)):
            assert caller.get("/api/v1/export/goals/events.jsonl").status_code == 200, who
            assert caller.get("/api/v1/admin/verify").status_code == 200, who
        for caller in (reader, editor_a):
            problem(caller.get("/api/v1/export/goals/events.jsonl"), 403)
            problem(caller.get("/api/v1/admin/verify"), 403)

        # keys are the admin's alone
        wanted = {"role": "reader", "scope": "*", "name": "matrix"}
        ok(admin.post("/api/v1/admin/keys", json=wanted), 201)
        for who, caller in everyone.items():
            if who != "admin":
                problem(caller.post("/api/v1/admin/keys", json=wanted), 403)
                problem(caller.get("/api/v1/admin/keys"), 403)

        # no key, or a key the gateway never issued
        for caller in (nobody, forger):
            refused = problem(caller.get("/api/v1/org-units"), 401)
            assert "Bearer" in refused["detail"] or "key" in refused["detail"]
            assert caller.get("/api/v1/org-units").headers["WWW-Authenticate"].startswith("Bearer")
            problem(caller.post("/api/v1/org-units", json=body), 401)
        assert nobody.get("/api/v1/openapi.json").status_code == 200, "the document is open"


# -- 3. the services trust only the gateway -------------------------------------------------------


def test_a_service_refuses_unsigned_calls_and_a_forged_identity_changes_nothing(
    keys: Keys, stack: DevStackRun
) -> None:
    forged = {ACTOR_HEADER: "key:someone-else", ROLE_HEADER: "admin", SCOPE_HEADER: "*"}
    for service in ("goals", "plans", "reports"):
        with httpx.Client(base_url=stack.url(service), trust_env=False, timeout=10) as direct:
            problem(direct.get("/api/v1/org-units" if service == "goals" else "/api/v1/plans"), 401)
            body = {"name": "Bakdörren", "kind": "unit", "parent_id": SECTOR}
            problem(direct.post("/api/v1/org-units", json=body, headers=forged), 401)

    with (
        client(stack, keys.key("reader")) as reader,
        client(stack, keys.key("editor_a")) as editor,
    ):
        body = {"name": "Förfalskad", "kind": "unit", "parent_id": SECTOR}
        problem(reader.post("/api/v1/org-units", json=body, headers=forged), 403)
        made = editor.post("/api/v1/org-units", json=body, headers=forged)
        assert made.status_code == 201, made.text
        history = ok(reader.get(f"/api/v1/history/{made.json()['id']}"))["events"]
        assert [e["actor"] for e in history] == [keys.actor("editor_a")]
        problem(editor.post("/api/v1/org-units", json={**body, "parent_id": OTHER_SECTOR}), 403)


# -- 4. a revoked key -----------------------------------------------------------------------------


def test_a_revoked_key_is_refused_at_once(admin: httpx.Client, stack: DevStackRun) -> None:
    key, key_id = issue(admin, "reader", "*", "e2e soon revoked")
    with client(stack, key) as holder:
        assert holder.get("/api/v1/org-units").status_code == 200
        revoked = ok(admin.post(f"/api/v1/admin/keys/{key_id}/revoke"))
        assert revoked["status"] == "revoked"
        problem(holder.get("/api/v1/org-units"), 401)
    listed = ok(admin.get(f"/api/v1/admin/keys/{key_id}"))
    assert (listed["status"], listed["revoked_by"]) == ("revoked", f"key:{admin_key_id(stack)}")


def admin_key_id(stack: DevStackRun) -> str:
    return stack.admin_key.split("_")[1]


# -- 5. a service dies and comes back -------------------------------------------------------------


def gunicorn_master(stack: DevStackRun, service: str) -> psutil.Process:
    """The gunicorn master of a service's web app: its own command line, a parent that is not."""
    assert stack.ports is not None
    marks = (f"services.{service}.wsgi:app", f"127.0.0.1:{stack.ports[service]}")
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            line = " ".join(proc.cmdline())
            if all(mark in line for mark in marks):
                found.append(proc)
    pids = {proc.pid for proc in found}
    masters = [proc for proc in found if proc.ppid() not in pids]
    assert len(masters) == 1, [(p.pid, p.ppid()) for p in found]
    return masters[0]


def test_a_killed_service_is_a_503_naming_it_while_the_others_answer_until_it_is_back(
    keys: Keys, stack: DevStackRun
) -> None:
    with client(stack, keys.key("reader")) as reader:
        plans = ("/api/v1/plans", {"unit_id": SECTOR})
        assert reader.get(plans[0], params=plans[1]).status_code == 200
        master = gunicorn_master(stack, "plans")
        master.send_signal(signal.SIGKILL)

        def refused() -> httpx.Response | None:
            answer = reader.get(plans[0], params=plans[1])
            return answer if answer.status_code == 503 else None

        # asked often: the stack restarts it after a second, and it is up again soon after
        down = wait(refused, "503 from the gateway for plans", timeout=30, interval=0.05)
        body = problem(down, 503)
        assert body["service"] == "plans" and "plans" in body["detail"], body
        assert reader.get(f"/api/v1/goals/{SCHOOL_GOAL}").status_code == 200
        assert (
            reader.get("/api/v1/scorecard", params={"unit_id": BUN, "year": 2025}).status_code
            == 200
        )

        # the dev stack restarts the crashed app with backoff: the gateway answers again
        wait(
            lambda: reader.get(plans[0], params=plans[1]).status_code == 200,
            "plans answering again",
            timeout=90,
        )
        assert gunicorn_master(stack, "plans").pid != master.pid
        ready = reader.get(f"{stack.url('gateway')}/readyz")
        assert ready.status_code == 200, ready.text


# -- 6. fuzzing the whole API ---------------------------------------------------------------------


def fuzz(
    operation: Any, base: str, auth: dict[str, str], failures: list[str], statuses: list[int]
) -> None:
    """Send `EXAMPLES_PER_OPERATION` of schemathesis' cases of one operation; note each
    answer's status, and each 5xx with the request that made it (as curl)."""

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=base, headers=auth, timeout=30)
        statuses.append(response.status_code)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception:  # collected: every failing operation is named, not only the first
            failures.append(
                f"{operation.label}: {response.status_code} {response.text[:400]}\n"
                f"  {case.as_curl_command(headers=auth)}"
            )

    send()


def test_no_request_the_merged_openapi_document_allows_is_a_server_error(
    stack: DevStackRun,
) -> None:
    """schemathesis draws requests from every operation of `/api/v1/openapi.json` and sends
    them through the gateway with the admin key (so handlers run, not only the key check).
    Every 5xx is collected with its request, so one run names them all."""
    base = stack.url("gateway")
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    auth = {"Authorization": f"Bearer {stack.admin_key}"}
    failures: list[str] = []
    statuses: list[int] = []
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        fuzz(operation, base, auth, failures, statuses)
    assert len(labels) >= 50, f"only {len(labels)} operations in the merged document: {labels}"
    for service_route in ("GET /api/v1/org-units", "POST /api/v1/results", "GET /api/v1/plans"):
        assert service_route in labels, service_route
    assert "POST /api/v1/admin/keys" in labels and "GET /api/v1/events" in labels
    counted = {status: statuses.count(status) for status in sorted(set(statuses))}
    print(f"fuzzed {len(labels)} operations with {len(statuses)} requests: {counted}")
    assert not failures, "\n".join(failures)
    answered = {status // 100 for status in statuses}
    assert {2, 4} <= answered, f"the handlers were reached, not only refused: {sorted(statuses)}"
    assert 401 not in statuses, "every request carried the admin key"
