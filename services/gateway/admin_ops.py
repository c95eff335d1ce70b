"""The administrator's views across services (auditor or admin; docs/gateway.md).

- `GET /api/v1/admin/verify`: every service's chain check with the external witness (its
  `/admin/<service>/verify`) and its head now (`/admin/<service>/anchor`), side by side, and
  `ok` only when every service answered and none found a break. `complete` is false when a
  witness could not be consulted: the tail of that store is then unverified.
- `GET /api/v1/admin/lag`: per service, the relay's lag (last position vs what the broker
  acknowledged) and its consumers' lag (the highest position applied of each source vs that
  source's last position).

The services are asked in parallel (a witness read takes a moment); one that does not
answer is reported as unavailable, never left out. Rebuild and republish are the services'
own routes, forwarded by the gateway's proxy (`POST /api/v1/admin/<service>/rebuild`,
`/republish`); services/gateway/admin_cli.py drives all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify

from services.gateway.roles import require_role
from services.gateway.upstream import BACKENDS, ServiceUnavailable, Upstreams
from shared.identity import Identity

API_PREFIX = "/api/v1"
T = TypeVar("T")


class Unanswered(Exception):
    """A service did not give the admin view what it asked for."""


def _get(upstreams: Upstreams, service: str, path: str, identity: Identity) -> dict[str, Any]:
    """A service's admin answer as JSON; Unanswered naming why otherwise."""
    try:
        response = upstreams.request(service, "GET", f"{API_PREFIX}{path}", identity)
    except ServiceUnavailable as exc:
        raise Unanswered(exc.detail) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        detail = body.get("detail") if isinstance(body, dict) else None
        raise Unanswered(f"{path} answered {response.status_code}: {detail or 'no JSON'}")
    return body


def _each_service(upstreams: Upstreams, ask: Callable[[str], T]) -> dict[str, T]:
    """`ask(service)` for every service at once, in the services' order."""
    services = [s for s in BACKENDS if s in upstreams.clients]
    with ThreadPoolExecutor(max_workers=len(services) or 1) as pool:
        futures = {service: pool.submit(ask, service) for service in services}
        return {service: future.result() for service, future in futures.items()}


def verify_service(upstreams: Upstreams, service: str, identity: Identity) -> dict[str, Any]:
    """One service's chain check with the witness, and its head."""
    try:
        found = _get(upstreams, service, f"/admin/{service}/verify", identity)
        anchor = _get(upstreams, service, f"/admin/{service}/anchor", identity)
    except Unanswered as exc:
        return {"ok": False, "complete": False, "status": "unavailable", "reason": str(exc)}
    witness = found.get("witness") or {}
    return {
        "ok": bool(found.get("ok")),
        "complete": bool(found.get("complete")),
        "status": "ok" if found.get("ok") else "broken",
        "checked": found.get("checked"),
        "last_position": found.get("last_position"),
        "first_broken_position": found.get("first_broken_position"),
        "reason": found.get("reason"),
        "witness": {
            key: witness.get(key)
            for key in ("status", "consulted", "topic_position", "reason")
            if key in witness
        },
        "head": {key: anchor.get(key) for key in ("position", "hash", "recorded_at", "line")},
    }


def verify_all(upstreams: Upstreams, identity: Identity) -> dict[str, Any]:
    services = _each_service(upstreams, lambda s: verify_service(upstreams, s, identity))
    return {
        "ok": all(found["ok"] for found in services.values()),
        "complete": all(found["complete"] for found in services.values()),
        "services": services,
    }


def _lag_parts(
    upstreams: Upstreams, service: str, identity: Identity
) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """A service's relay and consumer status, or why they could not be had."""
    try:
        relay = _get(upstreams, service, f"/admin/{service}/relay", identity)
        consumer = _get(upstreams, service, f"/admin/{service}/consumer", identity)
    except Unanswered as exc:
        return str(exc)
    return relay, consumer


def lag_all(upstreams: Upstreams, identity: Identity) -> dict[str, Any]:
    """Every service's relay lag and its consumers' lag behind each source."""
    parts = _each_service(upstreams, lambda s: _lag_parts(upstreams, s, identity))
    heads = {s: p[0].get("last_position") for s, p in parts.items() if not isinstance(p, str)}
    services: dict[str, Any] = {}
    for service, found in parts.items():
        if isinstance(found, str):
            services[service] = {"status": "unavailable", "reason": found}
            continue
        relay, consumer = found
        services[service] = {
            "status": "ok",
            "last_position": relay.get("last_position"),
            "relay": {
                "checkpoint": relay.get("checkpoint"),
                "lag": relay.get("lag"),
                "stopped": relay.get("stopped"),
            },
            "consumers": {
                source: _consumer_lag(applied, heads.get(source))
                for source, applied in (consumer.get("sources") or {}).items()
            },
        }
    return {"services": services}


def _consumer_lag(applied: dict[str, Any], source_head: Any) -> dict[str, Any]:
    position = int(applied.get("applied_position") or 0)
    known = isinstance(source_head, int)
    return {
        "applied_position": position,
        "source_position": source_head if known else None,
        "lag": max(0, source_head - position) if known else None,
        "open_gaps": applied.get("open_gaps", 0),
        "last_applied_at": applied.get("last_applied_at"),
    }


def blueprint(upstreams: Upstreams) -> Blueprint:
    """`/api/v1/admin/verify` and `/api/v1/admin/lag` (auditor or admin)."""
    blp = Blueprint("gateway-admin", __name__)

    @blp.get(f"{API_PREFIX}/admin/verify")
    def verify() -> Response:
        identity = require_role("auditor")
        return jsonify(verify_all(upstreams, identity))

    @blp.get(f"{API_PREFIX}/admin/lag")
    def lag() -> Response:
        identity = require_role("auditor")
        return jsonify(lag_all(upstreams, identity))

    return blp


_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_REFUSALS = {
    "401": {"description": "no valid key", "content": _PROBLEM},
    "403": {"description": "not an auditor or admin", "content": _PROBLEM},
}
_PER_SERVICE = {
    "type": "object",
    "additionalProperties": {"type": "object"},
    "description": "by service: goals, plans, reports",
}
OPENAPI_PATHS: dict[str, Any] = {
    f"{API_PREFIX}/admin/verify": {
        "get": {
            "tags": ["gateway"],
            "summary": "Every store's hash chain and witness checked; heads (auditor)",
            "description": "`ok` only when every service answered and none found a break; "
            "`complete` is false when a witness (the service's topic) could not be read.",
            "responses": {
                "200": {
                    "description": "per service: ok/broken/unavailable, first broken position, "
                    "the chain's head",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "ok": {"type": "boolean"},
                                    "complete": {"type": "boolean"},
                                    "services": _PER_SERVICE,
                                },
                            }
                        }
                    },
                },
                **_REFUSALS,
            },
        }
    },
    f"{API_PREFIX}/admin/lag": {
        "get": {
            "tags": ["gateway"],
            "summary": "Relay and consumer lag per service (auditor)",
            "responses": {
                "200": {
                    "description": "per service: the relay's checkpoint and lag, each "
                    "consumer's applied position and lag behind its source",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"services": _PER_SERVICE},
                            }
                        }
                    },
                },
                **_REFUSALS,
            },
        }
    },
}
