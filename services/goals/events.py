"""The vocabulary of the topic `goals.events`: one event registry per aggregate of the service,
and the upcasters that read events recorded in older shapes.

Read by `python -m shared.asyncapi goals` to generate docs/asyncapi/goals.json.
"""

from __future__ import annotations

from services.goals.domain import areas, documents, goal, indicator, organisation
from services.goals.domain.decisions import without_decision
from shared.aggregate import EventRegistry
from shared.events import Upcasters, split_type

#: Event types whose v2 added the decision (decided_by, decided_on, minute_ref).
DECISION_ADDED_IN_V2 = (
    goal.Goal.Evaluated,
    indicator.Indicator.Defined,
    indicator.Indicator.TargetSet,
    indicator.Indicator.ThresholdsSet,
    indicator.Indicator.Retired,
    areas.DevelopmentArea.Defined,
    areas.DevelopmentArea.Retired,
)


def registries() -> list[EventRegistry]:
    """Organisation units, steering documents, development areas, goals, indicators."""
    return [organisation.EVENTS, documents.EVENTS, areas.EVENTS, goal.EVENTS, indicator.EVENTS]


def upcasters() -> Upcasters:
    """v1 events recorded before decisions were asked read as v2 with no decision (null)."""
    result = Upcasters()
    for cls in DECISION_ADDED_IN_V2:
        name, version = split_type(cls.TYPE)
        assert version == 2, f"{cls.TYPE}: add the upcaster of the new version"
        result.register(f"{name}.v1", cls.TYPE, without_decision)
    return result
