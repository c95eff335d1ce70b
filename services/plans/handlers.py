"""Command handlers of the plans service: load, decide, append — one transaction each.

What plans knows of units and goals comes from its own read models of goals.events, never from
a call to the goals service on the command path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

from services.plans.domain import activity, agreement, plan, proposal
from services.plans.domain.activity import Activity, IndicatorFacts, Work
from services.plans.domain.agreement import EmployeeAgreement
from services.plans.domain.plan import (
    ActionPlan,
    GoalFacts,
    ReviewReason,
    UnitFacts,
    check_period,
    next_period,
    period_dates,
    plan_id_for,
)
from services.plans.domain.proposal import ImprovementProposal
from shared import values, versions
from shared.aggregate import DomainEvent
from shared.commands import change, load
from shared.errors import InvalidInput, NotFound, RuleViolation, StyrkortError
from shared.events import Metadata
from shared.store import ConcurrencyError
from shared.uow import UnitOfWork


def known_unit(uow: UnitOfWork, unit_id: str) -> UnitFacts:
    row = uow.conn.execute(
        "SELECT id, name, kind, status FROM known_org_units WHERE id = %s", [unit_id]
    ).fetchone()
    if row is None:
        raise NotFound(
            f"no organisation unit {unit_id} is known here", {"unit_id": ["unknown unit"]}
        )
    return UnitFacts(*row)


def known_goals(uow: UnitOfWork, goal_ids: Sequence[str]) -> list[GoalFacts]:
    rows = uow.conn.execute(
        "SELECT id, level, status, title, period FROM known_goals WHERE id = ANY(%s)",
        [list(goal_ids)],
    ).fetchall()
    found = {r[0]: GoalFacts(*r) for r in rows}
    return [found.get(g, GoalFacts(g, "", "unknown")) for g in dict.fromkeys(goal_ids)]


def known_indicators(uow: UnitOfWork, indicator_ids: Sequence[str]) -> list[IndicatorFacts]:
    rows = uow.conn.execute(
        "SELECT id, goal_id, status FROM known_indicators WHERE id = ANY(%s)",
        [list(indicator_ids)],
    ).fetchall()
    return [IndicatorFacts(*r) for r in rows]


# -- plans --------------------------------------------------------------------------------------


def draft_plan(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    unit_id: str,
    period: str,
    title: str,
    goal_ids: Sequence[str],
) -> ActionPlan:
    canonical = check_period(period)
    plan_id = plan_id_for(unit_id, canonical)
    with uow:
        events = ActionPlan.draft(
            plan_id,
            known_unit(uow, unit_id),
            canonical,
            title,
            known_goals(uow, goal_ids),
            values.today(),
        )
        try:
            uow.append(plan_id, plan.STREAM_TYPE, 0, [e.to_new_event() for e in events], metadata)
        except ConcurrencyError:
            raise RuleViolation(
                f"{unit_id} already has a plan for {canonical}: {plan_id}",
                {"period": ["a plan for this unit and period exists"]},
            ) from None
    return plan.KIND.fold_new(events)


def _open_work(uow: UnitOfWork, plan_id: str) -> list[Work]:
    """What the plan's open activities (planned, in progress) are."""
    found = versions.find(uow.conn, activity.STREAM_TYPE, where={"plan_id": plan_id})
    return [
        activity.KIND.restore(a).work for a in found if a["status"] in ("planned", "in_progress")
    ]


def _change_open_plan(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    expected: int | None,
    what: str,
    decide: Callable[[ActionPlan], list[DomainEvent]],
) -> ActionPlan:
    """shared.commands.change for what a closed unit's plan no longer takes (`what`)."""

    def decide_if_open(state: ActionPlan) -> list[DomainEvent]:
        state.require_unit_open(known_unit(uow, state.unit_id), what)
        return decide(state)

    return change(uow, metadata, plan.KIND, plan_id, expected, decide_if_open)


def link_goals(
    uow: UnitOfWork, metadata: Metadata, plan_id: str, expected: int | None, goal_ids: Sequence[str]
) -> ActionPlan:
    def decide(state: ActionPlan) -> list[DomainEvent]:
        linked = state.link_goals(known_goals(uow, goal_ids))
        state.require_goals_kept(goal_ids, _open_work(uow, plan_id))
        return linked

    return _change_open_plan(uow, metadata, plan_id, expected, "new goals", decide)


def adopt_plan(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    expected: int | None,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None,
) -> ActionPlan:
    return _change_open_plan(
        uow,
        metadata,
        plan_id,
        expected,
        "decisions",
        lambda p: p.adopt(decided_by, decided_on, minute_ref, values.today()),
    )


def revise_plan(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    expected: int | None,
    title: str | None,
    goal_ids: Sequence[str] | None,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None,
) -> ActionPlan:
    def decide(state: ActionPlan) -> list[DomainEvent]:
        revised = state.revise(
            title,
            known_goals(uow, goal_ids) if goal_ids is not None else None,
            decided_by,
            decided_on,
            minute_ref,
            values.today(),
        )
        if goal_ids is not None:
            state.require_goals_kept(goal_ids, _open_work(uow, plan_id))
        return revised

    return _change_open_plan(uow, metadata, plan_id, expected, "decisions", decide)


def enter_phase(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    expected: int | None,
    phase: str,
    since: dt.date | None,
) -> ActionPlan:
    today = values.today()
    return _change_open_plan(
        uow,
        metadata,
        plan_id,
        expected,
        "phase changes",
        lambda p: p.enter_phase(phase, since or today, today),
    )


def close_plan(
    uow: UnitOfWork, metadata: Metadata, plan_id: str, expected: int | None, summary: str
) -> ActionPlan:
    return change(uow, metadata, plan.KIND, plan_id, expected, lambda p: p.close(summary))


def flag_plan_for_review(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    goal_id: str,
    reason: ReviewReason,
    cause_event_id: str,
    on: dt.date,
) -> ActionPlan:
    """The reaction to a revised or retired goal (from goals.events), one plan at a time."""
    return change(
        uow,
        metadata,
        plan.KIND,
        plan_id,
        None,
        lambda p: p.flag_for_review(goal_id, reason, cause_event_id, on),
    )


# -- activities ---------------------------------------------------------------------------------


def plan_activity(uow: UnitOfWork, metadata: Metadata, plan_id: str, work: Work) -> Activity:
    activity_id = f"{activity.STREAM_PREFIX}{uuid.uuid4()}"
    with uow:
        owner = load(uow, plan.KIND, plan_id)
        owner.require_unit_open(known_unit(uow, owner.unit_id), "new activities")
        indicators = known_indicators(uow, work.indicator_ids)
        events = Activity.plan(activity_id, owner, work, indicators)
        uow.append(
            activity_id, activity.STREAM_TYPE, 0, [e.to_new_event() for e in events], metadata
        )
    return activity.KIND.fold_new(events)


def report_progress(
    uow: UnitOfWork,
    metadata: Metadata,
    activity_id: str,
    expected: int | None,
    status: str | None,
    note: str | None,
    reason: str,
) -> Activity:
    """Move the activity on and/or add a progress note, in one command."""
    today = values.today()

    def decide(state: Activity) -> list[DomainEvent]:
        owner = load(uow, plan.KIND, state.plan_id)
        events = state.move(status, today, owner, reason) if status else []
        if note:
            events += state.note(note, today, owner)
        return events

    return change(uow, metadata, activity.KIND, activity_id, expected, decide)


def take_improvement_proposal(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    proposal_id: str,
    unit_id: object,
    period: object,
    title: object,
) -> ImprovementProposal | None:
    """The reaction to an improvement proposal (reports.events): it becomes a proposed activity
    of the unit's plan for the period after the report's, the plan drafted if there is none —
    by the same aggregate methods as the API, so what the API refuses is refused here too, and
    recorded as a rejected proposal with the reason. None if the proposal was taken already."""
    stream_id = proposal.proposal_stream_id(proposal_id)
    activity_id = proposal.activity_id_for(proposal_id)
    with uow:
        if uow.store.stream_version(uow.conn, stream_id):
            return None  # delivered again: decided the first time
        appends: list[tuple[str, str, int, list[DomainEvent]]] = []
        try:
            if not isinstance(unit_id, str) or not isinstance(title, str):
                raise InvalidInput(
                    "the proposal names no unit_id or title this service can read",
                    {"proposal": ["unreadable"]},
                )
            next_one = next_period(check_period(period))
            plan_id = plan_id_for(unit_id, next_one)
            events = uow.load(plan_id)
            if events:
                owner = plan.KIND.fold_new(plan.EVENTS.decode_all(events))
                owner.require_unit_open(known_unit(uow, unit_id), "new activities")
            else:
                drafted = ActionPlan.draft(
                    plan_id,
                    known_unit(uow, unit_id),
                    next_one,
                    f"Handlingsplan {next_one}",
                    (),
                    values.today(),
                )
                appends.append((plan_id, plan.STREAM_TYPE, 0, drafted))
                owner = plan.KIND.fold_new(drafted)
            starts_on, due_on = period_dates(next_one)
            work = Work(title, "the unit's manager", starts_on, due_on)
            planned = Activity.plan(activity_id, owner, work, proposed_by=proposal_id)
            appends.append((activity_id, activity.STREAM_TYPE, 0, planned))
            outcome = ImprovementProposal.accept(proposal_id, activity_id, plan_id)
        except StyrkortError as refused:
            appends = []
            outcome = ImprovementProposal.reject(proposal_id, refused.detail)
        appends.append((stream_id, proposal.STREAM_TYPE, 0, outcome))
        for target, stream_type, version, decided in appends:
            uow.append(target, stream_type, version, [e.to_new_event() for e in decided], metadata)
    return proposal.KIND.fold_new(outcome)


# -- employee agreements ----------------------------------------------------------------------


def _plan_activity_ids(uow: UnitOfWork, plan_id: str) -> set[str]:
    return {
        a["id"] for a in versions.find(uow.conn, activity.STREAM_TYPE, where={"plan_id": plan_id})
    }


def make_agreement(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    *,
    employee_ref: str,
    activity_ids: Sequence[str],
    agreed_on: dt.date,
) -> EmployeeAgreement:
    agreement_id = f"{agreement.STREAM_PREFIX}{uuid.uuid4()}"
    with uow:
        owner = load(uow, plan.KIND, plan_id)
        owner.require_unit_open(known_unit(uow, owner.unit_id), "new agreements")
        events = EmployeeAgreement.make(
            agreement_id,
            owner,
            employee_ref,
            tuple(activity_ids),
            _plan_activity_ids(uow, plan_id),
            agreed_on,
            values.today(),
        )
        uow.append(
            agreement_id, agreement.STREAM_TYPE, 0, [e.to_new_event() for e in events], metadata
        )
    return agreement.KIND.fold_new(events)


def change_agreement(
    uow: UnitOfWork,
    metadata: Metadata,
    agreement_id: str,
    expected: int | None,
    activity_ids: Sequence[str],
    agreed_on: dt.date,
) -> EmployeeAgreement:
    return change(
        uow,
        metadata,
        agreement.KIND,
        agreement_id,
        expected,
        lambda a: a.change_activities(
            load(uow, plan.KIND, a.plan_id),
            tuple(activity_ids),
            _plan_activity_ids(uow, a.plan_id),
            agreed_on,
            values.today(),
        ),
    )


def end_agreement(
    uow: UnitOfWork, metadata: Metadata, agreement_id: str, expected: int | None, ended_on: dt.date
) -> EmployeeAgreement:
    return change(
        uow,
        metadata,
        agreement.KIND,
        agreement_id,
        expected,
        lambda a: a.end(ended_on, values.today()),
    )
