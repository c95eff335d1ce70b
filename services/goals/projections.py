"""Read models of the goals service's own events, updated in the append transaction."""

from __future__ import annotations

from typing import Any

import psycopg

from services.goals.domain.organisation import EVENTS, OrgUnit
from shared.events import RecordedEvent
from shared.uow import Projection


class OrgUnitsProjection(Projection):
    """`org_units`: one row per organisation unit, as of the latest event."""

    tables = ("org_units",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if event.event_type not in EVENTS.classes:
            return
        fact = EVENTS.decode(event)
        match fact:
            case OrgUnit.Created():
                conn.execute(
                    """INSERT INTO org_units
                         (id, name, kind, parent_id, status, version, created_at, updated_at)
                       VALUES (%s, %s, %s, %s, 'active', %s, %s, %s)""",
                    [
                        fact.unit_id,
                        fact.name,
                        fact.kind,
                        fact.parent_id,
                        event.version,
                        event.recorded_at,
                        event.recorded_at,
                    ],
                )
                return
            case OrgUnit.Renamed():
                change, values = "name = %s", [fact.name]
            case OrgUnit.Moved():
                change, values = "parent_id = %s", [fact.parent_id]
            case OrgUnit.Closed():
                change, values = "status = %s", ["closed"]
            case _:
                return
        conn.execute(
            f"UPDATE org_units SET {change}, version = %s, updated_at = %s WHERE id = %s",
            [*values, event.version, event.recorded_at, event.stream_id],
        )


def own_projections() -> list[Projection]:
    return [OrgUnitsProjection()]
