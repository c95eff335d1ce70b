"""The read side of the goals service: read models in SQL, and folds of events for as_of."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

import psycopg
from psycopg.rows import dict_row

from services.goals.domain.organisation import EVENTS, STREAM_TYPE, OrgUnit
from shared.store import EventStore


def org_unit_as_of(
    store: EventStore, conn: psycopg.Connection[Any], unit_id: str, as_of: dt.datetime | None
) -> OrgUnit | None:
    """The unit folded from its events recorded by `as_of` (all of them when None)."""
    return OrgUnit.replay(EVENTS.decode_all(store.read_stream(conn, unit_id, as_of=as_of)))


def org_units_as_of(
    store: EventStore, conn: psycopg.Connection[Any], as_of: dt.datetime
) -> list[OrgUnit]:
    """Every unit as it stood at `as_of`, folded from the log (no read model involved)."""
    by_stream: dict[str, list[Any]] = {}
    for event in store.iterate_all(conn, stream_types=[STREAM_TYPE], as_of=as_of):
        by_stream.setdefault(event.stream_id, []).append(EVENTS.decode(event))
    units = [OrgUnit.replay(events) for events in by_stream.values()]
    return sorted((u for u in units if u is not None), key=lambda u: u.id)


def org_unit_view(unit: OrgUnit) -> dict[str, Any]:
    view = asdict(unit)
    view["status"] = "closed" if view.pop("closed") else "active"
    return view


def get_org_unit(conn: psycopg.Connection[Any], unit_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, name, kind, parent_id, status, version FROM org_units WHERE id = %s",
            [unit_id],
        ).fetchone()


def list_org_units(
    conn: psycopg.Connection[Any],
    *,
    after_id: str | None,
    limit: int,
    kind: str | None = None,
    parent_id: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """A page of units ordered by id, after `after_id`."""
    where, params = ["id > %s"], [after_id or ""]
    for column, value in (("kind", kind), ("parent_id", parent_id), ("status", status)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, name, kind, parent_id, status, version FROM org_units "
            f"WHERE {' AND '.join(where)} ORDER BY id LIMIT %s",
            [*params, limit],
        ).fetchall()


def ancestry(conn: psycopg.Connection[Any], unit_id: str) -> list[str]:
    """The ids from `unit_id` up to the root, itself first."""
    rows = conn.execute(
        """WITH RECURSIVE up(id, parent_id, depth) AS (
               SELECT id, parent_id, 0 FROM org_units WHERE id = %s
             UNION ALL
               SELECT u.id, u.parent_id, up.depth + 1 FROM org_units u
                 JOIN up ON u.id = up.parent_id WHERE up.depth < 100)
           SELECT id FROM up ORDER BY depth""",
        [unit_id],
    ).fetchall()
    return [r[0] for r in rows]
