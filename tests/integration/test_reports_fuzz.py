"""Fuzzing every write route of the reports API, then relaying what it accepted (issue #8).

Reports knows the seeded goals (fed from goals' real events); a result, an assessment, a quality
report with an improvement proposal and a closed year are made through the API, so path ids are
often real. Odd bodies (shaped by the operation's schema, of wrong types, any JSON, raw bytes) go
to every reports write route from the OpenAPI document, as an admin, as the committee's editor
and as the council's. Every answer must be below 500 and every 4xx Problem+JSON (the judge of
test_goals_fuzz.py); and after the run, one pass of the relay must hand every event the store
accepted to Kafka, with its position and hash, and nothing else.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import strategies as st

from services.goals.seed import seed_id, seed_unit_id
from services.reports.app import create_app
from shared import values
from shared.identity import Identity
from shared.runtime import Runtime
from tests.integration.test_api_contract import openapi_path
from tests.integration.test_goals_fuzz import (
    HOSTILE_IN_JSON,
    Attempt,
    Fuzzer,
    UnhandledErrors,
    choose,
    explore_routes,
    stored_and_delivered,
)
from tests.support import ADMIN, SignedClient, connect, feed_seeded_goals

#: Requests per run (FUZZ_EXAMPLES=20000 runs longer, with a fresh seed).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SON = seed_unit_id("son")
SCHOOL = seed_unit_id("hasslerud")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
OTHER_GOAL = seed_id("goal-", "o-aldre")
STRATEGIC = seed_id("goal-", "s-trygg")
ELIGIBLE = seed_id("indicator-", "i-behorighet")
OTHER_INDICATOR = seed_id("indicator-", "i-trygghet")
#: Editors whose scopes cover the committee's follow-up, and the council's (the year's close).
COMMITTEE_EDITOR = Identity("key:bun", "editor", BUN)
COUNCIL_EDITOR = Identity("key:kf", "editor", KF)
WRITES = ("POST", "PUT", "PATCH", "DELETE")
RESULT_PERIODS = ["2024", "2025", "2026", "2025-03-31", "2025-02-30", "2025\n", "24", ""]
REPORT_PERIODS = ["2025", "2024/25", "2025/26", "2024/26", "2026", "2023", "25/26", ""]
#: A year closed in the seeded world, so its changes are refused until it is reopened.
CLOSED = 2023


class ReportsFuzzer(Fuzzer):
    """The goals fuzzer, aimed at the reports write routes with reports' own ids and values."""

    def __init__(self, spec: dict[str, Any], world: dict[str, list[str]]) -> None:
        super().__init__(spec, world)
        self.operations = [
            op
            for op in self.operations
            if op[0] in WRITES and not op[1].startswith("/api/v1/admin/")
        ]
        self.id_fields = {
            "unit_id": [BUN, SCHOOL, SON, KF],
            "decided_by": [BUN, KF, SON],
            "goal_id": [SCHOOL_GOAL, OTHER_GOAL, STRATEGIC],
            "indicator_id": [ELIGIBLE, OTHER_INDICATOR],
            "report_id": world["quality-reports"],
        }

    def good_text(
        self, data: st.DataObject, name: str, schema: dict[str, Any], faults: bool
    ) -> str:
        if name in self.id_fields:
            return str(
                choose(
                    data,
                    (6, st.sampled_from(self.id_fields[name])),
                    (1, st.sampled_from(self.ids)),
                    (1, st.sampled_from(HOSTILE_IN_JSON)),
                )
            )
        if name == "period":
            return str(data.draw(st.sampled_from(RESULT_PERIODS + REPORT_PERIODS)))
        if schema.get("format") == "date" and data.draw(st.integers(0, 4)) < 4:
            today = values.today().isoformat()  # decisions are not before what they decide
            return str(data.draw(st.sampled_from([today, "2024-02-01", "2026-01-15"])))
        return super().good_text(data, name, schema, faults)

    def body(self, data: st.DataObject, method: str, operation: dict[str, Any]) -> bytes:
        """Half the time well-formed, so that commands get past the schema to the rules."""
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema and data.draw(st.booleans()):
            return json.dumps(self.body_of(data, schema, faults=False)).encode()
        return super().body(data, method, operation)

    def attempt(self, data: st.DataObject) -> tuple[str, Attempt]:
        route, attempt = super().attempt(data)
        who = data.draw(st.sampled_from([ADMIN, COMMITTEE_EDITOR, COUNCIL_EDITOR]))
        return route, Attempt(who, attempt.method, attempt.url, attempt.body, attempt.headers)


def seed_reports(app: Any) -> dict[str, list[str]]:
    """A result, an assessment, the committee's report with a proposal, a closed year and a
    deadline of the annual wheel."""
    admin = SignedClient(app, ADMIN)

    def created(path: str, body: dict[str, Any]) -> str:
        response = admin.post(path, body)
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    result = created("/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2024", "value": 85})
    assessment = created(
        "/api/v1/assessments",
        {"goal_id": SCHOOL_GOAL, "year": 2025, "verdict": "met", "analysis": "Målet nåddes."},
    )
    report = created("/api/v1/quality-reports", {"unit_id": BUN, "period": "2025"})
    proposal = created(
        "/api/v1/improvements", {"report_id": report, "title": "Läsfrämjande insatser"}
    )
    closed = admin.post(
        f"/api/v1/annual-reports/{CLOSED}/approve",
        {"decided_by": KF, "decided_on": values.today().isoformat(), "minute_ref": "KF §45"},
    )
    assert closed.status_code == 200, closed.get_json()
    deadline = created(
        "/api/v1/calendar/deadlines",
        {
            "kind": "quality_report_due",
            "year": 2025,
            "date": "2026-02-15",
            "decided_by": KF,
            "decided_on": values.today().isoformat(),
            "minute_ref": "KF §112",
        },
    )
    return {
        "results": [result],
        "assessments": [assessment],
        "quality-reports": [report],
        "improvements": [proposal],
        "annual-reports": [str(CLOSED), "2025", "2024"],
        "deadlines": [deadline, "deadline-2025-results-due"],
    }


def test_no_write_to_the_reports_api_gets_a_500_and_the_relay_delivers_every_event(
    goals: Runtime, reports: Runtime, unhandled_errors: UnhandledErrors
) -> None:
    feed_seeded_goals(goals, reports)
    app = create_app(reports.config, reports)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    fuzzer = ReportsFuzzer(spec, seed_reports(app))
    routes = {
        (method, openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.startswith("/api/v1/admin/")
        for method in (rule.methods or set()) & set(WRITES)
    }
    assert {op[:2] for op in fuzzer.operations} == routes, "every reports write route is fuzzed"
    assert len(routes) >= 20, routes
    with connect(reports) as conn:
        seeded = reports.store.last_position(conn)
    answered = explore_routes(
        app, fuzzer, unhandled_errors, EXAMPLES, lambda a: f"{a.who.role} {a.method}"
    )
    for role in ("admin", "editor"):
        assert answered.get(f"{role} POST 2xx", 0) >= 10, (
            f"hardly a command got through: {answered}"
        )

    stored, delivered = stored_and_delivered(reports)
    assert len(stored) >= seeded + 10, f"the fuzz run appended few events: {answered}"
    assert delivered == stored, "the topic holds every stored event, with its hash"
