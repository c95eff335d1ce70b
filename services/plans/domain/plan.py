"""Action plans (handlingsplaner): how a sector or unit carries out the operational goals in one
calendar year or school year, and where it stands in the improvement wheel (PDCA).

One plan per unit and period; adopted by the manager of that unit. When a goal it serves is
revised or retired, the plan is flagged for review.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "action_plan"
STREAM_PREFIX = "plan-"
#: the improvement wheel (förbättringshjulet): plan → do → evaluate → improve → plan …
PHASES = ("plan", "do", "evaluate", "improve")
PLANNING_UNITS = ("sector", "unit", "company")
_CALENDAR_YEAR = re.compile(r"^(\d{4})$")
_SCHOOL_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


def check_period(period: str) -> str:
    """A calendar year ("2026") or a school year ("2025/26", läsår)."""
    school = _SCHOOL_YEAR.match(period)
    if _CALENDAR_YEAR.match(period) or (school and (int(school[1]) + 1) % 100 == int(school[2])):
        return period
    raise InvalidInput(
        f"a plan's period is a calendar year like 2026 or a school year like 2025/26, "
        f"not {period!r}",
        {"period": ["not a calendar or school year"]},
    )


PLAN_NAMESPACE = uuid.UUID("0b5f7a52-0a59-4f0e-8d1e-706c616e7300")


def plan_id_for(unit_id: str, period: str) -> str:
    """One plan per unit and period: the id follows from them, so a second is a conflict."""
    return f"{STREAM_PREFIX}{uuid.uuid5(PLAN_NAMESPACE, f'{unit_id}|{period}')}"


def period_dates(period: str) -> tuple[dt.date, dt.date]:
    """First and last day: a calendar year, or a school year from August to June."""
    school = _SCHOOL_YEAR.match(period)
    if school:
        first = int(school[1])
        return dt.date(first, 8, 1), dt.date(first + 1, 6, 30)
    year = int(period)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def next_period(period: str) -> str:
    """The period after: 2026 → 2027, 2025/26 → 2026/27."""
    school = _SCHOOL_YEAR.match(period)
    if school:
        first = int(school[1]) + 1
        return f"{first}/{(first + 1) % 100:02d}"
    return str(int(period) + 1)


@dataclass(frozen=True)
class GoalFacts:
    """What plans knows of a goal from goals.events."""

    id: str
    level: str
    status: str
    title: str = ""


@dataclass(frozen=True)
class PhaseChange:
    phase: str
    since: dt.date


@dataclass(frozen=True)
class ReviewFlag:
    """A goal the plan serves changed: the plan should be looked at again."""

    goal_id: str
    reason: str  # goal_revised, goal_retired
    cause_event_id: str
    flagged_on: dt.date


@dataclass(frozen=True)
class ActionPlan:
    id: str
    unit_id: str
    period: str
    title: str
    goal_ids: tuple[str, ...] = ()
    status: str = "draft"  # draft, adopted, closed
    decided_by: str | None = None
    decided_on: dt.date | None = None
    phases: tuple[PhaseChange, ...] = ()
    review_flags: tuple[ReviewFlag, ...] = ()
    version: int = 0

    @dataclass(frozen=True)
    class Drafted(DomainEvent):
        """An action plan (handlingsplan) of a unit for a period was drafted."""

        TYPE = "ActionPlanDrafted.v1"
        plan_id: str
        unit_id: str
        period: str
        title: str
        goal_ids: tuple[str, ...]
        started_on: dt.date

    @dataclass(frozen=True)
    class GoalsLinked(DomainEvent):
        """The operational goals the plan serves were set."""

        TYPE = "ActionPlanGoalsLinked.v1"
        plan_id: str
        goal_ids: tuple[str, ...]

    @dataclass(frozen=True)
    class Adopted(DomainEvent):
        """The plan was adopted (fastställd) by the manager of its unit."""

        TYPE = "ActionPlanAdopted.v1"
        plan_id: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Revised(DomainEvent):
        """An adopted plan was changed by a new decision of the unit's manager (reviderad)."""

        TYPE = "ActionPlanRevised.v1"
        plan_id: str
        title: str
        goal_ids: tuple[str, ...]
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class PhaseEntered(DomainEvent):
        """The plan entered a phase of the improvement wheel (PDCA)."""

        TYPE = "ActionPlanPhaseEntered.v1"
        plan_id: str
        phase: str
        since: dt.date

    @dataclass(frozen=True)
    class FlaggedForReview(DomainEvent):
        """A goal the plan serves was revised or retired: the plan needs review."""

        TYPE = "ActionPlanFlaggedForReview.v1"
        plan_id: str
        goal_id: str
        reason: str
        cause_event_id: str
        flagged_on: dt.date

    @dataclass(frozen=True)
    class Closed(DomainEvent):
        """The plan was closed at the end of its period."""

        TYPE = "ActionPlanClosed.v1"
        plan_id: str
        summary: str

    # -- commands -----------------------------------------------------------------------------
    @staticmethod
    def draft(
        plan_id: str, unit: Any, period: str, title: str, goals: Sequence[GoalFacts], today: dt.date
    ) -> list[DomainEvent]:
        """`unit` has kind, name and status (what plans knows of it)."""
        check_period(period)
        if unit.kind not in PLANNING_UNITS:
            raise RuleViolation(
                f"action plans are written by sectors, units and company "
                f"operations, not by a {unit.kind}",
                {"unit_id": [f"a {unit.kind}"]},
            )
        if unit.status != "active":
            raise RuleViolation(
                f"{unit.name} is closed and takes no new plans", {"unit_id": ["closed unit"]}
            )
        if not title.strip():
            raise InvalidInput("a plan needs a title", {"title": ["must not be blank"]})
        _check_goals(goals)
        return [
            ActionPlan.Drafted(
                plan_id, unit.id, period, title.strip(), tuple(g.id for g in goals), today
            )
        ]

    def link_goals(self, goals: Sequence[GoalFacts]) -> list[DomainEvent]:
        self._require_open()
        if self.status != "draft":
            raise RuleViolation(
                "an adopted plan changes only by a revision decision (POST …/revise)"
            )
        _check_goals(goals)
        ids = tuple(g.id for g in goals)
        return [] if ids == self.goal_ids else [ActionPlan.GoalsLinked(self.id, ids)]

    def adopt(
        self, decided_by: str, decided_on: dt.date, minute_ref: str | None
    ) -> list[DomainEvent]:
        if self.status != "draft":
            raise RuleViolation(f"the plan is {self.status}; only a draft is adopted")
        self._require_decider(decided_by)
        return [ActionPlan.Adopted(self.id, decided_by, decided_on, minute_ref)]

    def revise(
        self,
        title: str | None,
        goals: Sequence[GoalFacts] | None,
        decided_by: str,
        decided_on: dt.date,
        minute_ref: str | None,
    ) -> list[DomainEvent]:
        """Change an adopted plan (title and/or goals) by a new decision of its manager."""
        if self.status != "adopted":
            raise RuleViolation(f"only an adopted plan is revised; this one is {self.status}")
        self._require_decider(decided_by)
        if goals is not None:
            _check_goals(goals)
        new_title = (title or self.title).strip()
        goal_ids = tuple(g.id for g in goals) if goals is not None else self.goal_ids
        return [
            ActionPlan.Revised(self.id, new_title, goal_ids, decided_by, decided_on, minute_ref)
        ]

    def _require_decider(self, decided_by: str) -> None:
        if decided_by != self.unit_id:
            raise RuleViolation(
                "an action plan is decided by the manager of its own unit "
                f"({self.unit_id}), not by {decided_by}",
                {"decided_by": ["not the plan's unit"]},
            )

    def enter_phase(self, phase: str, since: dt.date) -> list[DomainEvent]:
        """Move on in the wheel: plan → do → evaluate → improve → plan (a new turn)."""
        self._require_open()
        if phase not in PHASES:
            raise InvalidInput(f"phase is one of {', '.join(PHASES)}", {"phase": ["unknown"]})
        current = self.phase
        expected = PHASES[(PHASES.index(current) + 1) % len(PHASES)]
        if phase != expected:
            raise RuleViolation(
                f"the plan is in the {current} phase; the next is {expected}, not {phase}",
                {"phase": [f"next is {expected}"]},
            )
        if phase == "do" and self.status != "adopted":
            raise RuleViolation("a plan is carried out (do) only once it is adopted")
        if since < self.phases[-1].since:
            raise InvalidInput(
                "a phase cannot begin before the one it follows",
                {"since": [f"before {self.phases[-1].since}"]},
            )
        return [ActionPlan.PhaseEntered(self.id, phase, since)]

    def flag_for_review(
        self, goal_id: str, reason: str, cause_event_id: str, on: dt.date
    ) -> list[DomainEvent]:
        """Idempotent: the same goal event flags a plan once, however often it arrives."""
        if self.status == "closed" or goal_id not in self.goal_ids:
            return []
        if any(f.cause_event_id == cause_event_id for f in self.review_flags):
            return []
        return [ActionPlan.FlaggedForReview(self.id, goal_id, reason, cause_event_id, on)]

    def close(self, summary: str) -> list[DomainEvent]:
        self._require_open()
        return [ActionPlan.Closed(self.id, summary.strip())]

    @property
    def phase(self) -> str:
        return self.phases[-1].phase

    def _require_open(self) -> None:
        if self.status == "closed":
            raise RuleViolation("the plan is closed")

    # -- folding ------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> ActionPlan:
        if not isinstance(event, ActionPlan.Drafted):
            raise ValueError(f"{type(event).__name__} before ActionPlanDrafted")
        return ActionPlan(
            event.plan_id,
            event.unit_id,
            event.period,
            event.title,
            event.goal_ids,
            phases=(PhaseChange("plan", event.started_on),),
            version=1,
        )

    def when(self, event: Any) -> ActionPlan:
        version = self.version + 1
        match event:
            case ActionPlan.GoalsLinked(goal_ids=goal_ids):
                return replace(self, goal_ids=goal_ids, version=version)
            case ActionPlan.Adopted():
                return replace(
                    self,
                    status="adopted",
                    decided_by=event.decided_by,
                    decided_on=event.decided_on,
                    version=version,
                )
            case ActionPlan.Revised():
                return replace(
                    self,
                    title=event.title,
                    goal_ids=event.goal_ids,
                    decided_by=event.decided_by,
                    decided_on=event.decided_on,
                    version=version,
                )
            case ActionPlan.PhaseEntered(phase=phase, since=since):
                return replace(
                    self, phases=(*self.phases, PhaseChange(phase, since)), version=version
                )
            case ActionPlan.FlaggedForReview():
                flag = ReviewFlag(
                    event.goal_id, event.reason, event.cause_event_id, event.flagged_on
                )
                return replace(self, review_flags=(*self.review_flags, flag), version=version)
            case ActionPlan.Closed():
                return replace(self, status="closed", version=version)
        raise ValueError(f"{type(event).__name__} does not apply to an action plan")


def _check_goals(goals: Sequence[GoalFacts]) -> None:
    for goal in goals:
        problem = None
        if goal.status == "unknown":
            problem = "no such goal is known here (it does not exist, or its events have not "
            problem += "arrived yet)"
        elif goal.level != "operational":
            problem = f"a {goal.level or 'unknown'} goal; plans serve operational goals"
        elif goal.status != "adopted":
            problem = f"the goal is {goal.status}, not adopted"
        if problem:
            raise RuleViolation(
                f"a plan links to adopted operational goals; {goal.id}: {problem}",
                {"goal_ids": [problem]},
            )


EVENTS = EventRegistry(
    ActionPlan.Drafted,
    ActionPlan.GoalsLinked,
    ActionPlan.Adopted,
    ActionPlan.Revised,
    ActionPlan.PhaseEntered,
    ActionPlan.FlaggedForReview,
    ActionPlan.Closed,
)
KIND = AggregateKind(STREAM_TYPE, ActionPlan, EVENTS, ActionPlan.start)
