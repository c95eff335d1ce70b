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
from typing import Any, Literal

from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "action_plan"
STREAM_PREFIX = "plan-"

PlanStatus = Literal["draft", "adopted", "closed"]
#: the improvement wheel (förbättringshjulet): plan → do → evaluate → improve → plan …
Phase = Literal["plan", "do", "evaluate", "improve"]
PHASES: tuple[Phase, ...] = ("plan", "do", "evaluate", "improve")
PLAN_STATUSES: tuple[PlanStatus, ...] = ("draft", "adopted", "closed")
ReviewReason = Literal["goal_revised", "goal_retired"]
#: the organisation unit kinds of goals.events (OrgUnitCreated.kind)
UnitKind = Literal["council", "executive_board", "committee", "company", "sector", "unit"]
PLANNING_UNITS: tuple[UnitKind, ...] = ("sector", "unit", "company")
#: a mandate period as goals writes it: "2023-2026"
_MANDATE_PERIOD = re.compile(r"\A([0-9]{4})-([0-9]{4})\Z", re.ASCII)


def check_period(period: object) -> str:
    """A calendar year ("2026") or a school year ("2025/26", läsår), as its canonical text.

    Parsed strictly (ASCII digits, nothing after them, plausible years: shared.values), so
    "2027\n" or full-width digits never becomes a second plan id for the same unit and year.
    """
    try:
        if isinstance(period, str) and values.is_school_year(period):
            first, _ = values.school_year(period, "period")
            return f"{first}/{(first + 1) % 100:02d}"
        if isinstance(period, str):
            return str(values.year(period, "period"))
    except InvalidInput as exc:
        if "implausible year" in exc.fields.get("period", ()):
            raise
    raise InvalidInput(
        f"a plan's period is a calendar year like 2026 or a school year like 2025/26, "
        f"not {period!r}",
        {"period": ["not a calendar or school year"]},
    )


def period_years(period: str) -> tuple[int, int]:
    """The calendar years a period touches: (2026, 2026), or (2025, 2026) for 2025/26."""
    canonical = check_period(period)
    first = int(canonical[:4])
    return (first, first + 1) if "/" in canonical else (first, first)


PLAN_NAMESPACE = uuid.UUID("0b5f7a52-0a59-4f0e-8d1e-706c616e7300")


def plan_id_for(unit_id: str, period: str) -> str:
    """One plan per unit and period: the id follows from them, so a second is a conflict.

    Only the canonical period text may reach the id, else "2027" and "2027\n" are two plans."""
    return f"{STREAM_PREFIX}{uuid.uuid5(PLAN_NAMESPACE, f'{unit_id}|{check_period(period)}')}"


def period_dates(period: str) -> tuple[dt.date, dt.date]:
    """First and last day: a calendar year, or a school year from August to June."""
    first, last = period_years(period)
    if first != last:
        return dt.date(first, 8, 1), dt.date(last, 6, 30)
    return dt.date(first, 1, 1), dt.date(first, 12, 31)


def next_period(period: str) -> str:
    """The period after: 2026 → 2027, 2025/26 → 2026/27."""
    first, last = period_years(period)
    if first != last:
        return f"{first + 1}/{(first + 2) % 100:02d}"
    return str(first + 1)


def mandate_covers(mandate_period: str, period: str) -> bool:
    """Whether a goal's mandate period ("2023-2026") covers a plan's period.

    A calendar year is covered when it lies in the mandate period; a school year (2025/26)
    when either of its calendar years does: a school year straddling an election serves the
    goals of both mandate periods, each for its own part of the year."""
    match = _MANDATE_PERIOD.match(mandate_period)
    if not match:
        return False
    first, last = int(match[1]), int(match[2])
    return any(first <= year <= last for year in period_years(period))


@dataclass(frozen=True)
class GoalFacts:
    """What plans knows of a goal from goals.events."""

    id: str
    level: str
    status: str
    title: str = ""
    period: str = ""  # the goal's mandate period, "2023-2026"


@dataclass(frozen=True)
class UnitFacts:
    """What plans knows of an organisation unit from goals.events."""

    id: str
    name: str
    kind: UnitKind  # only PLANNING_UNITS may have plans
    status: str  # active, closed


@dataclass(frozen=True)
class PhaseChange:
    phase: Phase
    since: dt.date


@dataclass(frozen=True)
class ReviewFlag:
    """A goal the plan serves changed: the plan should be looked at again."""

    goal_id: str
    reason: ReviewReason
    cause_event_id: str
    flagged_on: dt.date


@dataclass(frozen=True)
class ActionPlan:
    id: str
    unit_id: str
    period: str
    title: str
    goal_ids: tuple[str, ...] = ()
    status: PlanStatus = "draft"
    decided_by: str | None = None
    decided_on: dt.date | None = None
    minute_ref: str | None = None  # the minute (protokoll §) of the last decision
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
        phase: Phase
        since: dt.date

    @dataclass(frozen=True)
    class FlaggedForReview(DomainEvent):
        """A goal the plan serves was revised or retired: the plan needs review."""

        TYPE = "ActionPlanFlaggedForReview.v1"
        plan_id: str
        goal_id: str
        reason: ReviewReason
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
        plan_id: str,
        unit: UnitFacts,
        period: str,
        title: str,
        goals: Sequence[GoalFacts],
        today: dt.date,
    ) -> list[DomainEvent]:
        canonical = check_period(period)
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
        clean_title = values.name(title, "title", max_length=300)
        _check_goals(goals, canonical)
        return [
            ActionPlan.Drafted(
                plan_id, unit.id, canonical, clean_title, tuple(g.id for g in goals), today
            )
        ]

    def link_goals(self, goals: Sequence[GoalFacts]) -> list[DomainEvent]:
        self._require_open()
        if self.status != "draft":
            raise RuleViolation(
                "an adopted plan changes only by a revision decision (POST …/revise)",
                {"goal_ids": ["changed only by a revision"]},
            )
        _check_goals(goals, self.period)
        ids = tuple(g.id for g in goals)
        return [] if ids == self.goal_ids else [ActionPlan.GoalsLinked(self.id, ids)]

    def adopt(
        self, decided_by: str, decided_on: dt.date, minute_ref: str | None, today: dt.date
    ) -> list[DomainEvent]:
        if self.status != "draft":
            raise RuleViolation(
                f"the plan is {self.status}; only a draft is adopted",
                {"status": [f"{self.status}, not draft"]},
            )
        self._require_decider(decided_by)
        self._check_decision_date(decided_on, today)
        return [ActionPlan.Adopted(self.id, decided_by, decided_on, _minute_ref(minute_ref))]

    def revise(
        self,
        title: str | None,
        goals: Sequence[GoalFacts] | None,
        decided_by: str,
        decided_on: dt.date,
        minute_ref: str | None,
        today: dt.date,
    ) -> list[DomainEvent]:
        """Change an adopted plan (title and/or goals) by a new decision of its manager."""
        if self.status != "adopted":
            raise RuleViolation(
                f"only an adopted plan is revised; this one is {self.status}",
                {"status": [f"{self.status}, not adopted"]},
            )
        self._require_decider(decided_by)
        self._check_decision_date(decided_on, today)
        if self.decided_on is not None:
            values.not_before(
                decided_on, self.decided_on, "decided_on", "a revision follows the last decision"
            )
        if goals is not None:
            _check_goals(goals, self.period)
        new_title = self.title if title is None else values.name(title, "title", max_length=300)
        goal_ids = tuple(g.id for g in goals) if goals is not None else self.goal_ids
        return [
            ActionPlan.Revised(
                self.id, new_title, goal_ids, decided_by, decided_on, _minute_ref(minute_ref)
            )
        ]

    def _require_decider(self, decided_by: str) -> None:
        if decided_by != self.unit_id:
            raise RuleViolation(
                "an action plan is decided by the manager of its own unit "
                f"({self.unit_id}), not by {decided_by}",
                {"decided_by": ["not the plan's unit"]},
            )

    def _check_decision_date(self, decided_on: dt.date, today: dt.date) -> None:
        values.not_in_future(decided_on, today, "decided_on", "a plan's decision")
        values.not_before(
            decided_on, self.drafted_on, "decided_on", "a plan is decided after it was drafted"
        )

    def enter_phase(self, phase: str, since: dt.date, today: dt.date) -> list[DomainEvent]:
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
        if expected == "do" and self.status != "adopted":
            raise RuleViolation(
                "a plan is carried out (do) only once it is adopted",
                {"phase": ["the plan is not adopted"]},
            )
        # a phase is something that has begun: the wheel moves forward in time, never ahead
        values.not_in_future(since, today, "since", "a phase")
        if since < self.phases[-1].since:
            raise InvalidInput(
                "a phase cannot begin before the one it follows",
                {"since": [f"before {self.phases[-1].since}"]},
            )
        return [ActionPlan.PhaseEntered(self.id, expected, since)]

    def flag_for_review(
        self, goal_id: str, reason: ReviewReason, cause_event_id: str, on: dt.date
    ) -> list[DomainEvent]:
        """Idempotent: the same goal event flags a plan once, however often it arrives."""
        if self.status == "closed" or goal_id not in self.goal_ids:
            return []
        if any(f.cause_event_id == cause_event_id for f in self.review_flags):
            return []
        return [ActionPlan.FlaggedForReview(self.id, goal_id, reason, cause_event_id, on)]

    def close(self, summary: str) -> list[DomainEvent]:
        self._require_open()
        if self.status != "adopted":
            raise RuleViolation(
                f"only an adopted plan is closed; this one is {self.status}",
                {"status": [f"{self.status}, not adopted"]},
            )
        text = values.text(summary, "summary", max_length=10_000, multiline=True, required=False)
        return [ActionPlan.Closed(self.id, text)]

    @property
    def phase(self) -> Phase:
        return self.phases[-1].phase

    @property
    def drafted_on(self) -> dt.date:
        """The day the plan was drafted: its first phase (plan) began then."""
        return self.phases[0].since

    def require_unit_open(self, unit: UnitFacts, what: str) -> None:
        """A closed unit (avvecklad) takes no more decisions, goals, phases, activities or
        agreements in its plans; its plans may still be closed and their work finished."""
        if unit.status != "active":
            raise RuleViolation(
                f"{unit.name} is closed: its plan takes no {what}", {"unit_id": ["closed unit"]}
            )

    def require_goals_kept(self, goal_ids: Sequence[str], open_work: Sequence[Any]) -> None:
        """A goal the plan's open activities serve stays among the plan's goals (an
        activity's goals are among its plan's): finish, cancel or change those first."""
        kept = set(goal_ids)
        for work in open_work:
            dropped = [g for g in work.goal_ids if g not in kept]
            if dropped:
                raise RuleViolation(
                    f"{dropped[0]} is served by the open activity {work.title!r}; finish, "
                    "cancel or change it before the plan stops serving that goal",
                    {"goal_ids": ["served by an open activity"]},
                )

    def require_open(self, what: str) -> None:
        """Nothing is added to a closed plan: activities, their progress, agreements."""
        if self.status == "closed":
            raise RuleViolation(f"the plan is closed and takes no {what}", {"plan_id": ["closed"]})

    def _require_open(self) -> None:
        if self.status == "closed":
            raise RuleViolation("the plan is closed", {"plan_id": ["closed"]})

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
                    minute_ref=event.minute_ref,
                    version=version,
                )
            case ActionPlan.Revised():
                return replace(
                    self,
                    title=event.title,
                    goal_ids=event.goal_ids,
                    decided_by=event.decided_by,
                    decided_on=event.decided_on,
                    minute_ref=event.minute_ref,
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


def _minute_ref(minute_ref: str | None) -> str | None:
    """The minute paragraph (protokollsparagraf) of a decision, or None if not given."""
    if minute_ref is None:
        return None
    return values.text(minute_ref, "minute_ref", max_length=200, required=False) or None


def _check_goals(goals: Sequence[GoalFacts], period: str) -> None:
    """A plan serves adopted operational goals whose mandate period covers its period."""
    for goal in goals:
        problem = None
        if goal.status == "unknown":
            problem = "no such goal is known here (it does not exist, or its events have not "
            problem += "arrived yet)"
        elif goal.level != "operational":
            problem = f"a {goal.level or 'unknown'} goal; plans serve operational goals"
        elif goal.status != "adopted":
            problem = f"the goal is {goal.status}, not adopted"
        elif not mandate_covers(goal.period, period):
            problem = f"the goal is for {goal.period or 'an unknown period'}, not for {period}"
        if problem:
            raise RuleViolation(
                f"a plan links to adopted operational goals of its period; {goal.id}: {problem}",
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
