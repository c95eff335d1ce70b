"""Read models of the reports service fed by goals.events and plans.events."""

from __future__ import annotations

from shared.store import EventStore
from shared.uow import Projection


def consumed_projections(store: EventStore) -> dict[str, list[Projection]]:
    return {"goals": [], "plans": []}
