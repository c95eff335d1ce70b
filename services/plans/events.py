"""The vocabulary of the topic `plans.events`: one event registry per aggregate of the service.

Read by `python -m shared.asyncapi plans` to generate docs/asyncapi/plans.json.
"""

from __future__ import annotations

from services.plans.domain import activity, agreement, plan
from shared.aggregate import EventRegistry


def registries() -> list[EventRegistry]:
    """Action plans, their activities and employee agreements."""
    return [plan.EVENTS, activity.EVENTS, agreement.EVENTS]
