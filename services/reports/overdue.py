"""Reads of the annual wheel: a year's deadlines, and what is overdue at an instant.

Both take `as_of`, and give what was known then: the deadlines decided by then, the results
recorded by then, the quality reports as they stood then, the goals adopted and the indicators
defined by then. The overdue list is measured on the municipality's day of that instant
(Europe/Stockholm): a deadline on 15 February is met all that day, overdue from the 16th.

What is overdue, each item with its owning unit:

- results: an active indicator of a goal adopted (and not retired) then, whose mandate covers the
  year, without a recorded result for the year (an interim result is not the year's), once the
  year's `results_due` deadline has passed. The owner is the goal's owning unit.
- quality reports: a report not submitted (never started, or a draft) once the year's
  `quality_report_due` has passed, for every unit that should report for the year. Those are
  (as QualityReport.start and handlers.goals_served decide what a report covers): an active unit
  other than the council with an adopted or closed plan for the year, or for the school year
  ending in it (2024/25 belongs to 2025), that serves goals; and an active committee owning
  adopted goals whose mandate covers the year (a committee reports on its own goals, plan or no
  plan). A report submitted later is no longer overdue from its submission on; one returned to
  draft is overdue again. The owner is the reporting unit.
- activities: an activity of an adopted or closed plan past its due date and not done or
  cancelled on that day (a done or cancelled activity counts as open before its completion or
  cancellation date, so earlier instants show it late). The owner is the plan's unit; `owner`
  names the person or team responsible. Reports keeps no history of activities, only their dates,
  so an activity planned after the instant still shows in a read of that instant.

A year whose annual report is approved (closed) at the instant lists no missing results or
reports: the year takes no changes, so nothing about it can be done any more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from services.reports import known
from services.reports.domain import annual, calendar, report
from shared import versions
from shared.values import LOCAL_TIME_ZONE

Conn = psycopg.Connection[Any]
Item = dict[str, Any]


def _moment(as_of: dt.datetime | None) -> dt.datetime:
    return as_of or dt.datetime.now(dt.UTC)


def day_of(as_of: dt.datetime | None) -> dt.date:
    """The municipality's day of the instant (now when None)."""
    return _moment(as_of).astimezone(LOCAL_TIME_ZONE).date()


# -- the calendar ---------------------------------------------------------------------------------


def deadlines(conn: Conn, as_of: dt.datetime | None, year: int | None = None) -> list[Item]:
    """The deadlines in force at `as_of` (of one year, or of all), in date order."""
    where = {"status": "active", **({"year": str(year)} if year is not None else {})}
    found = versions.find(conn, calendar.STREAM_TYPE, as_of=as_of, where=where)
    return sorted(found, key=lambda d: (d["date"], calendar.KINDS.index(d["kind"]), d["id"]))


def year_calendar(conn: Conn, year: int, as_of: dt.datetime | None) -> dict[str, Any]:
    """The year's wheel: its deadlines in date order, each with the decision in force and the
    decisions before it."""
    return {
        "year": year,
        "as_of": as_of.isoformat() if as_of else None,
        "deadlines": deadlines(conn, as_of, year),
    }


# -- what is overdue ------------------------------------------------------------------------------


def closed_years(conn: Conn, as_of: dt.datetime | None) -> set[int]:
    found = versions.find(conn, annual.STREAM_TYPE, as_of=as_of, where={"status": "approved"})
    return {int(state["year"]) for state in found}


def overdue(conn: Conn, as_of: dt.datetime | None, unit_id: str | None = None) -> dict[str, Any]:
    """What is late at `as_of` (now when None), per owning unit; only the units of `unit_id`'s
    subtree when it is given."""
    day = day_of(as_of)
    closed = closed_years(conn, as_of)
    items: list[Item] = []
    for deadline in deadlines(conn, as_of):
        due = dt.date.fromisoformat(deadline["date"])
        if due >= day or deadline["year"] in closed:
            continue
        if deadline["kind"] == "results_due":
            items += missing_results(conn, deadline, due, day, as_of)
        elif deadline["kind"] == "quality_report_due":
            items += missing_reports(conn, deadline, due, day, as_of)
    items += late_activities(conn, day)
    if unit_id is not None:
        wanted = set(known.subtree(conn, unit_id))
        items = [i for i in items if i["owner_unit_id"] in wanted]
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "day": day.isoformat(),
        "unit_id": unit_id,
        "counts": {
            what: sum(1 for i in items if i["what"] == what)
            for what in ("result", "quality_report", "activity")
        },
        "units": per_unit(conn, items),
    }


def _late(
    what: str,
    item_id: str,
    title: str,
    owner_unit_id: str,
    deadline: Item | None,
    due: dt.date,
    day: dt.date,
    **detail: Any,
) -> Item:
    return {
        "what": what,
        "id": item_id,
        "title": title,
        "owner_unit_id": owner_unit_id,
        "deadline": due.isoformat(),
        "deadline_id": deadline["id"] if deadline else None,
        "deadline_label": deadline["label"] if deadline else None,
        "days_overdue": (day - due).days,
        **detail,
    }


def missing_results(
    conn: Conn, deadline: Item, due: dt.date, day: dt.date, as_of: dt.datetime | None
) -> list[Item]:
    year = int(deadline["year"])
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """SELECT i.id, i.name, i.source_kind, g.id AS goal_id, g.owner_unit_id
                 FROM known_indicators i JOIN known_goals g ON g.id = i.goal_id
                WHERE g.adopted_at IS NOT NULL AND g.adopted_at <= %(moment)s
                  AND (g.retired_at IS NULL OR g.retired_at > %(moment)s)
                  AND g.period ~ '^[0-9]{4}-[0-9]{4}$'
                  AND %(year)s BETWEEN split_part(g.period, '-', 1)::int
                                   AND split_part(g.period, '-', 2)::int
                  AND i.defined_at <= %(moment)s
                  AND (i.retired_at IS NULL OR i.retired_at > %(moment)s)
                  AND NOT EXISTS (
                      SELECT 1 FROM result_versions r
                       WHERE r.year = %(year)s AND r.indicator_id = i.id
                         AND r.period = %(period)s
                         AND r.status = 'recorded' AND r.valid_from <= %(moment)s
                         AND (r.valid_to IS NULL OR r.valid_to > %(moment)s))
                ORDER BY i.id""",
            {"moment": _moment(as_of), "year": year, "period": str(year)},
        ).fetchall()
    return [
        _late(
            "result",
            row["id"],
            row["name"],
            row["owner_unit_id"],
            deadline,
            due,
            day,
            year=year,
            period=str(year),
            goal_id=row["goal_id"],
            source=row["source_kind"],
        )
        for row in rows
    ]


def reporting_units(conn: Conn, year: int, as_of: dt.datetime | None) -> list[tuple[str, str]]:
    """(unit, report period) of every report due for the year (the module doc says which)."""
    school_year = f"{year - 1}/{year % 100:02d}"
    rows = conn.execute(
        """SELECT p.unit_id, p.period FROM known_plans p
             JOIN known_org_units u ON u.id = p.unit_id
            WHERE p.period IN (%(year)s::text, %(school)s) AND p.status IN ('adopted', 'closed')
              AND cardinality(p.goal_ids) > 0 AND u.status = 'active' AND u.kind <> 'council'
           UNION
           SELECT g.owner_unit_id, %(year)s::text FROM known_goals g
             JOIN known_org_units u ON u.id = g.owner_unit_id
            WHERE u.kind = 'committee' AND u.status = 'active'
              AND g.adopted_at IS NOT NULL AND g.adopted_at <= %(moment)s
              AND (g.retired_at IS NULL OR g.retired_at > %(moment)s)
              AND g.period ~ '^[0-9]{4}-[0-9]{4}$'
              AND %(year)s::text::int BETWEEN split_part(g.period, '-', 1)::int
                                          AND split_part(g.period, '-', 2)::int
            ORDER BY 1, 2""",
        {"year": str(year), "school": school_year, "moment": _moment(as_of)},
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def missing_reports(
    conn: Conn, deadline: Item, due: dt.date, day: dt.date, as_of: dt.datetime | None
) -> list[Item]:
    year = int(deadline["year"])
    expected = reporting_units(conn, year, as_of)
    ids = [report.report_id_for(unit, period) for unit, period in expected]
    found = {r["id"]: r for r in versions.find(conn, report.STREAM_TYPE, as_of=as_of, ids=ids)}
    items = []
    for (unit, period), report_id in zip(expected, ids, strict=True):
        state = found.get(report_id)
        status = state["status"] if state else "not_started"
        if status in ("submitted", "approved"):
            continue
        items.append(
            _late(
                "quality_report",
                report_id,
                f"Kvalitetsredovisning {period}",
                unit,
                deadline,
                due,
                day,
                year=year,
                period=period,
                status=status,
            )
        )
    return items


def late_activities(conn: Conn, day: dt.date) -> list[Item]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """SELECT a.id, a.title, a.owner, a.due_on, a.status, a.plan_id, p.unit_id,
                      p.period
                 FROM known_activities a JOIN known_plans p ON p.id = a.plan_id
                WHERE a.due_on < %(day)s AND p.status IN ('adopted', 'closed')
                  AND NOT (a.status = 'done'
                           AND (a.completed_on IS NULL OR a.completed_on <= %(day)s))
                  AND NOT (a.status = 'cancelled'
                           AND (a.cancelled_on IS NULL OR a.cancelled_on <= %(day)s))
                ORDER BY a.due_on, a.id""",
            {"day": day},
        ).fetchall()
    return [
        _late(
            "activity",
            row["id"],
            row["title"],
            row["unit_id"],
            None,
            row["due_on"],
            day,
            period=row["period"],
            plan_id=row["plan_id"],
            owner=row["owner"],
            status=row["status"] if row["status"] in ("planned", "in_progress") else "open",
        )
        for row in rows
    ]


def per_unit(conn: Conn, items: Iterable[Item]) -> list[dict[str, Any]]:
    """The items grouped by owning unit, named; units by name, items most overdue first."""
    grouped: dict[str, list[Item]] = {}
    for item in items:
        grouped.setdefault(item["owner_unit_id"], []).append(item)
    names = unit_names(conn, list(grouped))
    units: list[dict[str, Any]] = [
        {
            "unit_id": unit_id,
            "unit_name": names.get(unit_id, unit_id),
            "items": sorted(unit_items, key=lambda i: (-i["days_overdue"], i["what"], i["id"])),
        }
        for unit_id, unit_items in grouped.items()
    ]
    return sorted(units, key=lambda u: (u["unit_name"], u["unit_id"]))


def unit_names(conn: Conn, unit_ids: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        "SELECT id, name FROM known_org_units WHERE id = ANY(%s)", [list(unit_ids)]
    ).fetchall()
    return {r[0]: r[1] for r in rows}
