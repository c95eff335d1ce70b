"""Improvement proposals (förbättringsförslag) of a quality report, each its own stream.

A proposal is drafted in a draft report and may be edited or withdrawn while the report is a
draft. When the report is approved, each proposal still standing is proposed: the
`ImprovementProposed` event is what the plans service reads (unit_id, period, title) to add a
proposed activity to the unit's plan for the next period — the improvement wheel closing.
A proposal once proposed is part of the next plan and changes there, not here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Literal

from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import RuleViolation

STREAM_TYPE = "improvement"
STREAM_PREFIX = "improvement-"

ProposalStatus = Literal["draft", "withdrawn", "proposed"]


def _title(title: str) -> str:
    return values.name(title, "title", max_length=300)


def _description(description: str | None) -> str:
    if description is None:
        return ""
    return values.text(description, "description", max_length=4000, multiline=True, required=False)


@dataclass(frozen=True)
class Improvement:
    id: str
    report_id: str
    unit_id: str
    period: str  # the period of the report that proposes it
    title: str
    description: str = ""
    status: ProposalStatus = "draft"
    decided_by: str | None = None
    decided_on: dt.date | None = None
    minute_ref: str | None = None
    version: int = 0

    @dataclass(frozen=True)
    class Drafted(DomainEvent):
        """An improvement proposal was written in a quality report."""

        TYPE = "ImprovementDrafted.v1"
        proposal_id: str
        report_id: str
        unit_id: str
        period: str
        title: str
        description: str

    @dataclass(frozen=True)
    class Edited(DomainEvent):
        """The proposal's text was changed while its report was a draft."""

        TYPE = "ImprovementEdited.v1"
        proposal_id: str
        title: str
        description: str

    @dataclass(frozen=True)
    class Withdrawn(DomainEvent):
        """The proposal was taken out of its report."""

        TYPE = "ImprovementWithdrawn.v1"
        proposal_id: str
        reason: str

    @dataclass(frozen=True)
    class Proposed(DomainEvent):
        """The report was approved: the proposal goes to the unit's next plan (plans reads
        unit_id, period and title)."""

        TYPE = "ImprovementProposed.v1"
        proposal_id: str
        report_id: str
        unit_id: str
        period: str
        title: str
        description: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @staticmethod
    def draft(
        proposal_id: str,
        report_id: str,
        unit_id: str,
        period: str,
        title: str,
        description: str | None,
    ) -> list[DomainEvent]:
        return [
            Improvement.Drafted(
                proposal_id, report_id, unit_id, period, _title(title), _description(description)
            )
        ]

    def edit(self, title: str | None, description: str | None) -> list[DomainEvent]:
        self._require_draft("edited")
        new_title = self.title if title is None else _title(title)
        new_description = self.description if description is None else _description(description)
        if (new_title, new_description) == (self.title, self.description):
            raise RuleViolation(
                "the edit changes nothing: the proposal already says this",
                {"title": ["unchanged"]},
            )
        return [Improvement.Edited(self.id, new_title, new_description)]

    def withdraw(self, reason: str) -> list[DomainEvent]:
        self._require_draft("withdrawn")
        return [
            Improvement.Withdrawn(
                self.id, values.text(reason, "reason", max_length=2000, multiline=True)
            )
        ]

    def propose(
        self, decided_by: str, decided_on: dt.date, minute_ref: str | None
    ) -> list[DomainEvent]:
        """At the report's approval: nothing for a withdrawn or already proposed one."""
        if self.status != "draft":
            return []
        return [
            Improvement.Proposed(
                self.id,
                self.report_id,
                self.unit_id,
                self.period,
                self.title,
                self.description,
                decided_by,
                decided_on,
                minute_ref,
            )
        ]

    def _require_draft(self, what: str) -> None:
        if self.status == "proposed":
            raise RuleViolation(
                "the proposal was proposed with its report's approval and is now an activity "
                "of the unit's next plan: change it there",
                {"status": ["proposed"]},
            )
        if self.status == "withdrawn":
            raise RuleViolation(
                f"the proposal is withdrawn and is not {what}", {"status": ["withdrawn"]}
            )

    @staticmethod
    def start(event: Any) -> Improvement:
        if not isinstance(event, Improvement.Drafted):
            raise ValueError(f"{type(event).__name__} before ImprovementDrafted")
        return Improvement(
            event.proposal_id,
            event.report_id,
            event.unit_id,
            event.period,
            event.title,
            event.description,
            version=1,
        )

    def when(self, event: Any) -> Improvement:
        version = self.version + 1
        match event:
            case Improvement.Edited():
                return replace(
                    self, title=event.title, description=event.description, version=version
                )
            case Improvement.Withdrawn():
                return replace(self, status="withdrawn", version=version)
            case Improvement.Proposed():
                return replace(
                    self,
                    status="proposed",
                    decided_by=event.decided_by,
                    decided_on=event.decided_on,
                    minute_ref=event.minute_ref,
                    version=version,
                )
        raise ValueError(f"{type(event).__name__} does not apply to an improvement proposal")


EVENTS = EventRegistry(
    Improvement.Drafted, Improvement.Edited, Improvement.Withdrawn, Improvement.Proposed
)
KIND = AggregateKind(STREAM_TYPE, Improvement, EVENTS, Improvement.start)
