"""The public pages (no login): the dashboard at `/` and each goal's page at `/mal/<goal_id>`.

They read as the fixed public reader (`reading.PUBLIC`) and show only adopted, public facts:
the adopted vision, active development areas, adopted goals with their active indicators,
results, traffic lights, trends, comparisons and the decisions behind each goal. Drafts,
employee agreements and actors (key ids) are never read into a public page, so no template
can show them by mistake.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.gateway.web import views
from services.gateway.web.reading import PageError, Reader, entity_path, not_found
from shared import charts, values

#: the stream-id prefix of a goal: anything else is no goal page
GOAL_PREFIX = "goal-"


def default_year(today: dt.date | None = None) -> int:
    """The year whose results the dashboard shows first: the last whole year."""
    return (today or values.today()).year - 1


def unit_names(units: list[dict[str, Any]]) -> dict[str, str]:
    return {unit["id"]: unit["name"] for unit in units}


def root_unit(units: list[dict[str, Any]]) -> str | None:
    """The council (the unit without a parent): its scorecard covers the whole municipality."""
    for unit in units:
        if unit.get("parent_id") is None and unit.get("status") == "active":
            return str(unit["id"])
    return None


def scorecard_lines(
    reader: Reader, unit_id: str | None, year: int
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The scorecard's goals by goal id and its indicator lines by indicator id."""
    if unit_id is None:
        return {}, {}
    card = reader.get("reports", "/scorecard", {"unit_id": unit_id, "year": year})
    goals = {g["goal_id"]: g for g in card.get("goals") or []}
    lines = {
        line["indicator_id"]: line for g in goals.values() for line in g.get("indicators") or []
    }
    return goals, lines


def indicator_view(indicator: dict[str, Any], line: dict[str, Any] | None) -> dict[str, Any]:
    """An active indicator with its latest result, light and trend, ready for a template."""
    definition = indicator.get("definition") or {}
    line = line or {}
    status = line.get("status") or {}
    result = line.get("result") or {}
    unit = definition.get("unit_of_measure")
    source = definition.get("source") or {}
    return {
        "id": indicator["id"],
        "name": definition.get("name", ""),
        "unit": unit,
        "direction": views.DIRECTION_LABELS.get(definition.get("direction", ""), ""),
        "kolada": source.get("kind") == "kolada",
        "target": views.number(line.get("target"), unit),
        "result": views.number(result.get("value"), unit),
        "period": result.get("period") or views.DASH,
        "women": views.number(result.get("women"), unit),
        "men": views.number(result.get("men"), unit),
        "light": views.light(status.get("colour")),
        "trend": views.trend_label(status.get("trend")),
        "comparison": comparison_mean(line.get("comparison"), unit),
    }


def comparison_mean(found: dict[str, Any] | None, unit: str | None) -> str | None:
    """The comparison municipalities' mean of the year, or None when Kolada gave none."""
    if not found or found.get("mean") is None:
        return None
    return views.number(found["mean"], unit)


def goal_view(
    node: dict[str, Any],
    goals: dict[str, dict[str, Any]],
    lines: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A node of the goal tree with its indicators and the goal's light and assessment."""
    card = goals.get(node["id"]) or {}
    assessment = card.get("assessment") or {}
    return {
        "id": node["id"],
        "title": node["title"],
        "level": views.LEVEL_LABELS.get(node["level"], node["level"]),
        "owner": node.get("owner_unit_name") or "",
        "period": node.get("period", ""),
        "light": views.light((card.get("status") or {}).get("colour")),
        "verdict": views.verdict_light(assessment.get("verdict")) if assessment else None,
        "indicators": [
            indicator_view(i, lines.get(i["id"]))
            for i in node.get("indicators") or []
            if i.get("status") == "active"
        ],
    }


def dashboard(reader: Reader, year: int) -> dict[str, Any]:
    """What `/` shows: the vision and the adopted goals of each active development area."""
    tree = reader.get("goals", "/goals/tree")
    unavailable = False
    try:
        goals, lines = scorecard_lines(reader, root_unit(reader.items("goals", "/org-units")), year)
    except PageError as exc:  # reports down: the goals are still worth showing
        if exc.status != 503:
            raise
        goals, lines, unavailable = {}, {}, True
    areas = []
    for area in tree.get("development_areas") or []:
        if area.get("status") != "active":
            continue
        strategic = []
        for node in area.get("strategic_goals") or []:
            if node.get("status") != "adopted":
                continue
            shown = goal_view(node, goals, lines)
            shown["operational"] = [
                goal_view(child, goals, lines)
                for child in node.get("operational_goals") or []
                if child.get("status") == "adopted"
            ]
            strategic.append(shown)
        areas.append({"id": area["id"], "name": area["name"], "goals": strategic})
    return {
        "vision": tree.get("vision"),
        "areas": areas,
        "year": year,
        "results_unavailable": unavailable,
    }


def decisions(reader: Reader, goal_id: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """The decisions behind a goal, from its history: which body, when, the minute reference.
    The actor who recorded them is not read into the page."""
    history = reader.get("goals", entity_path("history", goal_id))
    found = []
    for event in history.get("events") or []:
        decision = event.get("decision")
        if not decision or event["event_type"].split(".")[0] not in views.PUBLIC_DECISIONS:
            continue
        found.append(
            {
                "what": views.event_label(event["event_type"]),
                "body": names.get(decision.get("decided_by") or "", views.DASH),
                "date": decision.get("decided_on") or views.DASH,
                "minute_ref": decision.get("minute_ref") or views.DASH,
            }
        )
    return found


def goal_page(reader: Reader, goal_id: str, year: int) -> dict[str, Any]:
    """What `/mal/<goal_id>` shows; not_found for anything but an adopted goal."""
    if not goal_id.startswith(GOAL_PREFIX):
        raise not_found("Det finns inget sådant mål.")
    goal = reader.optional("goals", entity_path("goals", goal_id))
    if goal is None or goal.get("status") != "adopted":
        raise not_found("Det finns inget antaget mål med den adressen.")
    units = reader.items("goals", "/org-units")
    names = unit_names(units)
    goals, lines = scorecard_lines(reader, root_unit(units), year)
    indicators = reader.items("goals", entity_path("goals", goal_id) + "/indicators")
    node = {
        "id": goal["id"],
        "title": goal["content"]["title"],
        "level": goal["level"],
        "owner_unit_name": names.get(goal["owner_unit_id"], ""),
        "period": goal["period"],
        "indicators": indicators,
    }
    shown = goal_view(node, goals, lines)
    shown["description"] = goal["content"].get("description") or ""
    shown["decisions"] = decisions(reader, goal_id, names)
    active = [i for i in indicators if i.get("status") == "active"]
    compared = {i["id"]: comparisons_of(reader, i["id"]) for i in active}
    panels = [panel(reader, i, compared[i["id"]]) for i in active]
    years, rows = charts.chart_matrix(panels)
    return {
        "goal": shown,
        "year": year,
        "chart": charts.goal_chart("diagram", shown["title"], panels) if panels else None,
        "chart_years": years,
        "chart_rows": rows,
        "comparisons": [c for c in (comparison_table(i, compared[i["id"]]) for i in active) if c],
    }


def results_by_year(reader: Reader, indicator_id: str) -> dict[int, float | None]:
    """An indicator's recorded (not withdrawn) yearly results."""
    found = reader.items(
        "reports", "/results", {"indicator_id": indicator_id, "status": "recorded"}
    )
    return {int(r["year"]): r.get("value") for r in found if r.get("year") is not None}


def comparisons_of(reader: Reader, indicator_id: str) -> dict[str, Any] | None:
    """The indicator's comparison municipalities from Kolada, if it is a Kolada indicator."""
    found = reader.optional("reports", entity_path("indicators", indicator_id) + "/comparisons")
    if not found or not found.get("comparable"):
        return None
    return found


def _has_values(year: dict[str, Any]) -> bool:
    return year.get("mean") is not None or any(
        c.get("value") is not None for c in year.get("comparisons") or []
    )


def panel(reader: Reader, indicator: dict[str, Any], found: dict[str, Any] | None) -> charts.Panel:
    """One indicator's chart panel: outcome, target and (Kolada) comparisons per year."""
    definition = indicator.get("definition") or {}
    values = results_by_year(reader, indicator["id"])
    targets = {int(y): v for y, v in (indicator.get("targets") or {}).items()}
    compared = {int(y["year"]): y for y in (found or {}).get("years") or [] if _has_values(y)}
    years = sorted(set(values) | set(targets) | set(compared))
    return charts.Panel(
        key=indicator["id"],
        name=definition.get("name", ""),
        unit=definition.get("unit_of_measure", ""),
        years=years,
        values={y: values.get(y) for y in years},
        targets={y: targets.get(y) for y in years},
        comparisons=compared or None,
    )


def comparison_table(
    indicator: dict[str, Any], found: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The comparison municipalities' figures of a Kolada indicator, years with any value."""
    years = [y for y in (found or {}).get("years") or [] if _has_values(y)]
    if not found or not years:
        return None
    unit = (indicator.get("definition") or {}).get("unit_of_measure")
    names = [c["name"] for c in years[0].get("comparisons") or []]
    return {
        "name": found.get("name") or "",
        "label": found.get("label") or "Källa: Kolada",
        "municipalities": names,
        "rows": [
            {
                "year": y["year"],
                "own": views.number((y.get("municipality") or {}).get("value"), unit),
                "values": [views.number(c.get("value"), unit) for c in y.get("comparisons") or []],
                "mean": views.number(y.get("mean"), unit),
            }
            for y in years
        ],
    }
