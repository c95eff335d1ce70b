"""Issuing, rotating and revoking API keys: the commands the CLI and the admin API share.

Each is one unit of work (append the key's event and update `api_keys` in one transaction), so
a rotated secret or a revoked key is refused from the commit on. The new key is returned once,
to be shown once; only its hash is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.gateway.domain import keys
from services.gateway.domain.keys import ApiKey
from services.gateway.projections import current_keys
from services.gateway.upstream import Upstreams
from shared.commands import change, create
from shared.errors import InvalidInput
from shared.events import Metadata
from shared.identity import Identity
from shared.runtime import Runtime

#: who the gateway is when it asks goals whether a scope's unit exists
GATEWAY_IDENTITY = Identity("gateway", "admin", "*")
ScopeCheck = Callable[[str], None]


def unit_checker(upstreams: Upstreams) -> ScopeCheck:
    """A check that a scope's organisation unit exists, asked of goals (422 naming `scope`
    if it does not; ServiceUnavailable, 503, if goals does not answer)."""

    def check(scope: str) -> None:
        if scope == "*":
            return
        response = upstreams.request("goals", "GET", f"/api/v1/org-units/{scope}", GATEWAY_IDENTITY)
        if response.status_code == 404:
            raise InvalidInput(
                f"there is no organisation unit {scope}", {"scope": ["no such organisation unit"]}
            )
        if response.status_code != 200:
            raise InvalidInput(
                f"goals could not confirm the organisation unit {scope} "
                f"(HTTP {response.status_code})",
                {"scope": ["not confirmed by goals"]},
            )

    return check


def issue(
    runtime: Runtime,
    metadata: Metadata,
    *,
    role: str,
    scope: str,
    name: str,
    check_scope: ScopeCheck,
) -> tuple[dict[str, Any], str]:
    """A new key: (its listing, the key itself, to show once)."""
    keys.check_role(role)
    keys.check_scope(scope)
    keys.check_name(name)
    check_scope(scope)  # after the cheap checks: bad input never costs a call to goals
    key_id, secret = keys.new_key_id(), keys.new_secret()
    issue_given(runtime, metadata, key_id, secret, role=role, scope=scope, name=name)
    return listing(runtime, key_id), keys.format_key(key_id, secret)


def issue_given(
    runtime: Runtime,
    metadata: Metadata,
    key_id: str,
    secret: str,
    *,
    role: str,
    scope: str,
    name: str,
) -> None:
    """Issue a key whose id and secret the caller chose (the admin bootstrap key, bootstrap.py):
    the key's stream begins at version 0, so a second issue of the same id, even a concurrent
    one, is a ConcurrencyError and never a second event."""
    hashed = keys.secret_hash(secret)
    create(
        runtime.uow(),
        metadata,
        keys.KIND,
        keys.stream_id(key_id),
        lambda: ApiKey.issue(key_id, name, role, scope, hashed),
    )


def rotate(runtime: Runtime, metadata: Metadata, key_id: str) -> tuple[dict[str, Any], str]:
    """A new secret for the key; the old one is refused from the commit on."""
    keys.check_key_id(key_id)
    secret = keys.new_secret()
    hashed = keys.secret_hash(secret)
    change(
        runtime.uow(),
        metadata,
        keys.KIND,
        keys.stream_id(key_id),
        None,
        lambda key: key.rotate(hashed),
    )
    return listing(runtime, key_id), keys.format_key(key_id, secret)


def revoke(runtime: Runtime, metadata: Metadata, key_id: str) -> dict[str, Any]:
    keys.check_key_id(key_id)
    change(runtime.uow(), metadata, keys.KIND, keys.stream_id(key_id), None, ApiKey.revoke)
    return listing(runtime, key_id)


def listing(runtime: Runtime, key_id: str) -> dict[str, Any]:
    """One key as the admin API and the CLI list it."""
    with runtime.pool.connection() as conn:
        return next(k for k in current_keys(conn) if k["key_id"] == key_id)
