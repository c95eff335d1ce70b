"""Read models of the plans service: its own plans and activities (versioned), and what it
keeps from goals.events — the units, goals and indicators it needs — plus its reactions to goal
changes and improvement proposals, which are commands like any other (services/plans/handlers)."""

from __future__ import annotations

from typing import Any

import psycopg

from services.plans import handlers
from services.plans.domain import activity, agreement, plan, proposal
from services.plans.domain.plan import ReviewReason
from shared import versions
from shared.consumer import ReactionUnitOfWork
from shared.events import Metadata, RecordedEvent
from shared.store import EventStore
from shared.uow import Projection
from shared.versions import EntityVersionsProjection

KINDS = (plan.KIND, activity.KIND, agreement.KIND, proposal.KIND)


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
                # a later version may move or drop the content: keep the title then
                content = data.get("content")
                title = content.get("title") if isinstance(content, dict) else None
                change, values = "title = coalesce(%s, title)", [title]
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


class KnownIndicatorsProjection(Projection):
    """`known_indicators`, from goals.events: the goal each indicator measures, and whether it is
    retired. A tolerant reader of IndicatorDefined and IndicatorRetired (any version): it takes
    `indicator_id` and `goal_id` and nothing else."""

    tables = ("known_indicators",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        data = event.data
        match event.name:
            case "IndicatorDefined":
                conn.execute(
                    """INSERT INTO known_indicators (id, goal_id, status, version, updated_at)
                       VALUES (%s, %s, 'active', %s, %s)""",
                    [
                        str(data.get("indicator_id") or event.stream_id),
                        str(data["goal_id"]),
                        event.version,
                        event.recorded_at,
                    ],
                )
            case "IndicatorRetired":
                conn.execute(
                    """UPDATE known_indicators SET status = 'retired', version = %s,
                              updated_at = %s WHERE id = %s""",
                    [event.version, event.recorded_at, event.stream_id],
                )


def _reaction_metadata(event: RecordedEvent) -> Metadata:
    return Metadata(
        actor="system:plans-consumer",
        correlation_id=str(event.metadata.get("correlation_id") or event.event_id),
        causation_id=str(event.event_id),
    )


class GoalChangesFlagPlans(Projection):
    """When a goal is revised or retired, every open plan that serves it is flagged for review
    (an event in the plan's own stream). Idempotent: a plan keeps the id of the goal event that
    flagged it, so re-delivery and republishing flag it once."""

    tables = ()  # it writes events, which a rebuild never removes

    REASONS: dict[str, ReviewReason] = {
        "GoalRevised": "goal_revised",
        "GoalRetired": "goal_retired",
    }

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.projections = own_projections()

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        reason = self.REASONS.get(event.name)
        if reason is None:
            return
        uow = ReactionUnitOfWork(conn, self.store, self.projections)
        on = event.recorded_at.date()
        for state in versions.find(conn, plan.STREAM_TYPE, contains={"goal_ids": event.stream_id}):
            handlers.flag_plan_for_review(
                uow,
                _reaction_metadata(event),
                state["id"],
                event.stream_id,
                reason,
                str(event.event_id),
                on,
            )


class ImprovementProposalsBecomeActivities(Projection):
    """An improvement proposal (förbättringsförslag) of a unit's quality report becomes a
    proposed activity in that unit's plan for the next period; the plan is drafted if there is
    none. A proposal no plan may take (the unit may not have plans, is closed or unknown, or its
    plan is closed) is recorded as rejected with the reason. Idempotent: the proposal's own
    stream in plans says it was taken (handlers.take_improvement_proposal).

    Tolerant reader of reports.events `ImprovementProposed` (any version): it takes
    `unit_id`, `period` (the period the report covers) and `title`.
    """

    tables = ()  # it writes events, which a rebuild never removes

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.projections = own_projections()

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if event.name != "ImprovementProposed":
            return
        data = event.data
        handlers.take_improvement_proposal(
            ReactionUnitOfWork(conn, self.store, self.projections),
            _reaction_metadata(event),
            proposal_id=event.stream_id,
            # raw: a proposal missing a field is recorded as rejected, never retried forever
            unit_id=data.get("unit_id"),
            period=data.get("period"),
            title=data.get("title"),
        )


def consumed_projections(store: EventStore) -> dict[str, list[Projection]]:
    """`store` is the runtime's: reactions read and append with the service's upcasters."""
    return {
        "goals": [
            KnownOrgUnitsProjection(),
            KnownGoalsProjection(),
            KnownIndicatorsProjection(),
            GoalChangesFlagPlans(store),
        ],
        "reports": [ImprovementProposalsBecomeActivities(store)],
    }
