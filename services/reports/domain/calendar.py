"""The annual wheel (årshjul): the municipality's deadlines of follow-up, as decided data.

Quality reports due by 15 February, the interim report as of 31 August, results entered by
31 January, the annual report approved by the council in April: each municipality decides its
own dates, and changes them by a new decision with a reason. The overdue list
(services/reports/overdue.py) measures what is late against these dates.

One stream per deadline, its id following from its kind and year (`deadline-2025-results-due`):
there is one deadline of a kind for a year, so a second is a conflict the store finds by
itself; each deadline has its own short history of decisions, read and changed alone (If-Match
on the one deadline a change is about, not on the whole year's wheel); and a removed deadline
set again continues its own stream. A deadline belongs to the year it is about, so it takes no
change once that year is closed (its annual report approved; services/reports/handlers.py).

Deadlines are decided by the council (kommunfullmäktige) or the executive board
(kommunstyrelsen), minuted like every political decision (services/reports/domain/decisions.py).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from services.reports.domain.decisions import Decision, UnitFacts
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "deadline"
STREAM_PREFIX = "deadline-"

Kind = Literal[
    "quality_report_due",  # quality reports of a year submitted by (15 February next year)
    "interim_report_as_of",  # the interim report's cut-off date in the year (31 August)
    "interim_report_due",  # the interim report delivered by (in the year)
    "results_due",  # the year's results entered by (31 January next year)
    "annual_report_due",  # the annual report approved by the council by (30 April next year)
]
KINDS: tuple[Kind, ...] = get_args(Kind)
Status = Literal["active", "removed"]

#: Who decides the wheel: the council, or the executive board it delegates to
DECIDING_BODIES = frozenset({"council", "executive_board"})

#: The label a deadline gets when its decision gives none (shown to users: Swedish)
DEFAULT_LABELS: dict[Kind, str] = {
    "quality_report_due": "Kvalitetsredovisningar lämnas",
    "interim_report_as_of": "Delårsbokslut per",
    "interim_report_due": "Delårsrapporten lämnas",
    "results_due": "Årets utfall registrerade",
    "annual_report_due": "Årsredovisningen godkänd av fullmäktige",
}

#: Kinds that fall in the year itself; the others follow the year's end, in the next year
_WITHIN_THE_YEAR: frozenset[Kind] = frozenset({"interim_report_as_of", "interim_report_due"})

_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)


def deadline_id(kind: Kind, year: int) -> str:
    """The deadline's id, from what identifies it: one deadline of a kind for a year."""
    return f"{STREAM_PREFIX}{year}-{kind.replace('_', '-')}"


def check_kind(value: object) -> Kind:
    if value not in KINDS:
        raise InvalidInput(
            f"kind is one of {', '.join(KINDS)}, not {value!r}", {"kind": ["not a kind"]}
        )
    return value  # type: ignore[return-value]


def parse_date(value: object, field: str = "date") -> dt.date:
    """A calendar date written exactly as YYYY-MM-DD in ASCII digits ("2027-02-15"): never
    full-width or Arabic-Indic digits, a trailing newline, the basic form "20270215", a time,
    or a date that does not exist (2027-02-30); within the plausible years."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif isinstance(value, str) and _DATE.match(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{field} {value!r} is not a date that exists", {field: ["no such date"]}
            ) from None
    else:
        raise InvalidInput(
            f"{field} is a date like 2027-02-15, not {value!r}", {field: ["not a date"]}
        )
    values.year(day.year, field)
    return day


def check_date_for(kind: Kind, year: int, day: dt.date) -> dt.date:
    """A date that fits its kind: an interim date in the year itself (before its last day,
    which is the annual report's), every other deadline after the year, within the next."""
    if kind in _WITHIN_THE_YEAR:
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 30)
        what = f"a {kind} deadline of {year} falls in {year} itself"
    else:
        first, last = dt.date(year + 1, 1, 1), dt.date(year + 1, 12, 31)
        what = f"a {kind} deadline of {year} falls after the year has ended, in {year + 1}"
    return values.within(day, first, last, "date", what)


def check_label(label: object, kind: Kind) -> str:
    if label is None:
        return DEFAULT_LABELS[kind]
    if not isinstance(label, str):
        raise InvalidInput(f"label is text, not {label!r}", {"label": ["not text"]})
    return values.name(label, "label", max_length=300)


def _require_deciding_body(decider: UnitFacts) -> None:
    if decider.kind not in DECIDING_BODIES:
        raise RuleViolation(
            "the annual wheel's deadlines are decided by the council (kommunfullmäktige) or "
            f"the executive board (kommunstyrelsen), not by a {decider.kind or 'unknown unit'}",
            {"decided_by": ["not the council or the executive board"]},
        )


@dataclass(frozen=True)
class DeadlineDecision:
    """One decision in a deadline's history: set, changed or removed."""

    action: Literal["set", "changed", "removed"]
    date: dt.date | None  # None for a removal
    reason: str | None
    decided_by: str
    decided_on: dt.date
    minute_ref: str | None


@dataclass(frozen=True)
class Deadline:
    id: str
    kind: Kind
    year: int
    date: dt.date
    label: str
    status: Status
    decided_by: str
    decided_on: dt.date
    minute_ref: str | None
    decisions: tuple[DeadlineDecision, ...] = ()
    version: int = 0

    @dataclass(frozen=True)
    class Set(DomainEvent):
        """The council or executive board set a deadline of the annual wheel for a year."""

        TYPE = "DeadlineSet.v1"
        deadline_id: str
        kind: Kind
        year: int
        date: dt.date
        label: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Changed(DomainEvent):
        """A deadline was moved (or relabelled) by a new decision, with the reason."""

        TYPE = "DeadlineChanged.v1"
        deadline_id: str
        date: dt.date
        label: str
        reason: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Removed(DomainEvent):
        """A deadline was taken out of the year's wheel by decision, with the reason."""

        TYPE = "DeadlineRemoved.v1"
        deadline_id: str
        reason: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    # -- commands -------------------------------------------------------------------------------
    @staticmethod
    def set_first(
        kind: Kind,
        year: int,
        date: dt.date,
        label: object,
        decider: UnitFacts,
        decision: Decision,
    ) -> list[DomainEvent]:
        _require_deciding_body(decider)
        return [
            Deadline.Set(
                deadline_id(kind, year),
                kind,
                year,
                check_date_for(kind, year, date),
                check_label(label, kind),
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    def set_again(
        self, date: dt.date, label: object, decider: UnitFacts, decision: Decision
    ) -> list[DomainEvent]:
        """A removed deadline set anew; one in force is changed, never set twice."""
        if self.status == "active":
            raise RuleViolation(
                f"the {self.kind} deadline of {self.year} is set already ({self.date}, "
                f"{self.decided_by} {self.decided_on}): change it by a new decision "
                f"(POST /api/v1/calendar/deadlines/{self.id}/change)",
                {"kind": ["a deadline of this kind and year exists"]},
                deadline_id=self.id,
            )
        self._require_after_last(decision)
        return Deadline.set_first(self.kind, self.year, date, label, decider, decision)

    def change(
        self,
        date: dt.date,
        label: object,
        reason: object,
        decider: UnitFacts,
        decision: Decision,
    ) -> list[DomainEvent]:
        self._require_active()
        _require_deciding_body(decider)
        self._require_after_last(decision)
        new_date = check_date_for(self.kind, self.year, date)
        new_label = self.label if label is None else check_label(label, self.kind)
        why = _reason(reason)
        if new_date == self.date and new_label == self.label:
            raise RuleViolation(
                f"the {self.kind} deadline of {self.year} is {self.date} already, with that "
                "label: a change changes something",
                {"date": ["unchanged"]},
            )
        return [
            Deadline.Changed(
                self.id,
                new_date,
                new_label,
                why,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    def remove(self, reason: object, decider: UnitFacts, decision: Decision) -> list[DomainEvent]:
        self._require_active()
        _require_deciding_body(decider)
        self._require_after_last(decision)
        return [
            Deadline.Removed(
                self.id,
                _reason(reason),
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    def _require_active(self) -> None:
        if self.status != "active":
            raise RuleViolation(
                f"the {self.kind} deadline of {self.year} was removed; set it again instead",
                {"status": ["removed"]},
            )

    def _require_after_last(self, decision: Decision) -> None:
        values.not_before(
            decision.decided_on,
            self.decided_on,
            "decided_on",
            "a new decision on a deadline follows the one before it",
        )

    # -- folding --------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> Deadline:
        if not isinstance(event, Deadline.Set):
            raise ValueError(f"{type(event).__name__} before DeadlineSet")
        return Deadline(
            event.deadline_id,
            event.kind,
            event.year,
            event.date,
            event.label,
            "active",
            event.decided_by,
            event.decided_on,
            event.minute_ref,
            (_history("set", event, event.date, None),),
            version=1,
        )

    def when(self, event: Any) -> Deadline:
        match event:
            case Deadline.Set():
                again = Deadline.start(event)
                return replace(
                    again,
                    decisions=(*self.decisions, *again.decisions),
                    version=self.version + 1,
                )
            case Deadline.Changed():
                return replace(
                    self,
                    date=event.date,
                    label=event.label,
                    decided_by=event.decided_by,
                    decided_on=event.decided_on,
                    minute_ref=event.minute_ref,
                    decisions=(
                        *self.decisions,
                        _history("changed", event, event.date, event.reason),
                    ),
                    version=self.version + 1,
                )
            case Deadline.Removed():
                return replace(
                    self,
                    status="removed",
                    decided_by=event.decided_by,
                    decided_on=event.decided_on,
                    minute_ref=event.minute_ref,
                    decisions=(*self.decisions, _history("removed", event, None, event.reason)),
                    version=self.version + 1,
                )
            case _:
                raise ValueError(f"{type(event).__name__} does not apply to a deadline")


def _history(
    action: Literal["set", "changed", "removed"],
    event: Any,
    date: dt.date | None,
    reason: str | None,
) -> DeadlineDecision:
    return DeadlineDecision(
        action, date, reason, event.decided_by, event.decided_on, event.minute_ref
    )


def _reason(reason: object) -> str:
    if not isinstance(reason, str):
        raise InvalidInput(f"reason is text, not {reason!r}", {"reason": ["not text"]})
    return values.text(reason, "reason", max_length=2000, multiline=True)


EVENTS = EventRegistry(Deadline.Set, Deadline.Changed, Deadline.Removed)
KIND = AggregateKind(STREAM_TYPE, Deadline, EVENTS, Deadline.start)
