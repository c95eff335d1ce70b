"""A versioned read model: every state each entity has had, with the time it held.

`entity_versions` keeps one row per event of an aggregate: the state after it, valid from the
event's recorded_at until the next event's. The current state is the row with no end; the state
`as_of` an instant is the row whose interval holds it. So any list, filter or tree is answered
for any past instant by one indexed query, without folding the log (DESIGN.md §5), and the table
is rebuilt from events alone like every read model. Schema: shared/migrations/0002.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from shared.aggregate import AggregateKind, to_json
from shared.events import RecordedEvent
from shared.uow import Projection


class EntityVersionsProjection(Projection):
    """Folds each event onto the entity's latest state and keeps every state with its time."""

    tables = ("entity_versions",)

    def __init__(self, kinds: Sequence[AggregateKind[Any]]) -> None:
        self.kinds = {kind.stream_type: kind for kind in kinds}

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        kind = self.kinds.get(event.stream_type)
        if kind is None:
            return
        fact = kind.events.decode(event)
        if event.version == 1:
            state = kind.start(fact)
        else:
            row = conn.execute(
                "UPDATE entity_versions SET valid_to = %s "
                "WHERE entity_id = %s AND valid_to IS NULL RETURNING state",
                [event.recorded_at, event.stream_id],
            ).fetchone()
            if row is None:
                raise RuntimeError(
                    f"no current state of {event.stream_id} to apply "
                    f"{event.event_type} v{event.version} to"
                )
            state = kind.restore(row[0]).when(fact)
        conn.execute(
            "INSERT INTO entity_versions "
            "(entity_id, entity_type, version, valid_from, position, state) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                event.stream_id,
                event.stream_type,
                event.version,
                event.recorded_at,
                event.position,
                Jsonb(to_json(state)),
            ],
        )

    def apply_many(self, conn: psycopg.Connection[Any], events: Sequence[RecordedEvent]) -> None:
        """In bulk: the current states of the streams the batch continues are closed and read
        in one statement, the events folded in memory, and every new state written by COPY —
        the rows `apply` would write one event at a time (a rebuild's speed, bench/reports)."""
        mine = [e for e in events if e.stream_type in self.kinds]
        if len(mine) < BULK_AT:
            for event in mine:
                self.apply(conn, event)
            return
        first: dict[str, RecordedEvent] = {}
        for event in mine:
            first.setdefault(event.stream_id, event)
        continued = [e for e in first.values() if e.version > 1]
        states: dict[str, Any] = {}
        if continued:
            rows = conn.execute(
                """UPDATE entity_versions AS v SET valid_to = c.valid_to
                     FROM unnest(%s::text[], %s::timestamptz[]) AS c(entity_id, valid_to)
                    WHERE v.entity_id = c.entity_id AND v.valid_to IS NULL
                RETURNING v.entity_id, v.entity_type, v.state""",
                [[e.stream_id for e in continued], [e.recorded_at for e in continued]],
            ).fetchall()
            states = {row[0]: self.kinds[row[1]].restore(row[2]) for row in rows}
        written: list[list[Any]] = []
        last_row: dict[str, list[Any]] = {}
        for event in mine:
            kind = self.kinds[event.stream_type]
            fact = kind.events.decode(event)
            if event.version == 1:
                state = kind.start(fact)
            else:
                before = states.get(event.stream_id)
                if before is None:
                    raise RuntimeError(
                        f"no current state of {event.stream_id} to apply "
                        f"{event.event_type} v{event.version} to"
                    )
                state = before.when(fact)
                if event.stream_id in last_row:
                    last_row[event.stream_id][4] = event.recorded_at
            states[event.stream_id] = state
            row = [
                event.stream_id,
                event.stream_type,
                event.version,
                event.recorded_at,
                None,
                event.position,
                json.dumps(to_json(state)),
            ]
            last_row[event.stream_id] = row
            written.append(row)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY entity_versions (entity_id, entity_type, version, valid_from, valid_to, "
                "position, state) FROM STDIN"
            ) as copy,
        ):
            for row in written:
                copy.write_row(row)


#: below this many events of its kinds, apply_many applies them one by one (a command's few)
BULK_AT = 64


def _in_time(as_of: dt.datetime | None) -> tuple[str, list[Any]]:
    if as_of is None:
        return "valid_to IS NULL", []
    return "valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)", [as_of, as_of]


def get(
    conn: psycopg.Connection[Any], entity_id: str, as_of: dt.datetime | None = None
) -> dict[str, Any] | None:
    """An entity's state now, or as it stood at `as_of`; None if it did not exist then."""
    when, params = _in_time(as_of)
    row = conn.execute(
        f"SELECT state FROM entity_versions WHERE entity_id = %s AND {when}",
        [entity_id, *params],
    ).fetchone()
    return row[0] if row else None


def find(
    conn: psycopg.Connection[Any],
    entity_type: str,
    *,
    as_of: dt.datetime | None = None,
    where: Mapping[str, str | None] | None = None,
    contains: Mapping[str, str] | None = None,
    ids: Sequence[str] | None = None,
    after_id: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """States of one entity type, now or `as_of`, ordered by id.

    `where` matches fields by path ("placement.development_area_id": "area-1"; None matches
    a missing or null field); `contains` matches a value inside a list field.
    """
    when, params = _in_time(as_of)
    clauses = ["entity_type = %s", when]
    params = [entity_type, *params]
    for path, value in (where or {}).items():
        if value is None:
            clauses.append("state #>> %s IS NULL")
            params.append(path.split("."))
        else:
            clauses.append("state #>> %s = %s")
            params += [path.split("."), value]
    for path, value in (contains or {}).items():
        clauses.append("state #> %s ? %s")
        params += [path.split("."), value]
    if ids is not None:
        clauses.append("entity_id = ANY(%s)")
        params.append(list(ids))
    if after_id is not None:
        clauses.append("entity_id > %s")
        params.append(after_id)
    query = f"SELECT state FROM entity_versions WHERE {' AND '.join(clauses)} ORDER BY entity_id"
    if limit is not None:
        query += " LIMIT %s"
        params.append(limit)
    with conn.cursor(row_factory=dict_row) as cur:
        return [r["state"] for r in cur.execute(query, params).fetchall()]
