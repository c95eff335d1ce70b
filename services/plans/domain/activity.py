"""Activities (aktiviteter) of an action plan: who does what by when, and how it went.

planned → in_progress → done, or cancelled with a reason; progress notes along the way.
Overdue is derived from the due date, never stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "activity"
STREAM_PREFIX = "activity-"
STATUSES = ("planned", "in_progress", "done", "cancelled")
#: status -> the statuses it may move to
MOVES = {
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
class Note:
    written_on: dt.date
    text: str


@dataclass(frozen=True)
class Activity:
    id: str
    plan_id: str
    work: Work
    status: str = "planned"
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
        activity_id: str, plan_id: str, plan_status: str, work: Work, proposed_by: str | None = None
    ) -> list[DomainEvent]:
        if plan_status == "closed":
            raise RuleViolation("the plan is closed and takes no new activities")
        if not work.title.strip():
            raise InvalidInput("an activity needs a title", {"title": ["must not be blank"]})
        if not work.owner.strip():
            raise InvalidInput(
                "say who owns the activity (a role or a reference)",
                {"owner": ["must not be blank"]},
            )
        if work.due_on < work.starts_on:
            raise InvalidInput(
                "an activity cannot be due before it starts", {"due_on": ["before starts_on"]}
            )
        return [
            Activity.Planned(
                activity_id, plan_id, replace(work, title=work.title.strip()), proposed_by
            )
        ]

    def move(self, status: str, on: dt.date, reason: str = "") -> list[DomainEvent]:
        if status not in STATUSES:
            raise InvalidInput(f"status is one of {', '.join(STATUSES)}", {"status": ["unknown"]})
        if status == self.status:
            return []
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
        return [Activity.Cancelled(self.id, reason.strip(), on)]

    def note(self, text: str, on: dt.date) -> list[DomainEvent]:
        if not text.strip():
            raise InvalidInput("a progress note needs text", {"text": ["must not be blank"]})
        return [Activity.ProgressNoted(self.id, on, text.strip())]

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
