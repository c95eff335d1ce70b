"""The reviewer's session: log in with an API key once, then browse.

The key is checked as auth.py checks a Bearer key (the `api_keys` read model: active, the
secret's hash matches). The session is Flask's signed cookie and holds only the key id, a
fingerprint of the key's stored secret hash (so a rotated secret ends the session too) and the
form token; never the secret. On every reviewer request the key is looked up again, so a
revoked or rotated key's session ends at its next request.

CSRF: a synchronizer token (one random token per session, kept in the signed cookie) is put
into every form and compared in constant time on every POST; a POST without it, or with
another, is refused with a 400 page before anything is done (docs/adr/0017).

Configuration (environment, or the config's `extra` in tests):
  GATEWAY_SESSION_SECRET  the key that signs the session cookie. When unset (dev), it is
                          derived from STYRKORT_INTERNAL_SECRET (HMAC with a fixed label), so a
                          dev stack needs no extra secret; set its own in production, so the
                          services' shared secret never signs cookies.
  GATEWAY_COOKIE_SECURE   `1` (default): the cookie is sent only over HTTPS; `0` for a dev
                          stack on plain http://127.0.0.1 (infra/devstack.py sets it).
  GATEWAY_SESSION_HOURS   how long a session lasts without logging in again (default 8).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request, session

from services.gateway.auth import lookup_key
from services.gateway.domain import keys
from shared.config import ConfigError
from shared.identity import Identity
from shared.runtime import Runtime

COOKIE_NAME = "styrkort_session"
#: the session cookie is sent only to the reviewer pages (the public pages never need it)
COOKIE_PATH = "/review"
CSRF_FIELD = "csrf_token"
DEV_SECRET_LABEL = b"styrkort web session v1"
DEFAULT_HOURS = 8


def settings_of(app: Flask) -> dict[str, str]:
    """The environment with the config's `extra` over it, as app.py reads its settings."""
    runtime: Runtime = app.extensions["styrkort.runtime"]
    return {**os.environ, **dict(runtime.config.extra)}


def session_secret(env: Mapping[str, str], internal_secret: str) -> str:
    """GATEWAY_SESSION_SECRET, or (dev) one derived from the internal secret."""
    given = env.get("GATEWAY_SESSION_SECRET", "")
    if given:
        if len(given) < 32:
            raise ConfigError("GATEWAY_SESSION_SECRET must be at least 32 characters")
        return given
    if not internal_secret:
        raise ConfigError("set GATEWAY_SESSION_SECRET (or STYRKORT_INTERNAL_SECRET in dev)")
    return hmac.new(internal_secret.encode(), DEV_SECRET_LABEL, hashlib.sha256).hexdigest()


def cookie_secure(env: Mapping[str, str]) -> bool:
    raw = env.get("GATEWAY_COOKIE_SECURE", "1").strip().lower()
    if raw not in ("0", "1", "true", "false"):
        raise ConfigError(f"GATEWAY_COOKIE_SECURE must be 1 or 0, not {raw!r}")
    return raw in ("1", "true")


def session_hours(env: Mapping[str, str]) -> float:
    raw = env.get("GATEWAY_SESSION_HOURS", str(DEFAULT_HOURS))
    try:
        hours = float(raw)
    except ValueError:
        hours = 0.0
    if not 0 < hours <= 24 * 30:
        raise ConfigError(f"GATEWAY_SESSION_HOURS must be hours in (0, 720], not {raw!r}")
    return hours


def configure(app: Flask) -> None:
    """The session cookie's key and flags: signed, HttpOnly, SameSite=Lax, Secure (config)."""
    env = settings_of(app)
    runtime: Runtime = app.extensions["styrkort.runtime"]
    app.secret_key = session_secret(env, runtime.config.internal_secret)
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_PATH=COOKIE_PATH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cookie_secure(env),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=session_hours(env)),
    )


# -- CSRF --------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's form token (made on first use); templates put it in every form."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """Whether the POST's form token is this session's (constant-time comparison)."""
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and bool(given) and hmac.compare_digest(expected, given)


# -- logging in --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewer:
    """Who is logged in: the key id and the identity the pages read as."""

    key_id: str
    identity: Identity


def _fingerprint(stored_hash: str) -> str:
    """A token of the key's stored secret hash: changes when the secret is rotated."""
    secret = str(current_app.secret_key).encode()
    return hmac.new(secret, stored_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["styrkort.runtime"]
    return runtime


def log_in(key: str) -> Reviewer | None:
    """Check a key as auth.py does; on success start a fresh session holding its id only."""
    parsed = keys.parse_key(key.strip())
    if parsed is None:
        return None
    key_id, secret = parsed
    found = lookup_key(_runtime(), key_id)
    if found is None or found[3] != "active" or not keys.secret_matches(secret, found[2]):
        return None
    session.clear()  # a new session on login: nothing from before it is kept (fixation)
    session.permanent = True
    session["key_id"] = key_id
    session["key"] = _fingerprint(found[2])
    csrf_token()
    return Reviewer(key_id, Identity(actor=f"key:{key_id}", role=found[0], scope=found[1]))


def current() -> Reviewer | None:
    """The logged-in reviewer, looked up again now; None (and the session ended) when the key
    was revoked, its secret rotated, or there is no session."""
    if "reviewer" in g:
        known: Reviewer | None = g.reviewer
        return known
    g.reviewer = None
    key_id = session.get("key_id")
    if not isinstance(key_id, str):
        return None
    found = lookup_key(_runtime(), key_id)
    fingerprint = session.get("key")
    if (
        found is None
        or found[3] != "active"
        or not isinstance(fingerprint, str)
        or not hmac.compare_digest(fingerprint, _fingerprint(found[2]))
    ):
        session.clear()
        return None
    reviewer = Reviewer(key_id, Identity(actor=f"key:{key_id}", role=found[0], scope=found[1]))
    g.reviewer = reviewer
    return reviewer


def log_out() -> None:
    session.clear()


def template_context() -> dict[str, Any]:
    """What every page's template may use: the form token and who is logged in."""
    return {"csrf_token": csrf_token, "reviewer": current}
