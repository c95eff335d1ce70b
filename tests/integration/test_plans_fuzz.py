"""Fuzzing every write route of the plans API, then relaying what it accepted (issue #8).

Plans knows the seeded goals (fed from goals' real events); a plan, an activity and an
employee agreement are made through the API, so path ids are often real. Odd bodies (shaped by
the operation's schema, of wrong types, any JSON, raw bytes) go to every plans write route from
the OpenAPI document, as an admin and as an editor whose scope is the plan's sector. Every
answer must be below 500 and every 4xx Problem+JSON (the judge of test_goals_fuzz.py); and
after the run, one pass of the relay must hand every event the store accepted to Kafka, with
its position and hash, and nothing else.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import strategies as st

from services.goals.seed import seed_id, seed_unit_id
from services.plans.app import create_app
from shared import values
from shared.identity import Identity
from shared.runtime import Runtime
from tests.integration.test_goals_fuzz import (
    HOSTILE_IN_JSON,
    Attempt,
    Fuzzer,
    UnhandledErrors,
    choose,
    explore_routes,
    stored_and_delivered,
)
from tests.support import ADMIN, SignedClient, feed_seeded_goals

#: Requests per run: about 40 s here (FUZZ_EXAMPLES=20000 runs longer, with a fresh seed).
#: Fuzzed closes and cancellations soon leave the seeded world refusing most commands, and how
#: soon depends on ids the API makes at random: 4000 requests leave room for new plans to be
#: drafted and worked on after that.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4000"))
SECTOR = seed_unit_id("sektor-bou")
OTHER_SECTOR = seed_unit_id("sektor-sov")
SCHOOL = seed_unit_id("hasslerud")
BUN = seed_unit_id("bun")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
OTHER_GOAL = seed_id("goal-", "o-aldre")
STRATEGIC = seed_id("goal-", "s-trygg")
#: An editor whose scope covers the plans the fuzzer works on.
UNIT_EDITOR = Identity("key:rektor", "editor", SECTOR)
WRITES = ("POST", "PUT", "PATCH", "DELETE")
#: Dates inside the period of the seeded plans, where activities and agreements fall.
GOOD_DATES = ["2025-08-20", "2025-09-15", "2026-03-01", "2026-06-10", "2026-06-30"]
#: Events the world is seeded with (before the fuzzer's).
SEEDED = 5
PERIODS = ["2025/26", "2026", "2025", "2026/27", "2024/25", "2025/27", "26", ""]


class PlansFuzzer(Fuzzer):
    """The goals fuzzer, aimed at the plans write routes with plans' own ids and values."""

    def __init__(self, spec: dict[str, Any], world: dict[str, list[str]]) -> None:
        super().__init__(spec, world)
        self.operations = [
            op
            for op in self.operations
            if op[0] in WRITES and not op[1].startswith("/api/v1/admin/")
        ]
        self.id_fields = {
            "unit_id": [SECTOR, SCHOOL, OTHER_SECTOR],
            "decided_by": [SECTOR, BUN, SCHOOL, "chief_executive"],
            "goal_ids": [SCHOOL_GOAL, OTHER_GOAL, STRATEGIC],
            "indicator_ids": world["indicators"],
            "activity_ids": world["activities"],
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
            return str(data.draw(st.sampled_from(PERIODS)))
        if schema.get("format") == "date" and data.draw(st.integers(0, 4)) < 4:
            today = values.today().isoformat()  # decisions are not before the draft
            return str(data.draw(st.sampled_from([today, *GOOD_DATES])))
        if name == "employee_ref":
            return str(
                choose(data, (3, st.sampled_from(["hr-48121", "hr-1"])), (1, st.text(max_size=20)))
            )
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
        who = data.draw(st.sampled_from([ADMIN, UNIT_EDITOR]))
        return route, Attempt(who, attempt.method, attempt.url, attempt.body, attempt.headers)


def seed_plans(app: Any) -> dict[str, list[str]]:
    """A plan with an activity and an employee agreement, and an adopted plan of a school."""
    editor = SignedClient(app, UNIT_EDITOR)

    def created(path: str, body: dict[str, Any]) -> str:
        response = editor.post(path, body)
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    plan = created(
        "/api/v1/plans",
        {
            "unit_id": SECTOR,
            "period": "2025/26",
            "title": "Handlingsplan",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    school_plan = created(
        "/api/v1/plans",
        {"unit_id": SCHOOL, "period": "2026", "title": "Skolans plan", "goal_ids": [SCHOOL_GOAL]},
    )
    adopted = editor.post(
        f"/api/v1/plans/{school_plan}/adopt",
        {
            "decided_by": SCHOOL,
            "decided_on": values.today().isoformat(),
            "minute_ref": "Rektor 2026 §1",
        },
    )
    assert adopted.status_code == 200, adopted.get_json()
    activity = created(
        f"/api/v1/plans/{plan}/activities",
        {
            "title": "Lässtunder",
            "owner": "arbetslag åk 1-3",
            "starts_on": "2025-08-20",
            "due_on": "2026-06-10",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    agreement = created(
        f"/api/v1/plans/{plan}/agreements",
        {"employee_ref": "hr-48121", "activity_ids": [activity], "agreed_on": "2025-09-15"},
    )
    return {
        "plans": [plan, school_plan],
        "activities": [activity],
        "agreements": [agreement],
        "indicators": ["indicator-unknown"],
        "goals": [SCHOOL_GOAL, OTHER_GOAL],
    }


def test_no_write_to_the_plans_api_gets_a_500_and_the_relay_delivers_every_event(
    goals: Runtime, plans: Runtime, unhandled_errors: UnhandledErrors
) -> None:
    feed_seeded_goals(goals, plans)
    app = create_app(plans.config, plans)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    fuzzer = PlansFuzzer(spec, seed_plans(app))
    routes = {
        (method, rule.rule.replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.startswith("/api/v1/admin/")
        for method in rule.methods & set(WRITES)
    }
    assert {op[:2] for op in fuzzer.operations} == routes, "every plans write route is fuzzed"
    assert len(routes) >= 10, routes
    answered = explore_routes(app, fuzzer, unhandled_errors, EXAMPLES, lambda a: a.who.role)
    assert answered.get("admin 2xx", 0) >= 10, f"hardly a command got through: {answered}"
    assert answered.get("editor 2xx", 0) >= 5, f"hardly an editor's got through: {answered}"

    stored, delivered = stored_and_delivered(plans)
    assert len(stored) >= SEEDED + 10, f"the fuzz run appended few events: {answered}"
    assert delivered == stored, "the topic holds every stored event, with its hash"
