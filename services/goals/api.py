"""HTTP routes of the goals service: parse, call a handler, serialise. No business rules here."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from services.goals import handlers, queries
from services.goals.schemas import (
    CloseOrgUnitSchema,
    CreateOrgUnitSchema,
    MoveOrgUnitSchema,
    OrgUnitListQuery,
    OrgUnitPageSchema,
    OrgUnitSchema,
    RenameOrgUnitSchema,
)
from shared.errors import NotFound
from shared.http import command_metadata, if_match_version, require_role, with_etag
from shared.runtime import Runtime
from shared.schemas import AsOfQuery, encode_cursor


def org_units_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "org-units",
        __name__,
        url_prefix="/api/v1/org-units",
        description="Organisation units (organisationsenheter)",
    )

    @blp.route("")
    class OrgUnits(MethodView):
        @blp.arguments(OrgUnitListQuery, location="query")
        @blp.response(200, OrgUnitPageSchema)
        def get(self, query: dict[str, Any]) -> dict[str, Any]:
            """List units, filtered, a page at a time; `as_of` gives the tree at that instant."""
            after = query.get("cursor")
            with runtime.pool.connection() as conn:
                if "as_of" in query:
                    units = [
                        queries.org_unit_view(u)
                        for u in queries.org_units_as_of(runtime.store, conn, query["as_of"])
                    ]
                    items = [u for u in units if _matches(u, query) and u["id"] > (after or "")]
                    items = items[: query["limit"]]
                else:
                    items = queries.list_org_units(
                        conn,
                        after_id=after,
                        limit=query["limit"],
                        kind=query.get("kind"),
                        parent_id=query.get("parent_id"),
                        status=query.get("status"),
                    )
            full = len(items) == query["limit"]
            return {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if full else None}

        @blp.arguments(CreateOrgUnitSchema)
        @blp.response(201, OrgUnitSchema)
        def post(self, body: dict[str, Any]) -> Any:
            """Create a unit under its parent (a council has none)."""
            require_role("editor")
            unit = handlers.create_org_unit(runtime.uow(), command_metadata(), **body)
            view, status, headers = with_etag(queries.org_unit_view(unit), unit.version, 201)
            headers["Location"] = url_for("org-units.OrgUnit", unit_id=unit.id)
            return view, status, headers

    @blp.route("/<unit_id>")
    class OrgUnit(MethodView):
        @blp.arguments(AsOfQuery, location="query")
        @blp.response(200, OrgUnitSchema)
        def get(self, query: dict[str, Any], unit_id: str) -> Any:
            """One unit, now or `as_of` an instant."""
            with runtime.pool.connection() as conn:
                if "as_of" in query:
                    unit = queries.org_unit_as_of(runtime.store, conn, unit_id, query["as_of"])
                    view = queries.org_unit_view(unit) if unit else None
                else:
                    view = queries.get_org_unit(conn, unit_id)
            if view is None:
                raise NotFound(
                    f"no organisation unit {unit_id}"
                    + (" at that time" if "as_of" in query else "")
                )
            return with_etag(view, view["version"])

    def _command(path: str, schema: type, handler: Any, arg: str, doc: str) -> None:
        @blp.route(f"/<unit_id>/{path}", endpoint=f"{path}-org-unit")
        class Command(MethodView):
            @blp.arguments(schema)
            @blp.response(200, OrgUnitSchema)
            def post(self, body: dict[str, Any], unit_id: str) -> Any:
                require_role("editor")
                unit = handler(
                    runtime.uow(), command_metadata(), unit_id, if_match_version(), body[arg]
                )
                return with_etag(queries.org_unit_view(unit), unit.version)

        Command.post.__doc__ = doc

    _command("rename", RenameOrgUnitSchema, handlers.rename_org_unit, "name", "Rename a unit.")
    _command(
        "move",
        MoveOrgUnitSchema,
        handlers.move_org_unit,
        "parent_id",
        "Move a unit under another parent (no cycles).",
    )
    _command(
        "close",
        CloseOrgUnitSchema,
        handlers.close_org_unit,
        "reason",
        "Close a unit: it takes no new goals or units.",
    )
    return blp


def _matches(unit: dict[str, Any], query: dict[str, Any]) -> bool:
    return all(unit[k] == query[k] for k in ("kind", "parent_id", "status") if k in query)
