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
from services.gateway.web.reading import Reader, entity_path, not_found

#: the stream-id prefix of a goal: anything else is no goal page
GOAL_PREFIX = "goal-"


def default_year(today: dt.date | None = None) -> int:
    """The year whose results the dashboard shows first: the last whole year."""
    return (today or dt.date.today()).year - 1


def unit_names(reader: Reader) -> dict[str, str]:
    return {unit["id"]: unit["name"] for unit in reader.items("goals", "/org-units")}


def root_unit(reader: Reader) -> str | None:
    """The council (the unit without a parent): its scorecard covers the whole municipality."""
    for unit in reader.items("goals", "/org-units"):
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
        "comparison": line.get("comparison"),
    }


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
    goals, lines = scorecard_lines(reader, root_unit(reader), year)
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
    return {"vision": tree.get("vision"), "areas": areas, "year": year}


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
    names = unit_names(reader)
    goals, lines = scorecard_lines(reader, root_unit(reader), year)
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
    return {"goal": shown, "year": year}
