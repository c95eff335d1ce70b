"""Read models of the plans service, including what it keeps from other services' events."""

from __future__ import annotations

from typing import Any

import psycopg

from shared.events import RecordedEvent
from shared.uow import Projection


class KnownOrgUnitsProjection(Projection):
    """`known_org_units`, from goals.events. A tolerant reader: it takes only the fields it
    needs from each event and ignores event types it does not know."""

    tables = ("known_org_units",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        data = event.data
        match event.name:
            case "OrgUnitCreated":
                conn.execute(
                    """INSERT INTO known_org_units
                         (id, name, kind, parent_id, status, version, updated_at)
                       VALUES (%s, %s, %s, %s, 'active', %s, %s)""",
                    [
                        event.stream_id,
                        data["name"],
                        data["kind"],
                        data.get("parent_id"),
                        event.version,
                        event.recorded_at,
                    ],
                )
                return
            case "OrgUnitRenamed":
                change, values = "name = %s", [data["name"]]
            case "OrgUnitMoved":
                change, values = "parent_id = %s", [data["parent_id"]]
            case "OrgUnitClosed":
                change, values = "status = %s", ["closed"]
            case _:
                return
        conn.execute(
            f"UPDATE known_org_units SET {change}, version = %s, updated_at = %s WHERE id = %s",
            [*values, event.version, event.recorded_at, event.stream_id],
        )


def consumed_projections() -> dict[str, list[Projection]]:
    return {"goals": [KnownOrgUnitsProjection()]}
