"""`/api/v1/admin/keys`: API keys over the API, for admins (the CLI does the same locally).

A new or rotated key is in the answer once (`key`); nothing shows it again, and no listing
shows a secret or its hash. `GET ?as_of=` lists the keys as they were at that instant, from
the key events recorded until then: who could do what, where, on a given date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g
from marshmallow import Schema, fields, validate

from services.gateway import key_commands
from services.gateway.auth import require_role
from services.gateway.domain import keys
from services.gateway.projections import current_keys, keys_as_of
from shared.errors import NotFound
from shared.events import Metadata
from shared.http import API_PREFIX, Blueprint
from shared.identity import ROLES
from shared.runtime import Runtime
from shared.schemas import AsOfQuery

ADMIN = "admin"


class KeyCreateSchema(Schema):
    role = fields.String(
        required=True,
        validate=validate.OneOf(ROLES),
        metadata={"description": "reader, editor, auditor or admin"},
    )
    scope = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "an organisation unit id (it must exist in goals), or * for all"},
    )
    name = fields.String(
        load_default="",
        validate=validate.Length(max=keys.MAX_NAME),
        metadata={"description": "what the key is for, e.g. the calling system"},
    )


class KeySchema(Schema):
    key_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    scope = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "active or revoked"})
    issued_at = fields.String(required=True)
    issued_by = fields.String(allow_none=True)
    rotated_at = fields.String(allow_none=True)
    rotated_by = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class IssuedKeySchema(KeySchema):
    key = fields.String(
        required=True,
        metadata={"description": "the key, shown this once: send it as Authorization: Bearer"},
    )


class KeyListSchema(Schema):
    as_of = fields.String(allow_none=True)
    items = fields.List(fields.Nested(KeySchema), required=True)


def _metadata() -> Metadata:
    return Metadata(
        actor=f"key:{g.key_id}", correlation_id=g.correlation_id, request_id=g.request_id
    )


def _one(runtime: Runtime, key_id: str) -> dict[str, Any]:
    keys.check_key_id(key_id)
    with runtime.pool.connection() as conn:
        found = [k for k in current_keys(conn) if k["key_id"] == key_id]
    if not found:
        raise NotFound(f"no API key {key_id}", {"key_id": ["no such key"]})
    return found[0]


def admin_keys_blueprint(runtime: Runtime, check_scope: key_commands.ScopeCheck) -> Blueprint:
    blp = Blueprint(
        "admin-keys",
        __name__,
        url_prefix=f"{API_PREFIX}/admin/keys",
        description="API keys (admin role): issue, list, rotate, revoke.",
    )

    @blp.before_request
    def _admins_only() -> None:
        require_role(ADMIN)  # before the body is read: a reader learns nothing of the schema

    @blp.route("", methods=["POST"])
    @blp.arguments(KeyCreateSchema)
    @blp.response(201, IssuedKeySchema)
    def create(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Issue a key (its secret is in this answer only)."""
        listed, key = key_commands.issue(
            runtime,
            _metadata(),
            role=body["role"],
            scope=body["scope"],
            name=body["name"],
            check_scope=check_scope,
        )
        location = f"{API_PREFIX}/admin/keys/{listed['key_id']}"
        return {**listed, "key": key}, 201, {"Location": location}

    @blp.route("", methods=["GET"])
    @blp.arguments(AsOfQuery, location="query")
    @blp.response(200, KeyListSchema)
    def list_keys(query: dict[str, Any]) -> dict[str, Any]:
        """The keys now, or as they were at `as_of` (never a secret or hash)."""
        as_of: dt.datetime | None = query.get("as_of")
        with runtime.pool.connection() as conn:
            items = current_keys(conn) if as_of is None else keys_as_of(conn, as_of)
        return {"as_of": as_of.isoformat() if as_of else None, "items": items}

    @blp.route("/<key_id>", methods=["GET"])
    @blp.response(200, KeySchema)
    def get_key(key_id: str) -> dict[str, Any]:
        """One key as it is now."""
        return _one(runtime, key_id)

    @blp.route("/<key_id>/rotate", methods=["POST"])
    @blp.response(200, IssuedKeySchema)
    def rotate(key_id: str) -> dict[str, Any]:
        """A new secret (in this answer only); the old one is refused at once."""
        keys.check_key_id(key_id)
        listed, key = key_commands.rotate(runtime, _metadata(), key_id)
        return {**listed, "key": key}

    @blp.route("/<key_id>/revoke", methods=["POST"])
    @blp.response(200, KeySchema)
    def revoke(key_id: str) -> dict[str, Any]:
        """Revoke the key; it is refused at once."""
        return key_commands.revoke(runtime, _metadata(), key_id)

    return blp
