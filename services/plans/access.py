"""Who may see and change employee agreements: editors of the agreement's unit (their scope
covers it) and, to read, auditors; administrators always (DESIGN.md §7, DOMAIN.md)."""

from __future__ import annotations

from typing import Any

import psycopg

from shared.errors import Forbidden
from shared.http import current_identity


def ancestry(conn: psycopg.Connection[Any], unit_id: str) -> list[str]:
    """The unit and its parents up to the root, as plans knows the organisation."""
    rows = conn.execute(
        """WITH RECURSIVE up(id, parent_id, depth) AS (
               SELECT id, parent_id, 0 FROM known_org_units WHERE id = %s
             UNION ALL
               SELECT u.id, u.parent_id, up.depth + 1 FROM known_org_units u
                 JOIN up ON u.id = up.parent_id WHERE up.depth < 100)
           SELECT id FROM up ORDER BY depth""",
        [unit_id],
    ).fetchall()
    return [r[0] for r in rows] or [unit_id]


def require_unit_access(conn: psycopg.Connection[Any], unit_id: str, *, write: bool) -> None:
    identity = current_identity()
    if identity.role == "admin" or (identity.role == "auditor" and not write):
        return
    if identity.role == "editor" and (
        identity.scope == "*" or identity.scope in ancestry(conn, unit_id)
    ):
        return
    raise Forbidden(
        "employee agreements are open only to editors of the unit and to "
        f"auditors; {identity.role} {identity.actor} with scope {identity.scope} "
        "may not " + ("change" if write else "read") + " this one"
    )
