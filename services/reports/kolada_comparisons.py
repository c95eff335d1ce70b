"""Comparison municipalities' Kolada values: recording them (the import's second half) and their
read model, `comparison_values` (migrations/0003), a row per event.

Recording reads what is known of every value of the run in one query, decides each with
`domain.comparison.decide` (new / corrected / withdrawn append one event; unchanged and no data
append nothing) and appends in transactions of `BATCH` streams (the system's own writes: no
caller's access check), so an import of tens of thousands of values is not tens of thousands of
transactions. A batch that meets a concurrent
change (another import of the same values) is rolled back and counted as refused; the next run
records it, since decisions are made against what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from services.reports.domain import comparison
from services.reports.domain.comparison import ComparisonValue, Found, Outcome
from shared.aggregate import DomainEvent
from shared.events import Metadata, RecordedEvent
from shared.runtime import Runtime
from shared.store import ConcurrencyError
from shared.uow import Projection, apply_all

#: streams appended per transaction (the store's append lock is held to the commit: small)
BATCH = 100
_COLUMNS = (
    "comparison_id, kpi, municipality, year, version, value, women, men, withdrawn, "
    "recorded_at, position, event_id"
)


@dataclass
class ComparisonCounts:
    """What a run did with the comparison municipalities' values (one per KPI,
    municipality and year)."""

    values: int = 0
    new: int = 0
    corrected: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    no_data: int = 0
    refused: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class ComparisonValuesProjection(Projection):
    """`comparison_values`: one row per comparison value event, from the event alone."""

    tables = ("comparison_values",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if event.stream_type != comparison.STREAM_TYPE:
            return
        conn.execute(
            f"INSERT INTO comparison_values ({_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            _row(event),
        )

    def apply_many(self, conn: psycopg.Connection[Any], events: Sequence[RecordedEvent]) -> None:
        mine = [e for e in events if e.stream_type == comparison.STREAM_TYPE]
        if not mine:
            return
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY comparison_values ({_COLUMNS}) FROM STDIN") as copy,
        ):
            for event in mine:
                copy.write_row(_row(event))


def _row(event: RecordedEvent) -> list[Any]:
    fact = comparison.EVENTS.decode(event)
    value = women = men = None
    if isinstance(fact, ComparisonValue.Recorded | ComparisonValue.Corrected):
        value, women, men = fact.value, fact.women, fact.men
    assert isinstance(
        fact, ComparisonValue.Recorded | ComparisonValue.Corrected | ComparisonValue.Withdrawn
    )
    return [
        event.stream_id,
        fact.kpi,
        fact.municipality,
        fact.year,
        event.version,
        value,
        women,
        men,
        isinstance(fact, ComparisonValue.Withdrawn),
        event.recorded_at,
        event.position,
        str(event.event_id),
    ]


def current(
    conn: psycopg.Connection[Any], kpis: Sequence[str], municipalities: Sequence[str]
) -> dict[str, ComparisonValue]:
    """What is known now of the KPIs' values for the municipalities, by comparison id."""
    rows = conn.execute(
        """SELECT DISTINCT ON (comparison_id)
                  comparison_id, kpi, municipality, year, value, women, men, withdrawn, version
             FROM comparison_values
            WHERE kpi = ANY(%s) AND municipality = ANY(%s)
            ORDER BY comparison_id, version DESC""",
        [list(kpis), list(municipalities)],
    ).fetchall()
    return {
        row[0]: ComparisonValue(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8]
        )
        for row in rows
    }


def record(
    runtime: Runtime,
    metadata: Metadata,
    found: Iterable[Found],
    counts: ComparisonCounts,
    progress: Callable[[], None] | None = None,
    batch: int = BATCH,
) -> None:
    """Record what Kolada says of the comparison values (see the module's docstring)."""
    values = list(found)
    kpis = sorted({f.kpi for f in values})
    municipalities = sorted({f.municipality for f in values})
    with runtime.pool.connection() as conn:
        known = current(conn, kpis, municipalities) if values else {}
    pending: list[_Pending] = []
    for item in values:
        counts.values += 1
        cid = comparison.comparison_id_for(item.kpi, item.municipality, item.year)
        state = known.get(cid)
        outcome, events = comparison.decide(state, item)
        if events:
            pending.append(_Pending(cid, state.version if state else 0, outcome, events))
        else:
            counts.add(outcome)
        if len(pending) >= batch:
            _append_batch(runtime, metadata, pending, counts)
            pending = []
            if progress is not None:
                progress()
    if pending:
        _append_batch(runtime, metadata, pending, counts)
    if progress is not None:
        progress()


@dataclass(frozen=True)
class _Pending:
    comparison_id: str
    version: int
    outcome: Outcome
    events: list[DomainEvent]


def _append_batch(
    runtime: Runtime, metadata: Metadata, pending: Sequence[_Pending], counts: ComparisonCounts
) -> None:
    """One transaction for the batch; a concurrent change refuses (and rolls back) all of it.
    The read models take the batch's events at once, in the same transaction (COPY)."""
    try:
        with runtime.uow() as uow:
            recorded: list[RecordedEvent] = []
            for item in pending:
                recorded += uow.store.append(
                    uow.conn,
                    item.comparison_id,
                    comparison.STREAM_TYPE,
                    item.version,
                    [e.to_new_event() for e in item.events],
                    metadata,
                )
            apply_all(uow.conn, uow.projections, recorded)
    except ConcurrencyError:
        counts.refused += len(pending)
        return
    for item in pending:
        counts.add(item.outcome)
