"""Command handlers of the annual wheel (services/reports/domain/calendar.py): set, change and
remove a deadline by decision — load, decide, append, one transaction each.

A deadline belongs to the year it is about, so each command first takes the year's shared lock
and is refused once that year is closed (handlers.require_year_open), like every other change to
a year's follow-up. Input is parsed strictly before the transaction begins: a bad value is a 422
that changes nothing.
"""

from __future__ import annotations

import datetime as dt

from services.reports.domain import calendar
from services.reports.domain.calendar import Deadline
from services.reports.domain.decisions import Decision, UnitFacts
from services.reports.handlers import require_year_open, unit_facts
from shared import values
from shared.aggregate import DomainEvent
from shared.commands import change
from shared.events import Metadata
from shared.uow import UnitOfWork

WHAT = "its annual wheel"


def _decision(
    uow: UnitOfWork, decided_by: str, decided_on: dt.date, minute_ref: str | None
) -> tuple[Decision, UnitFacts]:
    decider = unit_facts(uow, decided_by)
    return Decision.check(decider, decided_on, minute_ref, values.today()), decider


def set_deadline(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    kind: object,
    year: object,
    date: object,
    label: object = None,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> Deadline:
    """Set the deadline of a kind for a year; a removed one is set again in its own stream."""
    the_kind = calendar.check_kind(kind)
    the_year = values.year(year, "year")
    day = calendar.parse_date(date)
    stream_id = calendar.deadline_id(the_kind, the_year)
    with uow:
        require_year_open(uow, the_year, WHAT)
        decision, decider = _decision(uow, decided_by, decided_on, minute_ref)
        recorded = uow.load(stream_id)
        state = calendar.KIND.fold(calendar.EVENTS.decode_all(recorded)) if recorded else None
        decided: list[DomainEvent]
        if state is None:
            decided = Deadline.set_first(the_kind, the_year, day, label, decider, decision)
        else:
            decided = state.set_again(day, label, decider, decision)
        version = state.version if state else 0
        uow.append(
            stream_id,
            calendar.STREAM_TYPE,
            version,
            [e.to_new_event() for e in decided],
            metadata,
        )
    if state is None:
        return calendar.KIND.fold_new(decided)
    for event in decided:
        state = state.when(event)
    return state


def change_deadline(
    uow: UnitOfWork,
    metadata: Metadata,
    deadline_id: str,
    expected: int | None,
    *,
    date: object,
    label: object = None,
    reason: object,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> Deadline:
    """Move a deadline (or relabel it) by a new decision, with the reason."""
    day = calendar.parse_date(date)

    def decide(state: Deadline) -> list[DomainEvent]:
        require_year_open(uow, state.year, WHAT)
        decision, decider = _decision(uow, decided_by, decided_on, minute_ref)
        return state.change(day, label, reason, decider, decision)

    return change(uow, metadata, calendar.KIND, deadline_id, expected, decide)


def remove_deadline(
    uow: UnitOfWork,
    metadata: Metadata,
    deadline_id: str,
    expected: int | None,
    *,
    reason: object,
    decided_by: str,
    decided_on: dt.date,
    minute_ref: str | None = None,
) -> Deadline:
    """Take a deadline out of its year's wheel by decision, with the reason."""

    def decide(state: Deadline) -> list[DomainEvent]:
        require_year_open(uow, state.year, WHAT)
        decision, decider = _decision(uow, decided_by, decided_on, minute_ref)
        return state.remove(reason, decider, decision)

    return change(uow, metadata, calendar.KIND, deadline_id, expected, decide)
