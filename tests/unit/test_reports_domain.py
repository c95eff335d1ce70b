"""The reports domain without I/O: periods, results, assessments, quality reports, improvement
proposals and the year's close, each decided from facts given to it (no database, no clock)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.reports import events as reports_events
from services.reports.domain import annual as annual_domain
from services.reports.domain import periods
from services.reports.domain.annual import KIND as ANNUAL
from services.reports.domain.annual import AnnualReport, ChainHead
from services.reports.domain.assessment import KIND as ASSESSMENT
from services.reports.domain.assessment import GoalAssessment, GoalFacts
from services.reports.domain.decisions import Decision, UnitFacts
from services.reports.domain.improvement import KIND as IMPROVEMENT
from services.reports.domain.improvement import Improvement
from services.reports.domain.report import KIND as REPORT
from services.reports.domain.report import SECTIONS, ActivityOutcome, QualityReport
from services.reports.domain.result import KIND as RESULT
from services.reports.domain.result import IndicatorFacts, IndicatorResult, Measurement
from shared.aggregate import AggregateKind, DomainEvent, S
from shared.errors import InvalidInput, RuleViolation
from shared.events import RecordedEvent

TODAY = dt.date(2026, 3, 10)
COUNCIL = UnitFacts("org-unit-kf", "Kommunfullmäktige", "council", "active")
COMMITTEE = UnitFacts("org-unit-bun", "Barn- och utbildningsnämnden", "committee", "active")
SCHOOL = UnitFacts("org-unit-skola", "Hasslerudskolan", "unit", "active")
GOAL = GoalFacts("goal-1", "adopted", "2023-2026", COMMITTEE.id, "Alla elever når målen")
INDICATOR = IndicatorFacts("indicator-1", "active", "Behörighet")


def fold(kind: AggregateKind[S], events: list[DomainEvent]) -> S:
    return kind.fold_new(events)


def apply(state: S, events: list[DomainEvent]) -> S:
    for event in events:
        state = state.when(event)  # type: ignore[attr-defined]
    return state


def fields_of(
    raised: pytest.ExceptionInfo[InvalidInput] | pytest.ExceptionInfo[RuleViolation],
) -> dict[str, list[str]]:
    return {name: list(problems) for name, problems in raised.value.fields.items()}


# -- periods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, canonical",
    [("2025", "2025"), (2025, "2025"), ("2026-08-31", "2026-08-31"), ("2024-02-29", "2024-02-29")],
)
def test_a_result_period_is_a_year_or_an_interim_date(given: object, canonical: str) -> None:
    assert periods.result_period(given) == canonical


def test_the_end_of_a_year_is_the_year_not_an_interim_date() -> None:
    with pytest.raises(InvalidInput) as raised:
        periods.result_period("2023-12-31")
    assert fields_of(raised) == {"period": ["the year's end is the year itself"]}
    assert periods.result_period("2023-12-30") == "2023-12-30"


@pytest.mark.parametrize(
    "look_alike",
    [
        "2025\n",
        " 2025",
        "\uff12\uff10\uff12\uff15",  # full-width digits
        "\uff12\uff10\uff12\uff15-01-01",
        "2025-02-30",
        "2025-13-01",
        "2025-1-01",
        "25",
        "2025.0",
        2025.0,
        True,
        None,
        "",
    ],
)
def test_a_look_alike_result_period_is_refused(look_alike: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        periods.result_period(look_alike)
    assert "period" in fields_of(raised)


def test_a_date_that_does_not_exist_is_named_so() -> None:
    with pytest.raises(InvalidInput) as raised:
        periods.result_period("2025-02-30")
    assert fields_of(raised)["period"] == ["no such date"]


def test_an_implausible_year_is_named_so() -> None:
    with pytest.raises(InvalidInput) as raised:
        periods.result_period("1066")
    assert fields_of(raised)["period"] == ["implausible year"]


@pytest.mark.parametrize(
    "given, canonical, year",
    [("2025", "2025", 2025), ("2024/25", "2024/25", 2025), ("1999/00", "1999/00", 2000)],
)
def test_a_report_period_is_a_calendar_or_school_year(
    given: str, canonical: str, year: int
) -> None:
    assert periods.report_period(given) == canonical
    assert periods.year_of(canonical) == year, "a school year belongs to the year it ends in"


@pytest.mark.parametrize(
    "look_alike",
    ["2024/26", "2024/24", "2024/2025", "2024-25", "2025\n", "\uff12\uff10\uff12\uff15", "24/25"],
)
def test_a_look_alike_report_period_is_refused(look_alike: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        periods.report_period(look_alike)
    assert "period" in fields_of(raised)


def test_period_ends_and_previous_periods() -> None:
    assert periods.period_end("2025") == dt.date(2025, 12, 31)
    assert periods.period_end("2025-08-31") == dt.date(2025, 8, 31)
    assert periods.report_period_end("2024/25") == dt.date(2025, 6, 30)
    assert periods.previous_period("2025") == "2024"
    assert periods.previous_period("2024-02-29") == "2023-02-28"


# -- results --------------------------------------------------------------------------------------


def measured(value: float, **kw: object) -> Measurement:
    return Measurement.check(
        value, kw.get("women"), kw.get("men"), kw.get("source", "manual"), kw.get("comment")
    )


def recorded(value: float = 85.0, period: str = "2025") -> IndicatorResult:
    events = IndicatorResult.record("result-1", INDICATOR, period, measured(value), TODAY)
    return fold(RESULT, events)


def test_a_result_is_recorded_for_its_period_with_the_split_by_gender() -> None:
    events = IndicatorResult.record(
        "result-1", INDICATOR, "2025", measured(86.5, women=88, men=85), TODAY
    )
    result = fold(RESULT, events)
    assert (result.period, result.year, result.value) == ("2025", 2025, 86.5)
    assert (result.women, result.men, result.status) == (88.0, 85.0, "recorded")


@pytest.mark.parametrize(
    "indicator, field",
    [
        (IndicatorFacts("indicator-x", "unknown"), "indicator_id"),
        (IndicatorFacts("indicator-x", "retired", "Gammal"), "indicator_id"),
    ],
)
def test_a_result_needs_an_active_indicator(indicator: IndicatorFacts, field: str) -> None:
    with pytest.raises(RuleViolation) as raised:
        IndicatorResult.record("result-1", indicator, "2025", measured(1), TODAY)
    assert field in fields_of(raised)


@pytest.mark.parametrize("period", ["2027", "2026-03-11"])
def test_a_result_is_not_for_a_period_that_has_not_begun(period: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        IndicatorResult.record("result-1", INDICATOR, period, measured(1), TODAY)
    assert "period" in fields_of(raised)
    assert IndicatorResult.record("result-1", INDICATOR, "2026", measured(1), TODAY)


@pytest.mark.parametrize(
    "value, source", [("80", "manual"), (True, "manual"), (float("nan"), "manual"), (1, "excel")]
)
def test_a_measurement_is_a_finite_number_from_a_known_source(value: object, source: str) -> None:
    with pytest.raises(InvalidInput):
        Measurement.check(value, None, None, source, None)


def test_a_correction_changes_the_value_and_keeps_count() -> None:
    result = recorded(85.0)
    corrected = apply(result, result.correct(measured(89.0), "SCB rättade underlaget"))
    assert (corrected.value, corrected.corrections, corrected.version) == (89.0, 1, 2)


def test_an_unchanged_correction_is_refused() -> None:
    result = recorded(85.0)
    with pytest.raises(RuleViolation) as raised:
        result.correct(measured(85.0), "samma")
    assert fields_of(raised) == {"value": ["unchanged"]}
    with pytest.raises(InvalidInput):
        result.correct(measured(86.0), "")  # a correction says why


def test_a_withdrawn_result_is_withdrawn_once_and_a_correction_brings_it_back() -> None:
    result = recorded(85.0)
    withdrawn = apply(result, result.withdraw("Källan drog tillbaka"))
    assert withdrawn.status == "withdrawn"
    with pytest.raises(RuleViolation):
        withdrawn.withdraw("igen")
    back = apply(withdrawn, withdrawn.correct(measured(85.0), "Källan publicerade igen"))
    assert (back.status, back.value) == ("recorded", 85.0), "the same value is no longer a no-op"


# -- assessments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("verdict", ["met", "partly_met", "not_met", "cannot_be_assessed"])
def test_a_goal_is_assessed_with_a_verdict_and_an_analysis(verdict: str) -> None:
    events = GoalAssessment.assess("assessment-1", GOAL, 2025, verdict, "Analys.", TODAY)
    assessment = fold(ASSESSMENT, events)
    assert (assessment.verdict, assessment.year, assessment.assessed_on) == (verdict, 2025, TODAY)


@pytest.mark.parametrize(
    "verdict, analysis, field",
    [
        ("almost", "Analys.", "verdict"),
        ("met", None, "analysis"),
        ("met", "", "analysis"),
        ("met", "   ", "analysis"),
    ],
)
def test_an_assessment_needs_a_verdict_and_an_analysis(
    verdict: str, analysis: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        GoalAssessment.assess("assessment-1", GOAL, 2025, verdict, analysis, TODAY)
    assert field in fields_of(raised)


@pytest.mark.parametrize(
    "goal, year, field",
    [
        (GoalFacts("goal-x", "unknown"), 2025, "goal_id"),
        (GoalFacts("goal-1", "draft", "2023-2026"), 2025, "goal_id"),
        (GOAL, 2022, "year"),
        (GOAL, 2027, "year"),
    ],
)
def test_an_assessment_is_of_a_followed_up_goal_within_its_period(
    goal: GoalFacts, year: int, field: str
) -> None:
    with pytest.raises(RuleViolation) as raised:
        GoalAssessment.assess("assessment-1", goal, year, "met", "Analys.", TODAY)
    assert field in fields_of(raised)


def test_a_year_that_has_not_begun_is_not_assessed() -> None:
    long_goal = GoalFacts("goal-2", "adopted", "2027-2030", COMMITTEE.id)
    with pytest.raises(InvalidInput) as raised:
        GoalAssessment.assess("assessment-1", long_goal, 2027, "met", "Analys.", TODAY)
    assert fields_of(raised) == {"year": ["in the future"]}


def test_assessing_again_adds_an_assessment_unless_it_says_the_same() -> None:
    first = fold(ASSESSMENT, GoalAssessment.assess("assessment-1", GOAL, 2025, "met", "Ja.", TODAY))
    with pytest.raises(RuleViolation):
        first.reassess(GOAL, "met", "Ja.", TODAY)
    again = apply(first, first.reassess(GOAL, "partly_met", "Nästan.", TODAY))
    assert (again.verdict, again.assessments, again.version) == ("partly_met", 2, 2)
    unknown_now = GoalFacts("goal-1", "unknown")
    with pytest.raises(RuleViolation) as raised:
        first.reassess(unknown_now, "not_met", "Borta.", TODAY)
    assert fields_of(raised) == {"goal_id": ["unknown goal"]}


# -- quality reports ------------------------------------------------------------------------------


def started(
    unit: UnitFacts = SCHOOL, period: str = "2025", goals: tuple[str, ...] = ("goal-1",)
) -> QualityReport:
    events = QualityReport.start("report-1", unit, period, "plan-1", goals, TODAY)
    return fold(REPORT, events)


def decision(unit: UnitFacts, on: dt.date = TODAY, minute_ref: str | None = None) -> Decision:
    return Decision.check(unit, on, minute_ref, TODAY)


def complete(report: QualityReport) -> QualityReport:
    """Every section written and marked done."""
    for goal_id in report.goal_ids:
        report = apply(report, report.assess_goal(goal_id, "met", "Målet nåddes."))
    report = apply(report, report.write_quality_assurance(["student_survey"], "Elevenkät."))
    report = apply(report, report.write_improvement_areas([("Läsning", "åk 4-6")]))
    for section in SECTIONS:
        report = apply(report, report.mark_done(section))
    return report


def submitted(report: QualityReport | None = None) -> QualityReport:
    ready = complete(report or started())
    outcome = ActivityOutcome("activity-1", "Lässtunder", "done", "done", dt.date(2025, 6, 1))
    return apply(ready, ready.submit([outcome], TODAY))


@pytest.mark.parametrize(
    "unit, period, field",
    [
        (COUNCIL, "2025", "unit_id"),  # the council's follow-up is the annual report
        (UnitFacts("org-unit-x", "X", "unit", "closed"), "2025", "unit_id"),
        (UnitFacts("org-unit-x", "org-unit-x", "", "unknown"), "2025", "unit_id"),
    ],
)
def test_a_report_is_started_by_a_reporting_unit_that_is_open(
    unit: UnitFacts, period: str, field: str
) -> None:
    with pytest.raises(RuleViolation) as raised:
        QualityReport.start("report-1", unit, period, None, (), TODAY)
    assert field in fields_of(raised)


@pytest.mark.parametrize("period", ["2027", "2026/27"])
def test_a_report_follows_up_a_period_that_has_begun(period: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        QualityReport.start("report-1", SCHOOL, period, None, (), TODAY)
    assert fields_of(raised) == {"period": ["in the future"]}
    assert started(period="2025/26").period == "2025/26"


def test_a_goal_section_is_written_only_for_the_reports_goals() -> None:
    report = started()
    with pytest.raises(RuleViolation) as raised:
        report.assess_goal("goal-other", "met", "x")
    assert "goal_id" in fields_of(raised)
    with pytest.raises(InvalidInput):
        report.assess_goal("goal-1", "met", "")  # the analysis is required


def test_a_section_is_marked_done_only_when_complete_and_once() -> None:
    report = started()
    for section, missing in [
        ("goals", "1 goal(s) not assessed"),
        ("quality_assurance", "not written"),
        ("improvement_areas", "no improvement areas"),
    ]:
        with pytest.raises(RuleViolation) as raised:
            report.mark_done(section)
        assert fields_of(raised) == {"section": [missing]}
    with pytest.raises(InvalidInput):
        report.mark_done("summary")
    done = apply(report, report.mark_done("activities"))
    with pytest.raises(RuleViolation):
        done.mark_done("activities")


def test_rewriting_a_done_section_takes_its_mark_away() -> None:
    report = complete(started())
    assert set(report.done) == set(SECTIONS)
    rewrites = [
        ("goals", report.assess_goal("goal-1", "partly_met", "Nästan.")),
        ("activities", report.comment_activities("Ändrat.")),
        ("quality_assurance", report.write_quality_assurance(["comparison"], "Jämförelse.")),
        ("improvement_areas", report.write_improvement_areas([("Matematik", "")])),
        ("improvement_proposals", report.add_proposal("improvement-2")),
    ]
    for section, events in rewrites:
        rewritten = apply(report, events)
        assert section not in rewritten.done, section
        assert set(rewritten.done) == set(SECTIONS) - {section}


def test_a_report_is_submitted_only_with_every_section_done() -> None:
    report = started()
    report = apply(report, report.mark_done("activities"))
    with pytest.raises(RuleViolation) as raised:
        report.submit([], TODAY)
    assert "sections" in fields_of(raised)
    assert "goals" in raised.value.fields["sections"][0]
    done = submitted()
    assert (done.status, done.submitted_on) == ("submitted", TODAY)
    assert done.activity_outcomes and done.activity_outcomes[0].outcome == "done"
    with pytest.raises(RuleViolation):
        done.comment_activities("efter inlämning")  # submitted: no changes


def test_a_submitted_report_is_returned_to_draft_with_a_reason() -> None:
    with pytest.raises(RuleViolation):
        started().return_to_draft("för tidigt")
    report = submitted()
    with pytest.raises(InvalidInput):
        report.return_to_draft("")
    returned = apply(report, report.return_to_draft("Komplettera analysen"))
    assert (returned.status, returned.activity_outcomes) == ("draft", None)
    assert apply(returned, returned.comment_activities("Kompletterat")).activities_comment


def test_a_report_is_approved_only_by_its_own_unit_once_submitted() -> None:
    with pytest.raises(RuleViolation):
        started().approve(decision(SCHOOL))  # a draft
    report = submitted()
    with pytest.raises(RuleViolation) as raised:
        report.approve(decision(COMMITTEE, minute_ref="BUN §1"))
    assert fields_of(raised) == {"decided_by": [f"not {SCHOOL.id}"]}
    with pytest.raises(InvalidInput):
        report.approve(decision(SCHOOL, on=TODAY - dt.timedelta(days=1)))  # before submission
    approved = apply(report, report.approve(decision(SCHOOL)))
    assert (approved.status, approved.decided_by, approved.minute_ref) == (
        "approved",
        SCHOOL.id,
        None,
    ), "a manager's decision needs no minute reference"
    with pytest.raises(RuleViolation):
        approved.write_improvement_areas([("Ny", "")])  # approved: no changes


def test_a_committees_decision_needs_its_minute_reference() -> None:
    with pytest.raises(InvalidInput) as raised:
        decision(COMMITTEE)
    assert "minute_ref" in fields_of(raised)
    with pytest.raises(InvalidInput):
        decision(COMMITTEE, minute_ref="   ")
    report = submitted(started(COMMITTEE))
    approved = apply(report, report.approve(decision(COMMITTEE, minute_ref="BUN §12")))
    assert approved.minute_ref == "BUN §12"


@pytest.mark.parametrize(
    "decider, on, field",
    [
        (UnitFacts("org-unit-x", "X", "unit", "unknown"), TODAY, "decided_by"),
        (UnitFacts("org-unit-x", "X", "unit", "closed"), TODAY, "decided_by"),
    ],
)
def test_a_decision_is_of_a_known_open_unit(decider: UnitFacts, on: dt.date, field: str) -> None:
    with pytest.raises(RuleViolation) as raised:
        decision(decider, on)
    assert field in fields_of(raised)


def test_a_decision_is_not_dated_in_the_future() -> None:
    with pytest.raises(InvalidInput) as raised:
        decision(SCHOOL, TODAY + dt.timedelta(days=1))
    assert "decided_on" in fields_of(raised)


def test_an_approved_report_is_reopened_by_its_unit_with_a_reason_not_before_approval() -> None:
    report = submitted()
    with pytest.raises(RuleViolation):
        report.reopen(decision(SCHOOL), "inte godkänd än")
    approved = apply(report, report.approve(decision(SCHOOL)))
    with pytest.raises(InvalidInput):
        approved.reopen(decision(SCHOOL), "")
    with pytest.raises(RuleViolation):
        approved.reopen(decision(COMMITTEE, minute_ref="BUN §2"), "fel organ")
    earlier = Decision(SCHOOL.id, TODAY - dt.timedelta(days=1), None)
    with pytest.raises(InvalidInput) as raised:
        approved.reopen(earlier, "före godkännandet")
    assert "decided_on" in fields_of(raised)
    reopened = apply(approved, approved.reopen(decision(SCHOOL), "Ny statistik"))
    assert (reopened.status, reopened.activity_outcomes) == ("draft", None)
    assert [r.reason for r in reopened.reopenings] == ["Ny statistik"]
    assert set(reopened.done) == set(SECTIONS), "the marks stay until a section is rewritten"


# -- improvement proposals ------------------------------------------------------------------------


def drafted(title: str = "Läsfrämjande insatser") -> Improvement:
    events = Improvement.draft("improvement-1", "report-1", SCHOOL.id, "2025", title, None)
    return fold(IMPROVEMENT, events)


def test_a_proposal_is_drafted_edited_and_proposed_once() -> None:
    with pytest.raises(InvalidInput):
        drafted("")
    proposal = drafted()
    with pytest.raises(RuleViolation) as unchanged:
        proposal.edit(None, None)
    assert fields_of(unchanged) == {"title": ["unchanged"]}
    edited = apply(proposal, proposal.edit(None, "åk 4-6"))
    assert (edited.title, edited.description) == ("Läsfrämjande insatser", "åk 4-6")
    proposed_events = edited.propose(SCHOOL.id, TODAY, None)
    [event] = proposed_events
    assert isinstance(event, Improvement.Proposed)
    assert (event.unit_id, event.period, event.title) == (SCHOOL.id, "2025", edited.title)
    proposed = apply(edited, proposed_events)
    assert proposed.status == "proposed"
    assert proposed.propose(SCHOOL.id, TODAY, None) == [], "proposed only once"
    with pytest.raises(RuleViolation) as raised:
        proposed.edit("Ändrad", None)
    assert fields_of(raised) == {"status": ["proposed"]}


def test_a_withdrawn_proposal_is_neither_proposed_nor_changed() -> None:
    proposal = drafted()
    with pytest.raises(InvalidInput):
        proposal.withdraw("")
    withdrawn = apply(proposal, proposal.withdraw("Ingår i ett annat förslag"))
    assert withdrawn.status == "withdrawn"
    assert withdrawn.propose(SCHOOL.id, TODAY, None) == []
    with pytest.raises(RuleViolation) as raised:
        withdrawn.edit("Ny", None)
    assert fields_of(raised) == {"status": ["withdrawn"]}
    with pytest.raises(RuleViolation) as raised:
        withdrawn.withdraw("igen")
    assert fields_of(raised) == {"status": ["withdrawn"]}


def test_a_report_keeps_its_proposals_and_takes_none_once_submitted() -> None:
    report = started()
    report = apply(report, report.add_proposal("improvement-1"))
    report = apply(report, report.add_proposal("improvement-2"))
    report = apply(report, report.remove_proposal("improvement-1"))
    assert report.proposal_ids == ("improvement-2",)
    with pytest.raises(RuleViolation):
        submitted(report).add_proposal("improvement-3")


# -- the annual report: the year's close ----------------------------------------------------------

AFTER_2025 = dt.date(2026, 2, 20)


def kf(on: dt.date = AFTER_2025, minute_ref: str = "KF §45") -> Decision:
    return decision(COUNCIL, on, minute_ref)


HEADS = {
    "reports": ChainHead(41, "a" * 64),
    "goals": ChainHead(120, "b" * 64),
    "plans": ChainHead(0, "0" * 64),
}


def closed_2025() -> AnnualReport:
    return fold(ANNUAL, AnnualReport.approve_first(2025, COUNCIL, kf(), HEADS))


def test_the_annual_report_is_approved_by_the_council_after_the_year() -> None:
    with pytest.raises(RuleViolation) as raised:
        AnnualReport.approve_first(
            2025, COMMITTEE, decision(COMMITTEE, AFTER_2025, "BUN §1"), HEADS
        )
    assert fields_of(raised) == {"decided_by": ["not the council"]}
    with pytest.raises(InvalidInput) as invalid:
        AnnualReport.approve_first(2025, COUNCIL, kf(dt.date(2025, 12, 31)), HEADS)
    assert fields_of(invalid) == {"decided_on": ["before the year ended"]}
    with pytest.raises(InvalidInput):
        AnnualReport.approve_first(2026, COUNCIL, kf(), HEADS)  # 2026 has not ended
    year = closed_2025()
    assert (year.closed, year.minute_ref, year.id) == (True, "KF §45", "annual-report-2025")


def test_a_closed_year_refuses_changes_naming_the_decision() -> None:
    refusal = closed_2025().refusal("its results")
    assert refusal.fields == {"year": ["closed by the annual report's approval"]}
    assert "KF §45" in str(refusal)
    with pytest.raises(RuleViolation):
        closed_2025().approve_again(COUNCIL, kf(), HEADS)  # approved already


def test_a_year_is_reopened_by_the_council_with_a_reason_and_approved_again() -> None:
    year = closed_2025()
    with pytest.raises(RuleViolation):
        year.reopen(COMMITTEE, decision(COMMITTEE, AFTER_2025, "BUN §3"), "fel organ")
    with pytest.raises(InvalidInput):
        year.reopen(COUNCIL, kf(), "")
    with pytest.raises(InvalidInput) as raised:
        year.reopen(COUNCIL, kf(AFTER_2025 - dt.timedelta(days=1)), "före godkännandet")
    assert "decided_on" in fields_of(raised)
    reopened = apply(year, year.reopen(COUNCIL, kf(minute_ref="KF §60"), "Rättelse av utfall"))
    assert (reopened.closed, reopened.status, reopened.minute_ref) == (False, "reopened", "KF §60")
    with pytest.raises(RuleViolation):
        reopened.reopen(COUNCIL, kf(), "igen")  # open already
    later = {**HEADS, "reports": ChainHead(57, "c" * 64)}
    again = apply(reopened, reopened.approve_again(COUNCIL, kf(minute_ref="KF §70"), later))
    assert again.closed and [d.kind for d in again.decisions] == [
        "approved",
        "reopened",
        "approved",
    ]
    assert [d.reason for d in again.decisions] == [None, "Rättelse av utfall", None]
    assert reopened.chain_heads == HEADS, "the reopening keeps the approval's heads beside it"
    assert again.chain_heads == later


def test_the_approval_states_every_stores_head_and_v1_reads_without_any() -> None:
    [approved] = AnnualReport.approve_first(2025, COUNCIL, kf(), HEADS)
    assert approved.TYPE == "AnnualReportApproved.v2"
    data = approved.as_data()
    assert data["chain_heads"] == {
        "reports": {"position": 41, "hash": "a" * 64},
        "goals": {"position": 120, "hash": "b" * 64},
        "plans": {"position": 0, "hash": "0" * 64},
    }
    with pytest.raises(ValueError, match="plans"):
        AnnualReport.approve_first(2025, COUNCIL, kf(), {"reports": HEADS["reports"]})
    with pytest.raises(ValueError, match="chain head"):
        AnnualReport.approve_first(2025, COUNCIL, kf(), {**HEADS, "goals": ChainHead(3, "ab")})
    v1 = {k: v for k, v in data.items() if k != "chain_heads"}
    stored = RecordedEvent(
        1, "annual-report-2025", "annual_report", 1, uuid.uuid4(), "AnnualReportApproved.v1",
        v1, {}, dt.datetime.now(dt.UTC), "0" * 64, "1" * 64,
    )  # fmt: skip
    read = reports_events.upcasters().upcast(stored)
    assert read.event_type == "AnnualReportApproved.v2"
    old = fold(ANNUAL, [annual_domain.EVENTS.decode(read)])
    assert old.closed and old.chain_heads is None
