"""What the reviewer pages show, read as the logged-in key's identity (so a reader sees what the
API lets a reader see, and a 403 of a service is a friendly 403 page).

Each function gathers one page's data from the services and shapes it for its template; the
routes are in routes.py.
"""

from __future__ import annotations

from typing import Any

from services.gateway import admin_ops
from services.gateway.audit_trail import owner_of
from services.gateway.web import public, views
from services.gateway.web.reading import Reader, bad_request, entity_path, forbidden, not_found

#: an entity's id prefix -> (service, the API path of its state) for the diff
STATE_PATHS: tuple[tuple[str, str, str], ...] = (
    ("org-unit-", "goals", "org-units"),
    ("document-", "goals", "documents"),
    ("area-", "goals", "development-areas"),
    ("goal-", "goals", "goals"),
    ("indicator-", "goals", "indicators"),
    ("plan-", "plans", "plans"),
    ("activity-", "plans", "activities"),
    ("agreement-", "plans", "agreements"),
    ("result-", "reports", "results"),
    ("assessment-", "reports", "assessments"),
    ("report-", "reports", "quality-reports"),
    ("deadline-", "reports", "calendar/deadlines"),
    ("improvement-", "reports", "improvements"),
)
#: the roles that may open the audit page (as the API's /admin/verify)
AUDIT_ROLES = ("auditor", "admin")


def as_of_param(as_of: views.AsOf | None) -> str | None:
    return as_of.instant if as_of else None


def units(reader: Reader) -> list[dict[str, Any]]:
    """Every organisation unit, for the pickers, sorted by name."""
    return sorted(reader.items("goals", "/org-units"), key=lambda u: str(u.get("name", "")))


def scorecard_page(
    reader: Reader, unit_id: str | None, year: int, as_of: views.AsOf | None
) -> dict[str, Any]:
    """The goal tree and the scorecard of a unit's subtree for a year, as known at `as_of`."""
    all_units = units(reader)
    names = {u["id"]: u["name"] for u in all_units}
    scope = reader.identity.scope
    unit_id = unit_id or (scope if scope != "*" else public.root_unit(all_units))
    if unit_id is not None and unit_id not in names:
        raise not_found("Det finns ingen sådan enhet.")
    card = (
        reader.get(
            "reports",
            "/scorecard",
            {"unit_id": unit_id, "year": year, "as_of": as_of_param(as_of)},
        )
        if unit_id
        else {"goals": [], "summary": {}}
    )
    goals = []
    for goal in card.get("goals") or []:
        assessment = goal.get("assessment") or {}
        goals.append(
            {
                "id": goal["goal_id"],
                "title": goal["title"],
                "level": views.LEVEL_LABELS.get(goal["level"], goal["level"]),
                "owner": names.get(goal["owner_unit_id"], goal["owner_unit_id"]),
                "light": views.light((goal.get("status") or {}).get("colour")),
                "verdict": views.verdict_light(assessment.get("verdict")) if assessment else None,
                "indicators": [_line(line) for line in goal.get("indicators") or []],
            }
        )
    tree = reader.get("goals", "/goals/tree", {"as_of": as_of_param(as_of)})
    return {
        "units": all_units,
        "unit_id": unit_id,
        "unit_name": names.get(unit_id or "", ""),
        "year": year,
        "as_of": as_of,
        "goals": goals,
        "tree": _tree(tree),
        "summary": card.get("summary") or {},
    }


def _line(line: dict[str, Any]) -> dict[str, Any]:
    """A scorecard line as the reviewer sees it (with the ids to open its timeline)."""
    status = line.get("status") or {}
    result = line.get("result") or {}
    unit = line.get("unit_of_measure")
    return {
        "id": line["indicator_id"],
        "name": line.get("name", ""),
        "result": views.number(result.get("value"), unit),
        "result_id": result.get("result_id"),
        "period": result.get("period") or views.DASH,
        "target": views.number(line.get("target"), unit),
        "trend": views.trend_label(status.get("trend")),
        "light": views.light(status.get("colour")),
        "reason": (status.get("reason") or {}).get("text") or "",
    }


def _tree(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The goal tree with every goal's status in words (reviewers see drafts too)."""

    def node(goal: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": goal["id"],
            "title": goal["title"],
            "status": views.GOAL_STATUS_LABELS.get(goal["status"], goal["status"]),
            "owner": goal.get("owner_unit_name") or "",
            "indicators": len(goal.get("indicators") or []),
            "children": [node(child) for child in goal.get("operational_goals") or []],
        }

    return [
        {
            "id": area["id"],
            "name": area["name"],
            "goals": [node(goal) for goal in area.get("strategic_goals") or []],
        }
        for area in tree.get("development_areas") or []
    ]


def _service_of(entity_id: str) -> str:
    owner = owner_of(entity_id)
    if owner is None or owner == "gateway":
        raise not_found("Det finns ingen sådan post: adressen börjar inte som en känd typ.")
    return owner


def timeline_page(
    reader: Reader, entity_id: str, as_of: views.AsOf | None, names: dict[str, str]
) -> dict[str, Any]:
    """Every event of an entity: when, what, who, on whose decision, the minute reference."""
    history = reader.get(
        _service_of(entity_id), entity_path("history", entity_id), {"as_of": as_of_param(as_of)}
    )
    events = []
    for event in history.get("events") or []:
        decision = event.get("decision") or {}
        data = {
            k: v
            for k, v in views.flatten(event.get("data") or {}).items()
            if not k.endswith("_id") and k not in ("decided_by", "decided_on", "minute_ref")
        }
        events.append(
            {
                "position": event.get("position"),
                "version": event.get("version"),
                "at": event.get("recorded_at") or "",
                "when": views.local_time(event.get("recorded_at") or ""),
                "what": views.event_label(event["event_type"]),
                "type": event["event_type"],
                "who": event.get("actor") or views.DASH,
                "body": names.get(decision.get("decided_by") or "", views.DASH),
                "decided_on": decision.get("decided_on") or views.DASH,
                "minute_ref": decision.get("minute_ref") or views.DASH,
                "data": [(k, views.shown(v)) for k, v in data.items()],
            }
        )
    return {"entity_id": entity_id, "events": events, "as_of": as_of}


def state(reader: Reader, entity_id: str, as_of: views.AsOf) -> dict[str, Any] | None:
    """An entity's state as of an instant; None if it did not exist yet."""
    for prefix, service, path in STATE_PATHS:
        if entity_id.startswith(prefix):
            return reader.optional(service, entity_path(path, entity_id), {"as_of": as_of.instant})
    raise not_found("Det finns ingen sådan post: adressen börjar inte som en känd typ.")


def diff_page(
    reader: Reader, entity_id: str, first: views.AsOf | None, second: views.AsOf | None
) -> dict[str, Any]:
    """The state as of A against the state as of B, field by field."""
    if first is None or second is None:
        return {"entity_id": entity_id, "first": first, "second": second, "changes": None}
    before = state(reader, entity_id, first)
    after = state(reader, entity_id, second)
    if before is None and after is None:
        raise not_found("Posten fanns inte vid någon av tidpunkterna.")
    return {
        "entity_id": entity_id,
        "first": first,
        "second": second,
        "changes": views.diff(before, after),
        "existed": (before is not None, after is not None),
    }


def plans_page(reader: Reader, unit_id: str | None, as_of: views.AsOf | None) -> dict[str, Any]:
    all_units = units(reader)
    names = {u["id"]: u["name"] for u in all_units}
    if unit_id is not None and unit_id not in names:
        raise not_found("Det finns ingen sådan enhet.")
    plans = reader.items("plans", "/plans", {"unit_id": unit_id, "as_of": as_of_param(as_of)})
    return {
        "units": all_units,
        "unit_id": unit_id,
        "as_of": as_of,
        "plans": [_plan(plan, names) for plan in plans],
    }


def _plan(plan: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    phases = plan.get("phases") or []
    phase = phases[-1]["phase"] if phases else None
    return {
        "id": plan["id"],
        "title": plan.get("title", ""),
        "unit": names.get(plan.get("unit_id") or "", plan.get("unit_id") or ""),
        "period": plan.get("period", ""),
        "status": plan.get("status", ""),
        "phase": views.PHASE_LABELS.get(phase or "", phase or views.DASH),
        "phases": [
            (views.PHASE_LABELS.get(p["phase"], p["phase"]), p.get("since", "")) for p in phases
        ],
        "decision": plan.get("minute_ref") or views.DASH,
    }


def plan_page(reader: Reader, plan_id: str, as_of: views.AsOf | None) -> dict[str, Any]:
    if not plan_id.startswith("plan-"):
        raise not_found("Det finns ingen sådan handlingsplan.")
    names = {u["id"]: u["name"] for u in units(reader)}
    params = {"as_of": as_of_param(as_of)}
    plan = reader.get("plans", entity_path("plans", plan_id), params)
    activities = reader.items("plans", entity_path("plans", plan_id) + "/activities", params)
    return {
        "plan": _plan(plan, names),
        "activities": [_activity(a) for a in activities],
        "as_of": as_of,
    }


def _activity(activity: dict[str, Any]) -> dict[str, Any]:
    work = activity.get("work") or {}
    status = activity.get("status") or ""
    return {
        "id": activity["id"],
        "title": work.get("title") or views.DASH,
        "owner": work.get("owner") or views.DASH,
        "starts_on": work.get("starts_on") or views.DASH,
        "due_on": work.get("due_on") or views.DASH,
        "status": views.ACTIVITY_STATUS_LABELS.get(status, status),
        "overdue": bool(activity.get("overdue")),
        "proposed": bool(activity.get("proposed_by")),
    }


def quality_reports_page(reader: Reader, as_of: views.AsOf | None) -> dict[str, Any]:
    names = {u["id"]: u["name"] for u in units(reader)}
    found = reader.items("reports", "/quality-reports", {"as_of": as_of_param(as_of)})
    return {
        "reports": [
            {**report, "unit": names.get(report.get("unit_id") or "", "")} for report in found
        ],
        "as_of": as_of,
    }


def quality_report_page(reader: Reader, report_id: str, as_of: views.AsOf | None) -> dict[str, Any]:
    if not report_id.startswith("report-"):
        raise not_found("Det finns ingen sådan kvalitetsrapport.")
    names = {u["id"]: u["name"] for u in units(reader)}
    report = reader.get(
        "reports", entity_path("quality-reports", report_id), {"as_of": as_of_param(as_of)}
    )
    return {"report": report, "unit": names.get(report.get("unit_id") or "", ""), "as_of": as_of}


def overdue_page(reader: Reader, as_of: views.AsOf | None) -> dict[str, Any]:
    return {"overdue": reader.get("reports", "/overdue", {"as_of": as_of_param(as_of)})}


def audit_page(reader: Reader) -> dict[str, Any]:
    """Each store's chain check and head (the gateway's own fan-out, as /api/v1/admin/verify)."""
    if reader.identity.role not in AUDIT_ROLES:
        raise forbidden(
            "Granskningen av kedjorna kräver rollen revisor (auditor) eller administratör."
        )
    return {"verify": admin_ops.verify_all(reader.upstreams, reader.identity)}


def report_year(raw: int) -> int:
    if not 1900 <= raw <= 2999:
        raise bad_request("Året måste ha fyra siffror.")
    return raw
