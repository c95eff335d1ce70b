"""Read models of the reports service's own events, updated in the append transaction: every
entity's versions (shared.versions, for reads `as_of` any instant) and `result_versions`, the
typed history of results the scorecard reads."""

from __future__ import annotations

from typing import Any

import psycopg

from services.reports.domain import annual, assessment, improvement, report, result, rules
from shared.events import RecordedEvent
from shared.uow import Projection
from shared.versions import EntityVersionsProjection

KINDS = (result.KIND, assessment.KIND, report.KIND, improvement.KIND, annual.KIND, rules.KIND)


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
                RETURNING indicator_id, period, value, women, men, source, comment, status,
                          version""",
                [event.recorded_at, event.stream_id],
            ).fetchone()
            if row is None:
                raise RuntimeError(f"no current result {event.stream_id} for {event.event_type}")
            before = result.IndicatorResult(
                event.stream_id,
                row[0],
                row[1],
                int(row[1][:4]),
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                version=row[8],
            )
            state = before.when(fact)
        conn.execute(
            """INSERT INTO result_versions
                 (result_id, version, indicator_id, period, year, value, women, men, source,
                  comment, status, valid_from, position)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
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
            ],
        )


def own_projections() -> list[Projection]:
    return [EntityVersionsProjection(KINDS), ResultVersionsProjection()]
