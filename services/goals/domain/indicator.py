"""Indicators (indikatorer): how a goal is measured, with a target per year and traffic lights.

An indicator has a unit of measure, a direction (is higher or lower better), a baseline, a
target value per year of the goal's mandate period, a data source (entered by hand, a survey,
or a Kolada KPI such as N00945) and thresholds for green / yellow / red.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "indicator"
STREAM_PREFIX = "indicator-"
DIRECTIONS = ("higher_is_better", "lower_is_better")
SOURCES = ("manual", "survey", "kolada")
KOLADA_KPI = re.compile(r"^[NU]\d{5}$")


@dataclass(frozen=True)
class DataSource:
    kind: str  # manual, survey, kolada
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
    direction: str
    source: DataSource
    baseline: Baseline | None = None


@dataclass(frozen=True)
class Indicator:
    id: str
    goal_id: str
    definition: Definition
    targets: dict[int, float]
    thresholds: Thresholds | None = None
    status: str = "active"  # active, retired
    version: int = 0

    @dataclass(frozen=True)
    class Defined(DomainEvent):
        """An indicator (indikator) was defined on a goal."""

        TYPE = "IndicatorDefined.v1"
        indicator_id: str
        goal_id: str
        definition: Definition

    @dataclass(frozen=True)
    class TargetSet(DomainEvent):
        """The target value (målvärde) of one year was set."""

        TYPE = "IndicatorTargetSet.v1"
        indicator_id: str
        year: int
        value: float

    @dataclass(frozen=True)
    class ThresholdsSet(DomainEvent):
        """The green and yellow thresholds were set."""

        TYPE = "IndicatorThresholdsSet.v1"
        indicator_id: str
        thresholds: Thresholds

    @dataclass(frozen=True)
    class Retired(DomainEvent):
        """An indicator was retired."""

        TYPE = "IndicatorRetired.v1"
        indicator_id: str
        reason: str

    # -- commands -----------------------------------------------------------------------------
    @staticmethod
    def define(
        indicator_id: str, goal_id: str, goal_status: str, definition: Definition
    ) -> list[DomainEvent]:
        if goal_status == "retired":
            raise RuleViolation("the goal is retired and takes no new indicators")
        return [Indicator.Defined(indicator_id, goal_id, _valid_definition(definition))]

    def set_target(self, year: int, value: float, period_years: range) -> list[DomainEvent]:
        self._require_active()
        if year not in period_years:
            raise InvalidInput(
                f"targets are set for the years of the goal's mandate period "
                f"({period_years.start}-{period_years.stop - 1}), not {year}",
                {"year": ["outside the mandate period"]},
            )
        if self.targets.get(year) == value:
            return []
        return [Indicator.TargetSet(self.id, year, value)]

    def set_thresholds(self, thresholds: Thresholds) -> list[DomainEvent]:
        self._require_active()
        higher = self.definition.direction == "higher_is_better"
        if (
            (thresholds.green < thresholds.yellow)
            if higher
            else (thresholds.green > thresholds.yellow)
        ):
            raise InvalidInput(
                "when higher is better green must be at least yellow; when lower is better, "
                "at most yellow",
                {"thresholds": ["green and yellow in the wrong order"]},
            )
        return [Indicator.ThresholdsSet(self.id, thresholds)]

    def retire(self, reason: str) -> list[DomainEvent]:
        self._require_active()
        if not reason.strip():
            raise InvalidInput("say why the indicator is retired", {"reason": ["blank"]})
        return [Indicator.Retired(self.id, reason.strip())]

    def _require_active(self) -> None:
        if self.status != "active":
            raise RuleViolation("the indicator is retired")

    def light(self, value: float) -> str | None:
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
        return Indicator(event.indicator_id, event.goal_id, event.definition, {}, version=1)

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


def _valid_definition(definition: Definition) -> Definition:
    if not definition.name.strip():
        raise InvalidInput("an indicator needs a name", {"name": ["must not be blank"]})
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
    return replace(
        definition, name=definition.name.strip(), unit_of_measure=definition.unit_of_measure.strip()
    )


EVENTS = EventRegistry(
    Indicator.Defined, Indicator.TargetSet, Indicator.ThresholdsSet, Indicator.Retired
)
KIND = AggregateKind(STREAM_TYPE, Indicator, EVENTS, Indicator.start)
