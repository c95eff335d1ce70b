"""Command handlers of the reports service: load, decide, append — one transaction each.

What reports knows of units, goals, indicators, plans and activities comes from its read models
of goals.events and plans.events (services/reports/known.py), never from a call to another
service on the command path. A change to a closed year's follow-up is refused here, under a
lock the year's closing decision takes exclusively, so the two never pass each other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg

from services.reports import chain_heads, known
from services.reports.domain import annual, assessment, improvement, periods, report, result, rules
from services.reports.domain.annual import AnnualReport
from services.reports.domain.assessment import GoalAssessment, GoalFacts
from services.reports.domain.decisions import Decision, UnitFacts
from services.reports.domain.improvement import Improvement
from services.reports.domain.report import ActivityOutcome, Note, QualityReport, outcome_of
from services.reports.domain.result import IndicatorFacts, IndicatorResult, Measurement
from services.reports.domain.rules import RuleBook
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, S
from shared.commands import change, load
from shared.errors import RuleViolation
from shared.events import Metadata
from shared.store import ConcurrencyError
from shared.uow import UnitOfWork

Conn = psycopg.Connection[Any]

#: the first key of the advisory locks of a year's follow-up (the second is the year)
_YEAR_LOCK = 0x59454152  # "YEAR"


# -- facts from the read models ------------------------------------------------------------------


def unit_facts(uow: UnitOfWork, unit_id: str) -> UnitFacts:
    row = known.unit(uow.conn, unit_id)
    if row is None:
        return UnitFacts(unit_id, unit_id, "", "unknown")
    return UnitFacts(row.id, row.name, row.kind, row.status)


def goal_facts(uow: UnitOfWork, goal_id: str) -> GoalFacts:
    row = known.goal(uow.conn, goal_id)
    if row is None:
        return GoalFacts(goal_id, "unknown")
    return GoalFacts(row.id, row.status, row.period, row.owner_unit_id, row.title)


def indicator_facts(uow: UnitOfWork, indicator_id: str) -> IndicatorFacts:
    row = known.indicator(uow.conn, indicator_id)
    if row is None:
        return IndicatorFacts(indicator_id, "unknown")
    return IndicatorFacts(row.id, row.status, row.name)


def activity_outcomes(conn: Conn, plan_id: str | None, day: dt.date) -> list[ActivityOutcome]:
    """The outcomes of a plan's activities on `day`, from the plans read model."""
    if plan_id is None:
        return []
    return [
        ActivityOutcome(
            a.id,
            a.title,
            a.status,
            outcome_of(a.status, a.due_on, day),
            a.due_on,
            a.completed_on,
            a.cancelled_on,
            a.cancel_reason,
            tuple(Note(n.written_on, n.text) for n in a.notes),
        )
        for a in known.activities(conn, plan_id)
    ]


# -- the year's lock -------------------------------------------------------------------------------


def require_year_open(uow: UnitOfWork, year: int, what: str) -> None:
    """Refuse (409, naming the decision) a change to the follow-up of a closed year. The shared
    lock is held to the end of the transaction, so the year cannot close meanwhile."""
    uow.conn.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [_YEAR_LOCK, year])
    events = uow.load(annual.annual_report_id(year))
    if events:
        state = annual.KIND.fold_new(annual.EVENTS.decode_all(events))
        if state.closed:
            raise state.refusal(what)


def lock_years(uow: UnitOfWork, years: Sequence[int]) -> None:
    """Take the years' shared locks now, in order, before anything is appended: a transaction
    of many commands (an import's batch) takes them as each command would, first."""
    for year in sorted(set(years)):
        uow.conn.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [_YEAR_LOCK, year])


def _append(
    uow: UnitOfWork,
    metadata: Metadata,
    stream_id: str,
    stream_type: str,
    version: int,
    events: Sequence[DomainEvent],
) -> None:
    uow.append(stream_id, stream_type, version, [e.to_new_event() for e in events], metadata)


def _create(
    uow: UnitOfWork,
    metadata: Metadata,
    kind: AggregateKind[S],
    entity_id: str,
    events: list[DomainEvent],
    exists: Callable[[], RuleViolation],
) -> S:
    try:
        _append(uow, metadata, entity_id, kind.stream_type, 0, events)
    except ConcurrencyError:
        raise exists() from None
    return kind.fold_new(events)


# -- results -------------------------------------------------------------------------------------


def record_result(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    indicator_id: str,
    period: str,
    value: object,
    women: object = None,
    men: object = None,
    source: object = "manual",
    comment: object = None,
) -> IndicatorResult:
    canonical = periods.result_period(period)
    result_id = result.result_id_for(indicator_id, canonical)
    measurement = Measurement.check(value, women, men, source, comment)
    with uow:
        require_year_open(uow, periods.year_of(canonical), "its results")
        events = IndicatorResult.record(
            result_id, indicator_facts(uow, indicator_id), canonical, measurement, values.today()
        )
        return _create(
            uow,
            metadata,
            result.KIND,
            result_id,
            events,
            lambda: RuleViolation(
                f"a result of {indicator_id} for {canonical} is recorded already: correct it "
                f"(POST /api/v1/results/{result_id}/correct)",
                {"period": ["a result for this indicator and period exists"]},
                result_id=result_id,
            ),
        )


def _change_in_open_year(
    uow: UnitOfWork,
    metadata: Metadata,
    kind: AggregateKind[S],
    entity_id: str,
    expected: int | None,
    year_of: Callable[[S], int],
    what: str,
    decide: Callable[[S], list[DomainEvent]],
) -> S:
    """shared.commands.change for the follow-up of a year, refused once the year is closed."""

    def decide_if_open(state: S) -> list[DomainEvent]:
        require_year_open(uow, year_of(state), what)
        return decide(state)

    return change(uow, metadata, kind, entity_id, expected, decide_if_open)


def correct_result(
    uow: UnitOfWork,
    metadata: Metadata,
    result_id: str,
    expected: int | None,
    *,
    value: object,
    women: object = None,
    men: object = None,
    source: object = "manual",
    comment: object = None,
    reason: str,
) -> IndicatorResult:
    measurement = Measurement.check(value, women, men, source, comment)
    return _change_in_open_year(
        uow,
        metadata,
        result.KIND,
        result_id,
        expected,
        lambda r: r.year,
        "its results",
        lambda r: r.correct(measurement, reason),
    )


def withdraw_result(
    uow: UnitOfWork, metadata: Metadata, result_id: str, expected: int | None, reason: str
) -> IndicatorResult:
    return _change_in_open_year(
        uow,
        metadata,
        result.KIND,
        result_id,
        expected,
        lambda r: r.year,
        "its results",
        lambda r: r.withdraw(reason),
    )


# -- assessments ---------------------------------------------------------------------------------


def assess_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    goal_id: str,
    year: object,
    verdict: object,
    analysis: object,
) -> GoalAssessment:
    """Assess a goal for a year: the first assessment begins the stream, a later one adds to it
    (the earlier ones stay in the history)."""
    the_year = values.year(year, "year")
    assessment_id = assessment.assessment_id_for(goal_id, the_year)
    today = values.today()
    with uow:
        require_year_open(uow, the_year, "its goal assessments")
        events = uow.load(assessment_id)
        if events:
            state = assessment.KIND.fold_new(assessment.EVENTS.decode_all(events))
            decided = state.reassess(goal_facts(uow, goal_id), verdict, analysis, today)
            _append(uow, metadata, assessment_id, assessment.STREAM_TYPE, state.version, decided)
            for event in decided:
                state = state.when(event)
            return state
        decided = GoalAssessment.assess(
            assessment_id, goal_facts(uow, goal_id), the_year, verdict, analysis, today
        )
        _append(uow, metadata, assessment_id, assessment.STREAM_TYPE, 0, decided)
        return assessment.KIND.fold_new(decided)


# -- quality reports -----------------------------------------------------------------------------


def start_report(
    uow: UnitOfWork, metadata: Metadata, *, unit_id: str, period: str
) -> QualityReport:
    canonical = periods.report_period(period)
    report_id = report.report_id_for(unit_id, canonical)
    with uow:
        require_year_open(uow, periods.year_of(canonical), "its quality reports")
        plan = known.plan_for(uow.conn, unit_id, canonical)
        events = QualityReport.start(
            report_id,
            unit_facts(uow, unit_id),
            canonical,
            plan.id if plan else None,
            goals_served(uow, unit_id, canonical),
            values.today(),
        )
        return _create(
            uow,
            metadata,
            report.KIND,
            report_id,
            events,
            lambda: RuleViolation(
                f"{unit_id} has a quality report for {canonical} already: {report_id}",
                {"period": ["a report for this unit and period exists"]},
                report_id=report_id,
            ),
        )


def change_report(
    uow: UnitOfWork,
    metadata: Metadata,
    report_id: str,
    expected: int | None,
    decide: Callable[[QualityReport], list[DomainEvent]],
) -> QualityReport:
    return _change_in_open_year(
        uow,
        metadata,
        report.KIND,
        report_id,
        expected,
        lambda r: periods.year_of(r.period),
        "its quality reports",
        decide,
    )


def goals_served(uow: UnitOfWork, unit_id: str, period: str) -> Sequence[str]:
    """The goals a unit's report covers: those its plan for the period serves, or, for a unit
    without a plan (a committee), the adopted goals it owns that cover the period's year."""
    plan = known.plan_for(uow.conn, unit_id, period)
    if plan is not None:
        return plan.goal_ids
    return known.goals_owned_by(uow.conn, unit_id, periods.year_of(period))


def write_goal_section(
    uow: UnitOfWork,
    metadata: Metadata,
    report_id: str,
    expected: int | None,
    *,
    goal_id: str,
    verdict: object,
    analysis: object,
) -> QualityReport:
    return change_report(
        uow,
        metadata,
        report_id,
        expected,
        lambda r: r.assess_goal(goal_id, verdict, analysis, goals_served(uow, r.unit_id, r.period)),
    )


def submit_report(
    uow: UnitOfWork, metadata: Metadata, report_id: str, expected: int | None
) -> QualityReport:
    today = values.today()
    return change_report(
        uow,
        metadata,
        report_id,
        expected,
        lambda r: r.submit(activity_outcomes(uow.conn, r.plan_id, today), today),
    )


def _decision(
    uow: UnitOfWork, decided_by: str, decided_on: dt.date, minute_ref: str | None
) -> Decision:
    return Decision.check(unit_facts(uow, decided_by), decided_on, minute_ref, values.today())


def approve_report(
    uow: UnitOfWork,
    metadata: Metadata,
    report_id: str,
    expected: int | None,
    *,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> QualityReport:
    """Approve the report, and in the same transaction propose each of its improvement
    proposals still standing (`ImprovementProposed` on reports.events, read by plans)."""
    with uow:
        state = load(uow, report.KIND, report_id)
        require_year_open(uow, periods.year_of(state.period), "its quality reports")
        if expected is not None and expected != state.version:
            raise ConcurrencyError(report_id, expected, state.version)
        decision = _decision(uow, decided_by, decided_on, minute_ref)
        approved = state.approve(decision)
        _append(uow, metadata, report_id, report.STREAM_TYPE, state.version, approved)
        for proposal_id in state.proposal_ids:
            proposal = load(uow, improvement.KIND, proposal_id)
            proposed = proposal.propose(
                decision.decided_by, decision.decided_on, decision.minute_ref
            )
            if proposed:
                _append(
                    uow, metadata, proposal_id, improvement.STREAM_TYPE, proposal.version, proposed
                )
    for event in approved:
        state = state.when(event)
    return state


def reopen_report(
    uow: UnitOfWork,
    metadata: Metadata,
    report_id: str,
    expected: int | None,
    *,
    reason: str,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> QualityReport:
    return change_report(
        uow,
        metadata,
        report_id,
        expected,
        lambda r: r.reopen(_decision(uow, decided_by, decided_on, minute_ref), reason),
    )


# -- improvement proposals -----------------------------------------------------------------------


def draft_proposal(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    report_id: str,
    title: str,
    description: str | None = None,
) -> Improvement:
    proposal_id = f"{improvement.STREAM_PREFIX}{uuid.uuid4()}"
    with uow:
        owner = load(uow, report.KIND, report_id, "report_id")
        require_year_open(uow, periods.year_of(owner.period), "its quality reports")
        drafted = Improvement.draft(
            proposal_id, report_id, owner.unit_id, owner.period, title, description
        )
        added = owner.add_proposal(proposal_id)
        _append(uow, metadata, report_id, report.STREAM_TYPE, owner.version, added)
        _append(uow, metadata, proposal_id, improvement.STREAM_TYPE, 0, drafted)
    return improvement.KIND.fold_new(drafted)


def _change_proposal(
    uow: UnitOfWork,
    metadata: Metadata,
    proposal_id: str,
    expected: int | None,
    decide: Callable[[Improvement], list[DomainEvent]],
    report_events: Callable[[QualityReport, Improvement], list[DomainEvent]],
) -> Improvement:
    """A change to a proposal also appends to its report (at the version read), so it cannot
    pass the report's submission or approval unseen."""
    with uow:
        state = load(uow, improvement.KIND, proposal_id)
        owner = load(uow, report.KIND, state.report_id)
        require_year_open(uow, periods.year_of(owner.period), "its quality reports")
        if expected is not None and expected != state.version:
            raise ConcurrencyError(proposal_id, expected, state.version)
        owner._require_draft()
        decided = decide(state)
        on_report = report_events(owner, state)
        _append(uow, metadata, state.report_id, report.STREAM_TYPE, owner.version, on_report)
        _append(uow, metadata, proposal_id, improvement.STREAM_TYPE, state.version, decided)
    for event in decided:
        state = state.when(event)
    return state


def edit_proposal(
    uow: UnitOfWork,
    metadata: Metadata,
    proposal_id: str,
    expected: int | None,
    title: str | None,
    description: str | None,
) -> Improvement:
    return _change_proposal(
        uow,
        metadata,
        proposal_id,
        expected,
        lambda p: p.edit(title, description),
        lambda r, p: r.note_proposal_edited(p.id),
    )


def withdraw_proposal(
    uow: UnitOfWork, metadata: Metadata, proposal_id: str, expected: int | None, reason: str
) -> Improvement:
    return _change_proposal(
        uow,
        metadata,
        proposal_id,
        expected,
        lambda p: p.withdraw(reason),
        lambda r, p: r.remove_proposal(p.id),
    )


# -- the year's close and the status rules --------------------------------------------------------


def approve_annual_report(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    year: object,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> AnnualReport:
    the_year = values.year(year, "year")
    stream_id = annual.annual_report_id(the_year)
    with uow:
        # exclusive: no change to the year's follow-up is under way or can begin meanwhile
        uow.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_YEAR_LOCK, the_year])
        council = unit_facts(uow, decided_by)
        decision = _decision(uow, decided_by, decided_on, minute_ref)
        events = uow.load(stream_id)
        # last: from here to the commit no other append can come between the head and us
        heads = chain_heads.at_approval(uow.conn)
        if events:
            state = annual.KIND.fold_new(annual.EVENTS.decode_all(events))
            decided = state.approve_again(council, decision, heads)
            version = state.version
        else:
            decided = AnnualReport.approve_first(the_year, council, decision, heads)
            version = 0
        _append(uow, metadata, stream_id, annual.STREAM_TYPE, version, decided)
    if events:
        for event in decided:
            state = state.when(event)
        return state
    return annual.KIND.fold_new(decided)


def reopen_year(
    uow: UnitOfWork,
    metadata: Metadata,
    stream_id: str,
    expected: int | None,
    *,
    reason: str,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> AnnualReport:
    def decide(state: AnnualReport) -> list[DomainEvent]:
        uow.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_YEAR_LOCK, state.year])
        council = unit_facts(uow, decided_by)
        return state.reopen(council, _decision(uow, decided_by, decided_on, minute_ref), reason)

    return change(uow, metadata, annual.KIND, stream_id, expected, decide)


def set_status_rules(
    uow: UnitOfWork,
    metadata: Metadata,
    expected: int | None,
    *,
    raw: Mapping[str, object],
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> RuleBook:
    with uow:
        events = uow.load(rules.STREAM_ID)
        state = rules.KIND.fold_new(rules.EVENTS.decode_all(events)) if events else None
        version = state.version if state else 0
        if expected is not None and expected != version:
            raise ConcurrencyError(rules.STREAM_ID, expected, version)
        decided = RuleBook.decide(
            raw, unit_facts(uow, decided_by), _decision(uow, decided_by, decided_on, minute_ref)
        )
        _append(uow, metadata, rules.STREAM_ID, rules.STREAM_TYPE, version, decided)
    if state is None:
        return rules.KIND.fold_new(decided)
    for event in decided:
        state = state.when(event)
    return state
