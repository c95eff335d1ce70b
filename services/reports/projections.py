"""Read models of the reports service's own events, updated in the append transaction: every
entity's versions (shared.versions, for reads `as_of` any instant) and `result_versions`, the
typed history of results the scorecard reads, and `comparison_values`, the comparison
municipalities' Kolada values (services/reports/kolada_comparisons.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from services.reports.domain import (
    annual,
    assessment,
    calendar,
    improvement,
    report,
    result,
    rules,
)
from services.reports.kolada_comparisons import ComparisonValuesProjection
from shared import versions
from shared.events import RecordedEvent
from shared.uow import Projection
from shared.versions import EntityVersionsProjection

KINDS = (
    result.KIND,
    assessment.KIND,
    report.KIND,
    improvement.KIND,
    annual.KIND,
    rules.KIND,
    calendar.KIND,
)


class ResultVersionsProjection(Projection):
    """`result_versions`: one row per result event, valid from the time it was recorded."""

    tables = ("result_versions",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if event.stream_type != result.STREAM_TYPE:
            return
        fact = result.EVENTS.decode(event)
        if event.version == 1:
            state = result.KIND.start(fact)
        else:
            row = conn.execute(
                """UPDATE result_versions SET valid_to = %s
                    WHERE result_id = %s AND valid_to IS NULL
                RETURNING result_id, indicator_id, period, value, women, men, source, comment,
                          status, version""",
                [event.recorded_at, event.stream_id],
            ).fetchone()
            if row is None:
                raise RuntimeError(f"no current result {event.stream_id} for {event.event_type}")
            state = _restore(row).when(fact)
        conn.execute(
            """INSERT INTO result_versions
                 (result_id, version, indicator_id, period, year, value, women, men, source,
                  comment, status, valid_from, position)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            _columns(state, event),
        )

    def apply_many(self, conn: psycopg.Connection[Any], events: Sequence[RecordedEvent]) -> None:
        """In bulk (a rebuild): close the current rows of the results the batch continues in
        one statement, fold in memory, COPY the new rows — what `apply` writes one by one."""
        mine = [e for e in events if e.stream_type == result.STREAM_TYPE]
        if len(mine) < versions.BULK_AT:
            for event in mine:
                self.apply(conn, event)
            return
        first: dict[str, RecordedEvent] = {}
        for event in mine:
            first.setdefault(event.stream_id, event)
        continued = [e for e in first.values() if e.version > 1]
        states: dict[str, result.IndicatorResult] = {}
        if continued:
            rows = conn.execute(
                """UPDATE result_versions AS r SET valid_to = c.valid_to
                     FROM unnest(%s::text[], %s::timestamptz[]) AS c(result_id, valid_to)
                    WHERE r.result_id = c.result_id AND r.valid_to IS NULL
                RETURNING r.result_id, r.indicator_id, r.period, r.value, r.women, r.men,
                          r.source, r.comment, r.status, r.version""",
                [[e.stream_id for e in continued], [e.recorded_at for e in continued]],
            ).fetchall()
            states = {row[0]: _restore(row) for row in rows}
        written: list[list[Any]] = []
        last_row: dict[str, list[Any]] = {}
        for event in mine:
            fact = result.EVENTS.decode(event)
            if event.version == 1:
                state = result.KIND.start(fact)
            else:
                before = states.get(event.stream_id)
                if before is None:
                    raise RuntimeError(
                        f"no current result {event.stream_id} for {event.event_type}"
                    )
                state = before.when(fact)
                if event.stream_id in last_row:
                    last_row[event.stream_id][13] = event.recorded_at
            states[event.stream_id] = state
            row = [*_columns(state, event), None]
            last_row[event.stream_id] = row
            written.append(row)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY result_versions (result_id, version, indicator_id, period, year, value, "
                "women, men, source, comment, status, valid_from, position, valid_to) FROM STDIN"
            ) as copy,
        ):
            for row in written:
                copy.write_row(row)


def _restore(row: Sequence[Any]) -> result.IndicatorResult:
    """A result's state from its current row (result_id, indicator_id, period, value, women,
    men, source, comment, status, version)."""
    return result.IndicatorResult(
        row[0],
        row[1],
        row[2],
        int(row[2][:4]),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        version=row[9],
    )


def _columns(state: result.IndicatorResult, event: RecordedEvent) -> list[Any]:
    return [
        state.id,
        event.version,
        state.indicator_id,
        state.period,
        state.year,
        state.value,
        state.women,
        state.men,
        state.source,
        state.comment,
        state.status,
        event.recorded_at,
        event.position,
    ]


def own_projections() -> list[Projection]:
    return [
        EntityVersionsProjection(KINDS),
        ResultVersionsProjection(),
        ComparisonValuesProjection(),
    ]
