"""The vocabulary of the topic `goals.events`: one event registry per aggregate of the service.

Read by `python -m shared.asyncapi goals` to generate docs/asyncapi/goals.json.
"""

from __future__ import annotations

from services.goals.domain import areas, documents, goal, indicator, organisation
from shared.aggregate import EventRegistry


def registries() -> list[EventRegistry]:
    """Organisation units, steering documents, development areas, goals, indicators."""
    return [organisation.EVENTS, documents.EVENTS, areas.EVENTS, goal.EVENTS, indicator.EVENTS]
