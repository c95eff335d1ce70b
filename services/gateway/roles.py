"""Who may use the gateway's own views: the caller's role, from the identity the gateway's
API-key check put on the request (`flask.g.identity`).

The services check roles again on every call the views make for the caller; this check only
refuses early, with a Problem naming the role needed, before any service is asked.
"""

from __future__ import annotations

from flask import g

from shared.errors import Forbidden, Unauthenticated
from shared.identity import Identity


def caller() -> Identity:
    """The identity of the request; 401 when the gateway found no valid key."""
    identity = g.get("identity")
    if not isinstance(identity, Identity):
        raise Unauthenticated("this route needs an API key: Authorization: Bearer <key>")
    return identity


def require_role(*roles: str) -> Identity:
    """The caller, if its role is one of `roles` (admin passes everything); else 403."""
    identity = caller()
    if identity.role != "admin" and identity.role not in roles:
        needed = " or ".join((*roles, "admin"))
        raise Forbidden(
            f"role {identity.role!r} may not do this; it needs {needed}",
            role=identity.role,
            needed=list(roles),
        )
    return identity
