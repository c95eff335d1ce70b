"""The vocabulary of the topic `plans.events`: one event registry per aggregate of the service.

Read by `python -m shared.asyncapi plans` to generate docs/asyncapi/plans.json.
"""

from __future__ import annotations

from services.plans.domain import activity, agreement, plan, proposal
from shared.aggregate import EventRegistry


def registries() -> list[EventRegistry]:
    """Action plans, their activities, employee agreements and improvement proposals."""
    return [plan.EVENTS, activity.EVENTS, agreement.EVENTS, proposal.EVENTS]
