"""Reads that compose several read models: indicator statuses and the scorecard (styrkort).

Everything here takes `as_of`: what was known at that instant — the results recorded by then
(their corrections later are not yet known), the targets and thresholds decided by then, the
goals adopted by then, the assessments made by then, and the status rules in force then.
Statuses are computed on reading, never stored (services/reports/domain/status.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import psycopg
from psycopg.rows import dict_row

from services.reports import comparisons, known
from services.reports.domain import assessment, periods, rules
from services.reports.domain.status import (
    IndicatorStatus,
    Reason,
    StatusRules,
    Yardstick,
    goal_status,
    indicator_status,
)
from shared import versions

Conn = psycopg.Connection[Any]
_REASON_FIELDS = fields(Reason)


def rules_as_of(conn: Conn, as_of: dt.datetime | None) -> tuple[StatusRules, dict[str, Any] | None]:
    """The status rules in force at `as_of` and the decision that set them (None: defaults)."""
    state = versions.get(conn, rules.STREAM_ID, as_of)
    if state is None:
        return StatusRules(), None
    book = rules.KIND.restore(state)
    decision = {
        "decided_by": book.decided_by,
        "decided_on": book.decided_on.isoformat(),
        "minute_ref": book.minute_ref,
        "version": book.version,
    }
    return book.rules(), decision


def _in_time(as_of: dt.datetime | None) -> tuple[str, list[Any]]:
    if as_of is None:
        return "valid_to IS NULL", []
    return "valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)", [as_of, as_of]


def results_by_year(
    conn: Conn, indicator_ids: Sequence[str], years: Sequence[int], as_of: dt.datetime | None
) -> dict[tuple[str, int], dict[str, Any]]:
    """Each indicator's result for each year as known at `as_of`: the year's own result, or,
    while it has none, the latest interim result of that year (delårsuppföljning). Each row
    names its version (result_id, version) and that event's place in the log (position)."""
    when, params = _in_time(as_of)
    # One row per (indicator, year), chosen by the database (half the rows cross the wire): a
    # year's own result ("2025") outranks its interim results (periods.is_interim: "2025-08-31"),
    # a later interim date an earlier one (byte order, as Python compares text). A period holds
    # one result (its id is derived from it), so there are no ties.
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"""SELECT DISTINCT ON (indicator_id, year)
                       result_id, version, indicator_id, period, year, value, women, men, source,
                       comment, valid_from AS recorded_at, position
                  FROM result_versions
                 WHERE indicator_id = ANY(%s) AND year = ANY(%s) AND status = 'recorded'
                   AND {when}
                 ORDER BY indicator_id, year,
                          CASE WHEN strpos(period, '-') > 0 THEN period ELSE '9999-99-99' END
                              COLLATE "C" DESC""",
            [list(indicator_ids), list(years), *params],
        ).fetchall()
    return {(row["indicator_id"], row["year"]): row for row in rows}


def _result_view(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "result_id": row["result_id"],
        "version": row["version"],
        "period": row["period"],
        "interim": periods.is_interim(row["period"]),
        "value": row["value"],
        "women": row["women"],
        "men": row["men"],
        "source": row["source"],
        "comment": row["comment"],
        "recorded_at": row["recorded_at"].isoformat(),
    }


def status_view(status: IndicatorStatus) -> dict[str, Any]:
    return {
        "colour": status.colour,
        "trend": status.trend,
        "previous_value": status.previous_value,
        "share_of_target": status.share_of_target,
        # its fields are plain values: a shallow copy is what asdict gives, at a tenth the cost
        "reason": {f.name: getattr(status.reason, f.name) for f in _REASON_FIELDS},
    }


def adopted_goals(
    conn: Conn,
    units: Sequence[str],
    year: int,
    as_of: dt.datetime | None,
    area: str | None,
    perspective: str | None,
) -> list[dict[str, Any]]:
    """The goals owned in `units`, adopted at `as_of` and not retired by then, whose mandate
    period covers `year`; with the development areas they serve (an operational goal serves
    those of the strategic goals it derives from)."""
    moment = as_of or dt.datetime.now(dt.UTC)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT g.id AS goal_id, g.title, g.level, g.owner_unit_id, g.period,
                      g.perspectives, g.derived_from, areas.ids AS development_area_ids
                 FROM known_goals g
                 CROSS JOIN LATERAL (
                      SELECT coalesce(array_agg(DISTINCT a.area) FILTER (WHERE a.area IS NOT NULL),
                                      '{}') AS ids
                        FROM (SELECT g.development_area_id AS area
                              UNION ALL
                              SELECT s.development_area_id FROM known_goals s
                               WHERE s.id = ANY(g.derived_from)) a) areas
                WHERE g.owner_unit_id = ANY(%(units)s)
                  AND g.adopted_at IS NOT NULL AND g.adopted_at <= %(moment)s
                  AND (g.retired_at IS NULL OR g.retired_at > %(moment)s)
                  AND g.period ~ '^[0-9]{4}-[0-9]{4}$'
                  AND %(year)s BETWEEN split_part(g.period, '-', 1)::int
                                   AND split_part(g.period, '-', 2)::int
                  AND (%(area)s::text IS NULL OR %(area)s = ANY(areas.ids))
                  AND (%(perspective)s::text IS NULL OR %(perspective)s = ANY(g.perspectives))
                ORDER BY g.level DESC, g.title, g.id""",
            {
                "units": list(units),
                "moment": moment,
                "year": year,
                "area": area,
                "perspective": perspective,
            },
        ).fetchall()


def indicators_of(
    conn: Conn, goal_ids: Sequence[str], as_of: dt.datetime | None
) -> list[dict[str, Any]]:
    moment = as_of or dt.datetime.now(dt.UTC)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT id AS indicator_id, goal_id, name, unit_of_measure, direction, source_kind,
                      kpi_id
                 FROM known_indicators
                WHERE goal_id = ANY(%s) AND defined_at <= %s
                  AND (retired_at IS NULL OR retired_at > %s)
                ORDER BY goal_id, name, id""",
            [list(goal_ids), moment, moment],
        ).fetchall()


def assessments(conn: Conn, year: int, as_of: dt.datetime | None) -> dict[str, dict[str, Any]]:
    """Each goal's assessment for `year` as it stood at `as_of` (the latest made by then)."""
    found = versions.find(conn, assessment.STREAM_TYPE, as_of=as_of, where={"year": str(year)})
    return {
        a["goal_id"]: {
            "assessment_id": a["id"],
            "verdict": a["verdict"],
            "analysis": a["analysis"],
            "assessed_on": a["assessed_on"],
            "version": a["version"],
        }
        for a in found
    }


def indicator_line(
    row: dict[str, Any],
    year: int,
    yardsticks: dict[tuple[str, int], Any],
    results: dict[tuple[str, int], dict[str, Any]],
    rules_now: StatusRules,
) -> dict[str, Any]:
    target, green, yellow = yardsticks.get((row["indicator_id"], year), (None, None, None))
    current = results.get((row["indicator_id"], year))
    previous = results.get((row["indicator_id"], year - 1))
    status = indicator_status(
        Yardstick(row["direction"], target, green, yellow),
        current["value"] if current else None,
        previous["value"] if previous else None,
        rules_now,
    )
    return {
        **{k: row[k] for k in row if k != "goal_id"},
        "target": target,
        "thresholds": None
        if green is None or yellow is None
        else {"green": green, "yellow": yellow},
        "result": _result_view(current),
        "previous": None
        if previous is None
        else {"period": previous["period"], "value": previous["value"]},
        "status": status_view(status),
    }


def scorecard(
    conn: Conn,
    unit_id: str,
    year: int,
    as_of: dt.datetime | None,
    area: str | None = None,
    perspective: str | None = None,
) -> dict[str, Any]:
    """The scorecard (styrkort) of a unit's subtree for a year, as known at `as_of`."""
    units = known.subtree(conn, unit_id)
    rules_now, rules_decision = rules_as_of(conn, as_of)
    goals = adopted_goals(conn, units, year, as_of, area, perspective)
    indicators = indicators_of(conn, [g["goal_id"] for g in goals], as_of)
    ids = [i["indicator_id"] for i in indicators]
    yardsticks = known.yardsticks(conn, ids, [year], as_of)
    results = results_by_year(conn, ids, [year, year - 1], as_of)
    assessed = assessments(conn, year, as_of)
    compared = comparisons.for_indicators(conn, ids, [year], as_of)
    by_goal: dict[str, list[dict[str, Any]]] = {}
    for row in indicators:
        line = indicator_line(row, year, yardsticks, results, rules_now)
        # Kolada indicators: the year beside the comparison municipalities (Källa: Kolada)
        line["comparison"] = compared.get(row["indicator_id"], {}).get(year)
        by_goal.setdefault(row["goal_id"], []).append(line)
    computed = {"green": 0, "yellow": 0, "red": 0, "no_data": 0}
    verdicts = {v: 0 for v in (*assessment.VERDICTS, "not_assessed")}
    items = []
    for goal in goals:
        lines = by_goal.get(goal["goal_id"], [])
        status = goal_status([line["status"]["colour"] for line in lines], rules_now)
        computed[status.colour] += 1
        judged = assessed.get(goal["goal_id"])
        verdicts[judged["verdict"] if judged else "not_assessed"] += 1
        items.append(
            {
                **{k: v for k, v in goal.items() if k != "derived_from"},
                "derived_from": list(goal["derived_from"]),
                "status": {"colour": status.colour, "counts": status.counts, "text": status.text},
                "assessment": judged,
                "indicators": lines,
            }
        )
    return {
        "unit_id": unit_id,
        "year": year,
        "as_of": as_of.isoformat() if as_of else None,
        "rules": {**rules_now.as_dict(), "decision": rules_decision},
        "summary": {"goals": len(items), "computed": computed, "assessed": verdicts},
        "goals": items,
    }
