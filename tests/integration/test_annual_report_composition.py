"""The goal follow-up chapter (målavstämning) of the annual report and of the interim report,
composed from reports' read models (services/reports/annual_report.py): on the Götene seed fed
to reports, with results, assessments and an approved quality report recorded through the
command handlers. Every number the composition shows is traced back to the event it came from."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from services.goals.seed import INDICATORS, OPERATIONAL, STRATEGIC, seed_id, seed_unit_id
from services.reports import annual_report, handlers
from services.reports.domain.report import SECTIONS
from shared import values
from shared.events import Metadata
from shared.runtime import Runtime
from tests.support import connect, feed_seeded_goals

META = Metadata(actor="system:test", correlation_id="annual-report")
YEAR = 2025
COUNCIL = seed_unit_id("kf")
COMMITTEE = seed_unit_id("bun")
GOAL = {key: seed_id("goal-", key) for key, *_ in STRATEGIC + OPERATIONAL}
AREA = {key: seed_id("area-", key) for key in ("livsmiljo", "naringsliv", "rorlighet", "synligt")}
ELIGIBLE = seed_id("indicator-", "i-behorighet")  # o-kunskap; targets 2024-2026, 88 / 84
SAFE = seed_id("indicator-", "i-trygghet")  # o-aldre; target 2026 only, thresholds 88 / 80
ENERGY = seed_id("indicator-", "i-energi")  # o-energi; lower is better, thresholds 145 / 155
NMI = seed_id("indicator-", "i-nmi")  # s-trygg; target 2026 only, no thresholds


def pause() -> dt.datetime:
    """An instant strictly between what was recorded before and what is recorded after."""
    time.sleep(0.01)
    instant = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    return instant


def goals_in(chapter: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(area id, goal) for every goal shown, operational ones under each strategic goal."""
    for area in chapter["development_areas"]:
        for goal in area["goals"]:
            yield area["development_area_id"], goal
            for below in goal["operational_goals"]:
                yield area["development_area_id"], below
    for goal in chapter["unplaced_goals"]:
        yield None, goal


def indicator(chapter: dict[str, Any], indicator_id: str) -> dict[str, Any]:
    for _, goal in goals_in(chapter):
        lines: list[dict[str, Any]] = goal["indicators"]
        for line in lines:
            if line["indicator_id"] == indicator_id:
                return line
    raise AssertionError(f"{indicator_id} is not in the chapter")


def goal_entry(chapter: dict[str, Any], goal_id: str) -> dict[str, Any]:
    return next(goal for _, goal in goals_in(chapter) if goal["goal_id"] == goal_id)


def approve_committee_report(reports: Runtime) -> str:
    """The committee's quality report of the year (it covers the school goal), approved."""
    started = handlers.start_report(reports.uow(), META, unit_id=COMMITTEE, period=str(YEAR))
    report_id = started.id
    handlers.write_goal_section(
        reports.uow(),
        META,
        report_id,
        None,
        goal_id=GOAL["o-kunskap"],
        verdict="met",
        analysis="Behörigheten nådde målet; läsinsatserna gav effekt.",
    )
    changes: list[Any] = [
        lambda r: r.write_quality_assurance(["student_survey"], "Elevenkät och jämförelser."),
        lambda r: r.write_improvement_areas([("Läsförståelse", "åk 4-6")]),
        *[lambda r, s=section: r.mark_done(s) for section in SECTIONS],
    ]
    for decide in changes:
        handlers.change_report(reports.uow(), META, report_id, None, decide)
    handlers.submit_report(reports.uow(), META, report_id, None)
    handlers.approve_report(
        reports.uow(),
        META,
        report_id,
        None,
        decided_by=COMMITTEE,
        decided_on=values.today(),
        minute_ref="BUN §12",
    )
    return report_id


@pytest.fixture
def recorded(goals: Runtime, reports: Runtime) -> dict[str, Any]:
    """The seed in reports, and the year's follow-up: results (one corrected), assessments of
    five of the eight goals and the committee's approved quality report."""
    feed_seeded_goals(goals, reports)
    uow = reports.uow
    handlers.record_result(uow(), META, indicator_id=ELIGIBLE, period="2024", value=85.0)
    first = handlers.record_result(
        uow(), META, indicator_id=ELIGIBLE, period=str(YEAR), value=86.5, women=88.0, men=85.0
    )
    before_correction = pause()
    handlers.correct_result(
        uow(), META, first.id, None, value=89.0, women=91.0, men=87.0, reason="SCB rättade"
    )
    handlers.record_result(uow(), META, indicator_id=SAFE, period=str(YEAR), value=70.0)
    handlers.record_result(uow(), META, indicator_id=ENERGY, period=str(YEAR), value=150.0)
    handlers.record_result(uow(), META, indicator_id=NMI, period=str(YEAR), value=58.0)
    for key, verdict in [
        ("o-kunskap", "met"),
        ("s-trygg", "met"),
        ("o-energi", "partly_met"),
        ("o-aldre", "not_met"),
        ("s-klimat", "cannot_be_assessed"),
    ]:
        handlers.assess_goal(
            uow(), META, goal_id=GOAL[key], year=YEAR, verdict=verdict, analysis=f"Analys {key}."
        )
    report_id = approve_committee_report(reports)
    return {"before_correction": before_correction, "report_id": report_id}


def test_the_annual_chapter_counts_places_and_traces_every_goal_and_number(
    reports: Runtime, recorded: dict[str, Any]
) -> None:
    with connect(reports) as conn:
        chapter = annual_report.annual_report(conn, YEAR)

    assert chapter["kind"] == "annual" and chapter["year"] == YEAR
    assert chapter["organisation"]["unit_id"] == COUNCIL
    summary = chapter["summary"]
    assert summary["goals"] == 8
    assert summary["assessed"] == {
        "met": 2,
        "partly_met": 1,
        "not_met": 1,
        "cannot_be_assessed": 1,
        "not_assessed": 3,
    }
    # o-kunskap 89 ≥ 88 green; o-energi 150 ≤ 155 yellow; o-aldre 70 < 80 red; s-trygg's NMI
    # has no yardstick for 2025 and the four goals without indicators have no data
    assert summary["computed"] == {"green": 1, "yellow": 1, "red": 1, "no_data": 5}
    assert summary["indicators"] == {
        "count": 4,
        "computed": {"green": 1, "yellow": 1, "red": 1, "no_data": 1},
    }
    assert summary["text"] == (
        "2 av 8 mål uppfyllda, 1 delvis uppfyllt, 1 ej uppfyllt, 1 kan inte bedömas, 3 ej bedömda."
    )
    legend = chapter["legend"]
    assert [v["label"] for v in legend["verdicts"]] == [
        "uppfyllt",
        "delvis uppfyllt",
        "ej uppfyllt",
        "kan inte bedömas",
        "ej bedömt",
    ]
    assert [c["label"] for c in legend["colours"]] == ["grön", "gul", "röd", "ingen data"]

    # every adopted goal of the year under its development area (an operational goal under
    # each strategic goal it derives from), and nothing unplaced
    areas = {a["development_area_id"]: a for a in chapter["development_areas"]}
    assert set(areas) == set(AREA.values()), "the four areas, the empty one too"
    assert areas[AREA["synligt"]]["goals"] == []
    assert areas[AREA["livsmiljo"]]["name"] == "Attraktiva livsmiljöer"
    assert chapter["unplaced_goals"] == []
    shown: dict[str, set[str | None]] = {}
    for area_id, goal in goals_in(chapter):
        shown.setdefault(goal["goal_id"], set()).add(area_id)
    for key, area_key, *_ in STRATEGIC:
        assert shown[GOAL[key]] == {AREA[area_key]}, key
    strategic_area = {key: area_key for key, area_key, *_ in STRATEGIC}
    for key, _, _, sources in OPERATIONAL:
        assert shown[GOAL[key]] == {AREA[strategic_area[s]] for s in sources}, key
        for source in sources:
            below = goal_entry(chapter, GOAL[source])["operational_goals"]
            assert GOAL[key] in [g["goal_id"] for g in below], (key, source)
    for key, goal_key, *_ in INDICATORS:
        line = indicator(chapter, seed_id("indicator-", key))
        owner = next(g for _, g in goals_in(chapter) if line in g["indicators"])
        assert owner["goal_id"] == GOAL[goal_key], key

    # the school goal: outcome split by gender, trend, colour with reason, the person's
    # assessment and the committee's approved quality report beside it
    eligible = indicator(chapter, ELIGIBLE)
    assert eligible["target"] == 88.0
    assert eligible["result"]["value"] == 89.0 and eligible["result"]["version"] == 2
    assert (eligible["result"]["women"], eligible["result"]["men"]) == (91.0, 87.0)
    assert eligible["status"]["colour"] == "green" and eligible["colour_label"] == "grön"
    assert eligible["status"]["reason"]["rule"] == "thresholds"
    assert eligible["status"]["trend"] == "better" and eligible["trend_label"] == "bättre"
    school = goal_entry(chapter, GOAL["o-kunskap"])
    assert school["assessment"]["verdict"] == "met" and school["assessment"]["label"] == "uppfyllt"
    assert school["assessment"]["analysis"] == "Analys o-kunskap."
    [quality] = school["quality_reports"]
    assert quality["report_id"] == recorded["report_id"]
    assert quality["unit_id"] == COMMITTEE
    assert quality["unit_name"] == "Barn- och utbildningsnämnden"
    assert quality["verdict"] == "met" and quality["analysis"].startswith("Behörigheten")
    assert quality["approved"]["minute_ref"] == "BUN §12"
    assert goal_entry(chapter, GOAL["o-aldre"])["quality_reports"] == []

    # series over the mandate period up to the year, each year with its target
    assert [p["year"] for p in eligible["series"]] == [2023, 2024, YEAR]
    assert [(p["value"], p["target"]) for p in eligible["series"]] == [
        (None, None),
        (85.0, 86.0),
        (89.0, 88.0),
    ]
    assert eligible["baseline"] == {"value": 84.0, "year": 2022}

    with connect(reports) as conn:
        results, targets, assessments = assert_traced(conn, chapter)
        # results: the 4 of the year on their lines and in their series, and the school's 2024
        # one in its series; targets: the school's 2025 one on its line, 2024 and 2025 in its
        # series (the others' only target is 2026); the 5 assessments
        assert (results, targets, assessments) == (9, 3, 5)
        assert conn.execute(
            "SELECT event_type FROM events WHERE stream_id = %s AND version = %s",
            [quality["report_id"], quality["version"]],
        ).fetchone() == ("QualityReportApproved.v1",)
        assert quality["trace"]["event_type"] == "QualityReportApproved.v1"

    assert chapter["year_status"]["closed"] is False


def assert_traced(conn: Any, chapter: dict[str, Any]) -> tuple[int, int, int]:
    """Every result, target and assessment shown names the event it came from, and that event
    (or the read model row it made) holds the number shown. Returns how many of each (a goal
    shown under two strategic goals counts twice)."""
    results = targets = assessments = 0
    for _, goal in goals_in(chapter):
        judged = goal["assessment"]
        if judged is not None:
            event = conn.execute(
                """SELECT event_type, data->>'verdict', event_id::text, position FROM events
                    WHERE stream_id = %s AND version = %s""",
                [judged["assessment_id"], judged["version"]],
            ).fetchone()
            assert event == (
                "GoalAssessed.v1",
                judged["verdict"],
                judged["trace"]["event_id"],
                judged["trace"]["position"],
            )
            assessments += 1
        for line in goal["indicators"]:
            points = [
                (line["result"], line["target"], line["trace"]),
                *[(p, p["target"], p["trace"]) for p in line["series"]],
            ]
            for shown, target, trace in points:
                if shown is not None and shown["value"] is not None:
                    named = trace["result"]
                    row = conn.execute(
                        """SELECT r.value, r.women, r.men, r.position, e.event_id::text
                             FROM result_versions r
                             JOIN events e ON e.position = r.position AND e.stream_id = r.result_id
                            WHERE r.result_id = %s AND r.version = %s""",
                        [named["result_id"], named["version"]],
                    ).fetchone()
                    assert row == (
                        shown["value"],
                        shown["women"],
                        shown["men"],
                        named["position"],
                        named["event_id"],
                    ), named
                    results += 1
                if target is not None:
                    named = trace["target"]
                    assert named["service"] == "goals"
                    row = conn.execute(
                        """SELECT value FROM known_targets
                            WHERE indicator_id = %s AND year = %s AND position = %s""",
                        [line["indicator_id"], named["year"], named["position"]],
                    ).fetchone()
                    assert row == (target,), named
                    targets += 1
    return results, targets, assessments


def test_as_of_shows_what_was_known_then(reports: Runtime, recorded: dict[str, Any]) -> None:
    with connect(reports) as conn:
        then = annual_report.annual_report(conn, YEAR, recorded["before_correction"])
    eligible = indicator(then, ELIGIBLE)
    assert eligible["result"]["value"] == 86.5 and eligible["result"]["version"] == 1
    assert eligible["status"]["colour"] == "yellow"
    assert indicator(then, SAFE)["result"] is None, "recorded after the instant"
    assert then["summary"]["assessed"]["not_assessed"] == 8, "no assessment made by then"
    assert goal_entry(then, GOAL["o-kunskap"])["quality_reports"] == []


def test_an_interim_chapter_leaves_out_a_result_recorded_after_its_instant(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    uow = reports.uow
    handlers.record_result(uow(), META, indicator_id=ELIGIBLE, period=f"{YEAR}-08-31", value=80.0)
    instant = pause()
    later = handlers.record_result(
        uow(), META, indicator_id=SAFE, period=f"{YEAR}-08-31", value=85.0
    )
    handlers.record_result(uow(), META, indicator_id=ELIGIBLE, period=str(YEAR), value=89.0)
    with connect(reports) as conn:
        interim = annual_report.interim_report(conn, instant, YEAR)
        now = annual_report.interim_report(conn, dt.datetime.now(dt.UTC), YEAR)
        assert_traced(conn, interim)

    assert interim["kind"] == "interim" and interim["year"] == YEAR
    assert interim["as_of"] == instant.isoformat()
    assert interim["title"].startswith(f"Målavstämning, delårsrapport {YEAR} per ")
    eligible = indicator(interim, ELIGIBLE)
    assert eligible["result"]["period"] == f"{YEAR}-08-31" and eligible["result"]["interim"]
    assert eligible["result"]["value"] == 80.0 and eligible["status"]["colour"] == "red"
    assert eligible["series"][-1]["value"] == 80.0 and eligible["series"][-1]["target"] == 88.0
    safe = indicator(interim, SAFE)
    assert safe["result"] is None and safe["trace"]["result"] is None
    assert safe["status"]["colour"] == "no_data"
    assert interim["summary"]["indicators"]["computed"]["red"] == 1

    assert indicator(now, SAFE)["result"]["result_id"] == later.id
    assert indicator(now, ELIGIBLE)["result"]["period"] == str(YEAR), "the year's own outranks"


def test_the_year_is_closed_by_the_councils_approval_as_of_then(
    reports: Runtime, recorded: dict[str, Any]
) -> None:
    before = pause()
    handlers.approve_annual_report(
        reports.uow(),
        META,
        year=YEAR,
        decided_by=COUNCIL,
        decided_on=values.today(),
        minute_ref="KF §45",
    )
    with connect(reports) as conn:
        closed = annual_report.annual_report(conn, YEAR)["year_status"]
        open_then = annual_report.annual_report(conn, YEAR, before)["year_status"]
        event = conn.execute(
            "SELECT event_id::text FROM events WHERE stream_id = %s AND version = 1",
            [f"annual-report-{YEAR}"],
        ).fetchone()
    assert closed["closed"] is True and closed["annual_report_id"] == f"annual-report-{YEAR}"
    decision = closed["decision"]
    assert (decision["decided_by"], decision["minute_ref"]) == (COUNCIL, "KF §45")
    assert decision["decided_by_name"] == "Kommunfullmäktige"
    assert event is not None and decision["trace"]["event_id"] == event[0]
    assert open_then == {
        "annual_report_id": f"annual-report-{YEAR}",
        "closed": False,
        "status": None,
        "decision": None,
    }
