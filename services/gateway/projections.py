"""Read models of the gateway: the API keys as they are now, for authentication and listing,
and the keys as they were at any instant, folded from the key events (auditors' question)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from services.gateway.domain import keys
from services.gateway.domain.keys import ApiKey
from shared.events import RecordedEvent
from shared.uow import Projection

#: what a listing shows of a key: never its secret or hash
LISTED = (
    "key_id, name, role, scope, status, issued_at, issued_by, rotated_at, rotated_by, "
    "revoked_at, revoked_by"
)


class ApiKeysProjection(Projection):
    """`api_keys`: one row per key, its current role, scope, secret hash and status."""

    tables = ("api_keys",)

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if event.stream_type != keys.STREAM_TYPE:
            return
        fact = keys.EVENTS.decode(event)
        match fact:
            case ApiKey.Issued():
                conn.execute(
                    "INSERT INTO api_keys (key_id, name, role, scope, secret_hash, status, "
                    "version, issued_at, issued_by) VALUES (%s, %s, %s, %s, %s, 'active', %s, "
                    "%s, %s)",
                    [
                        fact.key_id,
                        fact.name,
                        fact.role,
                        fact.scope,
                        fact.secret_hash,
                        event.version,
                        event.recorded_at,
                        event.actor,
                    ],
                )
            case ApiKey.Rotated():
                conn.execute(
                    "UPDATE api_keys SET secret_hash = %s, version = %s, rotated_at = %s, "
                    "rotated_by = %s WHERE key_id = %s",
                    [fact.secret_hash, event.version, event.recorded_at, event.actor, fact.key_id],
                )
            case ApiKey.Revoked():
                conn.execute(
                    "UPDATE api_keys SET status = 'revoked', version = %s, revoked_at = %s, "
                    "revoked_by = %s WHERE key_id = %s",
                    [event.version, event.recorded_at, event.actor, fact.key_id],
                )


def own_projections() -> list[Projection]:
    return [ApiKeysProjection()]


def current_keys(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every key as it is now, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {LISTED} FROM api_keys ORDER BY issued_at, key_id").fetchall()
    return [_shown(row) for row in rows]


def credentials(conn: psycopg.Connection[Any], key_id: str) -> tuple[str, str, str, str] | None:
    """(role, scope, secret hash, status) of a key: one primary-key lookup per request."""
    row = conn.execute(
        "SELECT role, scope, secret_hash, status FROM api_keys WHERE key_id = %s", [key_id]
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def keys_as_of(conn: psycopg.Connection[Any], as_of: dt.datetime) -> list[dict[str, Any]]:
    """The keys as they were at `as_of`: the key events recorded up to then, folded.

    Answered from the event store, not the read model, so it is the record itself that says
    who could do what on a date (recorded_at never goes back with position)."""
    rows = conn.execute(
        "SELECT event_type, data, metadata, recorded_at FROM events "
        "WHERE stream_type = %s AND recorded_at <= %s ORDER BY position",
        [keys.STREAM_TYPE, as_of],
    ).fetchall()
    return fold_listing(rows)


def fold_listing(rows: Iterable[tuple[str, Any, Any, dt.datetime]]) -> list[dict[str, Any]]:
    """(event type, data, metadata, recorded_at) of key events in order -> keys as listed."""
    found: dict[str, dict[str, Any]] = {}
    for event_type, data, metadata, at in rows:
        by = (metadata or {}).get("actor")
        key_id = data["key_id"]
        if event_type == ApiKey.Issued.TYPE:
            found[key_id] = {
                "key_id": key_id,
                "name": data["name"],
                "role": data["role"],
                "scope": data["scope"],
                "status": "active",
                "issued_at": at,
                "issued_by": by,
                "rotated_at": None,
                "rotated_by": None,
                "revoked_at": None,
                "revoked_by": None,
            }
        elif event_type == ApiKey.Rotated.TYPE and key_id in found:
            found[key_id].update(rotated_at=at, rotated_by=by)
        elif event_type == ApiKey.Revoked.TYPE and key_id in found:
            found[key_id].update(status="revoked", revoked_at=at, revoked_by=by)
    return [_shown(row) for row in found.values()]


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, dt.datetime) else value
        for name, value in row.items()
    }
