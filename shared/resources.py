"""Routes of one entity type, the same in every service (DESIGN.md §6).

`POST /<things>` creates, `GET /<things>` lists (filters, cursor, as_of), `GET /<things>/<id>`
reads (as_of, ETag), `POST /<things>/<id>/<action>` runs a command (If-Match, Idempotency-Key);
`/history/<id>` (shared.admin) lists the events. Reads come from the versioned read model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import url_for
from flask.views import MethodView
from marshmallow import Schema

from shared import versions
from shared.access import CommandGuard
from shared.aggregate import to_json
from shared.errors import NotFound
from shared.events import Metadata
from shared.http import (
    Blueprint,
    command_metadata,
    current_identity,
    if_match_version,
    note_command_access,
    with_etag,
)
from shared.runtime import Runtime
from shared.schemas import AsOfQuery, encode_cursor
from shared.uow import UnitOfWork

Body = dict[str, Any]
#: (uow, metadata, entity id, expected version, body) -> the new state
Command = Callable[[UnitOfWork, Metadata, str, int | None, Body], Any]


def guarded(
    runtime: Runtime, entity_type: str, body: Body, entity_id: str | None = None
) -> UnitOfWork:
    """A unit of work for the caller's command, with the access check every command passes
    (shared/access.py): a new entity of the type created from `body` (`entity_id` None), or
    the command `body` on `entity_id`. The check runs inside the command's transaction."""
    who = current_identity()
    note_command_access(entity_type, entity_id, body)  # re-checked by an idempotent replay
    uow = runtime.uow()
    if not runtime.access.writes_anywhere(who):
        uow.guard = CommandGuard(runtime.access, who, entity_type, body, entity_id)
    return uow


def page(
    conn: Any, entity_type: str, query: Mapping[str, Any], filters: Mapping[str, str]
) -> dict[str, Any]:
    """A page of one entity type: `filters` maps query parameters to state paths."""
    where = {path: query[name] for name, path in filters.items() if name in query}
    items = versions.find(
        conn,
        entity_type,
        as_of=query.get("as_of"),
        where=where,
        after_id=query.get("cursor"),
        limit=query["limit"],
    )
    full = len(items) == query["limit"]
    return {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if full else None}


class Resource:
    """The routes of one entity type on one blueprint."""

    def __init__(
        self,
        runtime: Runtime,
        blp: Blueprint,
        entity_type: str,
        what: str,
        out: type[Schema],
        prefix: str,
        present: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.blp = blp
        self.entity_type = entity_type
        self.what = what
        self.out = out
        self.prefix = prefix  # of the entity's ids: an id of another kind is not found
        #: adds what is derived, not stored, to a state (given the as_of instant or None)
        self.present = present or (lambda state, as_of: state)

    def view(self, state: Any) -> tuple[Any, int, dict[str, str]]:
        return with_etag(self.present(to_json(state), None), state.version)

    def reads(
        self, list_query: type[Schema], page_schema: type[Schema], filters: Mapping[str, str]
    ) -> None:
        resource = self

        @self.blp.route("")
        class Collection(MethodView):
            @resource.blp.arguments(list_query, location="query")
            @resource.blp.response(200, page_schema)
            def get(self, query: Body) -> Body:
                """A page of them, filtered; `as_of` lists them as they stood then."""
                with resource.runtime.pool.connection() as conn:
                    return page(conn, resource.entity_type, query, filters)

        @self.blp.route("/<entity_id>", endpoint=f"{self.entity_type}-one")
        class One(MethodView):
            @resource.blp.arguments(AsOfQuery, location="query")
            @resource.blp.response(200, resource.out)
            def get(self, query: Body, entity_id: str) -> Any:
                """One of them, now or `as_of` an instant."""
                return resource.read(entity_id, query.get("as_of"))

    def read(self, entity_id: str, as_of: Any) -> Any:
        with self.runtime.pool.connection() as conn:
            state = versions.get(conn, entity_id, as_of)
        if state is None or not entity_id.startswith(self.prefix):
            raise NotFound(f"no {self.what} {entity_id}" + (" at that time" if as_of else ""))
        return with_etag(self.present(state, as_of), state["version"])

    def create(
        self,
        schema: type[Schema],
        run: Callable[[UnitOfWork, Metadata, Body], Any],
        doc: str,
        path: str = "",
        location: str | None = None,
    ) -> None:
        """POST `path` creates one; `location` is the endpoint that reads it (Location)."""
        resource = self
        endpoint = location or f"{self.blp.name}.{self.entity_type}-one"

        class Create(MethodView):
            @resource.blp.arguments(schema)
            @resource.blp.response(201, resource.out)
            def post(self, body: Body, **path_args: str) -> Any:
                values = {**body, **path_args}
                uow = guarded(resource.runtime, resource.entity_type, values)
                state = run(uow, command_metadata(), values)
                view, status, headers = with_etag(to_json(state), state.version, 201)
                headers["Location"] = url_for(endpoint, entity_id=state.id)
                return view, status, headers

        Create.post.__doc__ = doc
        self.blp.add_url_rule(path, f"{self.entity_type}-create", Create)

    def command(self, action: str, schema: type[Schema], run: Command, doc: str) -> None:
        resource = self

        class Action(MethodView):
            @resource.blp.arguments(schema)
            @resource.blp.response(200, resource.out)
            def post(self, body: Body, entity_id: str) -> Any:
                if not entity_id.startswith(resource.prefix):
                    raise NotFound(f"no {resource.what} {entity_id}")
                uow = guarded(resource.runtime, resource.entity_type, body, entity_id)
                state = run(uow, command_metadata(), entity_id, if_match_version(), body)
                return resource.view(state)

        Action.post.__doc__ = doc
        self.blp.add_url_rule(f"/<entity_id>/{action}", f"{self.entity_type}-{action}", Action)
