"""The annual wheel (årshjul) and the overdue list over HTTP on the real PostgreSQL, with what
reports knows of goals and plans fed from those services' real events (issue 10, point 4):
deadlines set, changed and removed by decision, a year's calendar `as_of`, and the overdue list
of missing results, unsubmitted quality reports and late activities — which changes when a
report is submitted, while a read `as_of` before the submission still shows it late."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest

from services.goals.seed import seed_id, seed_unit_id
from services.plans import handlers as plans_handlers
from services.plans.domain.activity import Work
from services.reports.app import create_app
from shared import values
from shared.envelope import ReceivedEvent
from shared.events import Metadata
from shared.identity import Identity
from shared.runtime import Runtime
from tests.integration.test_access_matrix import ready_report
from tests.support import ADMIN, SignedClient, connect, feed_seeded_goals

KF = seed_unit_id("kf")
KS = seed_unit_id("ks")
BUN = seed_unit_id("bun")
SON = seed_unit_id("son")
SCHOOL = seed_unit_id("hasslerud")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
ELIGIBLE = seed_id("indicator-", "i-behorighet")  # measures SCHOOL_GOAL, owned by BUN
COUNCIL_EDITOR = Identity("key:kf", "editor", KF)
COMMITTEE_EDITOR = Identity("key:bun", "editor", BUN)
META = Metadata(actor="key:test", correlation_id="corr")
TODAY = values.today()
DEADLINES = "/api/v1/calendar/deadlines"
#: the deadlines of 2025, all passed by the time this runs
RESULTS_DUE = dt.date(2026, 1, 31)
REPORTS_DUE = dt.date(2026, 2, 15)


def decision(**changed: Any) -> dict[str, Any]:
    return {"decided_by": KF, "decided_on": TODAY.isoformat(), "minute_ref": "KF §112", **changed}


@pytest.fixture
def app(goals: Runtime, reports: Runtime) -> Any:
    feed_seeded_goals(goals, reports)
    return create_app(reports.config, reports)


def last_position(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        return runtime.store.last_position(conn)


def set_deadline(client: SignedClient, kind: str, year: int, day: dt.date, **more: Any) -> Any:
    body = {"kind": kind, "year": year, "date": day.isoformat(), **decision(), **more}
    made = client.post(DEADLINES, body)
    assert made.status_code == 201, made.get_json()
    return made


def instant() -> str:
    """Now, between two commands (recorded_at is the commit's clock)."""
    time.sleep(0.01)
    moment = dt.datetime.now(dt.UTC).isoformat()
    time.sleep(0.01)
    return moment


def test_deadlines_are_decided_listed_in_date_order_changed_and_removed(
    app: Any, reports: Runtime
) -> None:
    council = SignedClient(app, COUNCIL_EDITOR)
    made = set_deadline(council, "quality_report_due", 2025, REPORTS_DUE)
    deadline = made.get_json()
    assert deadline["id"] == "deadline-2025-quality-report-due"
    assert deadline["label"] == "Kvalitetsredovisningar lämnas"
    assert deadline["decisions"][0]["minute_ref"] == "KF §112"
    read = council.get(made.headers["Location"])
    assert read.status_code == 200 and read.get_json()["date"] == "2026-02-15"
    set_deadline(council, "annual_report_due", 2025, dt.date(2026, 4, 30))
    set_deadline(council, "results_due", 2025, RESULTS_DUE, label="Utfall i systemet")
    set_deadline(council, "interim_report_as_of", 2025, dt.date(2025, 8, 31), decided_by=KS)

    # one of a kind a year: a second is a conflict that names the way to change it
    again = council.post(
        DEADLINES, {"kind": "results_due", "year": 2025, "date": "2026-02-28", **decision()}
    )
    assert again.status_code == 409 and "kind" in again.get_json()["errors"]

    listed = council.get("/api/v1/calendar?year=2025").get_json()["deadlines"]
    assert [(d["kind"], d["date"]) for d in listed] == [
        ("interim_report_as_of", "2025-08-31"),
        ("results_due", "2026-01-31"),
        ("quality_report_due", "2026-02-15"),
        ("annual_report_due", "2026-04-30"),
    ]
    assert listed[0]["decided_by"] == KS and listed[1]["label"] == "Utfall i systemet"
    assert council.get("/api/v1/calendar?year=2024").get_json()["deadlines"] == []

    before_change = instant()
    path = f"{DEADLINES}/{deadline['id']}"
    stale = council.post(
        f"{path}/change",
        {"date": "2026-03-01", "reason": "Sportlovet", **decision(minute_ref="KF §130")},
        headers={"If-Match": '"7"'},
    )
    assert stale.status_code == 412, stale.get_json()
    moved = council.post(
        f"{path}/change",
        {"date": "2026-03-01", "reason": "Sportlovet", **decision(minute_ref="KF §130")},
        headers={"If-Match": made.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.get_json()
    assert [d["action"] for d in moved.get_json()["decisions"]] == ["set", "changed"]
    now = council.get("/api/v1/calendar?year=2025").get_json()["deadlines"]
    then = council.get(
        "/api/v1/calendar?" + urlencode({"year": 2025, "as_of": before_change})
    ).get_json()["deadlines"]
    assert [d["date"] for d in now if d["kind"] == "quality_report_due"] == ["2026-03-01"]
    assert [d["date"] for d in then if d["kind"] == "quality_report_due"] == ["2026-02-15"]

    annual = f"{DEADLINES}/deadline-2025-annual-report-due"
    removed = council.post(f"{annual}/remove", {"reason": "Ingår i budgeten", **decision()})
    assert removed.status_code == 200 and removed.get_json()["status"] == "removed"
    after = council.get("/api/v1/calendar?year=2025").get_json()["deadlines"]
    assert "annual_report_due" not in {d["kind"] for d in after} and len(after) == 3
    gone = council.post(f"{annual}/change", {"date": "2026-05-01", "reason": "x", **decision()})
    assert gone.status_code == 409, gone.get_json()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("date", "2026-02-30", "no such date"),
        ("date", "\uff12\uff10\uff12\uff16-02-15", "not a date"),
        ("date", "2026-02-15\n", "not a date"),
        ("date", "20260215", "not a date"),
        ("date", "2025-02-15", "outside the period"),
        ("kind", "results", None),
        ("year", "2025", None),
        ("year", 1200, "implausible year"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    app: Any, reports: Runtime, field: str, value: Any, reason: str | None
) -> None:
    body = {"kind": "quality_report_due", "year": 2025, "date": "2026-02-15", **decision()}
    before = last_position(reports)
    refused = SignedClient(app, ADMIN).post(DEADLINES, {**body, field: value})
    assert refused.status_code == 422, refused.get_json()
    problem = refused.get_json()
    assert field in problem["errors"], problem
    if reason is not None:
        assert problem["errors"][field] == [reason], problem
    assert last_position(reports) == before


def test_only_the_council_or_the_executive_board_decides_and_only_in_scope(
    app: Any, reports: Runtime
) -> None:
    body = {"kind": "results_due", "year": 2025, "date": "2026-01-31"}
    before = last_position(reports)
    committee = SignedClient(app, COMMITTEE_EDITOR)
    refused = committee.post(DEADLINES, {**body, **decision(decided_by=BUN, minute_ref="BUN §1")})
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["scope"] == BUN
    by_committee = SignedClient(app, ADMIN).post(
        DEADLINES, {**body, **decision(decided_by=BUN, minute_ref="BUN §1")}
    )
    assert by_committee.status_code == 409, by_committee.get_json()
    assert "decided_by" in by_committee.get_json()["errors"]
    unminuted = SignedClient(app, ADMIN).post(DEADLINES, {**body, **decision(minute_ref=None)})
    assert unminuted.status_code == 422 and "minute_ref" in unminuted.get_json()["errors"]
    assert last_position(reports) == before


def test_a_closed_year_takes_no_deadline_changes(app: Any) -> None:
    council = SignedClient(app, COUNCIL_EDITOR)
    set_deadline(council, "results_due", 2024, dt.date(2025, 1, 31))
    closed = council.post("/api/v1/annual-reports/2024/approve", decision())
    assert closed.status_code == 200, closed.get_json()
    refused = council.post(
        DEADLINES,
        {"kind": "quality_report_due", "year": 2024, "date": "2025-02-15", **decision()},
    )
    assert refused.status_code == 409 and "year" in refused.get_json()["errors"]
    moved = council.post(
        f"{DEADLINES}/deadline-2024-results-due/change",
        {"date": "2025-02-28", "reason": "Sent", **decision()},
    )
    assert moved.status_code == 409, moved.get_json()
    assert moved.get_json()["closed_by"]["annual_report_id"] == "annual-report-2024"


# -- the overdue list -------------------------------------------------------------------------


def overdue(client: SignedClient, **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/overdue" + (f"?{urlencode(query)}" if query else ""))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def items(listing: dict[str, Any], what: str, year: int | None = None) -> dict[str, dict[str, Any]]:
    """The items of a kind by id, each with its unit (of one year, when given)."""
    return {
        item["id"]: {**item, "unit_name": unit["unit_name"], "unit_id": unit["unit_id"]}
        for unit in listing["units"]
        for item in unit["items"]
        if item["what"] == what and year in (None, item.get("year"))
    }


def results_of(listing: dict[str, Any], year: int) -> dict[str, dict[str, Any]]:
    """The missing results of one year (an indicator is listed once for each year)."""
    return items(listing, "result", year)


def test_results_missing_after_the_results_deadline_are_overdue_under_the_goals_owner(
    app: Any,
) -> None:
    admin = SignedClient(app, ADMIN)
    assert overdue(admin)["counts"] == {"result": 0, "quality_report": 0, "activity": 0}
    set_deadline(admin, "results_due", 2025, RESULTS_DUE)
    late = items(overdue(admin), "result")
    assert ELIGIBLE in late, late
    eligible = late[ELIGIBLE]
    assert eligible["unit_id"] == BUN and eligible["owner_unit_id"] == BUN
    assert eligible["unit_name"] == "Barn- och utbildningsnämnden"
    assert eligible["deadline"] == "2026-01-31"
    assert eligible["deadline_id"] == "deadline-2025-results-due"
    assert eligible["days_overdue"] == (TODAY - RESULTS_DUE).days
    assert eligible["year"] == 2025 and eligible["goal_id"] == SCHOOL_GOAL
    # read before the deadline was decided, nothing was late
    assert items(overdue(admin, as_of="2026-02-01"), "result") == {}
    # the day of the deadline itself is not late, the day after is (a read of days to come
    # measures what is known now against them)
    set_deadline(admin, "results_due", 2026, dt.date(2027, 1, 31))
    assert ELIGIBLE not in results_of(overdue(admin, as_of="2027-01-31"), 2026)
    next_day = results_of(overdue(admin, as_of="2027-02-01"), 2026)
    assert next_day[ELIGIBLE]["days_overdue"] == 1
    assert results_of(overdue(admin, as_of="2027-02-01"), 2025)[ELIGIBLE]["days_overdue"] == 366

    before = instant()
    # an interim result is not the year's result; the year's own is
    interim = admin.post(
        "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2025-08-31", "value": 80.0}
    )
    assert interim.status_code == 201, interim.get_json()
    assert ELIGIBLE in items(overdue(admin), "result")
    recorded = admin.post(
        "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2025", "value": 88.0}
    )
    assert recorded.status_code == 201, recorded.get_json()
    assert ELIGIBLE not in items(overdue(admin), "result")
    assert ELIGIBLE in items(overdue(admin, as_of=before), "result")
    # a filter on a unit keeps what its subtree owns
    son = overdue(admin, unit_id=SON)
    assert {u["unit_id"] for u in son["units"]} <= {SON}
    unknown = admin.get("/api/v1/overdue?unit_id=org-unit-no-such")
    assert unknown.status_code == 422 and "unit_id" in unknown.get_json()["errors"]


def test_the_overdue_list_changes_when_a_report_is_submitted(app: Any) -> None:
    """The committee owes a quality report of 2025 (it owns adopted goals); not started, then
    a draft, it is late; submitted, it is not — and `as_of` before the submission it still is."""
    admin = SignedClient(app, ADMIN)
    set_deadline(admin, "quality_report_due", 2025, REPORTS_DUE)
    listing = overdue(admin)
    reports = items(listing, "quality_report")
    owed = {(r["unit_id"], r["period"]): r for r in reports.values()}
    assert (BUN, "2025") in owed and (SON, "2025") in owed, owed
    assert KF not in {unit for unit, _ in owed}  # the council's report is the annual report
    committee = owed[(BUN, "2025")]
    assert committee["status"] == "not_started" and committee["unit_name"].startswith("Barn")
    assert committee["days_overdue"] == (TODAY - REPORTS_DUE).days
    assert committee["deadline_id"] == "deadline-2025-quality-report-due"

    report_id = ready_report(admin, 2)  # BUN's report of 2025, every section done
    assert report_id == committee["id"]
    assert items(overdue(admin), "quality_report")[report_id]["status"] == "draft"
    before = instant()
    submitted = admin.post(f"/api/v1/quality-reports/{report_id}/submit", {})
    assert submitted.status_code == 200, submitted.get_json()

    after = overdue(admin)
    assert report_id not in items(after, "quality_report")
    assert (SON, "2025") in {
        (r["unit_id"], r["period"]) for r in items(after, "quality_report").values()
    }
    assert after["counts"]["quality_report"] == listing["counts"]["quality_report"] - 1
    then = items(overdue(admin, as_of=before), "quality_report")
    assert then[report_id]["status"] == "draft"
    # returned to draft, it is late again
    returned = admin.post(f"/api/v1/quality-reports/{report_id}/return", {"reason": "Komplettera"})
    assert returned.status_code == 200, returned.get_json()
    assert report_id in items(overdue(admin), "quality_report")


def test_activities_past_due_and_units_with_a_plan_are_overdue(
    goals: Runtime, plans: Runtime, reports: Runtime, app: Any
) -> None:
    feed_seeded_goals(goals, plans)
    plan = plans_handlers.draft_plan(
        plans.uow(),
        META,
        unit_id=SCHOOL,
        period="2025",
        title="Hasslerudskolans plan 2025",
        goal_ids=[SCHOOL_GOAL],
    )
    work = Work("Läxhjälp", "rektor", dt.date(2025, 1, 10), dt.date(2025, 6, 30), (SCHOOL_GOAL,))
    late = plans_handlers.plan_activity(plans.uow(), META, plan.id, work)
    done = plans_handlers.plan_activity(
        plans.uow(), META, plan.id, replace(work, title="Mattelyft")
    )
    dropped = plans_handlers.plan_activity(
        plans.uow(), META, plan.id, replace(work, title="Lovskola")
    )
    ahead = plans_handlers.plan_activity(
        plans.uow(),
        META,
        plan.id,
        Work("Skolgård", "vaktmästare", dt.date(2025, 1, 10), dt.date(2025, 12, 31)),
    )
    plans_handlers.report_progress(plans.uow(), META, done.id, None, "in_progress", None, "")
    plans_handlers.report_progress(plans.uow(), META, done.id, None, "done", None, "")
    plans_handlers.report_progress(
        plans.uow(), META, dropped.id, None, "cancelled", None, "ingen personal"
    )
    plans_handlers.adopt_plan(plans.uow(), META, plan.id, None, SCHOOL, TODAY, None)
    with connect(plans) as conn:
        events = plans.store.read_all(conn, limit=10_000, upcast=False)
    with connect(reports) as conn, conn.transaction():
        reports.applier.apply_all(conn, [ReceivedEvent("/styrkort/plans", e) for e in events])

    admin = SignedClient(app, ADMIN)
    now = items(overdue(admin, unit_id=SCHOOL), "activity")
    assert set(now) == {late.id, ahead.id}, now
    assert now[late.id]["owner"] == "rektor" and now[late.id]["unit_id"] == SCHOOL
    assert now[late.id]["deadline"] == "2025-06-30" and now[late.id]["plan_id"] == plan.id
    assert now[late.id]["days_overdue"] == (TODAY - dt.date(2025, 6, 30)).days
    assert now[late.id]["unit_name"] == "Hasslerudskolan"
    # in the summer of 2025 the done and the cancelled one were late too (completed and
    # cancelled only now); the one due at the year's end was not
    summer = items(overdue(admin, as_of="2025-07-01"), "activity")
    assert set(summer) == {late.id, done.id, dropped.id}
    assert summer[late.id]["days_overdue"] == 1

    # a unit with an adopted plan for the year owes its quality report
    set_deadline(admin, "quality_report_due", 2025, REPORTS_DUE)
    owed = items(overdue(admin, unit_id=SCHOOL), "quality_report")
    assert [(r["unit_id"], r["period"], r["status"]) for r in owed.values()] == [
        (SCHOOL, "2025", "not_started")
    ]
