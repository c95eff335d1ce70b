"""Read models of the plans service: its own plans and activities (versioned), and what it
keeps from goals.events — the units and goals it needs — plus its reaction to goal changes."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg

from services.plans.domain import activity, agreement, plan
from services.plans.domain.activity import Activity, Work
from services.plans.domain.plan import ActionPlan
from shared import versions
from shared.events import Metadata, RecordedEvent
from shared.store import EventStore
from shared.uow import Projection, apply_all
from shared.versions import EntityVersionsProjection

log = logging.getLogger(__name__)

KINDS = (plan.KIND, activity.KIND, agreement.KIND)


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


class ImprovementProposalsBecomeActivities(Projection):
    """An improvement proposal (förbättringsförslag) of a unit's quality report becomes a
    proposed activity in that unit's plan for the next period; the plan is drafted if there is
    none. Idempotent: the activity's id follows from the proposal's, so it is made once.

    Tolerant reader of reports.events `ImprovementProposed` (any version): it takes
    `unit_id`, `period` (the period the report covers), `title` and `description`.
    """

    tables = ()  # it writes events, which a rebuild never removes

    def __init__(self) -> None:
        self.store = EventStore()
        self.projections = own_projections()

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if event.name != "ImprovementProposed":
            return
        data = event.data
        period = plan.next_period(plan.check_period(str(data["period"])))
        plan_id = plan.plan_id_for(str(data["unit_id"]), period)
        activity_id = f"{activity.STREAM_PREFIX}{uuid.uuid5(PROPOSALS, event.stream_id)}"
        if self.store.stream_version(conn, activity_id):
            return
        metadata = Metadata(
            actor="system:plans-consumer",
            correlation_id=str(event.metadata.get("correlation_id") or event.event_id),
            causation_id=str(event.event_id),
        )
        existing = self.store.read_stream(conn, plan_id)
        if existing:
            status = plan.KIND.fold_new(plan.EVENTS.decode_all(existing)).status
        else:
            status = "draft"
            drafted = ActionPlan.Drafted(
                plan_id,
                str(data["unit_id"]),
                period,
                f"Handlingsplan {period}",
                (),
                event.recorded_at.date(),
            )
            self._append(conn, plan_id, plan.STREAM_TYPE, [drafted], metadata)
        if status == "closed":
            log.warning(
                "improvement proposal %s: the %s plan of %s is closed; not added",
                event.stream_id,
                period,
                data["unit_id"],
            )
            return
        starts_on, due_on = plan.period_dates(period)
        work = Work(str(data["title"]), "the unit's manager", starts_on, due_on)
        planned = Activity.plan(activity_id, plan_id, status, work, proposed_by=event.stream_id)
        self._append(conn, activity_id, activity.STREAM_TYPE, planned, metadata)

    def _append(
        self,
        conn: psycopg.Connection[Any],
        stream_id: str,
        stream_type: str,
        events: list[Any],
        metadata: Metadata,
    ) -> None:
        recorded = self.store.append(
            conn, stream_id, stream_type, 0, [e.to_new_event() for e in events], metadata
        )
        apply_all(conn, self.projections, recorded)


#: namespace of the ids of activities made from improvement proposals
PROPOSALS = uuid.UUID("6f0c4d44-6a1b-4f2e-9b8e-696d70726f76")


def consumed_projections() -> dict[str, list[Projection]]:
    return {
        "goals": [KnownOrgUnitsProjection(), KnownGoalsProjection(), GoalChangesFlagPlans()],
        "reports": [ImprovementProposalsBecomeActivities()],
    }
