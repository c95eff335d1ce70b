"""The reports HTTP API on the real PostgreSQL, with what it knows of goals fed from the goals
service's real events (without the broker: the broker path is tests/e2e): results on both time
axes, computed statuses with their reasons, assessments, quality reports, the year's close."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from services.goals.seed import seed_id, seed_unit_id
from services.reports.app import create_app
from shared import values
from shared.identity import Identity
from shared.runtime import Runtime
from tests.support import ADMIN, READER, SignedClient, connect, feed_seeded_goals

COMMITTEE = seed_unit_id("bun")  # Barn- och utbildningsnämnden owns the school goal
COUNCIL = seed_unit_id("kf")
OTHER_SECTOR = seed_unit_id("sektor-sov")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")
ELIGIBLE = seed_id("indicator-", "i-behorighet")  # targets 2024-2026, thresholds 88 / 84
LAST_YEAR = values.today().year - 1


@pytest.fixture
def app(goals: Runtime, reports: Runtime) -> Any:
    feed_seeded_goals(goals, reports)
    return create_app(reports.config, reports)


def as_(app: Any, who: Identity) -> SignedClient:
    return SignedClient(app, who)


def line(card: dict[str, Any], indicator_id: str) -> dict[str, Any]:
    for goal in card["goals"]:
        for found in goal["indicators"]:
            if found["indicator_id"] == indicator_id:
                return found
    raise AssertionError(f"{indicator_id} not on the scorecard")


def test_a_result_gets_its_colour_reason_and_trend_and_a_correction_keeps_the_past(
    app: Any,
) -> None:
    admin = as_(app, ADMIN)
    first = admin.post(
        "/api/v1/results",
        {"indicator_id": ELIGIBLE, "period": "2024", "value": 85.0, "source": "kolada"},
    )
    assert first.status_code == 201, first.get_json()
    made = admin.post(
        "/api/v1/results",
        {"indicator_id": ELIGIBLE, "period": "2025", "value": 86.5, "women": 88.0, "men": 85.0},
    )
    assert made.status_code == 201, made.get_json()
    result = made.get_json()
    card = admin.get(f"/api/v1/scorecard?unit_id={COUNCIL}&year=2025").get_json()
    eligible = line(card, ELIGIBLE)
    assert eligible["status"]["colour"] == "yellow"
    assert eligible["status"]["reason"]["rule"] == "thresholds"
    assert eligible["status"]["reason"]["value"] == 86.5
    assert eligible["status"]["trend"] == "better" and eligible["previous"]["value"] == 85.0
    assert eligible["target"] == 88.0 and eligible["result"]["women"] == 88.0
    time.sleep(0.01)
    before_correction = dt.datetime.now(dt.UTC).isoformat()
    time.sleep(0.01)
    corrected = admin.post(
        f"/api/v1/results/{result['id']}/correct",
        {"value": 89.0, "reason": "SCB rättade underlaget"},
        headers={"If-Match": made.headers["ETag"]},
    )
    assert corrected.status_code == 200, corrected.get_json()
    now = line(admin.get(f"/api/v1/scorecard?unit_id={COUNCIL}&year=2025").get_json(), ELIGIBLE)
    query = urlencode({"unit_id": COUNCIL, "year": 2025, "as_of": before_correction})
    then = admin.get(f"/api/v1/scorecard?{query}")
    assert now["status"]["colour"] == "green" and now["result"]["value"] == 89.0
    assert line(then.get_json(), ELIGIBLE)["status"]["colour"] == "yellow"
    assert line(then.get_json(), ELIGIBLE)["result"]["value"] == 86.5
    history = admin.get(f"/api/v1/history/{result['id']}").get_json()
    assert [e["event_type"] for e in history["events"]][-1] == "ResultCorrected.v1"


def test_bad_periods_and_a_second_result_are_refused(app: Any) -> None:
    admin = as_(app, ADMIN)
    body = {"indicator_id": ELIGIBLE, "value": 80}
    for period, status in [
        ("2025\n", 422),
        ("\uff12\uff10\uff12\uff15", 422),
        ("2025-02-30", 422),
        (str(values.today().year + 1), 422),
        ("1066", 422),
    ]:
        refused = admin.post("/api/v1/results", {**body, "period": period})
        assert refused.status_code == status, (period, refused.get_json())
        assert "period" in refused.get_json().get("errors", {}), refused.get_json()
    assert (
        admin.post("/api/v1/results", {**body, "period": "2024", "value": "80"}).status_code == 422
    )
    assert admin.post("/api/v1/results", {**body, "period": "2024"}).status_code == 201
    again = admin.post("/api/v1/results", {**body, "period": "2024"})
    assert again.status_code == 409 and again.get_json()["result_id"].startswith("result-")


def test_an_editor_outside_the_goals_owner_is_refused(app: Any) -> None:
    outsider = as_(app, Identity("key:omsorg", "editor", OTHER_SECTOR))
    refused = outsider.post(
        "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2024", "value": 80}
    )
    assert refused.status_code == 403, refused.get_json()
    reader = as_(app, READER)
    assert (
        reader.post(
            "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2024", "value": 80}
        ).status_code
        == 403
    )
    owner = as_(app, Identity("key:bun", "editor", COMMITTEE))
    assert (
        owner.post(
            "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2024", "value": 80}
        ).status_code
        == 201
    )


def test_an_assessment_stands_beside_the_computed_status(app: Any) -> None:
    admin = as_(app, ADMIN)
    body = {"goal_id": SCHOOL_GOAL, "year": 2025, "verdict": "partly_met"}
    missing = admin.post("/api/v1/assessments", body)
    assert missing.status_code == 422 and "analysis" in missing.get_json()["errors"]
    made = admin.post("/api/v1/assessments", {**body, "analysis": "Nära målet; läsningen lyfte."})
    assert made.status_code == 201, made.get_json()
    admin.post("/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2025", "value": 70})
    card = admin.get(f"/api/v1/scorecard?unit_id={COMMITTEE}&year=2025").get_json()
    goal = next(g for g in card["goals"] if g["goal_id"] == SCHOOL_GOAL)
    assert goal["status"]["colour"] == "red", "computed from the indicator"
    assert goal["assessment"]["verdict"] == "partly_met", "the person's judgement stays"
    assert card["summary"]["assessed"]["partly_met"] == 1


def committee_report(app: Any) -> tuple[SignedClient, dict[str, Any]]:
    admin = as_(app, ADMIN)
    started = admin.post("/api/v1/quality-reports", {"unit_id": COMMITTEE, "period": "2025"})
    assert started.status_code == 201, started.get_json()
    report = started.get_json()
    assert report["goal_ids"] == [SCHOOL_GOAL], "a committee reports on its own goals"
    path = f"/api/v1/quality-reports/{report['id']}"
    steps = [
        ("goals", {"goal_id": SCHOOL_GOAL, "verdict": "met", "analysis": "Målet nåddes."}),
        ("activities", {"comment": "Alla aktiviteter genomförda."}),
        ("quality-assurance", {"methods": ["student_survey", "comparison"], "text": "Elevenkät."}),
        ("improvement-areas", {"areas": [{"title": "Läsförståelse", "description": "åk 4-6"}]}),
    ]
    for action, body in steps:
        answer = admin.post(f"{path}/{action}", body)
        assert answer.status_code == 200, (action, answer.get_json())
    proposal = admin.post(
        "/api/v1/improvements",
        {"report_id": report["id"], "title": "Läsfrämjande insatser åk 4-6", "description": "x"},
    )
    assert proposal.status_code == 201, proposal.get_json()
    early = admin.post(f"{path}/submit", {})
    assert early.status_code == 409 and "sections" in early.get_json()["errors"]
    for section in (
        "goals",
        "activities",
        "quality_assurance",
        "improvement_areas",
        "improvement_proposals",
    ):
        answer = admin.post(f"{path}/done", {"section": section})
        assert answer.status_code == 200, (section, answer.get_json())
    submitted = admin.post(f"{path}/submit", {})
    assert submitted.status_code == 200, submitted.get_json()
    return admin, submitted.get_json()


def test_a_quality_report_is_approved_by_decision_and_proposes_its_improvements(
    app: Any, reports: Runtime
) -> None:
    admin, report = committee_report(app)
    path = f"/api/v1/quality-reports/{report['id']}"
    decision = {"decided_by": COMMITTEE, "decided_on": values.today().isoformat()}
    unminuted = admin.post(f"{path}/approve", decision)
    assert unminuted.status_code == 422 and "minute_ref" in unminuted.get_json()["errors"]
    wrong_body = admin.post(
        f"{path}/approve", {**decision, "decided_by": COUNCIL, "minute_ref": "KF §1"}
    )
    assert wrong_body.status_code == 409, wrong_body.get_json()
    approved = admin.post(f"{path}/approve", {**decision, "minute_ref": "BUN §12"})
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    with connect(reports) as conn:
        rows = conn.execute(
            "SELECT stream_id, data FROM events WHERE event_type = 'ImprovementProposed.v1'"
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][1]["unit_id"] == COMMITTEE and rows[0][1]["period"] == "2025"
    assert rows[0][1]["title"] == "Läsfrämjande insatser åk 4-6"
    changed = admin.post(f"{path}/activities", {"comment": "ändrat"})
    assert changed.status_code == 409, "approved: no changes without a reopening decision"
    reopened = admin.post(
        f"{path}/reopen", {**decision, "minute_ref": "BUN §20", "reason": "Ny statistik"}
    )
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "draft"


def test_a_closed_year_refuses_changes_until_a_reopening_decision(app: Any) -> None:
    admin = as_(app, ADMIN)
    made = admin.post(
        "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2024", "value": 85.0}
    ).get_json()
    decision = {
        "decided_by": COUNCIL,
        "decided_on": values.today().isoformat(),
        "minute_ref": "KF §45",
    }
    closed = admin.post("/api/v1/annual-reports/2024/approve", decision)
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["closed"] is True
    refused = admin.post(f"/api/v1/results/{made['id']}/correct", {"value": 86.0, "reason": "x"})
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["closed_by"]["minute_ref"] == "KF §45"
    new_one = admin.post(
        "/api/v1/assessments",
        {"goal_id": SCHOOL_GOAL, "year": 2024, "verdict": "met", "analysis": "ok"},
    )
    assert new_one.status_code == 409
    reopened = admin.post(
        "/api/v1/annual-reports/2024/reopen",
        {**decision, "minute_ref": "KF §60", "reason": "Rättelse av utfall"},
    )
    assert reopened.status_code == 200, reopened.get_json()
    accepted = admin.post(f"/api/v1/results/{made['id']}/correct", {"value": 86.0, "reason": "x"})
    assert accepted.status_code == 200, accepted.get_json()
    history = admin.get("/api/v1/history/annual-report-2024").get_json()
    assert [e["event_type"] for e in history["events"]] == [
        "AnnualReportApproved.v2",
        "AnnualReportReopened.v1",
    ]
    assert history["events"][1]["decision"]["minute_ref"] == "KF §60"


def test_the_scorecard_filters_by_development_area_and_perspective(app: Any) -> None:
    reader = as_(app, READER)
    area = seed_id("area-", "naringsliv")
    by_area = reader.get(
        f"/api/v1/scorecard?unit_id={COUNCIL}&year=2025&development_area_id={area}"
    ).get_json()
    ids = {g["goal_id"] for g in by_area["goals"]}
    assert seed_id("goal-", "s-jobb") in ids, "the area's own strategic goal"
    assert seed_id("goal-", "o-bostader") in ids, "an operational goal derived from it"
    assert SCHOOL_GOAL not in ids
    assert all(area in g["development_area_ids"] for g in by_area["goals"])
    green = reader.get(
        f"/api/v1/scorecard?unit_id={COUNCIL}&year=2025&perspective=environmental"
    ).get_json()
    assert seed_id("goal-", "s-klimat") in {g["goal_id"] for g in green["goals"]}
    assert all("environmental" in g["perspectives"] for g in green["goals"])
    assert SCHOOL_GOAL not in {g["goal_id"] for g in green["goals"]}
    committee = reader.get(f"/api/v1/scorecard?unit_id={COMMITTEE}&year=2025").get_json()
    assert {g["goal_id"] for g in committee["goals"]} == {SCHOOL_GOAL}, "the subtree only"
    for query, field in [
        (urlencode({"unit_id": COUNCIL, "year": "\uff12\uff10\uff12\uff15"}), "year"),
        (f"unit_id={COUNCIL}&year=1066", "year"),
        (f"unit_id={COUNCIL}&year=2025&perspective=spiritual", "perspective"),
    ]:
        refused = reader.get(f"/api/v1/scorecard?{query}")
        assert refused.status_code in (400, 422), (query, refused.get_json())
        assert field in refused.get_json().get("errors", {}), (query, refused.get_json())
    unknown = reader.get("/api/v1/scorecard?unit_id=org-unit-nobody&year=2025")
    assert unknown.status_code == 404


def test_status_rules_are_data_decided_by_the_council(app: Any) -> None:
    admin = as_(app, ADMIN)
    assert admin.get("/api/v1/status-rules").get_json()["yellow_share_of_target"] == 0.8
    decision = {"decided_by": COUNCIL, "decided_on": values.today().isoformat()}
    not_council = admin.post(
        "/api/v1/status-rules", {**decision, "decided_by": COMMITTEE, "minute_ref": "BUN §1"}
    )
    assert not_council.status_code == 409, not_council.get_json()
    bad = admin.post(
        "/api/v1/status-rules", {**decision, "minute_ref": "KF §3", "goal_met_share": 1.5}
    )
    assert bad.status_code == 422 and "goal_met_share" in bad.get_json()["errors"]
    admin.post("/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2025", "value": 83.0})
    before = line(admin.get(f"/api/v1/scorecard?unit_id={COUNCIL}&year=2025").get_json(), ELIGIBLE)
    assert before["status"]["colour"] == "red", "83 is below the yellow threshold 84"
    set_rules = admin.post(
        "/api/v1/status-rules",
        {**decision, "minute_ref": "KF §3", "goal_met_share": 0.75, "goal_partly_met_share": 0.25},
    )
    assert set_rules.status_code == 200, set_rules.get_json()
    card = admin.get(f"/api/v1/scorecard?unit_id={COUNCIL}&year=2025").get_json()
    assert card["rules"]["goal_met_share"] == 0.75
    assert card["rules"]["decision"]["minute_ref"] == "KF §3"


def test_what_a_hostile_review_found_is_refused(app: Any) -> None:
    admin = as_(app, ADMIN)
    report = admin.post("/api/v1/quality-reports", {"unit_id": COMMITTEE, "period": "2025"})
    path = f"/api/v1/quality-reports/{report.get_json()['id']}"
    for as_of in ("9999-12-31T23:59:59+00:00", "0001-01-01", "2025-W01-1", "20250101"):
        far = admin.get(f"{path}?{urlencode({'as_of': as_of})}")
        assert far.status_code == 422 and "as_of" in far.get_json()["errors"], as_of
    past = admin.get(f"{path}?{urlencode({'as_of': dt.datetime.now(dt.UTC).isoformat()})}")
    assert past.status_code == 200 and past.get_json()["activity_outcomes"] is None
    assert admin.get(path).get_json()["activity_outcomes"] == [], "now: the plan as it stands"
    for blank in ("\u3164", "\u2800"):
        refused = admin.post(
            "/api/v1/improvements", {"report_id": report.get_json()["id"], "title": blank}
        )
        assert refused.status_code == 422 and "title" in refused.get_json()["errors"]
    proposal = admin.post(
        "/api/v1/improvements", {"report_id": report.get_json()["id"], "title": "Läsa mer"}
    ).get_json()
    unchanged = admin.post(f"/api/v1/improvements/{proposal['id']}/edit", {})
    assert unchanged.status_code == 409, unchanged.get_json()
    year_end = admin.post(
        "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2024-12-31", "value": 80}
    )
    assert year_end.status_code == 422 and "period" in year_end.get_json()["errors"]
