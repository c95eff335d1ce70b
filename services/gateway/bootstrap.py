"""The admin bootstrap key: how a gateway in production gets its first admin.

`STYRKORT_ADMIN_BOOTSTRAP_KEY` (sk_<key id>_<secret>, shape checked by shared/config.py) is
issued as an active admin key of scope `*` the first time the gateway's `migrate` or web app
starts, through the normal key command, as an `ApiKeyIssued` event by `system:bootstrap`. The
key's id is in the key itself, so its stream id is deterministic: every later start, in any
number of workers or containers at once, finds it (or loses the race to create it, a
ConcurrencyError) and appends nothing.

A bootstrap key that an admin revoked or rotated is not brought back: the gateway starts
without it and says so once per process, naming the key id (docs/adr/0021). The secret is
never logged.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

from services.gateway import key_commands
from services.gateway.domain import keys
from services.gateway.projections import credentials
from shared.events import Metadata
from shared.runtime import Runtime
from shared.store import ConcurrencyError

log = logging.getLogger(__name__)

ACTOR = "system:bootstrap"
NAME = "admin bootstrap key (STYRKORT_ADMIN_BOOTSTRAP_KEY)"
Outcome = Literal["none", "issued", "present", "revoked", "rotated", "changed"]


def ensure_bootstrap_key(runtime: Runtime) -> Outcome:
    """Make sure the configured bootstrap key exists as an admin key; what was found or done."""
    key = runtime.config.admin_bootstrap_key
    parsed = keys.parse_key(key) if key else None
    if parsed is None:
        return "none"
    key_id, secret = parsed
    for _ in range(2):  # a lost race to create it: read what the winner wrote
        found = _credentials(runtime, key_id)
        if found is not None:
            return _judge(key_id, secret, found)
        try:
            key_commands.issue_given(
                runtime, _metadata(), key_id, secret, role="admin", scope="*", name=NAME
            )
        except ConcurrencyError:
            continue
        log.info("issued the admin bootstrap key %s (role admin, scope *)", key_id)
        return "issued"
    raise RuntimeError(f"the admin bootstrap key {key_id} is neither found nor issued")


def _credentials(runtime: Runtime, key_id: str) -> tuple[str, str, str, str] | None:
    with runtime.pool.connection() as conn:
        return credentials(conn, key_id)


def _judge(key_id: str, secret: str, found: tuple[str, str, str, str]) -> Outcome:
    """An existing key is left as its events made it: an admin's revocation or rotation
    stands over the configuration."""
    role, scope, stored_hash, status = found
    if status != "active":
        log.warning(
            "the admin bootstrap key %s was revoked; it is not issued again and the gateway "
            "starts without it (to bootstrap anew, set STYRKORT_ADMIN_BOOTSTRAP_KEY to a new key)",
            key_id,
        )
        return "revoked"
    if not keys.secret_matches(secret, stored_hash):
        log.warning(
            "the admin bootstrap key %s was rotated; the secret in STYRKORT_ADMIN_BOOTSTRAP_KEY "
            "is refused and is not restored",
            key_id,
        )
        return "rotated"
    if (role, scope) != ("admin", "*"):
        log.warning("the admin bootstrap key %s is %s of %s, not admin of *", key_id, role, scope)
        return "changed"
    return "present"


def _metadata() -> Metadata:
    return Metadata(actor=ACTOR, correlation_id=str(uuid.uuid4()))
