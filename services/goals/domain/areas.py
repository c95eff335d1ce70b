"""Development areas (utvecklingsområden) of the long-term plan, under the vision.

Götene's four: Attraktiva livsmiljöer, Dynamiskt näringsliv, Ökad rörlighet, Ett synligt Götene.
Strategic goals belong to one area.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "development_area"
STREAM_PREFIX = "area-"


@dataclass(frozen=True)
class DevelopmentArea:
    id: str
    name: str
    description: str
    plan_id: str | None  # the long-term plan (framtidsplan) that names it, if registered
    status: str = "active"  # active, retired
    version: int = 0

    @dataclass(frozen=True)
    class Defined(DomainEvent):
        """A development area (utvecklingsområde) of the long-term plan was defined."""

        TYPE = "DevelopmentAreaDefined.v1"
        area_id: str
        name: str
        description: str
        plan_id: str | None

    @dataclass(frozen=True)
    class Retired(DomainEvent):
        """A development area was retired; it takes no new strategic goals."""

        TYPE = "DevelopmentAreaRetired.v1"
        area_id: str
        reason: str

    @staticmethod
    def define(area_id: str, name: str, description: str, plan_id: str | None) -> list[DomainEvent]:
        if not name.strip():
            raise InvalidInput("a development area needs a name", {"name": ["blank"]})
        return [DevelopmentArea.Defined(area_id, name.strip(), description.strip(), plan_id)]

    def retire(self, reason: str) -> list[DomainEvent]:
        if self.status == "retired":
            raise RuleViolation(f"{self.name} is already retired")
        if not reason.strip():
            raise InvalidInput("say why the area is retired", {"reason": ["blank"]})
        return [DevelopmentArea.Retired(self.id, reason.strip())]

    @staticmethod
    def start(event: Any) -> DevelopmentArea:
        if not isinstance(event, DevelopmentArea.Defined):
            raise ValueError(f"{type(event).__name__} before DevelopmentAreaDefined")
        return DevelopmentArea(
            event.area_id, event.name, event.description, event.plan_id, version=1
        )

    def when(self, event: Any) -> DevelopmentArea:
        if isinstance(event, DevelopmentArea.Retired):
            return replace(self, status="retired", version=self.version + 1)
        raise ValueError(f"{type(event).__name__} does not apply to a development area")


EVENTS = EventRegistry(DevelopmentArea.Defined, DevelopmentArea.Retired)
KIND = AggregateKind(STREAM_TYPE, DevelopmentArea, EVENTS, DevelopmentArea.start)
