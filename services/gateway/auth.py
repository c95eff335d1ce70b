"""Who is calling the gateway: `Authorization: Bearer <API key>` on every request but the open
ones, checked against the `api_keys` read model on each request (one primary-key lookup), so a
revoked key or a rotated-away secret is refused from the moment its event commits.

After it, `g.identity` is the key's `Identity(actor="key:<key_id>", role, scope)` (what the
gateway signs for the services) and `g.key_id` the key's id. Requests are rate-limited per key
(flask-limiter; GATEWAY_RATE_LIMIT, default 1200/minute), counted in this process's memory: with
N gateway processes a key may make up to N times the limit (docs/adr/0014).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import time
from collections.abc import Mapping

import psycopg
from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from limits import parse_many

from services.gateway.domain import keys
from services.gateway.projections import credentials
from shared.config import ConfigError
from shared.errors import Forbidden
from shared.http import API_PREFIX, problem
from shared.identity import Identity
from shared.runtime import Runtime

log = logging.getLogger(__name__)

#: paths anyone may call: health, metrics, the API's documents, and the web pages
OPEN_PATHS = frozenset(("/", "/healthz", "/readyz", "/metrics", f"{API_PREFIX}/openapi.json"))
OPEN_PREFIXES = (f"{API_PREFIX}/docs", "/static/", "/review/", "/mal/")
DEFAULT_RATE_LIMIT = "1200/minute"
_BEARER = re.compile(r"Bearer[ ]+(\S+)[ ]*", re.ASCII | re.IGNORECASE)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="styrkort"'}


def is_open(path: str) -> bool:
    """Whether a path needs no key."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def rate_limit_from_env(env: Mapping[str, str] | None = None) -> str:
    """GATEWAY_RATE_LIMIT in flask-limiter's notation (e.g. `1200/minute`, `20/second`)."""
    env = os.environ if env is None else env
    raw = env.get("GATEWAY_RATE_LIMIT", DEFAULT_RATE_LIMIT)
    try:
        valid = bool(parse_many(raw))
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(f"GATEWAY_RATE_LIMIT must be a rate such as 1200/minute, not {raw!r}")
    return raw


def refused(detail: str) -> Response:
    """401 Problem+JSON with the Bearer challenge (RFC 6750)."""
    return problem(401, "Not authenticated", detail, headers=CHALLENGE)


def authenticate(runtime: Runtime) -> Response | None:
    """Set g.identity and g.key_id from the request's key, or the 401 answer."""
    header = request.headers.get("Authorization")
    if not header:
        return refused("send an API key: Authorization: Bearer <key>")
    match = _BEARER.fullmatch(header)
    parsed = keys.parse_key(match.group(1)) if match else None
    if parsed is None:
        return refused("the Authorization header must be `Bearer sk_<key id>_<secret>`")
    key_id, secret = parsed
    found = lookup_key(runtime, key_id)
    # the same answer for an unknown key, a wrong secret and a revoked key: a caller learns
    # nothing about which keys exist
    if found is None or found[3] != "active" or not keys.secret_matches(secret, found[2]):
        return refused("the API key is unknown, revoked, or its secret was rotated")
    role, scope = found[0], found[1]
    g.key_id = key_id
    g.identity = Identity(actor=f"key:{key_id}", role=role, scope=scope)
    return None


def lookup_key(runtime: Runtime, key_id: str) -> tuple[str, str, str, str] | None:
    """The key's credentials in one round trip: a single read needs no BEGIN and COMMIT around
    it (a third of the time of the lookup on a local database), so the connection is lent in
    autocommit mode and given back as the pool lends it."""
    with runtime.pool.connection() as conn:
        conn.autocommit = True
        try:
            return credentials(conn, key_id)
        finally:
            with contextlib.suppress(psycopg.Error):  # a broken connection: the pool drops it
                conn.autocommit = False


def install_auth(app: Flask, runtime: Runtime) -> None:
    @app.before_request
    def _authenticate() -> Response | None:
        g.identity = None
        g.key_id = None
        if is_open(request.path):
            return None
        return authenticate(runtime)


def install_rate_limit(app: Flask, limit: str) -> Limiter:
    """Per key, after authentication (install it after install_auth); open paths are free."""

    def key() -> str:
        return str(g.get("key_id") or "anonymous")

    def breached(limit_hit: RequestLimit) -> Response:
        retry = max(1, math.ceil(limit_hit.window[0] - time.time()))
        return problem(
            429,
            "Too many requests",
            f"this API key made more than {limit_hit.limit} requests; try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )

    limiter = Limiter(
        key,
        app=app,
        # one budget per key across every route (default_limits would count each route apart)
        application_limits=[limit],
        application_limits_exempt_when=lambda: g.get("key_id") is None,
        storage_uri="memory://",
        headers_enabled=False,
        on_breach=breached,
    )

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded) -> Response:
        # the Problem made by `breached`, not the generic HTTPException answer (which would
        # lose Retry-After)
        return exc.get_response()  # type: ignore[return-value]

    return limiter


def require_role(*roles: str) -> Identity:
    """The caller's identity if its role is one of `roles`; Forbidden (403) otherwise."""
    identity: Identity | None = g.get("identity")
    if identity is None:
        raise Forbidden("this route needs an API key")
    if identity.role not in roles:
        raise Forbidden(
            f"this needs the role {' or '.join(roles)}; the key has the role {identity.role}",
            role=identity.role,
        )
    return identity
