"""Read models of the plans service: its own plans and activities (versioned), and what it
keeps from goals.events — the units and goals it needs — plus its reaction to goal changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from services.plans.domain import activity, plan
from shared import versions
from shared.events import Metadata, RecordedEvent
from shared.store import EventStore
from shared.uow import Projection, apply_all
from shared.versions import EntityVersionsProjection

KINDS = (plan.KIND, activity.KIND)


def own_projections() -> list[Projection]:
    return [EntityVersionsProjection(KINDS)]


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


class KnownGoalsProjection(Projection):
    """`known_goals`, from goals.events: level, owner, period, title and status of each goal."""

    tables = ("known_goals",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        data = event.data
        match event.name:
            case "GoalDrafted":
                conn.execute(
                    """INSERT INTO known_goals
                         (id, level, owner_unit_id, period, title, status, version, updated_at)
                       VALUES (%s, %s, %s, %s, %s, 'draft', %s, %s)""",
                    [
                        event.stream_id,
                        data["level"],
                        data["owner_unit_id"],
                        data["period"],
                        data["content"]["title"],
                        event.version,
                        event.recorded_at,
                    ],
                )
                return
            case "GoalEdited" | "GoalRevised":
                change, values = "title = %s", [data["content"]["title"]]
            case "GoalAdopted":
                change, values = "status = %s", ["adopted"]
            case "GoalRetired":
                change, values = "status = %s", ["retired"]
            case name if name.startswith("Goal"):
                change, values = "status = status", []
            case _:
                return
        conn.execute(
            f"UPDATE known_goals SET {change}, version = %s, updated_at = %s WHERE id = %s",
            [*values, event.version, event.recorded_at, event.stream_id],
        )


class GoalChangesFlagPlans(Projection):
    """When a goal is revised or retired, every open plan that serves it is flagged for review
    (an event in the plan's own stream). Idempotent: a plan keeps the id of the goal event that
    flagged it, so re-delivery and republishing flag it once."""

    tables = ()  # it writes events, which a rebuild never removes

    REASONS = {"GoalRevised": "goal_revised", "GoalRetired": "goal_retired"}

    def __init__(self) -> None:
        self.store = EventStore()
        self.projections = own_projections()

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        reason = self.REASONS.get(event.name)
        if reason is None:
            return
        metadata = Metadata(
            actor="system:plans-consumer",
            correlation_id=str(event.metadata.get("correlation_id") or event.event_id),
            causation_id=str(event.event_id),
        )
        on = event.recorded_at.date()
        for state in versions.find(conn, plan.STREAM_TYPE, contains={"goal_ids": event.stream_id}):
            current = plan.KIND.fold_new(
                plan.EVENTS.decode_all(self.store.read_stream(conn, state["id"]))
            )
            flags = current.flag_for_review(event.stream_id, reason, str(event.event_id), on)
            if flags:
                recorded = self.store.append(
                    conn,
                    current.id,
                    plan.STREAM_TYPE,
                    current.version,
                    [f.to_new_event() for f in flags],
                    metadata,
                )
                apply_all(conn, self.projections, recorded)


def consumed_projections() -> dict[str, list[Projection]]:
    return {"goals": [KnownOrgUnitsProjection(), KnownGoalsProjection(), GoalChangesFlagPlans()]}


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
