"""The audit trail across services: an entity's history from whichever service owns it, and
one feed of every service's events (docs/gateway.md).

**History** (`GET /api/v1/history/<entity_id>[?as_of=]`): an entity id starts with its stream
type (`goal-…`, `plan-…`, `result-…`), which names the one service that keeps it, so the
gateway asks that service alone and passes its answer through unchanged (status, body,
Problem). `key-…` ids are the gateway's own: the core offers their history as
`app.extensions["styrkort.gateway.key_history"]`. An id no service owns is a 404.

**Merged feed** (`GET /api/v1/events?after=<cursor>&limit=`, auditor or admin): the cursor
holds one position per service, so services moving at different speeds never make the feed
skip or repeat an event. A page asks every service for up to `limit` events after its
position, merges them by time (ties: service order, then position) without reordering any
one service's events, emits at most `limit`, and moves each service's position only over the
events it emitted. A service that does not answer fails the page (503 naming it): a page that
silently lacked a service would move past nothing, but would show a feed with a hole.

The cursor is opaque to clients: base64url (unpadded) of compact JSON
`{"goals":n,"plans":m,"reports":k}`. It is read strictly (400 naming `after`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request

from services.gateway.roles import caller, require_role
from services.gateway.upstream import BACKENDS, ServiceUnavailable, Upstreams
from shared.errors import NotFound, StyrkortError
from shared.identity import Identity

API_PREFIX = "/api/v1"
#: stream-type prefix of an entity id -> the service that keeps it (longest prefix first:
#: "annual-report-" before "report-"); tests/unit/test_gateway_merge.py checks it against
#: every service's STREAM_PREFIX
OWNERS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {
            "org-unit-": "goals",
            "document-": "goals",
            "area-": "goals",
            "goal-": "goals",
            "indicator-": "goals",
            "plan-": "plans",
            "activity-": "plans",
            "agreement-": "plans",
            "proposal-": "plans",
            "result-": "reports",
            "report-": "reports",
            "assessment-": "reports",
            "annual-report-": "reports",
            "deadline-": "reports",
            "comparison-": "reports",
            "improvement-": "reports",
            "key-": "gateway",
        }.items(),
        key=lambda item: -len(item[0]),
    )
)
GATEWAY = "gateway"
#: the extension under which the gateway core offers the history of its own entities (keys):
#: called with (entity_id, as_of or None), answers a Flask response
KEY_HISTORY_EXTENSION = "styrkort.gateway.key_history"
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
MAX_POSITION = 2**63 - 1
MAX_CURSOR_LENGTH = 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class BadQuery(StyrkortError):
    """A query parameter the route cannot read (HTTP 400); `errors` names it."""

    title = "Invalid query parameter"
    status = 400


class UpstreamError(StyrkortError):
    """A service answered, but not as it should (HTTP 502); names the service."""

    title = "Bad gateway"
    status = 502


def owner_of(entity_id: str) -> str | None:
    """The service (or "gateway") that keeps an entity, by its id's prefix; None if none."""
    for prefix, owner in OWNERS:
        if entity_id.startswith(prefix) and len(entity_id) > len(prefix):
            return owner
    return None


# -- the cursor ---------------------------------------------------------------------------


def encode_cursor(positions: Mapping[str, int]) -> str:
    """The opaque cursor of one position per service."""
    raw = json.dumps(dict(positions), separators=(",", ":"), sort_keys=False)
    return base64.urlsafe_b64encode(raw.encode("ascii")).rstrip(b"=").decode("ascii")


def decode_cursor(raw: str | None, services: Sequence[str] = BACKENDS) -> dict[str, int]:
    """The positions a cursor holds (every service; one it does not name is at 0).

    BadQuery naming `after` unless it is a cursor this feed gave out: base64url of a JSON
    object whose keys are services and whose values are positions (integers ≥ 0)."""
    positions = dict.fromkeys(services, 0)
    if raw is None or raw == "":
        return positions
    if len(raw) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(raw):
        raise _bad_cursor("it is not a cursor this feed gave out (base64url)")
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
        value = json.loads(text)
    except (binascii.Error, ValueError):
        raise _bad_cursor("it is not a cursor this feed gave out") from None
    if not isinstance(value, dict):
        raise _bad_cursor("it is not a cursor this feed gave out")
    for service, position in value.items():
        if service not in positions:
            raise _bad_cursor(f"it names {service!r}, which is not one of {', '.join(services)}")
        if type(position) is not int or not 0 <= position <= MAX_POSITION:
            raise _bad_cursor(f"its position of {service} is not an integer ≥ 0: {position!r}")
        positions[service] = position
    return positions


def _bad_cursor(reason: str) -> BadQuery:
    return BadQuery(
        f"after: {reason}; pass the next_after of the previous page, or nothing to start",
        {"after": [reason]},
    )


def parse_limit(raw: str | None) -> int:
    """The page size: an integer in 1..MAX_LIMIT (BadQuery naming `limit` otherwise)."""
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw[:6]) <= MAX_LIMIT:
        reason = f"must be an integer from 1 to {MAX_LIMIT}"
        raise BadQuery(f"limit {reason}, not {raw[:40]!r}", {"limit": [reason]})
    return int(raw)


# -- merging pages ------------------------------------------------------------------------


Event = Mapping[str, Any]
#: asks services at once for their events: service -> (after, limit) to service -> (events
#: after that position in position order, the service's last position)
FetchMany = Callable[[Mapping[str, tuple[int, int]]], Mapping[str, tuple[Sequence[Event], int]]]


def merge_feed(
    fetch_many: FetchMany,
    positions: Mapping[str, int],
    limit: int,
    order: Sequence[str] = BACKENDS,
) -> tuple[list[Event], dict[str, int], dict[str, int]]:
    """At most `limit` events of the services after `positions`, merged by time; the positions
    after them; each service's last position as last asked.

    The merge always takes the earliest of the services' next events (ties: service order,
    then position), so what it emits of a service is always the start of that service's
    events after its position: each position moves over exactly the events emitted, and none
    is skipped, even where a service's times are not in position order. Each service is first
    asked for an equal share of `limit` (all at once); a service whose share is used up while
    it has more is asked again, for what the page may still take, before the merge goes on —
    so a page reads about `limit` events, not `limit` from every service."""
    share = max(1, -(-limit // max(1, len(order))))
    buffers: dict[str, Sequence[Event]] = {}
    taken = dict.fromkeys(order, 0)
    heads: dict[str, int] = {}
    moved = {s: positions[s] for s in order}
    emitted: list[Event] = []

    def ask(wanted: Mapping[str, tuple[int, int]]) -> None:
        for service, (events, head) in fetch_many(wanted).items():
            buffers[service], taken[service], heads[service] = events, 0, head

    ask({s: (moved[s], share) for s in order})
    while len(emitted) < limit:
        exhausted = {
            s: (moved[s], limit - len(emitted))
            for s in order
            if taken[s] >= len(buffers[s]) and moved[s] < heads[s] and buffers[s]
        }
        if exhausted:
            ask(exhausted)
        ready = [s for s in order if taken[s] < len(buffers[s])]
        if not ready:
            break
        service = min(
            ready,
            key=lambda s: (
                str(buffers[s][taken[s]].get("time", "")),
                order.index(s),
                int(buffers[s][taken[s]]["position"]),
            ),
        )
        event = buffers[service][taken[service]]
        emitted.append(event)
        moved[service] = int(event["position"])
        taken[service] += 1
    return emitted, moved, heads


# -- routes -------------------------------------------------------------------------------


def _fetch_page(
    upstreams: Upstreams, identity: Identity, service: str, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A service's events after a position, and its last position (ServiceUnavailable/
    UpstreamError when it does not answer as its feed does)."""
    response = upstreams.request(
        service, "GET", f"{API_PREFIX}/events/{service}?after={after}&limit={limit}", identity
    )
    if response.status_code == 503:
        raise ServiceUnavailable(service, "it answered 503")
    if response.status_code != 200:
        raise UpstreamError(
            f"the {service} service answered its feed with {response.status_code}; the merged "
            "feed needs every service's events",
            service=service,
            upstream_status=response.status_code,
        )
    try:
        body = response.json()
        events, last = body["events"], int(body["last_position"])
        ordered = all(int(a["position"]) < int(b["position"]) for a, b in pairwise(events))
        starts_after = not events or int(events[0]["position"]) > after
    except (ValueError, KeyError, TypeError):
        raise UpstreamError(f"the {service} feed is not readable", service=service) from None
    if not (isinstance(events, list) and ordered and starts_after):
        raise UpstreamError(f"the {service} service's feed is out of order", service=service)
    return events, last


def merged_page(
    upstreams: Upstreams, identity: Identity, positions: Mapping[str, int], limit: int
) -> dict[str, Any]:
    """One page of the merged feed from `positions` (see the module docstring)."""
    services = [s for s in BACKENDS if s in upstreams.clients]

    def fetch_many(
        wanted: Mapping[str, tuple[int, int]],
    ) -> dict[str, tuple[Sequence[Event], int]]:
        """The services asked at once; the first (in the services' order) that fails fails
        the page."""
        with ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
            futures = {
                s: pool.submit(_fetch_page, upstreams, identity, s, after, size)
                for s, (after, size) in wanted.items()
            }
            return {s: future.result() for s, future in futures.items()}

    events, moved, heads = merge_feed(fetch_many, positions, limit, services)
    return {
        "events": events,
        "next_after": encode_cursor(moved),
        "caught_up": all(moved[s] >= heads[s] for s in services),
        "positions": moved,
        "last_positions": heads,
    }


def _refuse_unknown_parameters(allowed: Sequence[str]) -> None:
    unknown = [name for name in request.args if name not in allowed]
    if unknown:
        raise BadQuery(
            f"this route takes no query parameter {', '.join(unknown)}; check the spelling",
            {name: ["unknown query parameter"] for name in unknown},
        )
    repeated = [name for name in allowed if len(request.args.getlist(name)) > 1]
    if repeated:
        raise BadQuery(
            f"give {', '.join(repeated)} once",
            {name: ["given more than once"] for name in repeated},
        )


def _passed_through(response: Any) -> Response:
    """A service's answer as it was: status, body and the headers that describe the body."""
    headers = {
        name: response.headers[name]
        for name in ("Content-Type", "ETag", "Cache-Control")
        if name in response.headers
    }
    return Response(response.content, status=response.status_code, headers=headers)


#: what the core offers: (entity_id, as_of or None) -> anything a Flask view may return
KeyHistory = Callable[[str, str | None], Any]


def blueprint(upstreams: Upstreams) -> Blueprint:
    """`/api/v1/history/<entity_id>` (any role) and `/api/v1/events` (auditor or admin)."""
    blp = Blueprint("gateway-audit-trail", __name__)

    @blp.get(f"{API_PREFIX}/history/<entity_id>")
    def history(entity_id: str) -> Any:
        identity = caller()
        owner = owner_of(entity_id)
        if owner is None:
            raise NotFound(
                f"no entity {entity_id}: its id names no service (ids start with their type, "
                "e.g. goal-, plan-, result-)"
            )
        if owner == GATEWAY:
            offered = current_app.extensions.get(KEY_HISTORY_EXTENSION)
            if offered is None:
                raise NotFound(f"no entity {entity_id}: the gateway keeps no key history here")
            key_history: KeyHistory = offered
            return key_history(entity_id, request.args.get("as_of"))
        query = request.query_string.decode("latin-1")
        target = f"{API_PREFIX}/history/{quote(entity_id, safe='')}" + (
            f"?{query}" if query else ""
        )
        return _passed_through(upstreams.request(owner, "GET", target, identity))

    @blp.get(f"{API_PREFIX}/events")
    def events() -> Response:
        identity = require_role("auditor")
        _refuse_unknown_parameters(("after", "limit"))
        positions = decode_cursor(request.args.get("after"))
        limit = parse_limit(request.args.get("limit"))
        return jsonify(merged_page(upstreams, identity, positions, limit))

    return blp


_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
OPENAPI_PATHS: dict[str, Any] = {
    f"{API_PREFIX}/events": {
        "get": {
            "tags": ["gateway"],
            "summary": "Every service's events, merged by time, after a cursor (auditor)",
            "description": "The cursor holds one position per service: pass `next_after` of "
            "a page as `after` of the next, and no event is skipped or repeated. Each event "
            "is a CloudEvent with its service's `source`, `position` and `hash`. A service "
            "that does not answer fails the page with a 503 naming it.",
            "parameters": [
                {
                    "in": "query",
                    "name": "after",
                    "required": False,
                    "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
                    "description": "the previous page's next_after; none to start",
                },
                {
                    "in": "query",
                    "name": "limit",
                    "required": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                },
            ],
            "responses": {
                "200": {
                    "description": "a page of the merged feed",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "events": {"type": "array", "items": {"type": "object"}},
                                    "next_after": {"type": "string"},
                                    "caught_up": {"type": "boolean"},
                                    "positions": {
                                        "type": "object",
                                        "additionalProperties": {"type": "integer"},
                                    },
                                    "last_positions": {
                                        "type": "object",
                                        "additionalProperties": {"type": "integer"},
                                    },
                                },
                            }
                        }
                    },
                },
                "400": {"description": "a cursor or limit it cannot read", "content": _PROBLEM},
                "401": {"description": "no valid key", "content": _PROBLEM},
                "403": {"description": "not an auditor or admin", "content": _PROBLEM},
                "502": {"description": "a service answered wrongly", "content": _PROBLEM},
                "503": {"description": "a service is not answering", "content": _PROBLEM},
            },
        }
    }
}
