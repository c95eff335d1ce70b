"""Who is calling: the identity the gateway forwards to services in HMAC-signed headers.

The gateway authenticates API keys; services trust only headers signed with the internal secret
and at most a few minutes old (DESIGN.md §7). The signature covers the method, the path
(percent-decoded) with its query string as sent (after a "?" only when there is one), the
identity, the time and a hash of the body, so none can be changed in transit.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from shared.errors import Unauthenticated

ROLES = ("reader", "editor", "auditor", "admin")

ACTOR_HEADER = "X-Styrkort-Actor"
ROLE_HEADER = "X-Styrkort-Role"
SCOPE_HEADER = "X-Styrkort-Scope"
TIME_HEADER = "X-Styrkort-Timestamp"
SIGNATURE_HEADER = "X-Styrkort-Signature"


@dataclass(frozen=True)
class Identity:
    """`actor` is e.g. `key:3f9c…`; `scope` an organisation unit id, or `*` for all."""

    actor: str
    role: str
    scope: str = "*"


def signing_target(url: str) -> str:
    """What a client signs of the URL it requests (path and query, no host): the path
    percent-decoded, the query string as it is sent."""
    path, _, query = url.partition("?")
    return unquote(path) + (f"?{query}" if query else "")


def _message(identity: Identity, method: str, path: str, body: bytes, timestamp: int) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    parts = [str(timestamp), method.upper(), path, identity.actor, identity.role, identity.scope]
    return "\n".join([*parts, body_hash]).encode("utf-8")


def sign(
    secret: str,
    identity: Identity,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers that carry `identity` to a service for this request."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode("utf-8"), _message(identity, method, path, body, timestamp), hashlib.sha256
    ).hexdigest()
    return {
        ACTOR_HEADER: identity.actor,
        ROLE_HEADER: identity.role,
        SCOPE_HEADER: identity.scope,
        TIME_HEADER: str(timestamp),
        SIGNATURE_HEADER: digest,
    }


def verify(
    secret: str,
    headers: Mapping[str, str] | Any,
    method: str,
    path: str,
    body: bytes,
    max_age_seconds: int,
    now: float | None = None,
) -> Identity:
    """The identity of a signed request, or Unauthenticated saying what is wrong."""
    missing = [
        name
        for name in (ACTOR_HEADER, ROLE_HEADER, TIME_HEADER, SIGNATURE_HEADER)
        if not headers.get(name)
    ]
    if missing:
        raise Unauthenticated(
            "requests must come through the gateway with a signed identity; missing "
            + ", ".join(missing)
        )
    raw_time = headers[TIME_HEADER]
    if not (raw_time.isascii() and raw_time.isdigit()) or len(raw_time) > 12:
        raise Unauthenticated(f"{TIME_HEADER} must be a Unix time in seconds")
    now = time.time() if now is None else now
    if abs(now - int(raw_time)) > max_age_seconds:
        raise Unauthenticated(f"the signed identity is stale (older than {max_age_seconds} s)")
    role = headers[ROLE_HEADER]
    if role not in ROLES:
        raise Unauthenticated(f"unknown role {role!r}")
    identity = Identity(headers[ACTOR_HEADER], role, headers.get(SCOPE_HEADER) or "*")
    expected = sign(secret, identity, method, path, body, int(raw_time))[SIGNATURE_HEADER]
    given = headers[SIGNATURE_HEADER]
    if not (given.isascii() and hmac.compare_digest(expected, given)):
        raise Unauthenticated("the identity signature does not match")
    return identity
