"""Read models of the reports service fed by goals.events and plans.events.

Tolerant readers (docs/events.md): each projection takes only the fields it needs, in any
schema version, and ignores event types it does not know (KNOWN). Every table is declared in the
projection's `tables`, so a rebuild (shared/rebuild.py) writes shadow copies of all of them and
never the live ones.

Idempotent on their own, beside the consumer's (source, stream, version) tracking: a creation
does nothing when the row exists, a change applies only above the row's version, and a history
row (targets, thresholds) is keyed by the event's position in goals' log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from services.reports.chain_heads import ConsumedHeadsProjection
from shared.events import JsonValue, RecordedEvent
from shared.store import EventStore
from shared.uow import Projection

log = logging.getLogger(__name__)

#: event name -> the schema versions these readers know; other versions are ignored
KNOWN: dict[str, frozenset[int]] = {
    **{
        name: frozenset({1})
        for name in (
            "OrgUnitCreated",
            "OrgUnitRenamed",
            "OrgUnitMoved",
            "OrgUnitClosed",
            "GoalDrafted",
            "GoalEdited",
            "GoalAdopted",
            "GoalRevised",
            "GoalRetired",
            "GoalCarriedForward",
            "ActionPlanDrafted",
            "ActionPlanGoalsLinked",
            "ActionPlanAdopted",
            "ActionPlanRevised",
            "ActionPlanPhaseEntered",
            "ActionPlanFlaggedForReview",
            "ActionPlanClosed",
            "ActivityPlanned",
            "ActivityStarted",
            "ActivityCompleted",
            "ActivityCancelled",
            "ActivityProgressNoted",
        )
    },
    # recorded as .v1 before the decision was added, .v2 since: both carry what we read
    **{
        name: frozenset({1, 2})
        for name in (
            "GoalEvaluated",
            "DevelopmentAreaDefined",
            "DevelopmentAreaRetired",
            "IndicatorDefined",
            "IndicatorTargetSet",
            "IndicatorThresholdsSet",
            "IndicatorRetired",
        )
    },
}
_warned: set[str] = set()


def known(event: RecordedEvent) -> bool:
    """Whether the readers know this event's type. Any schema version is read, as plans'
    readers do: a reader takes the fields it needs and defaults what a version lacks, so a
    new version of an event is never dropped silently (a dropped event would be marked
    applied and never come again)."""
    return event.name in KNOWN


def _mapping(value: JsonValue | None) -> Mapping[str, JsonValue]:
    return value if isinstance(value, Mapping) else {}


def _texts(value: JsonValue | None) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _number(value: JsonValue | None) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: JsonValue | None) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: JsonValue | None) -> str | None:
    return None if value is None else str(value)


def _change(
    conn: psycopg.Connection[Any],
    table: str,
    event: RecordedEvent,
    assignments: str = "",
    values: list[Any] | None = None,
) -> None:
    """Apply a change to the row of the event's stream, once: only above the row's version."""
    changes = sql.SQL(assignments + ", " if assignments else "")
    conn.execute(
        sql.SQL(
            "UPDATE {} SET {}version = %s, updated_at = %s WHERE id = %s AND version < %s"
        ).format(sql.Identifier(table), changes),
        [*(values or []), event.version, event.recorded_at, event.stream_id, event.version],
    )


# -- goals.events --------------------------------------------------------------------------------


class KnownOrgUnitsProjection(Projection):
    """`known_org_units`: name, kind, parent and status of each organisation unit."""

    tables = ("known_org_units",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if not event.name.startswith("OrgUnit") or not known(event):
            return
        data = event.data
        match event.name:
            case "OrgUnitCreated":
                conn.execute(
                    """INSERT INTO known_org_units
                         (id, name, kind, parent_id, status, version, updated_at)
                       VALUES (%s, %s, %s, %s, 'active', %s, %s)
                       ON CONFLICT (id) DO NOTHING""",
                    [
                        event.stream_id,
                        str(data["name"]),
                        str(data["kind"]),
                        _text(data.get("parent_id")),
                        event.version,
                        event.recorded_at,
                    ],
                )
            case "OrgUnitRenamed":
                _change(conn, "known_org_units", event, "name = %s", [str(data["name"])])
            case "OrgUnitMoved":
                _change(
                    conn, "known_org_units", event, "parent_id = %s", [_text(data["parent_id"])]
                )
            case "OrgUnitClosed":
                _change(conn, "known_org_units", event, "status = 'closed'")


class KnownAreasProjection(Projection):
    """`known_areas`: the development areas (utvecklingsområden) and whether they are retired."""

    tables = ("known_areas",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if not event.name.startswith("DevelopmentArea") or not known(event):
            return
        match event.name:
            case "DevelopmentAreaDefined":
                conn.execute(
                    """INSERT INTO known_areas (id, name, status, version, updated_at)
                       VALUES (%s, %s, 'active', %s, %s) ON CONFLICT (id) DO NOTHING""",
                    [event.stream_id, str(event.data["name"]), event.version, event.recorded_at],
                )
            case "DevelopmentAreaRetired":
                _change(conn, "known_areas", event, "status = 'retired'")


class KnownGoalsProjection(Projection):
    """`known_goals`: each goal's level, owner, period, latest content and placement, status,
    and when (recorded_at) it was drafted, adopted and retired."""

    tables = ("known_goals",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if not event.name.startswith("Goal") or not known(event):
            return
        data = event.data
        match event.name:
            case "GoalDrafted":
                content = _mapping(data["content"])
                placement = _mapping(data.get("placement"))
                conn.execute(
                    """INSERT INTO known_goals
                         (id, level, owner_unit_id, period, title, status, development_area_id,
                          derived_from, perspectives, drafted_at, version, updated_at)
                       VALUES (%s, %s, %s, %s, %s, 'draft', %s, %s::text[], %s::text[], %s,
                               %s, %s)
                       ON CONFLICT (id) DO NOTHING""",
                    [
                        event.stream_id,
                        str(data["level"]),
                        str(data["owner_unit_id"]),
                        str(data["period"]),
                        str(content["title"]),
                        _text(placement.get("development_area_id")),
                        _texts(placement.get("derived_from")),
                        _texts(content.get("perspectives")),
                        event.recorded_at,
                        event.version,
                        event.recorded_at,
                    ],
                )
            case "GoalEdited" | "GoalRevised":
                content = _mapping(data.get("content"))
                placement = _mapping(data.get("placement"))
                title = content.get("title")
                _change(
                    conn,
                    "known_goals",
                    event,
                    """title = coalesce(%s, title),
                       perspectives = coalesce(%s::text[], perspectives),
                       development_area_id = CASE WHEN %s THEN %s ELSE development_area_id END,
                       derived_from = coalesce(%s::text[], derived_from)""",
                    [
                        None if title is None else str(title),
                        _texts(content["perspectives"]) if "perspectives" in content else None,
                        "development_area_id" in placement,
                        _text(placement.get("development_area_id")),
                        _texts(placement["derived_from"]) if "derived_from" in placement else None,
                    ],
                )
            case "GoalAdopted":
                _change(
                    conn,
                    "known_goals",
                    event,
                    "status = 'adopted', adopted_at = %s",
                    [event.recorded_at],
                )
            case "GoalRetired":
                _change(
                    conn,
                    "known_goals",
                    event,
                    "status = 'retired', retired_at = %s",
                    [event.recorded_at],
                )
            case _:  # evaluated, carried forward: the stream moved on
                _change(conn, "known_goals", event)


class KnownIndicatorsProjection(Projection):
    """`known_indicators`, and the history of targets (`known_targets`) and thresholds
    (`known_thresholds`): one row per event, so reads as_of an instant see what was decided
    then."""

    tables = ("known_indicators", "known_targets", "known_thresholds")

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if not event.name.startswith("Indicator") or not known(event):
            return
        data = event.data
        match event.name:
            case "IndicatorDefined":
                definition = _mapping(data["definition"])
                source = _mapping(definition.get("source"))
                baseline = _mapping(definition.get("baseline"))
                conn.execute(
                    """INSERT INTO known_indicators
                         (id, goal_id, name, unit_of_measure, direction, source_kind, kpi_id,
                          baseline_value, baseline_year, status, defined_at, version, updated_at)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'active', %s, %s, %s)
                       ON CONFLICT (id) DO NOTHING""",
                    [
                        event.stream_id,
                        str(data["goal_id"]),
                        str(definition["name"]),
                        str(definition["unit_of_measure"]),
                        str(definition["direction"]),
                        str(source["kind"]),
                        _text(source.get("kpi_id")),
                        _number(baseline.get("value")),
                        _int(baseline.get("year")),
                        event.recorded_at,
                        event.version,
                        event.recorded_at,
                    ],
                )
            case "IndicatorTargetSet":
                year, value = data["year"], data["value"]
                conn.execute(
                    """INSERT INTO known_targets (indicator_id, year, value, recorded_at, position)
                       VALUES (%s, %s, %s, %s, %s)
                       ON CONFLICT (indicator_id, year, position) DO NOTHING""",
                    [
                        event.stream_id,
                        int(str(year)),
                        float(str(value)),
                        event.recorded_at,
                        event.position,
                    ],
                )
                _change(conn, "known_indicators", event)
            case "IndicatorThresholdsSet":
                thresholds = _mapping(data["thresholds"])
                conn.execute(
                    """INSERT INTO known_thresholds
                         (indicator_id, green, yellow, recorded_at, position)
                       VALUES (%s, %s, %s, %s, %s)
                       ON CONFLICT (indicator_id, position) DO NOTHING""",
                    [
                        event.stream_id,
                        float(str(thresholds["green"])),
                        float(str(thresholds["yellow"])),
                        event.recorded_at,
                        event.position,
                    ],
                )
                _change(conn, "known_indicators", event)
            case "IndicatorRetired":
                _change(
                    conn,
                    "known_indicators",
                    event,
                    "status = 'retired', retired_at = %s",
                    [event.recorded_at],
                )


# -- plans.events --------------------------------------------------------------------------------


class KnownPlansProjection(Projection):
    """`known_plans`: each action plan's unit, period, title, status and goals."""

    tables = ("known_plans",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if not event.name.startswith("ActionPlan") or not known(event):
            return
        data = event.data
        match event.name:
            case "ActionPlanDrafted":
                conn.execute(
                    """INSERT INTO known_plans
                         (id, unit_id, period, title, status, goal_ids, version, updated_at)
                       VALUES (%s, %s, %s, %s, 'draft', %s::text[], %s, %s)
                       ON CONFLICT (id) DO NOTHING""",
                    [
                        event.stream_id,
                        str(data["unit_id"]),
                        str(data["period"]),
                        str(data["title"]),
                        _texts(data.get("goal_ids")),
                        event.version,
                        event.recorded_at,
                    ],
                )
            case "ActionPlanGoalsLinked":
                _change(
                    conn,
                    "known_plans",
                    event,
                    "goal_ids = %s::text[]",
                    [_texts(data["goal_ids"])],
                )
            case "ActionPlanAdopted":
                _change(conn, "known_plans", event, "status = 'adopted'")
            case "ActionPlanRevised":
                title, goal_ids = data.get("title"), data.get("goal_ids")
                _change(
                    conn,
                    "known_plans",
                    event,
                    "title = coalesce(%s, title), goal_ids = coalesce(%s::text[], goal_ids)",
                    [_text(title), None if goal_ids is None else _texts(goal_ids)],
                )
            case "ActionPlanClosed":
                _change(conn, "known_plans", event, "status = 'closed'")
            case _:  # phase entered, flagged for review: the stream moved on
                _change(conn, "known_plans", event)


class KnownActivitiesProjection(Projection):
    """`known_activities`: each activity's work, status, dates and progress notes."""

    tables = ("known_activities",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if not event.name.startswith("Activity") or not known(event):
            return
        data = event.data
        match event.name:
            case "ActivityPlanned":
                work = _mapping(data["work"])
                conn.execute(
                    """INSERT INTO known_activities
                         (id, plan_id, title, owner, starts_on, due_on, status, goal_ids,
                          indicator_ids, proposed_by, version, updated_at)
                       VALUES (%s, %s, %s, %s, %s::date, %s::date, 'planned', %s::text[],
                               %s::text[], %s, %s, %s)
                       ON CONFLICT (id) DO NOTHING""",
                    [
                        event.stream_id,
                        str(data["plan_id"]),
                        str(work["title"]),
                        str(work["owner"]),
                        str(work["starts_on"]),
                        str(work["due_on"]),
                        _texts(work.get("goal_ids")),
                        _texts(work.get("indicator_ids")),
                        _text(data.get("proposed_by")),
                        event.version,
                        event.recorded_at,
                    ],
                )
            case "ActivityStarted":
                _change(conn, "known_activities", event, "status = 'in_progress'")
            case "ActivityCompleted":
                _change(
                    conn,
                    "known_activities",
                    event,
                    "status = 'done', completed_on = %s::date",
                    [_text(data.get("completed_on"))],
                )
            case "ActivityCancelled":
                _change(
                    conn,
                    "known_activities",
                    event,
                    "status = 'cancelled', cancelled_on = %s::date, cancel_reason = %s",
                    [_text(data.get("cancelled_on")), _text(data.get("reason"))],
                )
            case "ActivityProgressNoted":
                _change(
                    conn,
                    "known_activities",
                    event,
                    "notes = notes || jsonb_build_array(jsonb_build_object("
                    "'written_on', %s::text, 'text', %s::text))",
                    [str(data["written_on"]), str(data["text"])],
                )


def consumed_projections(store: EventStore) -> dict[str, list[Projection]]:
    """`store` is the runtime's (unused: these read models make no commands)."""
    return {
        "goals": [
            KnownOrgUnitsProjection(),
            KnownAreasProjection(),
            KnownGoalsProjection(),
            KnownIndicatorsProjection(),
            ConsumedHeadsProjection("goals"),
        ],
        "plans": [
            KnownPlansProjection(),
            KnownActivitiesProjection(),
            ConsumedHeadsProjection("plans"),
        ],
    }
