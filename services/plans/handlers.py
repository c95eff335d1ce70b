"""Command handlers of the plans service: load, decide, append — one transaction each.

What plans knows of units and goals comes from its own read models of goals.events, never from
a call to the goals service on the command path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from services.plans.domain import activity, agreement, plan
from services.plans.domain.activity import Activity, Work
from services.plans.domain.agreement import EmployeeAgreement
from services.plans.domain.plan import ActionPlan, GoalFacts, check_period, plan_id_for
from shared import versions
from shared.aggregate import DomainEvent
from shared.commands import change, load
from shared.errors import NotFound, RuleViolation
from shared.events import Metadata
from shared.store import ConcurrencyError
from shared.uow import UnitOfWork


def known_unit(uow: UnitOfWork, unit_id: str) -> Any:
    row = uow.conn.execute(
        "SELECT id, name, kind, status FROM known_org_units WHERE id = %s", [unit_id]
    ).fetchone()
    if row is None:
        raise NotFound(
            f"no organisation unit {unit_id} is known here", {"unit_id": ["unknown unit"]}
        )
    return _Unit(*row)


class _Unit:
    def __init__(self, id: str, name: str, kind: str, status: str) -> None:
        self.id, self.name, self.kind, self.status = id, name, kind, status


def known_goals(uow: UnitOfWork, goal_ids: Sequence[str]) -> list[GoalFacts]:
    rows = uow.conn.execute(
        "SELECT id, level, status, title FROM known_goals WHERE id = ANY(%s)", [list(goal_ids)]
    ).fetchall()
    found = {r[0]: GoalFacts(*r) for r in rows}
    return [found.get(g, GoalFacts(g, "", "unknown")) for g in dict.fromkeys(goal_ids)]


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


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
    plan_id = plan_id_for(unit_id, check_period(period))
    with uow:
        events = ActionPlan.draft(
            plan_id, known_unit(uow, unit_id), period, title, known_goals(uow, goal_ids), today()
        )
        try:
            uow.append(plan_id, plan.STREAM_TYPE, 0, [e.to_new_event() for e in events], metadata)
        except ConcurrencyError:
            raise RuleViolation(
                f"{unit_id} already has a plan for {period}: {plan_id}",
                {"period": ["a plan for this unit and period exists"]},
            ) from None
    return plan.KIND.fold_new(events)


def link_goals(
    uow: UnitOfWork, metadata: Metadata, plan_id: str, expected: int | None, goal_ids: Sequence[str]
) -> ActionPlan:
    return change(
        uow,
        metadata,
        plan.KIND,
        plan_id,
        expected,
        lambda p: p.link_goals(known_goals(uow, goal_ids)),
    )


def adopt_plan(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    expected: int | None,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None,
) -> ActionPlan:
    return change(
        uow,
        metadata,
        plan.KIND,
        plan_id,
        expected,
        lambda p: p.adopt(decided_by, decided_on, minute_ref),
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
    return change(
        uow,
        metadata,
        plan.KIND,
        plan_id,
        expected,
        lambda p: p.revise(
            title,
            known_goals(uow, goal_ids) if goal_ids is not None else None,
            decided_by,
            decided_on,
            minute_ref,
        ),
    )


def enter_phase(
    uow: UnitOfWork,
    metadata: Metadata,
    plan_id: str,
    expected: int | None,
    phase: str,
    since: dt.date | None,
) -> ActionPlan:
    return change(
        uow,
        metadata,
        plan.KIND,
        plan_id,
        expected,
        lambda p: p.enter_phase(phase, since or today()),
    )


def close_plan(
    uow: UnitOfWork, metadata: Metadata, plan_id: str, expected: int | None, summary: str
) -> ActionPlan:
    return change(uow, metadata, plan.KIND, plan_id, expected, lambda p: p.close(summary))


# -- activities ---------------------------------------------------------------------------------


def plan_activity(uow: UnitOfWork, metadata: Metadata, plan_id: str, work: Work) -> Activity:
    activity_id = f"{activity.STREAM_PREFIX}{uuid.uuid4()}"
    with uow:
        owner = load(uow, plan.KIND, plan_id)
        unknown = [g for g in known_goals(uow, work.goal_ids) if g.status == "unknown"]
        if unknown:
            raise NotFound(f"no goal {unknown[0].id} is known here", {"goal_ids": ["unknown goal"]})
        events = Activity.plan(activity_id, plan_id, owner.status, work)
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

    def decide(state: Activity) -> list[DomainEvent]:
        events = state.move(status, today(), reason) if status else []
        if note:
            events += state.note(note, today())
        return events

    return change(uow, metadata, activity.KIND, activity_id, expected, decide)


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
        events = EmployeeAgreement.make(
            agreement_id,
            plan_id,
            owner.unit_id,
            employee_ref,
            tuple(activity_ids),
            _plan_activity_ids(uow, plan_id),
            agreed_on,
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
            tuple(activity_ids), _plan_activity_ids(uow, a.plan_id), agreed_on
        ),
    )


def end_agreement(
    uow: UnitOfWork, metadata: Metadata, agreement_id: str, expected: int | None, ended_on: dt.date
) -> EmployeeAgreement:
    return change(uow, metadata, agreement.KIND, agreement_id, expected, lambda a: a.end(ended_on))
