"""The read side of the goals service: entities now or as of an instant, lists, the goal tree.

Everything reads `entity_versions`, so every read takes `as_of` at the same cost as a read of
the present.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from services.goals.domain import areas, documents, goal, indicator, organisation
from shared import versions


def ancestry(conn: psycopg.Connection[Any], unit_id: str) -> list[str]:
    """The ids from `unit_id` up to the root, itself first (current organisation): the same
    walk the access check makes (org_ancestry(), migrations/0003)."""
    return [r[0] for r in conn.execute("SELECT org_ancestry(%s)", [unit_id]).fetchall()]


#: The current organisation units, written as migration 0003's partial index is, so PostgreSQL
#: uses it (a parameter in place of 'org_unit' would not match the index's predicate).
_ORG_UNITS = f"entity_type = '{organisation.STREAM_TYPE}' AND valid_to IS NULL"


def sibling_names(
    conn: psycopg.Connection[Any], parent_id: str | None, excluding: str | None = None
) -> list[str]:
    """Names of the open units under `parent_id` (the roots if None), but `excluding`."""
    # the expression `state ->> 'parent_id'` is the one migration 0003 indexes
    parent = "IS NULL" if parent_id is None else "= %(parent)s"
    rows = conn.execute(
        "SELECT entity_id, state ->> 'name' FROM entity_versions "
        f"WHERE {_ORG_UNITS} AND state ->> 'parent_id' {parent} "
        "AND state ->> 'status' = 'active'",
        {"parent": parent_id},
    ).fetchall()
    return [name for unit_id, name in rows if unit_id != excluding]


def open_units_of_kind(conn: psycopg.Connection[Any], kind: str) -> int:
    """How many open units of `kind` there are (e.g. councils)."""
    where = {"kind": kind, "status": "active"}
    return len(versions.find(conn, organisation.STREAM_TYPE, where=where))


def open_units_below(conn: psycopg.Connection[Any], unit_id: str) -> list[str]:
    """Names of the open units anywhere below `unit_id` (current organisation)."""
    rows = conn.execute(
        f"""WITH RECURSIVE down(id, depth) AS (
               SELECT entity_id, 1 FROM entity_versions
                WHERE {_ORG_UNITS} AND state ->> 'parent_id' = %s
             UNION ALL
               SELECT v.entity_id, down.depth + 1 FROM entity_versions v
                 JOIN down ON v.state ->> 'parent_id' = down.id
                WHERE v.entity_type = '{organisation.STREAM_TYPE}' AND v.valid_to IS NULL
                  AND down.depth < 100)
           SELECT v.state ->> 'name' FROM down
             JOIN entity_versions v ON v.entity_id = down.id AND v.valid_to IS NULL
            WHERE v.state ->> 'status' = 'active'
            ORDER BY 1""",
        [unit_id],
    ).fetchall()
    return [r[0] for r in rows]


def goal_tree(
    conn: psycopg.Connection[Any], as_of: dt.datetime | None, period: str | None
) -> dict[str, Any]:
    """vision → development areas → strategic goals → operational goals → indicators."""
    where = {"period": period} if period else {}
    visions = versions.find(
        conn, documents.STREAM_TYPE, as_of=as_of, where={"doc_type": "vision", "status": "adopted"}
    )
    all_goals = versions.find(conn, goal.STREAM_TYPE, as_of=as_of, where=where)
    goal_ids = {g["id"] for g in all_goals}
    indicators_by_goal: dict[str, list[dict[str, Any]]] = {}
    for item in versions.find(conn, indicator.STREAM_TYPE, as_of=as_of):
        if item["goal_id"] in goal_ids:
            indicators_by_goal.setdefault(item["goal_id"], []).append(item)
    units = {u["id"]: u["name"] for u in versions.find(conn, organisation.STREAM_TYPE, as_of=as_of)}

    def node(g: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": g["id"],
            "level": g["level"],
            "title": g["content"]["title"],
            "status": g["status"],
            "period": g["period"],
            "version": g["version"],
            "owner_unit_id": g["owner_unit_id"],
            "owner_unit_name": units.get(g["owner_unit_id"]),
            "indicators": indicators_by_goal.get(g["id"], []),
        }

    operational: dict[str, list[dict[str, Any]]] = {}
    for g in all_goals:
        if g["level"] == "operational":
            for source in g["placement"]["derived_from"]:
                operational.setdefault(source, []).append(node(g))
    strategic_by_area: dict[str | None, list[dict[str, Any]]] = {}
    for g in all_goals:
        if g["level"] == "strategic":
            strategic_by_area.setdefault(g["placement"]["development_area_id"], []).append(
                {**node(g), "operational_goals": operational.get(g["id"], [])}
            )
    development_areas = [
        {
            "id": a["id"],
            "name": a["name"],
            "status": a["status"],
            "strategic_goals": strategic_by_area.get(a["id"], []),
        }
        for a in versions.find(conn, areas.STREAM_TYPE, as_of=as_of)
    ]
    vision = max(visions, key=lambda v: v["content"]["valid_from"]) if visions else None
    return {
        "as_of": as_of,
        "period": period,
        "vision": {
            "id": vision["id"],
            "title": vision["content"]["title"],
            "summary": vision["content"]["summary"],
        }
        if vision
        else None,
        "development_areas": development_areas,
        "goal_count": len(all_goals),
    }
