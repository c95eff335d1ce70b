"""Indicators (indikatorer): how a goal is measured, with a target per year and traffic lights.

An indicator has a unit of measure, a direction (is higher or lower better), a baseline, a
target value per year of the goal's mandate period, a data source (entered by hand, a survey,
or a Kolada KPI such as N00945) and thresholds for green / yellow / red. Indicators and their
targets are decided with the goal: by the council for a strategic goal, by the owning committee
or company board for an operational one; every event carries that decision.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from services.goals.domain import decisions
from services.goals.domain.decisions import Decider, Decision
from services.goals.domain.goal import Goal
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "indicator"
STREAM_PREFIX = "indicator-"
Direction = Literal["higher_is_better", "lower_is_better"]
SourceKind = Literal["manual", "survey", "kolada"]
IndicatorStatus = Literal["active", "retired"]
Light = Literal["green", "yellow", "red"]
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)
SOURCES: tuple[SourceKind, ...] = get_args(SourceKind)
STATUSES: tuple[IndicatorStatus, ...] = get_args(IndicatorStatus)
KOLADA_KPI = re.compile(r"\A[NU][0-9]{5}\Z", re.ASCII)


@dataclass(frozen=True)
class DataSource:
    kind: SourceKind
    kpi_id: str | None = None  # Kolada KPI id, e.g. N00945
    description: str = ""  # e.g. which survey


@dataclass(frozen=True)
class Baseline:
    value: float
    year: int


@dataclass(frozen=True)
class Thresholds:
    """green: at least (or, lower is better, at most) this is green; yellow likewise."""

    green: float
    yellow: float


@dataclass(frozen=True)
class Definition:
    name: str
    unit_of_measure: str
    direction: Direction
    source: DataSource
    baseline: Baseline | None = None


@dataclass(frozen=True)
class Indicator:
    id: str
    goal_id: str
    definition: Definition
    targets: dict[int, float]
    thresholds: Thresholds | None = None
    status: IndicatorStatus = "active"
    #: the day it was decided (None if recorded before decisions were asked)
    defined_on: dt.date | None = None
    version: int = 0

    @dataclass(frozen=True)
    class Defined(DomainEvent):
        """An indicator (indikator) was defined on a goal."""

        TYPE = "IndicatorDefined.v2"
        indicator_id: str
        goal_id: str
        definition: Definition
        #: the deciding body's decision; null only in events recorded as v1
        decided_by: str | None
        decided_on: dt.date | None
        minute_ref: str | None

    @dataclass(frozen=True)
    class TargetSet(DomainEvent):
        """The target value (målvärde) of one year was set."""

        TYPE = "IndicatorTargetSet.v2"
        indicator_id: str
        year: int
        value: float
        decided_by: str | None
        decided_on: dt.date | None
        minute_ref: str | None

    @dataclass(frozen=True)
    class ThresholdsSet(DomainEvent):
        """The green and yellow thresholds were set."""

        TYPE = "IndicatorThresholdsSet.v2"
        indicator_id: str
        thresholds: Thresholds
        decided_by: str | None
        decided_on: dt.date | None
        minute_ref: str | None

    @dataclass(frozen=True)
    class Retired(DomainEvent):
        """An indicator was retired."""

        TYPE = "IndicatorRetired.v2"
        indicator_id: str
        reason: str
        decided_by: str | None
        decided_on: dt.date | None
        minute_ref: str | None

    # -- commands -----------------------------------------------------------------------------
    @staticmethod
    def define(
        indicator_id: str,
        goal: Goal,
        definition: Definition,
        decision: Decision,
        decider: Decider,
        *,
        today: dt.date,
        targets: Mapping[str, object] | Mapping[int, object] | None = None,
        thresholds: Thresholds | None = None,
    ) -> list[DomainEvent]:
        """Define an indicator on `goal` with its first targets (year "2027" -> value) and
        thresholds, all by one decision."""
        if goal.status == "retired":
            raise RuleViolation(
                "the goal is retired and takes no new indicators", {"goal_id": ["retired goal"]}
            )
        decision = _check_decision(goal, decision, decider, today)
        d = decision
        events: list[DomainEvent] = [
            Indicator.Defined(
                indicator_id,
                goal.id,
                _valid_definition(definition),
                d.decided_by,
                d.decided_on,
                d.minute_ref,
            )
        ]
        state = KIND.fold_new(events)
        # JSON keys are text: "2027" is a year; full-width digits, "2027\n" and "27" are not
        years = {values.year(key, "targets"): value for key, value in (targets or {}).items()}
        for year, value in sorted(years.items()):
            step = state.set_target(year, value, goal, decision, decider, today=today)
            events += step
            state = KIND.fold_new(events)
        if thresholds is not None:
            events += state.set_thresholds(thresholds, goal, decision, decider, today=today)
        return events

    def set_target(
        self,
        year: object,
        value: object,
        goal: Goal,
        decision: Decision,
        decider: Decider,
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        """The target of one year of the goal's mandate period; `goal` is the indicator's."""
        self._require_active(goal)
        if isinstance(year, str):  # a target's year is a JSON integer; only map keys are text
            raise InvalidInput(
                f"year is an integer like 2027, not {year!r}", {"year": ["not an integer"]}
            )
        checked_year = values.year(year, "year")
        checked_value = float(values.number(value, "value"))
        mandate = goal.mandate
        if not mandate.first_year <= checked_year <= mandate.last_year:
            raise InvalidInput(
                f"targets are set for the years of the goal's mandate period "
                f"({mandate}), not {checked_year}",
                {"year": ["outside the mandate period"]},
            )
        d = _check_decision(goal, decision, decider, today)
        if self.targets.get(checked_year) == checked_value:
            return []
        return [
            Indicator.TargetSet(
                self.id, checked_year, checked_value, d.decided_by, d.decided_on, d.minute_ref
            )
        ]

    def set_thresholds(
        self,
        thresholds: Thresholds,
        goal: Goal,
        decision: Decision,
        decider: Decider,
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        self._require_active(goal)
        checked = Thresholds(
            float(values.number(thresholds.green, "thresholds.green")),
            float(values.number(thresholds.yellow, "thresholds.yellow")),
        )
        higher = self.definition.direction == "higher_is_better"
        if (checked.green < checked.yellow) if higher else (checked.green > checked.yellow):
            raise InvalidInput(
                "when higher is better green must be at least yellow; when lower is better, "
                "at most yellow",
                {"thresholds": ["green and yellow in the wrong order"]},
            )
        d = _check_decision(goal, decision, decider, today)
        return [Indicator.ThresholdsSet(self.id, checked, d.decided_by, d.decided_on, d.minute_ref)]

    def retire(
        self, reason: str, goal: Goal, decision: Decision, decider: Decider, *, today: dt.date
    ) -> list[DomainEvent]:
        """Retire the indicator (also of a retired goal: it is no longer followed up)."""
        if self.status != "active":
            raise RuleViolation("the indicator is already retired")
        reason = decisions.reason(reason, "the indicator is retired")
        d = _check_decision(goal, decision, decider, today)
        decisions.not_before(d, self.defined_on, "a retirement")
        return [Indicator.Retired(self.id, reason, d.decided_by, d.decided_on, d.minute_ref)]

    def _require_active(self, goal: Goal) -> None:
        if self.status != "active":
            raise RuleViolation("the indicator is retired")
        if goal.status == "retired":
            raise RuleViolation("the indicator's goal is retired", {"goal_id": ["retired goal"]})

    def light(self, value: float) -> Light | None:
        """green, yellow or red for a measured value; None without thresholds."""
        if self.thresholds is None:
            return None
        higher = self.definition.direction == "higher_is_better"

        def reaches(limit: float) -> bool:
            return value >= limit if higher else value <= limit

        if reaches(self.thresholds.green):
            return "green"
        return "yellow" if reaches(self.thresholds.yellow) else "red"

    # -- folding ------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> Indicator:
        if not isinstance(event, Indicator.Defined):
            raise ValueError(f"{type(event).__name__} before IndicatorDefined")
        return Indicator(
            event.indicator_id,
            event.goal_id,
            event.definition,
            {},
            defined_on=event.decided_on,
            version=1,
        )

    def when(self, event: Any) -> Indicator:
        version = self.version + 1
        match event:
            case Indicator.TargetSet(year=year, value=value):
                return replace(self, targets={**self.targets, year: value}, version=version)
            case Indicator.ThresholdsSet(thresholds=thresholds):
                return replace(self, thresholds=thresholds, version=version)
            case Indicator.Retired():
                return replace(self, status="retired", version=version)
        raise ValueError(f"{type(event).__name__} does not apply to an indicator")


def _check_decision(goal: Goal, decision: Decision, decider: Decider, today: dt.date) -> Decision:
    """An indicator is decided by whoever decides its goal (council, or the owning board)."""
    goal.require_decider(decider, "an indicator of the goal")
    return decisions.valid_decision(decision, decider, today, "an indicator decision")


def _valid_definition(definition: Definition) -> Definition:
    name = values.name(definition.name, "name", 300)
    unit_of_measure = values.name(definition.unit_of_measure, "unit_of_measure", 50)
    if definition.direction not in DIRECTIONS:
        raise InvalidInput(
            f"direction is {' or '.join(DIRECTIONS)}", {"direction": ["unknown direction"]}
        )
    source = definition.source
    if source.kind not in SOURCES:
        raise InvalidInput(
            f"data source is one of {', '.join(SOURCES)}", {"source.kind": ["unknown source"]}
        )
    if source.kind == "kolada" and not KOLADA_KPI.match(source.kpi_id or ""):
        raise InvalidInput(
            "a Kolada source names its KPI id, like N00945",
            {"source.kpi_id": ["not a Kolada KPI id"]},
        )
    if source.kind != "kolada" and source.kpi_id:
        raise InvalidInput("only a Kolada source has a KPI id", {"source.kpi_id": ["not kolada"]})
    source = replace(
        source,
        description=values.text(
            source.description, "source.description", max_length=500, required=False
        ),
    )
    baseline = definition.baseline
    if baseline is not None:
        baseline = Baseline(
            float(values.number(baseline.value, "baseline.value")),
            values.year(baseline.year, "baseline.year"),
        )
    return replace(
        definition,
        name=name,
        unit_of_measure=unit_of_measure,
        source=source,
        baseline=baseline,
    )


EVENTS = EventRegistry(
    Indicator.Defined, Indicator.TargetSet, Indicator.ThresholdsSet, Indicator.Retired
)
KIND = AggregateKind(STREAM_TYPE, Indicator, EVENTS, Indicator.start)
