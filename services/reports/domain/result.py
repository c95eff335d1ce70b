"""Indicator results (utfall): what an indicator showed for a year or an interim date.

One stream per indicator and period, its id derived from them, so a second result for the same
period is a conflict: a changed value is a correction, recorded as a new event, and the old
value stays in the history. Two time axes: `period` is what the value is *for*; the time the
event was recorded is when the municipality *learned* it, and every read `as_of` an instant
shows what was known then.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.reports.domain import periods
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "indicator_result"
STREAM_PREFIX = "result-"
NAMESPACE = uuid.UUID("2c1e6f0a-3b7d-4c55-9a0e-726573756c74")

Source = Literal["manual", "survey", "kolada"]
SOURCES: tuple[Source, ...] = ("manual", "survey", "kolada")
ResultStatus = Literal["recorded", "withdrawn"]


def result_id_for(indicator_id: str, period: str) -> str:
    return periods.derived_id(STREAM_PREFIX, NAMESPACE, indicator_id, periods.result_period(period))


@dataclass(frozen=True)
class IndicatorFacts:
    """What reports knows of an indicator from goals.events."""

    id: str
    status: str  # active, retired, unknown
    name: str = ""


@dataclass(frozen=True)
class Measurement:
    """A value with its optional split by gender (total / women / men), source and comment."""

    value: float
    women: float | None = None
    men: float | None = None
    source: Source = "manual"
    comment: str = ""

    @staticmethod
    def check(
        value: object, women: object, men: object, source: object, comment: object
    ) -> Measurement:
        if source not in SOURCES:
            raise InvalidInput(
                f"source is one of {', '.join(SOURCES)}, not {source!r}",
                {"source": ["not a known source"]},
            )
        return Measurement(
            float(values.number(value, "value")),
            None if women is None else float(values.number(women, "women")),
            None if men is None else float(values.number(men, "men")),
            source,  # type: ignore[arg-type]  # checked above
            ""
            if comment is None
            else values.text(
                str(comment), "comment", max_length=4000, multiline=True, required=False
            ),
        )


@dataclass(frozen=True)
class IndicatorResult:
    id: str
    indicator_id: str
    period: str
    year: int
    value: float
    women: float | None = None
    men: float | None = None
    source: Source = "manual"
    comment: str = ""
    status: ResultStatus = "recorded"
    corrections: int = 0
    version: int = 0

    @dataclass(frozen=True)
    class Recorded(DomainEvent):
        """A result (utfall) of an indicator for a year or an interim date was recorded."""

        TYPE = "ResultRecorded.v1"
        result_id: str
        indicator_id: str
        period: str
        value: float
        women: float | None
        men: float | None
        source: Source
        comment: str

    @dataclass(frozen=True)
    class Corrected(DomainEvent):
        """A recorded result was corrected; the earlier value stays in the history."""

        TYPE = "ResultCorrected.v1"
        result_id: str
        value: float
        women: float | None
        men: float | None
        source: Source
        comment: str
        reason: str

    @dataclass(frozen=True)
    class Withdrawn(DomainEvent):
        """A result was withdrawn (e.g. the source took it back): no data for the period."""

        TYPE = "ResultWithdrawn.v1"
        result_id: str
        reason: str

    # -- commands -------------------------------------------------------------------------------
    @staticmethod
    def record(
        result_id: str,
        indicator: IndicatorFacts,
        period: str,
        measurement: Measurement,
        today: dt.date,
    ) -> list[DomainEvent]:
        canonical = periods.result_period(period)
        if indicator.status == "unknown":
            raise RuleViolation(
                f"no indicator {indicator.id} is known here (it does not exist, or its events "
                "have not arrived yet)",
                {"indicator_id": ["unknown indicator"]},
            )
        if indicator.status != "active":
            raise RuleViolation(
                f"the indicator {indicator.name or indicator.id} is {indicator.status} and "
                "takes no new results",
                {"indicator_id": [f"{indicator.status} indicator"]},
            )
        _require_not_future(canonical, today)
        m = measurement
        return [
            IndicatorResult.Recorded(
                result_id, indicator.id, canonical, m.value, m.women, m.men, m.source, m.comment
            )
        ]

    def correct(self, measurement: Measurement, reason: str) -> list[DomainEvent]:
        why = values.text(reason, "reason", max_length=2000, multiline=True)
        m = measurement
        if self.status == "recorded" and m == self.measurement():
            raise RuleViolation(
                "the correction changes nothing: the result already has these values",
                {"value": ["unchanged"]},
            )
        return [
            IndicatorResult.Corrected(self.id, m.value, m.women, m.men, m.source, m.comment, why)
        ]

    def withdraw(self, reason: str) -> list[DomainEvent]:
        why = values.text(reason, "reason", max_length=2000, multiline=True)
        if self.status == "withdrawn":
            raise RuleViolation("the result is withdrawn already", {"status": ["withdrawn"]})
        return [IndicatorResult.Withdrawn(self.id, why)]

    def measurement(self) -> Measurement:
        return Measurement(self.value, self.women, self.men, self.source, self.comment)

    # -- folding --------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> IndicatorResult:
        if not isinstance(event, IndicatorResult.Recorded):
            raise ValueError(f"{type(event).__name__} before ResultRecorded")
        return IndicatorResult(
            event.result_id,
            event.indicator_id,
            event.period,
            periods.year_of(event.period),
            event.value,
            event.women,
            event.men,
            event.source,
            event.comment,
            version=1,
        )

    def when(self, event: Any) -> IndicatorResult:
        version = self.version + 1
        match event:
            case IndicatorResult.Corrected():
                return replace(
                    self,
                    value=event.value,
                    women=event.women,
                    men=event.men,
                    source=event.source,
                    comment=event.comment,
                    status="recorded",
                    corrections=self.corrections + 1,
                    version=version,
                )
            case IndicatorResult.Withdrawn():
                return replace(self, status="withdrawn", version=version)
        raise ValueError(f"{type(event).__name__} does not apply to a result")


def _require_not_future(period: str, today: dt.date) -> None:
    """A result is for a period that has begun: a year not after this one, a date not after
    today (a year's result may be recorded during the year, e.g. a survey in the spring)."""
    if periods.is_interim(period):
        values.not_in_future(dt.date.fromisoformat(period), today, "period", "an interim date")
    elif int(period) > today.year:
        raise InvalidInput(
            f"period {period} has not begun; a result is for a year up to {today.year}",
            {"period": ["in the future"]},
        )


EVENTS = EventRegistry(
    IndicatorResult.Recorded, IndicatorResult.Corrected, IndicatorResult.Withdrawn
)
KIND = AggregateKind(STREAM_TYPE, IndicatorResult, EVENTS, IndicatorResult.start)
