"""Steering documents (styrdokument): vision, plans, programmes, policies, guidelines, routines.

Who may adopt each type is a business rule ("fastställs av", DOMAIN.md). A revision is a new
edition by a new decision; earlier editions stay in the history and in `as_of`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from services.goals.domain import decisions
from services.goals.domain.decisions import Decider, DeciderKind, Decision, require_decider
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "steering_document"
STREAM_PREFIX = "document-"

DocType = Literal[
    "vision",
    "long_term_plan",
    "political_programme",
    "statutory_plan",
    "policy",
    "guideline",
    "action_plan",
    "routine",
]
DocStatus = Literal["draft", "adopted", "repealed"]
DOCUMENT_TYPES: tuple[DocType, ...] = get_args(DocType)
STATUSES: tuple[DocStatus, ...] = get_args(DocStatus)

#: document type -> who may adopt it ("fastställs av", DOMAIN.md)
ADOPTED_BY: dict[DocType, tuple[DeciderKind, ...]] = {
    "vision": ("council",),
    "long_term_plan": ("council",),
    "political_programme": ("council",),
    "statutory_plan": ("council",),
    "policy": ("executive_board", "committee", "company", "chief_executive"),
    "guideline": ("executive_board", "committee", "chief_executive"),
    "action_plan": ("manager",),
    "routine": ("manager", "process_owner"),
}


@dataclass(frozen=True)
class Content:
    """What an edition of a document says and when it applies."""

    title: str
    summary: str
    valid_from: dt.date
    valid_to: dt.date | None = None


@dataclass(frozen=True)
class SteeringDocument:
    id: str
    doc_type: DocType
    owner_unit_id: str
    content: Content
    status: DocStatus = "draft"
    edition: int = 0  # 1 when first adopted, +1 per revision
    decision: Decision | None = None
    version: int = 0

    @dataclass(frozen=True)
    class Drafted(DomainEvent):
        """A steering document (styrdokument) was drafted by its unit."""

        TYPE = "SteeringDocumentDrafted.v1"
        document_id: str
        doc_type: DocType
        owner_unit_id: str
        content: Content

    @dataclass(frozen=True)
    class Edited(DomainEvent):
        """A draft steering document was changed."""

        TYPE = "SteeringDocumentEdited.v1"
        document_id: str
        content: Content

    @dataclass(frozen=True)
    class Adopted(DomainEvent):
        """A steering document was adopted (fastställt) by decision."""

        TYPE = "SteeringDocumentAdopted.v1"
        document_id: str
        edition: int
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Revised(DomainEvent):
        """A new edition of an adopted document was adopted (reviderat)."""

        TYPE = "SteeringDocumentRevised.v1"
        document_id: str
        edition: int
        content: Content
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Repealed(DomainEvent):
        """An adopted document was repealed (upphävt) by decision."""

        TYPE = "SteeringDocumentRepealed.v1"
        document_id: str
        reason: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    # -- commands -------------------------------------------------------------------------------
    @staticmethod
    def draft(
        document_id: str,
        doc_type: str,
        owner_unit_id: str,
        content: Content,
        owner_closed: bool = False,
    ) -> list[DomainEvent]:
        checked = _doc_type(doc_type)
        if owner_closed:
            raise RuleViolation(
                "the owning unit is closed and takes no new documents",
                {"owner_unit_id": ["closed unit"]},
            )
        return [
            SteeringDocument.Drafted(document_id, checked, owner_unit_id, _valid_content(content))
        ]

    def edit(self, content: Content) -> list[DomainEvent]:
        if self.status != "draft":
            raise RuleViolation(
                f"an {self.status} document changes only by a revision decision (POST …/revise)"
            )
        return [SteeringDocument.Edited(self.id, _valid_content(content))]

    def adopt(
        self,
        decision: Decision,
        decider: Decider,
        owner_ancestry: Sequence[str],
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        """`owner_ancestry`: the ids from the owning unit up to the council, itself first."""
        if self.status != "draft":
            raise RuleViolation(
                f"the document is {self.status}; only a draft can be adopted"
                + ("; revise it instead" if self.status == "adopted" else "")
            )
        decision = self._check_decision(decision, decider, owner_ancestry, today)
        return [
            SteeringDocument.Adopted(
                self.id, 1, decision.decided_by, decision.decided_on, decision.minute_ref
            )
        ]

    def revise(
        self,
        content: Content,
        decision: Decision,
        decider: Decider,
        owner_ancestry: Sequence[str],
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        if self.status != "adopted":
            raise RuleViolation(
                f"only an adopted document can be revised; this one is {self.status}"
            )
        decision = self._check_decision(decision, decider, owner_ancestry, today)
        decisions.not_before(decision, self._decided_on, "a revision")
        return [
            SteeringDocument.Revised(
                self.id,
                self.edition + 1,
                _valid_content(content),
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    def repeal(
        self,
        reason: str,
        decision: Decision,
        decider: Decider,
        owner_ancestry: Sequence[str],
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        if self.status != "adopted":
            raise RuleViolation(
                f"only an adopted document can be repealed; this one is {self.status}"
            )
        reason = decisions.reason(reason, "the document is repealed")
        decision = self._check_decision(decision, decider, owner_ancestry, today)
        decisions.not_before(decision, self._decided_on, "a repeal")
        return [
            SteeringDocument.Repealed(
                self.id,
                reason,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    @property
    def _decided_on(self) -> dt.date | None:
        return self.decision.decided_on if self.decision else None

    def _check_decision(
        self,
        decision: Decision,
        decider: Decider,
        owner_ancestry: Sequence[str],
        today: dt.date,
    ) -> Decision:
        """The type's body or role, and a body only if it owns the document or stands above
        its owner: one committee does not adopt another committee's policy."""
        what = f"a {self.doc_type.replace('_', ' ')}"
        require_decider(decider, ADOPTED_BY[self.doc_type], what)
        if decider.kind == "manager" and decider.unit_id != self.owner_unit_id:
            raise RuleViolation(
                f"{what} is adopted by the manager of the unit it belongs to, "
                f"not by {decider.name}",
                {"decided_by": ["another unit"]},
            )
        if decider.unit_id is not None and decider.unit_id not in (
            self.owner_unit_id,
            *owner_ancestry,
        ):
            raise RuleViolation(
                f"{what} of one unit is adopted by that unit or a body above it, "
                f"not by {decider.name}",
                {"decided_by": ["neither the owning unit nor a body above it"]},
            )
        return decisions.valid_decision(decision, decider, today, f"adopting {what}")

    # -- folding ------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> SteeringDocument:
        if not isinstance(event, SteeringDocument.Drafted):
            raise ValueError(f"{type(event).__name__} before SteeringDocumentDrafted")
        return SteeringDocument(
            event.document_id, event.doc_type, event.owner_unit_id, event.content, version=1
        )

    def when(self, event: Any) -> SteeringDocument:
        version = self.version + 1
        match event:
            case SteeringDocument.Edited(content=content):
                return replace(self, content=content, version=version)
            case SteeringDocument.Adopted():
                return replace(
                    self,
                    status="adopted",
                    edition=event.edition,
                    version=version,
                    decision=_decision(event),
                )
            case SteeringDocument.Revised():
                return replace(
                    self,
                    content=event.content,
                    edition=event.edition,
                    decision=_decision(event),
                    version=version,
                )
            case SteeringDocument.Repealed():
                return replace(self, status="repealed", decision=_decision(event), version=version)
        raise ValueError(f"{type(event).__name__} does not apply to a steering document")


def _decision(event: Any) -> Decision:
    return Decision(event.decided_by, event.decided_on, event.minute_ref)


def _doc_type(doc_type: str) -> DocType:
    for known in DOCUMENT_TYPES:
        if doc_type == known:
            return known
    raise InvalidInput(
        f"unknown document type {doc_type!r}; one of {', '.join(DOCUMENT_TYPES)}",
        {"doc_type": ["unknown type"]},
    )


def _valid_content(content: Content) -> Content:
    title = values.name(content.title, "title", 500)
    if content.valid_to is not None:
        values.not_before(
            content.valid_to,
            content.valid_from,
            "valid_to",
            "a document cannot stop applying before it starts",
        )
    summary = values.text(
        content.summary, "summary", max_length=10_000, multiline=True, required=False
    )
    return replace(content, title=title, summary=summary)


EVENTS = EventRegistry(
    SteeringDocument.Drafted,
    SteeringDocument.Edited,
    SteeringDocument.Adopted,
    SteeringDocument.Revised,
    SteeringDocument.Repealed,
)
KIND = AggregateKind(STREAM_TYPE, SteeringDocument, EVENTS, SteeringDocument.start)
