"""What plans did with an improvement proposal (förbättringsförslag) of a quality report: it
became an activity of the unit's next plan, or it was rejected with the reason.

One stream per proposal, its id derived from the proposal's, so a proposal delivered twice is
taken once, and a proposal that no plan may take is recorded instead of forced into a plan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry

STREAM_TYPE = "improvement_proposal"
STREAM_PREFIX = "proposal-"
ProposalOutcome = Literal["accepted", "rejected"]

#: namespace of the ids of activities made from improvement proposals
ACTIVITY_NAMESPACE = uuid.UUID("6f0c4d44-6a1b-4f2e-9b8e-696d70726f76")
#: namespace of the ids of the proposal streams of plans
PROPOSAL_NAMESPACE = uuid.UUID("6f0c4d44-6a1b-4f2e-9b8e-70726f706f73")


def proposal_stream_id(proposal_id: str) -> str:
    """The stream of what plans did with the proposal `proposal_id` (a reports stream id)."""
    return f"{STREAM_PREFIX}{uuid.uuid5(PROPOSAL_NAMESPACE, proposal_id)}"


def activity_id_for(proposal_id: str) -> str:
    """The activity a proposal becomes (the same id as before proposals had streams)."""
    return f"activity-{uuid.uuid5(ACTIVITY_NAMESPACE, proposal_id)}"


@dataclass(frozen=True)
class ImprovementProposal:
    id: str
    proposal_id: str
    outcome: ProposalOutcome
    activity_id: str | None = None
    plan_id: str | None = None
    reason: str | None = None
    version: int = 0

    @dataclass(frozen=True)
    class Accepted(DomainEvent):
        """An improvement proposal became a proposed activity of the unit's next plan."""

        TYPE = "ImprovementProposalAccepted.v1"
        proposal_id: str
        activity_id: str
        plan_id: str

    @dataclass(frozen=True)
    class Rejected(DomainEvent):
        """An improvement proposal could not become an activity (e.g. the unit may have no
        plan, or its plan is closed); the reason says why."""

        TYPE = "ImprovementProposalRejected.v1"
        proposal_id: str
        reason: str

    @staticmethod
    def accept(proposal_id: str, activity_id: str, plan_id: str) -> list[DomainEvent]:
        return [ImprovementProposal.Accepted(proposal_id, activity_id, plan_id)]

    @staticmethod
    def reject(proposal_id: str, reason: str) -> list[DomainEvent]:
        return [ImprovementProposal.Rejected(proposal_id, reason[:2000])]

    @staticmethod
    def start(event: Any) -> ImprovementProposal:
        match event:
            case ImprovementProposal.Accepted():
                return ImprovementProposal(
                    proposal_stream_id(event.proposal_id),
                    event.proposal_id,
                    "accepted",
                    activity_id=event.activity_id,
                    plan_id=event.plan_id,
                    version=1,
                )
            case ImprovementProposal.Rejected():
                return ImprovementProposal(
                    proposal_stream_id(event.proposal_id),
                    event.proposal_id,
                    "rejected",
                    reason=event.reason,
                    version=1,
                )
        raise ValueError(f"{type(event).__name__} cannot begin an improvement proposal")

    def when(self, event: Any) -> ImprovementProposal:
        # the outcome is decided once; a stream has one event
        raise ValueError(f"{type(event).__name__} after the proposal was decided")


EVENTS = EventRegistry(ImprovementProposal.Accepted, ImprovementProposal.Rejected)
KIND = AggregateKind(STREAM_TYPE, ImprovementProposal, EVENTS, ImprovementProposal.start)
