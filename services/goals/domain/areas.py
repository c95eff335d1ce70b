"""Development areas (utvecklingsområden) of the long-term plan, under the vision.

Götene's four: Attraktiva livsmiljöer, Dynamiskt näringsliv, Ökad rörlighet, Ett synligt Götene.
Strategic goals belong to one area. The council (kommunfullmäktige) defines and retires them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.goals.domain import decisions
from services.goals.domain.decisions import Decider, Decision, require_decider
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "development_area"
STREAM_PREFIX = "area-"
AreaStatus = Literal["active", "retired"]
#: The steering documents that name development areas.
PLAN_TYPES = ("long_term_plan", "vision")


@dataclass(frozen=True)
class DevelopmentArea:
    id: str
    name: str
    description: str
    plan_id: str | None  # the long-term plan (framtidsplan) that names it, if registered
    status: AreaStatus = "active"
    #: the day the council defined it (None if recorded before decisions were asked)
    defined_on: dt.date | None = None
    version: int = 0

    @dataclass(frozen=True)
    class Defined(DomainEvent):
        """A development area (utvecklingsområde) of the long-term plan was defined."""

        TYPE = "DevelopmentAreaDefined.v2"
        area_id: str
        name: str
        description: str
        plan_id: str | None
        #: the council's decision; null only in events recorded as v1
        decided_by: str | None
        decided_on: dt.date | None
        minute_ref: str | None

    @dataclass(frozen=True)
    class Retired(DomainEvent):
        """A development area was retired; it takes no new strategic goals."""

        TYPE = "DevelopmentAreaRetired.v2"
        area_id: str
        reason: str
        decided_by: str | None
        decided_on: dt.date | None
        minute_ref: str | None

    @staticmethod
    def define(
        area_id: str,
        name: str,
        description: str,
        plan_id: str | None,
        plan_type: str | None,
        decision: Decision,
        decider: Decider,
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        """`plan_type` is the document type of `plan_id` (None without a plan)."""
        name = values.name(name, "name", 200)
        description = values.text(
            description, "description", max_length=10_000, multiline=True, required=False
        )
        if plan_id and plan_type not in PLAN_TYPES:
            raise InvalidInput(
                "a development area belongs to a long-term plan or vision",
                {"plan_id": [f"a {plan_type}"]},
            )
        decision = _check_decision(decision, decider, today)
        return [
            DevelopmentArea.Defined(
                area_id,
                name,
                description,
                plan_id,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    def retire(
        self, reason: str, decision: Decision, decider: Decider, *, today: dt.date
    ) -> list[DomainEvent]:
        if self.status == "retired":
            raise RuleViolation(f"{self.name} is already retired")
        reason = decisions.reason(reason, "the area is retired")
        decision = _check_decision(decision, decider, today)
        decisions.not_before(decision, self.defined_on, "a retirement")
        return [
            DevelopmentArea.Retired(
                self.id, reason, decision.decided_by, decision.decided_on, decision.minute_ref
            )
        ]

    @staticmethod
    def start(event: Any) -> DevelopmentArea:
        if not isinstance(event, DevelopmentArea.Defined):
            raise ValueError(f"{type(event).__name__} before DevelopmentAreaDefined")
        return DevelopmentArea(
            event.area_id,
            event.name,
            event.description,
            event.plan_id,
            defined_on=event.decided_on,
            version=1,
        )

    def when(self, event: Any) -> DevelopmentArea:
        if isinstance(event, DevelopmentArea.Retired):
            return replace(self, status="retired", version=self.version + 1)
        raise ValueError(f"{type(event).__name__} does not apply to a development area")


def _check_decision(decision: Decision, decider: Decider, today: dt.date) -> Decision:
    require_decider(decider, ("council",), "a development area")
    return decisions.valid_decision(decision, decider, today, "a development area decision")


EVENTS = EventRegistry(DevelopmentArea.Defined, DevelopmentArea.Retired)
KIND = AggregateKind(STREAM_TYPE, DevelopmentArea, EVENTS, DevelopmentArea.start)
