"""What reports knows of other services (services/reports/consumed.py keeps it): small typed
reads for command handlers and queries. `as_of` is a timezone-aware instant, or None for now;
it is compared with the goal events' recorded_at (when the municipality knew)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class UnitRow:
    id: str
    name: str
    kind: str
    parent_id: str | None
    status: str


@dataclass(frozen=True)
class GoalRow:
    id: str
    level: str
    owner_unit_id: str
    period: str
    title: str
    status: str
    development_area_id: str | None
    derived_from: tuple[str, ...]
    perspectives: tuple[str, ...]


@dataclass(frozen=True)
class IndicatorRow:
    id: str
    goal_id: str
    name: str
    unit_of_measure: str
    direction: str
    source_kind: str
    kpi_id: str | None
    status: str
    owner_unit_id: str | None  # its goal's owner; None while the goal is unknown
    baseline_value: float | None
    baseline_year: int | None


@dataclass(frozen=True)
class PlanRow:
    id: str
    unit_id: str
    period: str
    title: str
    status: str
    goal_ids: tuple[str, ...]


@dataclass(frozen=True)
class Note:
    written_on: dt.date
    text: str


@dataclass(frozen=True)
class ActivityRow:
    id: str
    plan_id: str
    title: str
    owner: str
    starts_on: dt.date
    due_on: dt.date
    status: str
    goal_ids: tuple[str, ...]
    indicator_ids: tuple[str, ...]
    notes: tuple[Note, ...]
    completed_on: dt.date | None
    cancelled_on: dt.date | None
    cancel_reason: str | None
    proposed_by: str | None


#: (target of the year, green, yellow), each None when not decided (as known then)
Yardstick = tuple[float | None, float | None, float | None]


def unit(conn: psycopg.Connection[Any], unit_id: str) -> UnitRow | None:
    with conn.cursor(row_factory=class_row(UnitRow)) as cur:
        return cur.execute(
            "SELECT id, name, kind, parent_id, status FROM known_org_units WHERE id = %s",
            [unit_id],
        ).fetchone()


def goal(conn: psycopg.Connection[Any], goal_id: str) -> GoalRow | None:
    row = conn.execute(
        """SELECT id, level, owner_unit_id, period, title, status, development_area_id,
                  derived_from, perspectives
             FROM known_goals WHERE id = %s""",
        [goal_id],
    ).fetchone()
    if row is None:
        return None
    return GoalRow(
        id=row[0],
        level=row[1],
        owner_unit_id=row[2],
        period=row[3],
        title=row[4],
        status=row[5],
        development_area_id=row[6],
        derived_from=tuple(row[7]),
        perspectives=tuple(row[8]),
    )


def indicator(conn: psycopg.Connection[Any], indicator_id: str) -> IndicatorRow | None:
    with conn.cursor(row_factory=class_row(IndicatorRow)) as cur:
        return cur.execute(
            """SELECT i.id, i.goal_id, i.name, i.unit_of_measure, i.direction, i.source_kind,
                      i.kpi_id, i.status, g.owner_unit_id, i.baseline_value, i.baseline_year
                 FROM known_indicators i LEFT JOIN known_goals g ON g.id = i.goal_id
                WHERE i.id = %s""",
            [indicator_id],
        ).fetchone()


@dataclass(frozen=True)
class TracedYardstick:
    """A year's target and the thresholds with the goals events that set them: `position` is
    the event's place in goals' log (known_targets.position / known_thresholds.position)."""

    target: float | None
    target_position: int | None
    target_recorded_at: dt.datetime | None
    green: float | None
    yellow: float | None
    thresholds_position: int | None

    @property
    def yardstick(self) -> Yardstick:
        return (self.target, self.green, self.yellow)


def yardsticks(
    conn: psycopg.Connection[Any],
    indicator_ids: Iterable[str],
    years: Iterable[int],
    as_of: dt.datetime | None = None,
) -> dict[tuple[str, int], Yardstick]:
    """For every indicator and year asked for: the year's target and the thresholds, each the
    last decided at or before `as_of` (now when None)."""
    traced = traced_yardsticks(conn, indicator_ids, years, as_of)
    return {key: found.yardstick for key, found in traced.items()}


def traced_yardsticks(
    conn: psycopg.Connection[Any],
    indicator_ids: Iterable[str],
    years: Iterable[int],
    as_of: dt.datetime | None = None,
) -> dict[tuple[str, int], TracedYardstick]:
    """`yardsticks`, each number with the position of the goals event that decided it."""
    ids, wanted_years = sorted(set(indicator_ids)), sorted(set(years))
    if not ids or not wanted_years:
        return {}
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    rows = conn.execute(
        """SELECT i.id, y.year, t.value, t.position, t.recorded_at, h.green, h.yellow, h.position
             FROM unnest(%(ids)s::text[]) AS i(id)
            CROSS JOIN unnest(%(years)s::int[]) AS y(year)
             LEFT JOIN LATERAL (
                  SELECT value, position, recorded_at FROM known_targets
                   WHERE indicator_id = i.id AND year = y.year
                     AND (%(as_of)s::timestamptz IS NULL OR recorded_at <= %(as_of)s)
                   ORDER BY position DESC LIMIT 1) t ON true
             LEFT JOIN LATERAL (
                  SELECT green, yellow, position FROM known_thresholds
                   WHERE indicator_id = i.id
                     AND (%(as_of)s::timestamptz IS NULL OR recorded_at <= %(as_of)s)
                   ORDER BY position DESC LIMIT 1) h ON true""",
        {"ids": ids, "years": wanted_years, "as_of": as_of},
    ).fetchall()
    return {(r[0], r[1]): TracedYardstick(r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}


def goals_owned_by(conn: psycopg.Connection[Any], unit_id: str, year: int) -> list[str]:
    """The adopted goals a unit owns whose mandate period covers `year` (a committee's
    quality report covers its own goals)."""
    rows = conn.execute(
        """SELECT id FROM known_goals
            WHERE owner_unit_id = %s AND status = 'adopted'
              AND split_part(period, '-', 1) ~ '^[0-9]{4}$'
              AND split_part(period, '-', 2) ~ '^[0-9]{4}$'
              AND %s BETWEEN split_part(period, '-', 1)::int AND split_part(period, '-', 2)::int
            ORDER BY id""",
        [unit_id, year],
    ).fetchall()
    return [r[0] for r in rows]


def plan_for(conn: psycopg.Connection[Any], unit_id: str, period: str) -> PlanRow | None:
    row = conn.execute(
        """SELECT id, unit_id, period, title, status, goal_ids FROM known_plans
            WHERE unit_id = %s AND period = %s ORDER BY id LIMIT 1""",
        [unit_id, period],
    ).fetchone()
    if row is None:
        return None
    return PlanRow(
        id=row[0],
        unit_id=row[1],
        period=row[2],
        title=row[3],
        status=row[4],
        goal_ids=tuple(row[5]),
    )


def activities(conn: psycopg.Connection[Any], plan_id: str) -> list[ActivityRow]:
    """The plan's activities, by start date (then id), each with its notes in order."""
    rows = conn.execute(
        """SELECT id, plan_id, title, owner, starts_on, due_on, status, goal_ids, indicator_ids,
                  notes, completed_on, cancelled_on, cancel_reason, proposed_by
             FROM known_activities WHERE plan_id = %s ORDER BY starts_on, id""",
        [plan_id],
    ).fetchall()
    return [
        ActivityRow(
            id=r[0],
            plan_id=r[1],
            title=r[2],
            owner=r[3],
            starts_on=r[4],
            due_on=r[5],
            status=r[6],
            goal_ids=tuple(r[7]),
            indicator_ids=tuple(r[8]),
            notes=_notes(r[9]),
            completed_on=r[10],
            cancelled_on=r[11],
            cancel_reason=r[12],
            proposed_by=r[13],
        )
        for r in rows
    ]


def _notes(value: Sequence[dict[str, Any]] | None) -> tuple[Note, ...]:
    return tuple(
        Note(dt.date.fromisoformat(str(n["written_on"])), str(n["text"])) for n in value or ()
    )


def subtree(conn: psycopg.Connection[Any], unit_id: str) -> list[str]:
    """The unit and every unit below it, the unit first, then level by level; [] if unknown."""
    rows = conn.execute(
        """WITH RECURSIVE down(id, depth) AS (
               SELECT id, 0 FROM known_org_units WHERE id = %s
             UNION
               SELECT u.id, down.depth + 1 FROM down
                 JOIN known_org_units u ON u.parent_id = down.id
                WHERE down.depth < 100)
           SELECT id FROM down GROUP BY id ORDER BY min(depth), id""",
        [unit_id],
    ).fetchall()
    return [r[0] for r in rows]
