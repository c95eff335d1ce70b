"""How a page reads: the same API the apps use, through `Upstreams` with an identity (a fixed
read-only one for the public pages, the logged-in key's for the reviewer pages), so the
services check roles and scopes exactly as for any other caller. A service's refusal becomes
a friendly page (`PageError`), never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from services.gateway.upstream import ServiceUnavailable, Upstreams
from shared.http import API_PREFIX
from shared.identity import Identity

#: who the public pages read as: a reader of every unit, never a key (no key id to leak)
PUBLIC = Identity("web:public", "reader", "*")


class PageError(Exception):
    """A page that cannot be shown as asked: its HTTP status and the Swedish words for why."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def not_found(detail: str) -> PageError:
    return PageError(404, "Sidan finns inte", detail)


def forbidden(detail: str) -> PageError:
    return PageError(403, "Du saknar behörighet", detail)


def bad_request(detail: str) -> PageError:
    return PageError(400, "Felaktig uppgift", detail)


class Reader:
    """GETs of the services' API as one identity, answers as JSON."""

    def __init__(self, upstreams: Upstreams, identity: Identity) -> None:
        self.upstreams = upstreams
        self.identity = identity

    def target(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """`/api/v1<path>?<params>` (params that are None are left out)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return f"{API_PREFIX}{path}" + (f"?{urlencode(query)}" if query else "")

    def get(
        self, service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The service's JSON answer; PageError for a refusal, an absence or an outage."""
        try:
            response = self.upstreams.request(
                service, "GET", self.target(path, params), self.identity
            )
        except ServiceUnavailable:
            raise PageError(
                503,
                "Tjänsten svarar inte",
                f"Tjänsten {service} svarar inte just nu. Försök igen om en stund.",
            ) from None
        if response.status_code == 200:
            body = response.json()
            return body if isinstance(body, dict) else {"items": body}
        raise refusal(response.status_code, detail_of(response))

    def optional(
        self, service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Like `get`, but None where the service says there is no such thing (404)."""
        try:
            return self.get(service, path, params)
        except PageError as exc:
            if exc.status == 404:
                return None
            raise

    def items(
        self, service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (following `next_cursor`)."""
        found: list[dict[str, Any]] = []
        query = {"limit": 200, **(params or {})}
        while True:
            page = self.get(service, path, query)
            found.extend(page.get("items") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                return found
            query["cursor"] = cursor


def entity_path(prefix: str, entity_id: str) -> str:
    """`/<prefix>/<id>` with the id escaped (ids come from people's URLs)."""
    return f"/{prefix}/{quote(entity_id, safe='')}"


def detail_of(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("detail") or "") if isinstance(body, dict) else ""


def refusal(status: int, detail: str) -> PageError:
    if status == 404:
        return not_found("Det du söker finns inte, eller finns inte vid den tidpunkten.")
    if status == 403:
        return forbidden("Din nyckel får inte läsa detta. Be en administratör om behörighet.")
    if status in (400, 422):
        return bad_request(f"Tjänsten tog inte emot frågan: {detail}")
    if status == 401:
        return PageError(401, "Inte inloggad", "Logga in igen.")
    return PageError(502, "Tjänsten svarade fel", f"Tjänsten svarade {status}. Försök igen.")
