"""Quality reports (kvalitetsredovisningar): how a unit's year (or school year) went, how its
goals were met, how quality was secured, and what it will improve.

One report per unit and period, its id derived from them. Sections are written and marked done
(klarmarkering); writing a done section again takes its mark away. The workflow: draft →
submitted (every section done; the activity outcomes are fixed then) → approved, a decision of
the unit's manager, or of the committee itself for a committee's report → reopened only by a new
decision of the same body, with a reason. A report may also be returned from submitted to draft.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.reports.domain import periods
from services.reports.domain.assessment import Verdict, check_analysis, check_verdict
from services.reports.domain.decisions import Decision, UnitFacts
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "quality_report"
STREAM_PREFIX = "report-"
NAMESPACE = uuid.UUID("2c1e6f0a-3b7d-4c55-9a0e-7265706f7274")

ReportStatus = Literal["draft", "submitted", "approved"]
Section = Literal[
    "goals", "activities", "quality_assurance", "improvement_areas", "improvement_proposals"
]
SECTIONS: tuple[Section, ...] = (
    "goals",
    "activities",
    "quality_assurance",
    "improvement_areas",
    "improvement_proposals",
)
#: how quality was secured: the "evaluate" list of the improvement wheel
Method = Literal[
    "goal_follow_up",
    "user_survey",
    "student_survey",
    "citizen_survey",
    "staff_survey",
    "comparison",
    "complaints",
    "internal_audit",
]
METHODS: tuple[Method, ...] = (
    "goal_follow_up",
    "user_survey",
    "student_survey",
    "citizen_survey",
    "staff_survey",
    "comparison",
    "complaints",
    "internal_audit",
)
#: who writes quality reports: every unit but the council (whose report is the annual report)
REPORTING_UNITS = frozenset({"executive_board", "committee", "company", "sector", "unit"})
Outcome = Literal["done", "cancelled", "overdue", "open"]


def report_id_for(unit_id: str, period: str) -> str:
    return periods.derived_id(STREAM_PREFIX, NAMESPACE, unit_id, periods.report_period(period))


@dataclass(frozen=True)
class Note:
    written_on: dt.date
    text: str


@dataclass(frozen=True)
class ActivityOutcome:
    """An activity of the unit's plan, as the plans read model showed it."""

    activity_id: str
    title: str
    status: str  # planned, in_progress, done, cancelled
    outcome: Outcome
    due_on: dt.date
    completed_on: dt.date | None = None
    cancelled_on: dt.date | None = None
    cancel_reason: str | None = None
    notes: tuple[Note, ...] = ()


def outcome_of(status: str, due_on: dt.date, day: dt.date) -> Outcome:
    """Done or cancelled as recorded; an open activity past its due date is overdue."""
    if status == "done":
        return "done"
    if status == "cancelled":
        return "cancelled"
    return "overdue" if due_on < day else "open"


@dataclass(frozen=True)
class GoalSection:
    goal_id: str
    verdict: Verdict
    analysis: str


@dataclass(frozen=True)
class QualityAssurance:
    methods: tuple[Method, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class ImprovementArea:
    title: str
    description: str = ""


@dataclass(frozen=True)
class Reopening:
    reason: str
    decided_by: str
    decided_on: dt.date
    minute_ref: str | None


@dataclass(frozen=True)
class QualityReport:
    id: str
    unit_id: str
    period: str
    plan_id: str | None
    goal_ids: tuple[str, ...]
    status: ReportStatus = "draft"
    goal_sections: tuple[GoalSection, ...] = ()
    activities_comment: str = ""
    quality_assurance: QualityAssurance = QualityAssurance()
    improvement_areas: tuple[ImprovementArea, ...] = ()
    proposal_ids: tuple[str, ...] = ()
    done: tuple[Section, ...] = ()
    submitted_on: dt.date | None = None
    activity_outcomes: tuple[ActivityOutcome, ...] | None = None  # fixed at submission
    decided_by: str | None = None
    decided_on: dt.date | None = None
    minute_ref: str | None = None
    reopenings: tuple[Reopening, ...] = ()
    version: int = 0

    @dataclass(frozen=True)
    class Started(DomainEvent):
        """A unit began its quality report for a period; it covers the goals its plan serves."""

        TYPE = "QualityReportStarted.v1"
        report_id: str
        unit_id: str
        period: str
        plan_id: str | None
        goal_ids: tuple[str, ...]

    @dataclass(frozen=True)
    class GoalAssessed(DomainEvent):
        """The report's assessment of one goal, with its analysis."""

        TYPE = "QualityReportGoalAssessed.v1"
        report_id: str
        goal_id: str
        verdict: Verdict
        analysis: str

    @dataclass(frozen=True)
    class ActivitiesCommented(DomainEvent):
        """What the unit says of the outcomes of its plan's activities."""

        TYPE = "QualityReportActivitiesCommented.v1"
        report_id: str
        comment: str

    @dataclass(frozen=True)
    class QualityAssuranceWritten(DomainEvent):
        """How quality was secured: the methods used and what they showed."""

        TYPE = "QualityReportQualityAssuranceWritten.v1"
        report_id: str
        methods: tuple[Method, ...]
        text: str

    @dataclass(frozen=True)
    class ImprovementAreasWritten(DomainEvent):
        """The improvement areas (förbättringsområden) the unit found."""

        TYPE = "QualityReportImprovementAreasWritten.v1"
        report_id: str
        areas: tuple[ImprovementArea, ...]

    @dataclass(frozen=True)
    class ProposalAdded(DomainEvent):
        """An improvement proposal (its own stream) belongs to the report."""

        TYPE = "QualityReportProposalAdded.v1"
        report_id: str
        proposal_id: str

    @dataclass(frozen=True)
    class ProposalEdited(DomainEvent):
        """One of the report's improvement proposals was changed."""

        TYPE = "QualityReportProposalEdited.v1"
        report_id: str
        proposal_id: str

    @dataclass(frozen=True)
    class ProposalRemoved(DomainEvent):
        """An improvement proposal was withdrawn from the report."""

        TYPE = "QualityReportProposalRemoved.v1"
        report_id: str
        proposal_id: str

    @dataclass(frozen=True)
    class SectionDone(DomainEvent):
        """A section was marked done (klarmarkerad)."""

        TYPE = "QualityReportSectionDone.v1"
        report_id: str
        section: Section

    @dataclass(frozen=True)
    class Submitted(DomainEvent):
        """Every section done: the report is submitted for approval, with the outcomes of the
        plan's activities as they stood that day."""

        TYPE = "QualityReportSubmitted.v1"
        report_id: str
        submitted_on: dt.date
        activity_outcomes: tuple[ActivityOutcome, ...]

    @dataclass(frozen=True)
    class Returned(DomainEvent):
        """A submitted report was sent back to draft for changes."""

        TYPE = "QualityReportReturned.v1"
        report_id: str
        reason: str

    @dataclass(frozen=True)
    class Approved(DomainEvent):
        """The report was approved: a decision of the unit's manager or the committee."""

        TYPE = "QualityReportApproved.v1"
        report_id: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Reopened(DomainEvent):
        """An approved report was opened again by a new decision, with the reason."""

        TYPE = "QualityReportReopened.v1"
        report_id: str
        reason: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    # -- commands -------------------------------------------------------------------------------
    @staticmethod
    def start(
        report_id: str,
        unit: UnitFacts,
        period: str,
        plan_id: str | None,
        goal_ids: Sequence[str],
        today: dt.date,
    ) -> list[DomainEvent]:
        canonical = periods.report_period(period)
        if unit.status == "unknown":
            raise RuleViolation(
                f"no organisation unit {unit.id} is known here", {"unit_id": ["unknown unit"]}
            )
        if unit.kind not in REPORTING_UNITS:
            raise RuleViolation(
                f"quality reports are written by committees, sectors, units and company "
                f"operations, not by a {unit.kind} (its follow-up is the annual report)",
                {"unit_id": [f"a {unit.kind}"]},
            )
        if unit.status != "active":
            raise RuleViolation(
                f"{unit.name} is closed and starts no new reports", {"unit_id": ["closed unit"]}
            )
        first_day = (
            dt.date(int(canonical[:4]), 8, 1) if "/" in canonical else dt.date(int(canonical), 1, 1)
        )
        if first_day > today:
            raise InvalidInput(
                f"period {canonical} has not begun; a report follows up a period that has",
                {"period": ["in the future"]},
            )
        return [QualityReport.Started(report_id, unit.id, canonical, plan_id, tuple(goal_ids))]

    def assess_goal(
        self,
        goal_id: str,
        verdict: object,
        analysis: object,
        serves_now: Sequence[str] = (),
    ) -> list[DomainEvent]:
        """The section on one goal: a goal the report covers, or one the unit's plan (or, for a
        committee, the committee itself) has come to serve since the report was started."""
        self._require_draft()
        if goal_id not in self.goal_ids and goal_id not in serves_now:
            raise RuleViolation(
                f"{goal_id} is not among the goals this report covers (those of the unit's plan)",
                {"goal_id": ["not covered by the report"]},
            )
        return [
            QualityReport.GoalAssessed(
                self.id, goal_id, check_verdict(verdict), check_analysis(analysis)
            )
        ]

    def comment_activities(self, comment: str) -> list[DomainEvent]:
        self._require_draft()
        text = values.text(comment, "comment", max_length=20_000, multiline=True, required=False)
        return [QualityReport.ActivitiesCommented(self.id, text)]

    def write_quality_assurance(self, methods: Sequence[object], text: str) -> list[DomainEvent]:
        self._require_draft()
        bad = [m for m in methods if m not in METHODS]
        if bad:
            raise InvalidInput(
                f"methods are among {', '.join(METHODS)}; not {bad[0]!r}",
                {"methods": ["not a known method"]},
            )
        chosen = tuple(dict.fromkeys(methods))  # once each, in the order given
        clean = values.text(text, "text", max_length=20_000, multiline=True)
        return [QualityReport.QualityAssuranceWritten(self.id, chosen, clean)]  # type: ignore[arg-type]

    def write_improvement_areas(self, areas: Sequence[tuple[str, str]]) -> list[DomainEvent]:
        self._require_draft()
        if len(areas) > 50:
            raise InvalidInput("at most 50 improvement areas", {"areas": ["more than 50"]})
        written = tuple(
            ImprovementArea(
                values.name(title, "areas.title", max_length=300),
                values.text(
                    description,
                    "areas.description",
                    max_length=4000,
                    multiline=True,
                    required=False,
                ),
            )
            for title, description in areas
        )
        return [QualityReport.ImprovementAreasWritten(self.id, written)]

    def add_proposal(self, proposal_id: str) -> list[DomainEvent]:
        self._require_draft()
        if len(self.proposal_ids) >= 50:
            raise RuleViolation(
                "a report has at most 50 improvement proposals", {"report_id": ["50 proposals"]}
            )
        return [QualityReport.ProposalAdded(self.id, proposal_id)]

    def note_proposal_edited(self, proposal_id: str) -> list[DomainEvent]:
        self._require_draft()
        return [QualityReport.ProposalEdited(self.id, proposal_id)]

    def remove_proposal(self, proposal_id: str) -> list[DomainEvent]:
        self._require_draft()
        return [QualityReport.ProposalRemoved(self.id, proposal_id)]

    def mark_done(self, section: object) -> list[DomainEvent]:
        self._require_draft()
        if section not in SECTIONS:
            raise InvalidInput(
                f"section is one of {', '.join(SECTIONS)}, not {section!r}",
                {"section": ["not a section"]},
            )
        missing = self._missing(section)  # type: ignore[arg-type]
        if missing:
            raise RuleViolation(
                f"the section {section} is not complete: {missing}", {"section": [missing]}
            )
        if section in self.done:
            raise RuleViolation(
                f"the section {section} is marked done already", {"section": ["done"]}
            )
        return [QualityReport.SectionDone(self.id, section)]  # type: ignore[arg-type]

    def submit(self, outcomes: Sequence[ActivityOutcome], today: dt.date) -> list[DomainEvent]:
        self._require_draft()
        open_sections = [s for s in SECTIONS if s not in self.done]
        if open_sections:
            raise RuleViolation(
                f"every section is marked done before the report is submitted; not yet: "
                f"{', '.join(open_sections)}",
                {"sections": [f"not done: {', '.join(open_sections)}"]},
            )
        return [QualityReport.Submitted(self.id, today, tuple(outcomes))]

    def return_to_draft(self, reason: str) -> list[DomainEvent]:
        if self.status != "submitted":
            raise RuleViolation(
                f"only a submitted report is returned; this one is {self.status}",
                {"status": [f"{self.status}, not submitted"]},
            )
        why = values.text(reason, "reason", max_length=2000, multiline=True)
        return [QualityReport.Returned(self.id, why)]

    def approve(self, decision: Decision) -> list[DomainEvent]:
        if self.status != "submitted":
            raise RuleViolation(
                f"only a submitted report is approved; this one is {self.status}",
                {"status": [f"{self.status}, not submitted"]},
            )
        self._require_decider(decision)
        if self.submitted_on is not None:
            values.not_before(
                decision.decided_on,
                self.submitted_on,
                "decided_on",
                "an approval follows submission",
            )
        return [
            QualityReport.Approved(
                self.id, decision.decided_by, decision.decided_on, decision.minute_ref
            )
        ]

    def reopen(self, decision: Decision, reason: str) -> list[DomainEvent]:
        if self.status != "approved":
            raise RuleViolation(
                f"only an approved report is reopened; this one is {self.status}",
                {"status": [f"{self.status}, not approved"]},
            )
        self._require_decider(decision)
        why = values.text(reason, "reason", max_length=2000, multiline=True)
        if self.decided_on is not None:
            values.not_before(
                decision.decided_on, self.decided_on, "decided_on", "a reopening follows approval"
            )
        return [
            QualityReport.Reopened(
                self.id, why, decision.decided_by, decision.decided_on, decision.minute_ref
            )
        ]

    def _require_decider(self, decision: Decision) -> None:
        if decision.decided_by != self.unit_id:
            raise RuleViolation(
                "a quality report is approved by its own unit (its manager, or the committee "
                f"for a committee's report): decided_by is {self.unit_id}",
                {"decided_by": [f"not {self.unit_id}"]},
                may_decide=[self.unit_id],
            )

    def _require_draft(self) -> None:
        if self.status != "draft":
            raise RuleViolation(
                f"the report is {self.status} and takes no changes"
                + (" until a reopening decision" if self.status == "approved" else ""),
                {"status": [f"{self.status}, not draft"]},
            )

    def _missing(self, section: Section) -> str:
        """What a section lacks before it can be marked done ('' if nothing)."""
        if section == "goals":
            assessed = {s.goal_id for s in self.goal_sections}
            left = [g for g in self.goal_ids if g not in assessed]
            return f"{len(left)} goal(s) not assessed" if left else ""
        if section == "quality_assurance":
            return "" if self.quality_assurance.text else "not written"
        if section == "improvement_areas":
            return "" if self.improvement_areas else "no improvement areas"
        return ""  # activities may pass without comment; a report may propose nothing

    # -- folding --------------------------------------------------------------------------------
    @staticmethod
    def begin(event: Any) -> QualityReport:
        if not isinstance(event, QualityReport.Started):
            raise ValueError(f"{type(event).__name__} before QualityReportStarted")
        return QualityReport(
            event.report_id, event.unit_id, event.period, event.plan_id, event.goal_ids, version=1
        )

    def _undone(self, section: Section) -> tuple[Section, ...]:
        return tuple(s for s in self.done if s != section)

    def when(self, event: Any) -> QualityReport:
        version = self.version + 1
        match event:
            case QualityReport.GoalAssessed():
                kept = tuple(s for s in self.goal_sections if s.goal_id != event.goal_id)
                section = GoalSection(event.goal_id, event.verdict, event.analysis)
                covered = self.goal_ids
                if event.goal_id not in covered:
                    covered = (*covered, event.goal_id)
                return replace(
                    self,
                    goal_ids=covered,
                    goal_sections=(*kept, section),
                    done=self._undone("goals"),
                    version=version,
                )
            case QualityReport.ActivitiesCommented():
                return replace(
                    self,
                    activities_comment=event.comment,
                    done=self._undone("activities"),
                    version=version,
                )
            case QualityReport.QualityAssuranceWritten():
                return replace(
                    self,
                    quality_assurance=QualityAssurance(event.methods, event.text),
                    done=self._undone("quality_assurance"),
                    version=version,
                )
            case QualityReport.ImprovementAreasWritten():
                return replace(
                    self,
                    improvement_areas=event.areas,
                    done=self._undone("improvement_areas"),
                    version=version,
                )
            case QualityReport.ProposalAdded():
                return replace(
                    self,
                    proposal_ids=(*self.proposal_ids, event.proposal_id),
                    done=self._undone("improvement_proposals"),
                    version=version,
                )
            case QualityReport.ProposalEdited():
                return replace(self, done=self._undone("improvement_proposals"), version=version)
            case QualityReport.ProposalRemoved():
                return replace(
                    self,
                    proposal_ids=tuple(p for p in self.proposal_ids if p != event.proposal_id),
                    done=self._undone("improvement_proposals"),
                    version=version,
                )
            case QualityReport.SectionDone():
                return replace(self, done=(*self.done, event.section), version=version)
            case QualityReport.Submitted():
                return replace(
                    self,
                    status="submitted",
                    submitted_on=event.submitted_on,
                    activity_outcomes=event.activity_outcomes,
                    version=version,
                )
            case QualityReport.Returned():
                return replace(self, status="draft", activity_outcomes=None, version=version)
            case QualityReport.Approved():
                return replace(
                    self,
                    status="approved",
                    decided_by=event.decided_by,
                    decided_on=event.decided_on,
                    minute_ref=event.minute_ref,
                    version=version,
                )
            case QualityReport.Reopened():
                reopening = Reopening(
                    event.reason, event.decided_by, event.decided_on, event.minute_ref
                )
                return replace(
                    self,
                    status="draft",
                    activity_outcomes=None,
                    reopenings=(*self.reopenings, reopening),
                    version=version,
                )
        raise ValueError(f"{type(event).__name__} does not apply to a quality report")


EVENTS = EventRegistry(
    QualityReport.Started,
    QualityReport.GoalAssessed,
    QualityReport.ActivitiesCommented,
    QualityReport.QualityAssuranceWritten,
    QualityReport.ImprovementAreasWritten,
    QualityReport.ProposalAdded,
    QualityReport.ProposalEdited,
    QualityReport.ProposalRemoved,
    QualityReport.SectionDone,
    QualityReport.Submitted,
    QualityReport.Returned,
    QualityReport.Approved,
    QualityReport.Reopened,
)
KIND = AggregateKind(STREAM_TYPE, QualityReport, EVENTS, QualityReport.begin)
