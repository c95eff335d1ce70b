"""The vocabulary of the topic `gateway.events`: the API keys' events (issued, rotated,
revoked). Read by `python -m shared.asyncapi gateway` to generate docs/asyncapi/gateway.json."""

from __future__ import annotations

from services.gateway.domain import keys
from shared.aggregate import EventRegistry


def registries() -> list[EventRegistry]:
    """API keys."""
    return [keys.EVENTS]
