"""The municipality's status rules, decided by the council and kept as events, so a scorecard
`as_of` an instant is computed with the rules that applied then (docs/status.md).

One stream; until the council sets rules, the defaults of services/reports/domain/status.py
apply (yellow at 80 % of the target, a goal met when all its indicators are green, partly met
when half are green or yellow, no tolerance in trends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.reports.domain.decisions import Decision, UnitFacts
from services.reports.domain.status import StatusRules
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import RuleViolation

STREAM_TYPE = "status_rules"
STREAM_ID = "status-rules"


@dataclass(frozen=True)
class RuleBook:
    id: str
    yellow_share_of_target: float
    goal_met_share: float
    goal_partly_met_share: float
    trend_tolerance: float
    decided_by: str
    decided_on: dt.date
    minute_ref: str | None
    version: int = 0

    def rules(self) -> StatusRules:
        return StatusRules(
            yellow_share_of_target=self.yellow_share_of_target,
            goal_met_share=self.goal_met_share,
            goal_partly_met_share=self.goal_partly_met_share,
            trend_tolerance=self.trend_tolerance,
        )

    @dataclass(frozen=True)
    class Set(DomainEvent):
        """The council set the rules that turn results into statuses."""

        TYPE = "StatusRulesSet.v1"
        yellow_share_of_target: float
        goal_met_share: float
        goal_partly_met_share: float
        trend_tolerance: float
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @staticmethod
    def decide(
        raw: Mapping[str, object], council: UnitFacts, decision: Decision
    ) -> list[DomainEvent]:
        if council.kind != "council":
            raise RuleViolation(
                f"the status rules are decided by the council, not by a {council.kind}",
                {"decided_by": ["not the council"]},
            )
        rules = StatusRules.check(raw)
        return [
            RuleBook.Set(
                rules.yellow_share_of_target,
                rules.goal_met_share,
                rules.goal_partly_met_share,
                rules.trend_tolerance,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    @staticmethod
    def start(event: Any) -> RuleBook:
        if not isinstance(event, RuleBook.Set):
            raise ValueError(f"{type(event).__name__} before StatusRulesSet")
        return RuleBook(
            STREAM_ID,
            event.yellow_share_of_target,
            event.goal_met_share,
            event.goal_partly_met_share,
            event.trend_tolerance,
            event.decided_by,
            event.decided_on,
            event.minute_ref,
            version=1,
        )

    def when(self, event: Any) -> RuleBook:
        if isinstance(event, RuleBook.Set):
            return replace(RuleBook.start(event), version=self.version + 1)
        raise ValueError(f"{type(event).__name__} does not apply to the status rules")


EVENTS = EventRegistry(RuleBook.Set)
KIND = AggregateKind(STREAM_TYPE, RuleBook, EVENTS, RuleBook.start)
