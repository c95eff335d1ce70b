"""Who is calling: the identity the gateway forwards to services in HMAC-signed headers.

The gateway authenticates API keys; services trust only headers signed with the internal secret
(DESIGN.md §7, docs/adr/0006 and 0011). The signature covers, one per line:

- the time (Unix seconds; a service accepts it within ±`max_signature_age_seconds`, 60 s);
- a random nonce (`X-Styrkort-Nonce`, made by `sign()`), so every signing is unique;
- the audience: the service the request is for (`Config.service`, e.g. "goals"), so a request
  signed for goals is refused by plans;
- the method, the path (percent-decoded) with its query string as sent (after a "?" only when
  there is one);
- the identity: actor, role, scope;
- the request headers If-Match, Idempotency-Key and Content-Type (absent = empty);
- the SHA-256 of the body.

None can be changed in transit. A service accepts each signature once (shared/http.py keeps the
signatures it saw, for the window, in PostgreSQL): a captured request sent again is a 401.

HTTP header values are latin-1, so the actor travels percent-encoded as UTF-8 (`%` and every
character outside printable ASCII; `key:abc` is sent as it is, `key:åsa` as `key:%C3%A5sa`).
`verify()` accepts only that (canonical) encoding of an actor without control characters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from shared.errors import Unauthenticated

ROLES = ("reader", "editor", "auditor", "admin")

ACTOR_HEADER = "X-Styrkort-Actor"
ROLE_HEADER = "X-Styrkort-Role"
SCOPE_HEADER = "X-Styrkort-Scope"
TIME_HEADER = "X-Styrkort-Timestamp"
NONCE_HEADER = "X-Styrkort-Nonce"
SIGNATURE_HEADER = "X-Styrkort-Signature"
#: The request headers the signature covers besides the identity (absent = empty).
SIGNED_REQUEST_HEADERS = ("If-Match", "Idempotency-Key", "Content-Type")
#: Printable ASCII but "%": what the actor header carries unencoded.
_ACTOR_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")
_VERSION = "styrkort-identity-v2"
_MAX_NONCE = 64


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


def encode_actor(actor: str) -> str:
    """The actor as the header carries it: UTF-8, percent-encoded but printable ASCII."""
    return quote(actor, safe=_ACTOR_SAFE)


def decode_actor(value: str) -> str:
    """The actor of a header value; Unauthenticated unless it is `encode_actor`'s output of a
    text without control characters."""
    try:
        actor = unquote(value, errors="strict") if value.isascii() else None
    except UnicodeDecodeError:
        actor = None
    if actor is None or encode_actor(actor) != value:
        raise Unauthenticated(f"{ACTOR_HEADER} must be the actor percent-encoded as UTF-8")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in actor):
        raise Unauthenticated(f"{ACTOR_HEADER} must not contain control characters")
    return actor


def _header(headers: Mapping[str, str] | Any, name: str) -> str:
    """A header's value, looked up without regard to case; absent is empty."""
    value = headers.get(name)
    if value is None and isinstance(headers, Mapping):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return str(value or "").strip()


def _message(
    identity: Identity,
    audience: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    nonce: str,
    request_headers: Mapping[str, str] | Any,
) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    parts = [
        _VERSION,
        str(timestamp),
        nonce,
        audience,
        method.upper(),
        path,
        encode_actor(identity.actor),  # as sent; only the (decoded) path may hold a line break
        identity.role,
        identity.scope,
        *(_header(request_headers, name) for name in SIGNED_REQUEST_HEADERS),
        body_hash,
    ]
    return "\n".join(parts).encode("utf-8")


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(
    secret: str,
    identity: Identity,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp: int | None = None,
    *,
    audience: str,
    headers: Mapping[str, str] | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that carry `identity` to the service `audience` for this request.

    `path` is `signing_target(url)`; `headers` are the request's other headers, of which
    If-Match, Idempotency-Key and Content-Type are signed: send them exactly as given here.
    Every call makes a new nonce, so two signings of one request differ (each is accepted once).
    """
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = secrets.token_urlsafe(18) if nonce is None else nonce
    message = _message(identity, audience, method, path, body, timestamp, nonce, headers or {})
    return {
        ACTOR_HEADER: encode_actor(identity.actor),
        ROLE_HEADER: identity.role,
        SCOPE_HEADER: identity.scope,
        TIME_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: _digest(secret, message),
    }


def verify(
    secret: str,
    headers: Mapping[str, str] | Any,
    method: str,
    path: str,
    body: bytes,
    max_age_seconds: int,
    now: float | None = None,
    *,
    audience: str,
) -> Identity:
    """The identity of a request signed for `audience`, or Unauthenticated saying what is wrong.

    A valid signature may still be a replay: the caller accepts each one once."""
    missing = [
        name
        for name in (ACTOR_HEADER, ROLE_HEADER, TIME_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
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
    skew = now - int(raw_time)
    if skew > max_age_seconds:
        raise Unauthenticated(f"the signed identity is stale (older than {max_age_seconds} s)")
    if -skew > max_age_seconds:
        raise Unauthenticated(
            f"the signed identity is from the future (more than {max_age_seconds} s ahead); "
            "check the clocks of gateway and service"
        )
    nonce = headers[NONCE_HEADER]
    if not (nonce.isascii() and nonce.isprintable()) or len(nonce) > _MAX_NONCE:
        raise Unauthenticated(f"{NONCE_HEADER} must be at most {_MAX_NONCE} printable characters")
    role = headers[ROLE_HEADER]
    if role not in ROLES:
        raise Unauthenticated(f"unknown role {role!r}")
    actor = decode_actor(headers[ACTOR_HEADER])
    identity = Identity(actor, role, headers.get(SCOPE_HEADER) or "*")
    message = _message(identity, audience, method, path, body, int(raw_time), nonce, headers)
    given = headers[SIGNATURE_HEADER]
    if not (given.isascii() and hmac.compare_digest(_digest(secret, message), given)):
        raise Unauthenticated("the identity signature does not match")
    return identity
