"""The one API: `/api/v1/<path>` passed to the service that owns it (DESIGN.md §6).

The owner is found by the path's first segment in a static table (a test holds it against every
route of every service's url_map), by the service the path names (`events/<service>`,
`export/<service>/…`, `admin/<service>/…`), or for `history/<entity id>` by the id's stream
prefix. The request goes on signed for the caller's key (services/gateway/upstream.py); status,
body and end-to-end headers come back unchanged, the body streamed as it arrives. Hop-by-hop
headers are dropped both ways (RFC 9110 §7.6.1), and so are the client's own Authorization,
Cookie and every `X-Styrkort-*` header: only the gateway says who is calling.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from urllib.parse import quote

import httpx
from flask import Blueprint, Response, g, request

from services.gateway.upstream import BACKENDS, Upstreams
from shared.errors import NotFound, Unauthenticated
from shared.http import API_PREFIX
from shared.identity import Identity

log = logging.getLogger(__name__)

#: first path segment -> the service whose routes begin with it
SEGMENT_OWNERS: dict[str, str] = {
    "org-units": "goals",
    "documents": "goals",
    "development-areas": "goals",
    "goals": "goals",
    "indicators": "goals",  # but indicators/<id>/comparisons: reports (owner())
    "plans": "plans",
    "activities": "plans",
    "agreements": "plans",
    "proposals": "plans",
    "results": "reports",
    "assessments": "reports",
    "quality-reports": "reports",
    "improvements": "reports",
    "annual-reports": "reports",
    "interim-reports": "reports",
    "scorecard": "reports",
    "status-rules": "reports",
    "imports": "reports",
    "calendar": "reports",
    "overdue": "reports",
}
#: the first segments whose second names the service: events/goals, admin/plans/verify, ...
SERVICE_NAMED = ("events", "export", "admin")
#: entity id prefix -> owner (DESIGN.md: ids carry their stream prefix); longest first
ID_OWNERS: tuple[tuple[str, str], ...] = tuple(
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
            "annual-report-": "reports",
            "report-": "reports",
            "result-": "reports",
            "assessment-": "reports",
            "deadline-": "reports",
            "comparison-": "reports",
            "improvement-": "reports",
        }.items(),
        key=lambda item: -len(item[0]),
    )
)

#: RFC 9110 §7.6.1: meant for one connection, never forwarded (plus what Connection names)
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
    )
)
#: request headers the gateway never forwards: the client's credentials, and what the gateway
#: or the HTTP client sets itself
DROPPED_REQUEST = frozenset(
    ("authorization", "cookie", "host", "content-length", "x-request-id", "x-correlation-id")
)
#: response headers the gateway's own server sets
DROPPED_RESPONSE = frozenset(("date", "server", "x-correlation-id", "x-request-id"))
IDENTITY_PREFIX = "x-styrkort-"


def owner_of_id(entity_id: str) -> str | None:
    return next((svc for prefix, svc in ID_OWNERS if entity_id.startswith(prefix)), None)


def owner(rest: str) -> str | None:
    """The service that answers `/api/v1/<rest>`, or None (404)."""
    parts = rest.split("/")
    first = parts[0]
    if first in SERVICE_NAMED:
        named = parts[1] if len(parts) > 1 else ""
        return named if named in BACKENDS else None
    if first == "history":
        return owner_of_id(parts[1]) if len(parts) == 2 else None
    if first == "indicators" and len(parts) >= 3 and parts[2] == "comparisons":
        return "reports"
    return SEGMENT_OWNERS.get(first)


def _connection_named(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The header names a Connection header lists (also hop-by-hop)."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }


def request_headers(headers: Iterable[tuple[str, str]], correlation_id: str) -> dict[str, str]:
    """What goes on to the service of a client's headers: end-to-end ones only, never an
    identity, plus the gateway's correlation id."""
    items = list(headers)
    dropped = HOP_BY_HOP | DROPPED_REQUEST | _connection_named(items)
    kept: dict[str, str] = {}
    for name, value in items:
        lower = name.lower()
        if lower in dropped or lower.startswith(IDENTITY_PREFIX):
            continue
        kept[name] = f"{kept[name]}, {value}" if name in kept else value
    kept["X-Correlation-Id"] = correlation_id
    return kept


def response_headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    """What comes back to the client of a service's headers: end-to-end ones, as sent."""
    items = list(headers.multi_items())
    dropped = HOP_BY_HOP | DROPPED_RESPONSE | _connection_named(items)
    return [(name, value) for name, value in items if name.lower() not in dropped]


def _streamed(response: httpx.Response, service: str) -> Iterator[bytes]:
    """The service's body as it arrives; the upstream response is closed at the end (also when
    the client goes away: the WSGI server closes this generator)."""
    try:
        yield from response.iter_raw()
    except httpx.HTTPError as exc:  # the headers are sent: all we can do is end the body
        log.warning("the %s service broke off a streamed answer: %s", service, exc)
    finally:
        response.close()


#: what stays as it is in a path or query; the rest is percent-encoded (existing escapes kept)
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?%[]|^{}"


def target_of_request() -> str:
    """The path and query exactly as they will go on the wire: the path re-encoded, the query
    as the client sent it, with only what a URL may not hold raw (non-ASCII bytes, quotes, …)
    percent-encoded, in httpx's own form. So the signature covers the bytes the service reads,
    and `as_of` and every other parameter pass unchanged."""
    path = quote(request.path, safe=_PATH_SAFE)
    query = quote(request.query_string, safe=_QUERY_SAFE)
    raw = httpx.URL(f"{path}?{query}" if query else path).raw_path
    return raw.decode("ascii")


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def proxy_blueprint(upstreams: Upstreams) -> Blueprint:
    blueprint = Blueprint("gateway_proxy", __name__)

    @blueprint.route(f"{API_PREFIX}/<path:rest>", methods=METHODS, provide_automatic_options=False)
    def proxy(rest: str) -> Response:
        service = owner(rest)
        if service is None:
            raise NotFound(f"no route {API_PREFIX}/{rest[:200]} in this API")
        g.service = service
        identity: Identity | None = g.get("identity")
        if identity is None:  # only if a path were open by mistake
            raise Unauthenticated("send an API key: Authorization: Bearer <key>")
        body = request.get_data(cache=False)  # bounded by MAX_CONTENT_LENGTH: 413 beyond
        headers = request_headers(request.headers.items(), g.correlation_id)
        built = upstreams.build(
            service, request.method, target_of_request(), identity, body, headers
        )
        answer = upstreams.send(service, built, stream=True)
        response = Response(
            _streamed(answer, service),
            status=answer.status_code,
            headers=response_headers(answer.headers),
            direct_passthrough=True,
        )
        if "content-type" not in answer.headers:
            del response.headers["Content-Type"]  # not Werkzeug's default text/html
        response.call_on_close(answer.close)
        return response

    return blueprint
