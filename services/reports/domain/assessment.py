"""A person's assessment (bedömning) of how far a goal was reached in a year.

It stands beside the status computed from the goal's indicators and is never overwritten by
it: the computation says what the figures show, the assessment what the responsible people
make of them, with the analysis that supports it. One stream per goal and year; assessing again
records a new assessment, and the earlier ones stay in the history.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.reports.domain import periods
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "goal_assessment"
STREAM_PREFIX = "assessment-"
NAMESPACE = uuid.UUID("2c1e6f0a-3b7d-4c55-9a0e-617373657373")

Verdict = Literal["met", "partly_met", "not_met", "cannot_be_assessed"]
VERDICTS: tuple[Verdict, ...] = ("met", "partly_met", "not_met", "cannot_be_assessed")


def assessment_id_for(goal_id: str, year: int) -> str:
    return periods.derived_id(STREAM_PREFIX, NAMESPACE, goal_id, str(year))


def check_verdict(verdict: object, field: str = "verdict") -> Verdict:
    if verdict not in VERDICTS:
        raise InvalidInput(
            f"{field} is one of {', '.join(VERDICTS)}, not {verdict!r}",
            {field: ["not a verdict"]},
        )
    return verdict  # type: ignore[return-value]  # checked above


def check_analysis(analysis: object, field: str = "analysis") -> str:
    if not isinstance(analysis, str):
        raise InvalidInput(f"{field} is required text", {field: ["required"]})
    return values.text(analysis, field, max_length=20_000, multiline=True)


@dataclass(frozen=True)
class GoalFacts:
    """What reports knows of a goal from goals.events."""

    id: str
    status: str  # draft, adopted, retired, unknown
    period: str = ""  # the mandate period, "2023-2026"
    owner_unit_id: str = ""
    title: str = ""

    def covers(self, year: int) -> bool:
        first, _, last = self.period.partition("-")
        return first.isdigit() and last.isdigit() and int(first) <= year <= int(last)


@dataclass(frozen=True)
class GoalAssessment:
    id: str
    goal_id: str
    year: int
    verdict: Verdict
    analysis: str
    assessed_on: dt.date
    assessments: int = 1
    version: int = 0

    @dataclass(frozen=True)
    class Assessed(DomainEvent):
        """A goal was assessed for a year: met, partly met, not met or cannot be assessed."""

        TYPE = "GoalAssessed.v1"
        assessment_id: str
        goal_id: str
        year: int
        verdict: Verdict
        analysis: str
        assessed_on: dt.date

    @staticmethod
    def assess(
        assessment_id: str,
        goal: GoalFacts,
        year: int,
        verdict: object,
        analysis: object,
        today: dt.date,
    ) -> list[DomainEvent]:
        _require_assessable(goal, year, today)
        return [
            GoalAssessment.Assessed(
                assessment_id,
                goal.id,
                year,
                check_verdict(verdict),
                check_analysis(analysis),
                today,
            )
        ]

    def reassess(
        self, goal: GoalFacts, verdict: object, analysis: object, today: dt.date
    ) -> list[DomainEvent]:
        _require_assessable(goal, self.year, today)
        new_verdict, new_analysis = check_verdict(verdict), check_analysis(analysis)
        if (new_verdict, new_analysis) == (self.verdict, self.analysis):
            raise RuleViolation("the assessment already says this", {"verdict": ["unchanged"]})
        return [
            GoalAssessment.Assessed(
                self.id, self.goal_id, self.year, new_verdict, new_analysis, today
            )
        ]

    @staticmethod
    def start(event: Any) -> GoalAssessment:
        if not isinstance(event, GoalAssessment.Assessed):
            raise ValueError(f"{type(event).__name__} before GoalAssessed")
        return GoalAssessment(
            event.assessment_id,
            event.goal_id,
            event.year,
            event.verdict,
            event.analysis,
            event.assessed_on,
            version=1,
        )

    def when(self, event: Any) -> GoalAssessment:
        if isinstance(event, GoalAssessment.Assessed):
            return replace(
                self,
                verdict=event.verdict,
                analysis=event.analysis,
                assessed_on=event.assessed_on,
                assessments=self.assessments + 1,
                version=self.version + 1,
            )
        raise ValueError(f"{type(event).__name__} does not apply to an assessment")


def _require_assessable(goal: GoalFacts, year: int, today: dt.date) -> None:
    """A known goal, adopted (or retired since), whose mandate period covers a year begun."""
    if goal.status == "unknown":
        raise RuleViolation(
            f"no goal {goal.id} is known here (it does not exist, or its events have not "
            "arrived yet)",
            {"goal_id": ["unknown goal"]},
        )
    if goal.status == "draft":
        raise RuleViolation(
            "a draft goal is not followed up; adopt it first", {"goal_id": ["draft goal"]}
        )
    if not goal.covers(year):
        raise RuleViolation(
            f"the goal is for {goal.period}; {year} lies outside its mandate period",
            {"year": ["outside the goal's period"]},
        )
    if year > today.year:
        raise InvalidInput(
            f"{year} has not begun; a goal is assessed for a year up to {today.year}",
            {"year": ["in the future"]},
        )


EVENTS = EventRegistry(GoalAssessment.Assessed)
KIND = AggregateKind(STREAM_TYPE, GoalAssessment, EVENTS, GoalAssessment.start)
