"""API keys: who may call styrkort from outside, as events (issued, rotated, revoked).

A key is `sk_<key_id>_<secret>`: the key id names the key in logs, events and the admin API;
the secret is 256 random bits and is shown once, when the key is issued or rotated. Only its
SHA-256 is stored: the secret is high-entropy, so a fast hash cannot be brute-forced, and a
lookup by key id plus one hash per request keeps authentication cheap (docs/adr/0014).

The events are the record auditors ask for ("who could change this unit's goals on a given
date"): each names the role and scope it granted, and its metadata who issued, rotated or
revoked the key (an admin key, or `cli:<os user>`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation
from shared.identity import ROLES

STREAM_TYPE = "api_key"
STREAM_PREFIX = "key-"
KEY_PREFIX = "sk"
KeyStatus = Literal["active", "revoked"]
#: a key id: 20 lower-case hex characters (80 random bits: ids never collide in practice)
_KEY_ID = re.compile(r"[0-9a-f]{20}", re.ASCII)
#: a secret: 43 URL-safe base64 characters (secrets.token_urlsafe(32): 256 bits)
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
#: a scope: `*` or the id of an organisation unit as goals gives it out
_UNIT_ID = re.compile(r"org-unit-[A-Za-z0-9-]{1,80}", re.ASCII)
MAX_NAME = 200


def new_key_id() -> str:
    return secrets.token_hex(10)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """SHA-256 of the secret, hex: what is stored instead of the secret."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def format_key(key_id: str, secret: str) -> str:
    """The key as its holder sends it: `sk_<key_id>_<secret>`."""
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def parse_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a key in the right shape, else None (never an exception)."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not _KEY_ID.fullmatch(key_id) or not _SECRET.fullmatch(secret):
        return None
    return key_id, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Whether the secret is the one whose hash is stored, compared in constant time."""
    return hmac.compare_digest(secret_hash(secret), stored_hash)


def stream_id(key_id: str) -> str:
    return f"{STREAM_PREFIX}{key_id}"


def check_key_id(key_id: str) -> str:
    """A key id as given by a person (CLI, URL); InvalidInput naming `key_id` otherwise."""
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidInput(
            f"{key_id[:40]!r} is not a key id (20 hex characters, as `keys list` shows)",
            {"key_id": ["not a key id"]},
        )
    return key_id


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(
            f"unknown role {role[:40]!r}; one of {', '.join(ROLES)}", {"role": ["unknown role"]}
        )
    return role


def check_scope(scope: str) -> str:
    """`*` or the shape of a unit id; whether the unit exists is asked of goals by the caller."""
    if scope != "*" and not _UNIT_ID.fullmatch(scope):
        raise InvalidInput(
            f"scope must be * (all units) or an organisation unit id (org-unit-…), "
            f"not {scope[:60]!r}",
            {"scope": ["not * or an org-unit id"]},
        )
    return scope


def check_name(name: str) -> str:
    """What the key is for (e.g. the calling system): one line, no personal data asked."""
    name = " ".join(name.split())
    if len(name) > MAX_NAME or any(not c.isprintable() for c in name):
        raise InvalidInput(
            f"name must be one line of at most {MAX_NAME} printable characters",
            {"name": [f"at most {MAX_NAME} printable characters"]},
        )
    return name


@dataclass(frozen=True)
class ApiKey:
    """One API key as its events made it (never its secret)."""

    id: str
    name: str
    role: str
    scope: str
    secret_hash: str
    status: KeyStatus = "active"
    version: int = 0

    @dataclass(frozen=True)
    class Issued(DomainEvent):
        """An API key was issued with a role and a unit scope; its secret shown once."""

        TYPE = "ApiKeyIssued.v1"
        key_id: str
        name: str
        role: str
        scope: str
        secret_hash: str

    @dataclass(frozen=True)
    class Rotated(DomainEvent):
        """The key got a new secret; the old one is refused from now on."""

        TYPE = "ApiKeyRotated.v1"
        key_id: str
        secret_hash: str

    @dataclass(frozen=True)
    class Revoked(DomainEvent):
        """The key was revoked; it is refused from now on."""

        TYPE = "ApiKeyRevoked.v1"
        key_id: str

    @staticmethod
    def issue(key_id: str, name: str, role: str, scope: str, hashed: str) -> list[DomainEvent]:
        return [
            ApiKey.Issued(key_id, check_name(name), check_role(role), check_scope(scope), hashed)
        ]

    def rotate(self, hashed: str) -> list[DomainEvent]:
        self._require_active("rotated")
        return [ApiKey.Rotated(self.id, hashed)]

    def revoke(self) -> list[DomainEvent]:
        self._require_active("revoked")
        return [ApiKey.Revoked(self.id)]

    def _require_active(self, action: str) -> None:
        if self.status == "revoked":
            raise RuleViolation(
                f"key {self.id} is revoked and cannot be {action}; issue a new key",
                {"key_id": ["revoked"]},
            )

    def when(self, event: Any) -> ApiKey:
        version = self.version + 1
        match event:
            case ApiKey.Rotated(secret_hash=hashed):
                return replace(self, secret_hash=hashed, version=version)
            case ApiKey.Revoked():
                return replace(self, status="revoked", version=version)
        raise ValueError(f"{type(event).__name__} cannot follow the issue of a key")

    @staticmethod
    def start(event: Any) -> ApiKey:
        if not isinstance(event, ApiKey.Issued):
            raise ValueError(f"{type(event).__name__} before ApiKeyIssued")
        return ApiKey(
            event.key_id, event.name, event.role, event.scope, event.secret_hash, version=1
        )

    @staticmethod
    def replay(events: Iterable[DomainEvent]) -> ApiKey | None:
        result: ApiKey | None = KIND.fold(events)
        return result


EVENTS = EventRegistry(ApiKey.Issued, ApiKey.Rotated, ApiKey.Revoked)
KIND = AggregateKind(STREAM_TYPE, ApiKey, EVENTS, ApiKey.start)
