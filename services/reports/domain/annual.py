"""The council's approval of a year's annual report (årsredovisning), which closes the year.

Once the annual report of a year is approved, that year's results, goal assessments and quality
reports (a school year belongs to the year it ends in) refuse changes, naming the decision. A
reopening decision of the council (who, when, why, minute reference) opens them again; both are
in the history, and a later approval closes the year again. One stream per year.

The approval states the head (position and hash) of every store the report is built from at the
moment of the decision: reports' own log just before the approval (so the approval event's
`prev_hash` is that hash), and the last event reports had consumed from goals and from plans. The
published annual report quotes them ("Förankring i händelsehistoriken"), so the document anchors
the history: anyone can later check that those positions still carry those hashes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.reports.domain.decisions import Decision, UnitFacts
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation
from shared.events import JsonValue

STREAM_TYPE = "annual_report"
STREAM_PREFIX = "annual-report-"

YearStatus = Literal["approved", "reopened"]
#: the stores whose heads an approval states: reports' own and the two it consumes
CHAIN_SOURCES = ("reports", "goals", "plans")


def annual_report_id(year: int) -> str:
    return f"{STREAM_PREFIX}{year}"


@dataclass(frozen=True)
class ChainHead:
    """The head of a store's hash chain: the last event's position and hash (position 0 and
    the genesis hash for an empty one)."""

    position: int
    hash: str


ChainHeads = dict[str, ChainHead]


def check_chain_heads(heads: ChainHeads) -> ChainHeads:
    """The heads of every store of CHAIN_SOURCES, each a position and a sha256 hash: an approval
    that could not read them is a bug, not an approval without an anchor."""
    missing = [s for s in CHAIN_SOURCES if s not in heads]
    if missing:
        raise ValueError(f"the approval needs the chain heads of {', '.join(missing)}")
    for source, head in heads.items():
        if head.position < 0 or len(head.hash) != 64:
            raise ValueError(f"not a chain head of {source}: {head}")
    return {s: heads[s] for s in CHAIN_SOURCES}


def chain_heads_added(data: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
    """Upcaster AnnualReportApproved.v1 -> v2: approvals recorded before the heads were
    stated have none (null), never made-up ones."""
    return {**data, "chain_heads": None}


@dataclass(frozen=True)
class YearDecision:
    kind: Literal["approved", "reopened"]
    decided_by: str
    decided_on: dt.date
    minute_ref: str | None
    reason: str | None = None


@dataclass(frozen=True)
class AnnualReport:
    id: str
    year: int
    status: YearStatus
    decided_by: str
    decided_on: dt.date
    minute_ref: str | None
    decisions: tuple[YearDecision, ...] = ()
    version: int = 0
    #: the stores' heads stated by the latest approval; None when it was recorded as v1
    chain_heads: ChainHeads | None = None

    @property
    def closed(self) -> bool:
        return self.status == "approved"

    @dataclass(frozen=True)
    class Approved(DomainEvent):
        """The council approved the annual report of the year: the year is closed."""

        TYPE = "AnnualReportApproved.v2"
        year: int
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None
        #: source -> head of its store at the approval (CHAIN_SOURCES); null in events
        #: recorded as v1, before the heads were stated
        chain_heads: ChainHeads | None

    @dataclass(frozen=True)
    class Reopened(DomainEvent):
        """The council reopened the year, with the reason: its follow-up takes changes again."""

        TYPE = "AnnualReportReopened.v1"
        year: int
        reason: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @staticmethod
    def approve_first(
        year: int, council: UnitFacts, decision: Decision, heads: ChainHeads
    ) -> list[DomainEvent]:
        _require_council(council)
        _require_after_year(year, decision.decided_on)
        return [
            AnnualReport.Approved(
                year,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
                check_chain_heads(heads),
            )
        ]

    def approve_again(
        self, council: UnitFacts, decision: Decision, heads: ChainHeads
    ) -> list[DomainEvent]:
        if self.closed:
            raise RuleViolation(
                f"the annual report of {self.year} is approved already ({self.decided_by} "
                f"{self.decided_on}, {self.minute_ref})",
                {"year": ["closed"]},
            )
        _require_council(council)
        values.not_before(
            decision.decided_on, self.decided_on, "decided_on", "an approval follows the reopening"
        )
        return [
            AnnualReport.Approved(
                self.year,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
                check_chain_heads(heads),
            )
        ]

    def reopen(self, council: UnitFacts, decision: Decision, reason: str) -> list[DomainEvent]:
        if not self.closed:
            raise RuleViolation(f"the year {self.year} is open already", {"year": ["open"]})
        _require_council(council)
        values.not_before(
            decision.decided_on, self.decided_on, "decided_on", "a reopening follows the approval"
        )
        why = values.text(reason, "reason", max_length=2000, multiline=True)
        return [
            AnnualReport.Reopened(
                self.year, why, decision.decided_by, decision.decided_on, decision.minute_ref
            )
        ]

    def refusal(self, what: str) -> RuleViolation:
        """The 409 a change to the closed year gets, naming the closing decision."""
        return RuleViolation(
            f"{self.year} is closed: the council approved its annual report ({self.decided_by}, "
            f"{self.decided_on}, {self.minute_ref or 'no minute reference'}); {what} takes no "
            "changes until a reopening decision",
            {"year": ["closed by the annual report's approval"]},
            closed_by={
                "annual_report_id": self.id,
                "decided_by": self.decided_by,
                "decided_on": self.decided_on.isoformat(),
                "minute_ref": self.minute_ref,
            },
        )

    @staticmethod
    def start(event: Any) -> AnnualReport:
        if not isinstance(event, AnnualReport.Approved):
            raise ValueError(f"{type(event).__name__} before AnnualReportApproved")
        decision = YearDecision("approved", event.decided_by, event.decided_on, event.minute_ref)
        return AnnualReport(
            annual_report_id(event.year),
            event.year,
            "approved",
            event.decided_by,
            event.decided_on,
            event.minute_ref,
            (decision,),
            version=1,
            chain_heads=event.chain_heads,
        )

    def when(self, event: Any) -> AnnualReport:
        match event:
            case AnnualReport.Approved():
                kind: Literal["approved", "reopened"] = "approved"
                reason = None
                heads = event.chain_heads
            case AnnualReport.Reopened():
                kind, reason = "reopened", event.reason
                heads = self.chain_heads  # the last approval's, beside the reopening
            case _:
                raise ValueError(f"{type(event).__name__} does not apply to an annual report")
        decision = YearDecision(kind, event.decided_by, event.decided_on, event.minute_ref, reason)
        return replace(
            self,
            status=kind,
            decided_by=event.decided_by,
            decided_on=event.decided_on,
            minute_ref=event.minute_ref,
            decisions=(*self.decisions, decision),
            version=self.version + 1,
            chain_heads=heads,
        )


def _require_council(council: UnitFacts) -> None:
    if council.kind != "council":
        raise RuleViolation(
            "the annual report is approved, and a year reopened, by the council "
            f"(kommunfullmäktige), not by a {council.kind}",
            {"decided_by": ["not the council"]},
        )


def _require_after_year(year: int, decided_on: dt.date) -> None:
    if decided_on <= dt.date(year, 12, 31):
        raise InvalidInput(
            f"the annual report of {year} is approved after the year has ended, "
            f"not on {decided_on}",
            {"decided_on": ["before the year ended"]},
        )


EVENTS = EventRegistry(AnnualReport.Approved, AnnualReport.Reopened)
KIND = AggregateKind(STREAM_TYPE, AnnualReport, EVENTS, AnnualReport.start)
