"""Comparison values: what Kolada says a KPI was for another municipality in a year.

They are not results of our indicators (those are the municipality's own follow-up, with its
year's close): they are Kolada's figures for the comparison municipalities (Lidköping, Skara,
...), shown beside ours. One stream per (KPI, municipality, year), its id derived from them.
Kolada revises published values without notice, so each import decides against what is known:
a new value is recorded, a revised one corrected, a deleted one withdrawn, an unchanged or a
missing (null) one is nothing at all. Both time axes: `year` is what the value is *for*, the
event's recorded_at when the municipality *learned* it.

Every event carries its KPI, municipality and year, so a read model row follows from the event
alone (a rebuild copies rows in bulk, with no state to fold). A closed year does not lock these
values: they are Kolada's, not the municipality's decisions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.reports.domain import periods
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry

STREAM_TYPE = "comparison_value"
STREAM_PREFIX = "comparison-"
NAMESPACE = uuid.UUID("6f0c2d1e-8a41-4b7e-9c3d-636f6d706172")

#: what an import did with one value (the idempotency rules of the module's docstring)
Outcome = Literal["new", "corrected", "unchanged", "withdrawn", "no_data"]


def comparison_id_for(kpi: str, municipality: str, year: int) -> str:
    return periods.derived_id(STREAM_PREFIX, NAMESPACE, kpi, municipality, str(year))


@dataclass(frozen=True)
class Found:
    """What Kolada says now of one (KPI, municipality, year): total, women, men; `withdrawn`
    when it deleted the total. A null total is no data."""

    kpi: str
    municipality: str
    year: int
    value: float | None
    women: float | None = None
    men: float | None = None
    withdrawn: bool = False


@dataclass(frozen=True)
class ComparisonValue:
    id: str
    kpi: str
    municipality: str
    year: int
    value: float | None
    women: float | None = None
    men: float | None = None
    withdrawn: bool = False
    version: int = 0

    @dataclass(frozen=True)
    class Recorded(DomainEvent):
        """Kolada published a KPI's value for a comparison municipality and year."""

        TYPE = "ComparisonValueRecorded.v1"
        comparison_id: str
        kpi: str
        municipality: str
        year: int
        value: float
        women: float | None
        men: float | None

    @dataclass(frozen=True)
    class Corrected(DomainEvent):
        """Kolada revised the value (or published one again after withdrawing it)."""

        TYPE = "ComparisonValueCorrected.v1"
        comparison_id: str
        kpi: str
        municipality: str
        year: int
        value: float
        women: float | None
        men: float | None

    @dataclass(frozen=True)
    class Withdrawn(DomainEvent):
        """Kolada deleted the value: no data for the year until it publishes one again."""

        TYPE = "ComparisonValueWithdrawn.v1"
        comparison_id: str
        kpi: str
        municipality: str
        year: int

    # -- folding --------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> ComparisonValue:
        if not isinstance(event, ComparisonValue.Recorded):
            raise ValueError(f"{type(event).__name__} before ComparisonValueRecorded")
        return ComparisonValue(
            event.comparison_id,
            event.kpi,
            event.municipality,
            event.year,
            event.value,
            event.women,
            event.men,
            version=1,
        )

    def when(self, event: Any) -> ComparisonValue:
        version = self.version + 1
        match event:
            case ComparisonValue.Corrected():
                return replace(
                    self,
                    value=event.value,
                    women=event.women,
                    men=event.men,
                    withdrawn=False,
                    version=version,
                )
            case ComparisonValue.Withdrawn():
                return replace(self, withdrawn=True, version=version)
        raise ValueError(f"{type(event).__name__} does not apply to a comparison value")


def decide(state: ComparisonValue | None, found: Found) -> tuple[Outcome, list[DomainEvent]]:
    """What an import records for `found`, given what is known (`state`, None: nothing yet).
    Unchanged and missing values record nothing: a re-import of the same data is silent."""
    cid = comparison_id_for(found.kpi, found.municipality, found.year)
    where = (found.kpi, found.municipality, found.year)
    if found.withdrawn:
        if state is None:
            return "no_data", []
        if state.withdrawn:
            return "unchanged", []
        return "withdrawn", [ComparisonValue.Withdrawn(cid, *where)]
    if found.value is None:
        return "no_data", []  # a null never withdraws a value already recorded
    if state is None:
        return "new", [ComparisonValue.Recorded(cid, *where, found.value, found.women, found.men)]
    if not state.withdrawn and (state.value, state.women, state.men) == (
        found.value,
        found.women,
        found.men,
    ):
        return "unchanged", []
    return "corrected", [
        ComparisonValue.Corrected(cid, *where, found.value, found.women, found.men)
    ]


EVENTS = EventRegistry(
    ComparisonValue.Recorded, ComparisonValue.Corrected, ComparisonValue.Withdrawn
)
KIND = AggregateKind(STREAM_TYPE, ComparisonValue, EVENTS, ComparisonValue.start)
