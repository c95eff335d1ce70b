"""Activities (aktiviteter) of an action plan: who does what by when, and how it went.

planned → in_progress → done, or cancelled with a reason; progress notes along the way.
Overdue is derived from the due date, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.plans.domain.plan import ActionPlan, period_dates
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "activity"
STREAM_PREFIX = "activity-"
ActivityStatus = Literal["planned", "in_progress", "done", "cancelled"]
STATUSES: tuple[ActivityStatus, ...] = ("planned", "in_progress", "done", "cancelled")
#: status -> the statuses it may move to
MOVES: dict[ActivityStatus, tuple[ActivityStatus, ...]] = {
    "planned": ("in_progress", "cancelled"),
    "in_progress": ("done", "cancelled"),
    "done": (),
    "cancelled": (),
}


@dataclass(frozen=True)
class Work:
    """What an activity is: the parts an editor may change while it is open."""

    title: str
    owner: str  # a role or person reference ("rektor", "key:…"); no more personal data
    starts_on: dt.date
    due_on: dt.date
    goal_ids: tuple[str, ...] = ()
    indicator_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndicatorFacts:
    """What plans knows of an indicator from goals.events: the goal it measures."""

    id: str
    goal_id: str
    status: str  # active, retired, or unknown (never heard of)


@dataclass(frozen=True)
class Note:
    written_on: dt.date
    text: str


@dataclass(frozen=True)
class Activity:
    id: str
    plan_id: str
    work: Work
    status: ActivityStatus = "planned"
    cancel_reason: str | None = None
    notes: tuple[Note, ...] = ()
    proposed_by: str | None = None  # the improvement proposal it came from, if any
    version: int = 0

    @dataclass(frozen=True)
    class Planned(DomainEvent):
        """An activity was added to an action plan."""

        TYPE = "ActivityPlanned.v1"
        activity_id: str
        plan_id: str
        work: Work
        proposed_by: str | None

    @dataclass(frozen=True)
    class Started(DomainEvent):
        """Work on the activity began."""

        TYPE = "ActivityStarted.v1"
        activity_id: str
        started_on: dt.date

    @dataclass(frozen=True)
    class Completed(DomainEvent):
        """The activity was done (genomförd)."""

        TYPE = "ActivityCompleted.v1"
        activity_id: str
        completed_on: dt.date

    @dataclass(frozen=True)
    class Cancelled(DomainEvent):
        """The activity was cancelled, with the reason."""

        TYPE = "ActivityCancelled.v1"
        activity_id: str
        reason: str
        cancelled_on: dt.date

    @dataclass(frozen=True)
    class ProgressNoted(DomainEvent):
        """A note on how the activity is going."""

        TYPE = "ActivityProgressNoted.v1"
        activity_id: str
        written_on: dt.date
        text: str

    # -- commands -----------------------------------------------------------------------------
    @staticmethod
    def plan(
        activity_id: str,
        plan: ActionPlan,
        work: Work,
        indicators: Sequence[IndicatorFacts] = (),
        proposed_by: str | None = None,
    ) -> list[DomainEvent]:
        """Add an activity to an open plan, within its period, serving the plan's own goals and
        measured by indicators of those goals. `indicators`: what is known of work.indicator_ids."""
        plan.require_open("new activities")
        title = values.name(work.title, "title", max_length=300)
        if not work.owner.strip():
            raise InvalidInput(
                "say who owns the activity (a role or a reference)",
                {"owner": ["must not be blank"]},
            )
        owner = values.name(work.owner, "owner")
        first, last = period_dates(plan.period)
        values.within(work.starts_on, first, last, "starts_on", f"the plan for {plan.period}")
        values.within(work.due_on, first, last, "due_on", f"the plan for {plan.period}")
        if work.due_on < work.starts_on:
            raise InvalidInput(
                "an activity cannot be due before it starts", {"due_on": ["before starts_on"]}
            )
        goal_ids = tuple(dict.fromkeys(work.goal_ids))
        strangers = [g for g in goal_ids if g not in plan.goal_ids]
        if strangers:
            raise RuleViolation(
                f"an activity serves goals of its plan; {strangers[0]} is not one of them",
                {"goal_ids": ["not a goal the plan serves"]},
            )
        indicator_ids = tuple(dict.fromkeys(work.indicator_ids))
        _check_indicators(indicator_ids, goal_ids, indicators)
        clean = replace(
            work, title=title, owner=owner, goal_ids=goal_ids, indicator_ids=indicator_ids
        )
        return [Activity.Planned(activity_id, plan_id=plan.id, work=clean, proposed_by=proposed_by)]

    def move(
        self, status: str, on: dt.date, plan: ActionPlan, reason: str = ""
    ) -> list[DomainEvent]:
        if status not in STATUSES:
            raise InvalidInput(f"status is one of {', '.join(STATUSES)}", {"status": ["unknown"]})
        if status == self.status:
            return []
        plan.require_open("progress on its activities")
        if status not in MOVES[self.status]:
            allowed = " or ".join(MOVES[self.status]) or "nothing: it is finished"
            raise RuleViolation(
                f"a {self.status.replace('_', ' ')} activity moves to {allowed}, not to {status}",
                {"status": ["not allowed now"]},
            )
        if status == "in_progress":
            return [Activity.Started(self.id, on)]
        if status == "done":
            return [Activity.Completed(self.id, on)]
        if not reason.strip():
            raise InvalidInput("say why the activity is cancelled", {"reason": ["required"]})
        return [Activity.Cancelled(self.id, values.text(reason, "reason", max_length=2000), on)]

    def note(self, text: str, on: dt.date, plan: ActionPlan) -> list[DomainEvent]:
        plan.require_open("notes on its activities")
        clean = values.text(text, "note", max_length=10_000, multiline=True)
        return [Activity.ProgressNoted(self.id, on, clean)]

    def overdue(self, today: dt.date) -> bool:
        return self.status in ("planned", "in_progress") and today > self.work.due_on

    # -- folding ------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> Activity:
        if not isinstance(event, Activity.Planned):
            raise ValueError(f"{type(event).__name__} before ActivityPlanned")
        return Activity(
            event.activity_id, event.plan_id, event.work, proposed_by=event.proposed_by, version=1
        )

    def when(self, event: Any) -> Activity:
        version = self.version + 1
        match event:
            case Activity.Started():
                return replace(self, status="in_progress", version=version)
            case Activity.Completed():
                return replace(self, status="done", version=version)
            case Activity.Cancelled(reason=reason):
                return replace(self, status="cancelled", cancel_reason=reason, version=version)
            case Activity.ProgressNoted(written_on=on, text=text):
                return replace(self, notes=(*self.notes, Note(on, text)), version=version)
        raise ValueError(f"{type(event).__name__} does not apply to an activity")


EVENTS = EventRegistry(
    Activity.Planned,
    Activity.Started,
    Activity.Completed,
    Activity.Cancelled,
    Activity.ProgressNoted,
)
KIND = AggregateKind(STREAM_TYPE, Activity, EVENTS, Activity.start)


def _check_indicators(
    indicator_ids: tuple[str, ...], goal_ids: tuple[str, ...], known: Sequence[IndicatorFacts]
) -> None:
    """An activity is measured by indicators of the goals it serves, which exist and are live."""
    facts = {i.id: i for i in known}
    for indicator_id in indicator_ids:
        fact = facts.get(indicator_id)
        problem = None
        if fact is None or fact.status == "unknown":
            problem = "no such indicator is known here"
        elif fact.status == "retired":
            problem = "the indicator is retired"
        elif fact.goal_id not in goal_ids:
            problem = "the indicator measures a goal the activity does not serve"
        if problem:
            raise RuleViolation(f"{indicator_id}: {problem}", {"indicator_ids": [problem]})
