"""The goal follow-up chapter (målavstämning) of the annual report (årsredovisning) of a year, or
of the interim report (delårsrapport) as of an instant, composed from the read models.

The shape is the one Swedish municipalities use (the handbook, "How follow-up is reported"): a
summary verdict with counts per status across the council's whole organisation, a legend, then
per development area each strategic goal with the operational goals derived from it, each goal
with its indicators (target, outcome split by gender where recorded, trend, colour and reason),
its assessment and analysis, and the approved quality reports of the units whose reports cover
it. Each indicator carries a series of its results over the years, with the year's target.

Nothing here is stored: it is a read, built from the same blocks as the scorecard
(services/reports/queries.py), and `as_of` shows what was known at that instant: results recorded
by then (not their later corrections), targets, thresholds and status rules decided by then,
assessments made by then, the quality reports approved then, and whether the year was closed.
Titles, owners, area names and the organisation tree are today's, as on the scorecard.

Traceability: every number names the event it came from. A result names its `result_id` and
`version` and that event's `position` and `event_id` in reports' log; a target or thresholds
name the `position` of the goals event that decided them (goals' log, known_targets.position);
an assessment names its `assessment_id`, `version` and event; a quality report its `report_id`,
the `version` of its approval and that event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from services.reports import known, queries
from services.reports.domain import annual, assessment, periods, report
from services.reports.domain.status import Colour, StatusRules, goal_status
from shared import values, versions

Conn = queries.Conn
Kind = Literal["annual", "interim"]

#: a person's verdict on a goal: (label for one goal, label for several), and the colour it shows
VERDICT_LABELS: dict[str, tuple[str, str]] = {
    "met": ("uppfyllt", "uppfyllda"),
    "partly_met": ("delvis uppfyllt", "delvis uppfyllda"),
    "not_met": ("ej uppfyllt", "ej uppfyllda"),
    "cannot_be_assessed": ("kan inte bedömas", "kan inte bedömas"),
    "not_assessed": ("ej bedömt", "ej bedömda"),
}
VERDICT_COLOURS: dict[str, Colour] = {
    "met": "green",
    "partly_met": "yellow",
    "not_met": "red",
    "cannot_be_assessed": "no_data",
    "not_assessed": "no_data",
}
#: a computed colour: (label for one, label for several) and the verdict it suggests
COLOUR_LABELS: dict[str, tuple[str, str]] = {
    "green": ("grön", "gröna"),
    "yellow": ("gul", "gula"),
    "red": ("röd", "röda"),
    "no_data": ("ingen data", "utan data"),
}
COLOUR_VERDICTS: dict[str, str] = {
    "green": "met",
    "yellow": "partly_met",
    "red": "not_met",
    "no_data": "cannot_be_assessed",
}
TREND_LABELS = {"better": "bättre", "same": "oförändrat", "worse": "sämre"}
VERDICT_ORDER: tuple[str, ...] = (*assessment.VERDICTS, "not_assessed")
COLOUR_ORDER: tuple[Colour, ...] = ("green", "yellow", "red", "no_data")


def annual_report(conn: Conn, year: int, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """The målavstämning of the annual report of `year`, as known at `as_of` (now when None)."""
    return compose(conn, year, as_of, "annual")


def interim_report(conn: Conn, as_of: dt.datetime, year: int | None = None) -> dict[str, Any]:
    """The målavstämning of the interim report (delårsrapport) of `year` as of an instant, with
    what was known then; the year defaults to the one the instant lies in (Europe/Stockholm).
    A year's own result outranks its interim ones; while it has none, the latest interim result
    recorded by then stands for it (queries.results_by_year)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    the_year = year if year is not None else as_of.astimezone(values.LOCAL_TIME_ZONE).year
    return compose(conn, the_year, as_of, "interim")


def compose(conn: Conn, year: int, as_of: dt.datetime | None, kind: Kind) -> dict[str, Any]:
    """The chapter for `year` as known at `as_of`; `kind` names the report it belongs to."""
    council = conn.execute("SELECT org_root()").fetchone()
    council_id: str | None = council[0] if council else None
    units = known.subtree(conn, council_id) if council_id else []
    names = _unit_names(conn)
    rules_now, rules_decision = queries.rules_as_of(conn, as_of)
    goals = queries.adopted_goals(conn, units, year, as_of, None, None)
    indicator_rows = queries.indicators_of(conn, [g["goal_id"] for g in goals], as_of)
    ids = [row["indicator_id"] for row in indicator_rows]
    series_years = {row["goal_id"]: _series_years(row, year) for row in goals}
    wanted = sorted({y for ys in series_years.values() for y in ys} | {year, year - 1})
    traced = known.traced_yardsticks(conn, ids, wanted, as_of)
    yardsticks = {key: found.yardstick for key, found in traced.items()}
    results = queries.results_by_year(conn, ids, wanted, as_of)
    assessed = queries.assessments(conn, year, as_of)
    reports = _approved_reports(conn, year, as_of)
    baselines = _baselines(conn, ids)
    refs = _event_refs(
        conn,
        [(r["result_id"], r["version"]) for r in results.values()]
        + [(a["assessment_id"], a["version"]) for a in assessed.values()]
        + [(r["id"], r["version"]) for r in reports],
    )

    by_goal: dict[str, list[dict[str, Any]]] = {}
    for row in indicator_rows:
        line = queries.indicator_line(row, year, yardsticks, results, rules_now)
        _trace_line(line, row, year, traced, results, refs)
        line["baseline"] = baselines.get(row["indicator_id"])
        line["series"] = [
            _series_point(row["indicator_id"], y, traced, results, refs)
            for y in series_years[row["goal_id"]]
        ]
        by_goal.setdefault(row["goal_id"], []).append(line)

    computed = dict.fromkeys(COLOUR_ORDER, 0)
    verdicts = dict.fromkeys(VERDICT_ORDER, 0)
    indicator_colours = dict.fromkeys(COLOUR_ORDER, 0)
    entries: dict[str, dict[str, Any]] = {}
    for goal in goals:
        lines = by_goal.get(goal["goal_id"], [])
        for line in lines:
            indicator_colours[line["status"]["colour"]] += 1
        status = goal_status([line["status"]["colour"] for line in lines], rules_now)
        computed[status.colour] += 1
        judged = assessed.get(goal["goal_id"])
        verdicts[judged["verdict"] if judged else "not_assessed"] += 1
        entries[goal["goal_id"]] = {
            "goal_id": goal["goal_id"],
            "title": goal["title"],
            "level": goal["level"],
            "owner_unit_id": goal["owner_unit_id"],
            "owner_name": names.get(goal["owner_unit_id"]),
            "period": goal["period"],
            "perspectives": list(goal["perspectives"]),
            "derived_from": list(goal["derived_from"]),
            "status": {
                "colour": status.colour,
                "label": COLOUR_LABELS[status.colour][0],
                "counts": status.counts,
                "text": status.text,
            },
            "assessment": _assessment_view(judged, refs),
            "indicators": lines,
            "quality_reports": [
                _report_view(r, goal["goal_id"], names, refs)
                for r in reports
                if goal["goal_id"] in r["goal_ids"]
            ],
        }

    areas, unplaced = _by_area(conn, goals, entries)
    return {
        "kind": kind,
        "title": _title(kind, year, as_of),
        "year": year,
        "as_of": as_of.isoformat() if as_of else None,
        "organisation": {"unit_id": council_id, "name": names.get(council_id or "")},
        "year_status": _year_status(conn, year, as_of, names),
        "rules": {**rules_now.as_dict(), "decision": rules_decision},
        "summary": _summary(verdicts, computed, indicator_colours, rules_now),
        "legend": _legend(rules_now),
        "development_areas": areas,
        "unplaced_goals": unplaced,
    }


# -- the parts -----------------------------------------------------------------------------------


def _title(kind: Kind, year: int, as_of: dt.datetime | None) -> str:
    if kind == "annual":
        return f"Målavstämning, årsredovisning {year}"
    day = (as_of or dt.datetime.now(dt.UTC)).astimezone(values.LOCAL_TIME_ZONE).date()
    return f"Målavstämning, delårsrapport {year} per {day.isoformat()}"


def _series_years(goal: dict[str, Any], year: int) -> list[int]:
    """The years of the goal's mandate period up to the report's year (the chart's x axis)."""
    first, _, last = str(goal["period"]).partition("-")
    return list(range(int(first), min(int(last), year) + 1))


def _unit_names(conn: Conn) -> dict[str, str]:
    return dict(conn.execute("SELECT id, name FROM known_org_units").fetchall())


def _baselines(conn: Conn, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        """SELECT id, baseline_value, baseline_year FROM known_indicators
            WHERE id = ANY(%s) AND baseline_value IS NOT NULL""",
        [list(ids)],
    ).fetchall()
    return {r[0]: {"value": r[1], "year": r[2]} for r in rows}


def _event_refs(
    conn: Conn, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, Any]]:
    """The place in reports' log and the id of the event that made each (stream, version)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        """SELECT e.stream_id, e.version, e.position, e.event_id::text, e.event_type
             FROM unnest(%s::text[], %s::int[]) AS k(stream_id, version)
             JOIN events e ON e.stream_id = k.stream_id AND e.version = k.version""",
        [[k[0] for k in wanted], [k[1] for k in wanted]],
    ).fetchall()
    return {
        (r[0], r[1]): {"service": "reports", "position": r[2], "event_id": r[3], "event_type": r[4]}
        for r in rows
    }


def _result_trace(
    row: dict[str, Any] | None, refs: dict[tuple[str, int], dict[str, Any]]
) -> dict[str, Any] | None:
    if row is None:
        return None
    ref = refs.get((row["result_id"], row["version"]), {})
    return {
        "result_id": row["result_id"],
        "version": row["version"],
        "service": "reports",
        "position": row["position"],
        "event_id": ref.get("event_id"),
        "event_type": ref.get("event_type"),
    }


def _target_trace(found: known.TracedYardstick | None, year: int) -> dict[str, Any] | None:
    if found is None or found.target_position is None:
        return None
    return {
        "service": "goals",
        "event_type": "IndicatorTargetSet",
        "year": year,
        "position": found.target_position,
        "recorded_at": found.target_recorded_at.isoformat() if found.target_recorded_at else None,
    }


def _trace_line(
    line: dict[str, Any],
    row: dict[str, Any],
    year: int,
    traced: dict[tuple[str, int], known.TracedYardstick],
    results: dict[tuple[str, int], dict[str, Any]],
    refs: dict[tuple[str, int], dict[str, Any]],
) -> None:
    """Name the events behind each number of an indicator's line (in place)."""
    found = traced.get((row["indicator_id"], year))
    current = results.get((row["indicator_id"], year))
    previous = results.get((row["indicator_id"], year - 1))
    line["trend_label"] = TREND_LABELS.get(line["status"]["trend"] or "")
    line["colour_label"] = COLOUR_LABELS[line["status"]["colour"]][0]
    line["trace"] = {
        "target": _target_trace(found, year),
        "thresholds": None
        if found is None or found.thresholds_position is None
        else {
            "service": "goals",
            "event_type": "IndicatorThresholdsSet",
            "position": found.thresholds_position,
        },
        "result": _result_trace(current, refs),
        "previous": _result_trace(previous, refs),
    }


def _series_point(
    indicator_id: str,
    year: int,
    traced: dict[tuple[str, int], known.TracedYardstick],
    results: dict[tuple[str, int], dict[str, Any]],
    refs: dict[tuple[str, int], dict[str, Any]],
) -> dict[str, Any]:
    found = traced.get((indicator_id, year))
    row = results.get((indicator_id, year))
    return {
        "year": year,
        "value": row["value"] if row else None,
        "women": row["women"] if row else None,
        "men": row["men"] if row else None,
        "period": row["period"] if row else None,
        "interim": periods.is_interim(row["period"]) if row else None,
        "target": found.target if found else None,
        "trace": {
            "result": _result_trace(row, refs),
            "target": _target_trace(found, year),
        },
    }


def _assessment_view(
    judged: dict[str, Any] | None, refs: dict[tuple[str, int], dict[str, Any]]
) -> dict[str, Any] | None:
    if judged is None:
        return None
    return {
        **judged,
        "label": VERDICT_LABELS[judged["verdict"]][0],
        "colour": VERDICT_COLOURS[judged["verdict"]],
        "trace": refs.get((judged["assessment_id"], judged["version"])),
    }


def _approved_reports(conn: Conn, year: int, as_of: dt.datetime | None) -> list[dict[str, Any]]:
    """The quality reports approved at `as_of` that the year's annual report follows up (a
    school year belongs to the year it ends in)."""
    found = versions.find(conn, report.STREAM_TYPE, as_of=as_of, where={"status": "approved"})
    return [r for r in found if periods.year_of(r["period"]) == year]


def _report_view(
    state: dict[str, Any],
    goal_id: str,
    names: dict[str, str],
    refs: dict[tuple[str, int], dict[str, Any]],
) -> dict[str, Any]:
    section = next((s for s in state.get("goal_sections", ()) if s["goal_id"] == goal_id), None)
    return {
        "report_id": state["id"],
        "version": state["version"],
        "unit_id": state["unit_id"],
        "unit_name": names.get(state["unit_id"]),
        "period": state["period"],
        "plan_id": state.get("plan_id"),
        "approved": {
            "decided_by": state.get("decided_by"),
            "decided_on": state.get("decided_on"),
            "minute_ref": state.get("minute_ref"),
        },
        "verdict": section["verdict"] if section else None,
        "label": VERDICT_LABELS[section["verdict"]][0] if section else None,
        "analysis": section["analysis"] if section else None,
        "trace": refs.get((state["id"], state["version"])),
    }


def _by_area(
    conn: Conn, goals: Sequence[dict[str, Any]], entries: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Development areas (today's names) with their strategic goals, each with the operational
    goals derived from it (one serving two strategic goals shows under both); the goals that fit
    nowhere (an operational goal whose strategic goals are not of the year) come back apart."""
    strategic = [g for g in goals if g["level"] == "strategic"]
    operational = [g for g in goals if g["level"] != "strategic"]
    placed: set[str] = set()
    for goal in strategic:
        below = [o for o in operational if goal["goal_id"] in o["derived_from"]]
        entries[goal["goal_id"]]["operational_goals"] = [entries[o["goal_id"]] for o in below]
        placed.add(goal["goal_id"])
        placed.update(o["goal_id"] for o in below)
    known_areas = conn.execute(
        "SELECT id, name, status FROM known_areas ORDER BY name, id"
    ).fetchall()
    areas: list[dict[str, Any]] = []
    for area_id, name, status in known_areas:
        mine = [entries[g["goal_id"]] for g in strategic if _area_of(g) == area_id]
        if mine or status == "active":
            areas.append(
                {"development_area_id": area_id, "name": name, "status": status, "goals": mine}
            )
    listed = {a["development_area_id"] for a in areas}
    elsewhere = [entries[g["goal_id"]] for g in strategic if _area_of(g) not in listed]
    if elsewhere:
        areas.append(
            {"development_area_id": None, "name": None, "status": None, "goals": elsewhere}
        )
    unplaced = [entries[g["goal_id"]] for g in goals if g["goal_id"] not in placed]
    return areas, unplaced


def _area_of(goal: dict[str, Any]) -> str | None:
    ids = goal["development_area_ids"]
    return ids[0] if ids else None


def _year_status(
    conn: Conn, year: int, as_of: dt.datetime | None, names: dict[str, str]
) -> dict[str, Any]:
    """Whether the council had closed the year at `as_of` (its annual report approved), and by
    which decision; the last decision on the year either way."""
    stream_id = annual.annual_report_id(year)
    state = versions.get(conn, stream_id, as_of)
    if state is None:
        return {"annual_report_id": stream_id, "closed": False, "status": None, "decision": None}
    trace = _event_refs(conn, [(stream_id, state["version"])]).get((stream_id, state["version"]))
    return {
        "annual_report_id": stream_id,
        "closed": state["status"] == "approved",
        "status": state["status"],
        "version": state["version"],
        "decision": {
            "kind": state["status"],
            "decided_by": state["decided_by"],
            "decided_by_name": names.get(state["decided_by"]),
            "decided_on": state["decided_on"],
            "minute_ref": state["minute_ref"],
            "reason": (state.get("decisions") or [{}])[-1].get("reason"),
            "trace": trace,
        },
    }


def _count_text(count: int, labels: tuple[str, str]) -> str:
    return f"{count} {labels[0] if count == 1 else labels[1]}"


def _summary(
    verdicts: dict[str, int],
    computed: dict[Colour, int],
    indicator_colours: dict[Colour, int],
    rules_now: StatusRules,
) -> dict[str, Any]:
    total = sum(verdicts.values())
    met = verdicts["met"]
    rest = [_count_text(verdicts[v], VERDICT_LABELS[v]) for v in VERDICT_ORDER[1:] if verdicts[v]]
    text = ", ".join([f"{met} av {total} mål {VERDICT_LABELS['met'][met != 1]}", *rest])
    colours = [_count_text(computed[c], COLOUR_LABELS[c]) for c in COLOUR_ORDER if computed[c]]
    # the assessments weighed by the council's own goal rules, as a goal's indicators are: a
    # suggestion beside which the council writes its verdict (never recorded here)
    overall = goal_status(
        [VERDICT_COLOURS[v] for v in VERDICT_ORDER for _ in range(verdicts[v])], rules_now
    )
    return {
        "goals": total,
        "assessed": verdicts,
        "computed": computed,
        "indicators": {"count": sum(indicator_colours.values()), "computed": indicator_colours},
        "text": text + ".",
        "computed_text": "Enligt indikatorerna: " + (", ".join(colours) or "inga mål") + ".",
        "verdict": {
            "colour": overall.colour,
            "verdict": COLOUR_VERDICTS[overall.colour],
            "label": VERDICT_LABELS[COLOUR_VERDICTS[overall.colour]][0],
            "counts": overall.counts,
            "text": overall.text,
            "basis": "the goals' assessments weighed by the status rules' goal shares",
        },
    }


def _legend(rules_now: StatusRules) -> dict[str, Any]:
    return {
        "verdicts": [
            {
                "verdict": v,
                "label": VERDICT_LABELS[v][0],
                "colour": VERDICT_COLOURS[v],
                "colour_label": COLOUR_LABELS[VERDICT_COLOURS[v]][0],
            }
            for v in VERDICT_ORDER
        ],
        "colours": [
            {
                "colour": c,
                "label": COLOUR_LABELS[c][0],
                "verdict": COLOUR_VERDICTS[c],
                "verdict_label": VERDICT_LABELS[COLOUR_VERDICTS[c]][0],
            }
            for c in COLOUR_ORDER
        ],
        "trends": [{"trend": t, "label": label} for t, label in TREND_LABELS.items()],
        "rules": rules_now.as_dict(),
        "note": (
            "Färgen räknas fram ur utfall, målvärde och gränsvärden; bedömningen av målet "
            "(uppfyllt, delvis uppfyllt, ej uppfyllt, kan inte bedömas) görs av en person "
            "med en analys och står bredvid färgen."
        ),
    }
