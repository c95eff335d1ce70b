"""Goals (mål): strategic goals of the council and operational goals of committees and companies.

Strategic goals (strategiska mål) are adopted by the council for a mandate period and belong to
a development area. Operational goals (verksamhetsmål / nämndmål) are adopted by a committee or
company board and trace to at least one adopted strategic goal of the same period. After
adoption a goal changes only by a new decision; at the end of the period it is evaluated. A goal
carried into a new period keeps its lineage, so it can be followed across periods.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from services.goals.domain import decisions
from services.goals.domain.decisions import Decider, DeciderKind, Decision, require_decider
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "goal"
STREAM_PREFIX = "goal-"
Level = Literal["strategic", "operational"]
GoalStatus = Literal["draft", "adopted", "retired"]
Perspective = Literal["social", "economic", "environmental"]
Outcome = Literal["met", "partly_met", "not_met"]
Relation = Literal["continues", "split_from", "merged_from"]
LEVELS: tuple[Level, ...] = get_args(Level)
STATUSES: tuple[GoalStatus, ...] = get_args(GoalStatus)
PERSPECTIVES: tuple[Perspective, ...] = get_args(Perspective)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
RELATIONS: tuple[Relation, ...] = get_args(Relation)
OPERATIONAL_OWNERS: tuple[DeciderKind, ...] = ("committee", "company")
#: ASCII digits and \Z: "\d" would take "٢٠٢٣" and "$" a trailing newline.
_PERIOD = re.compile(r"\A([0-9]{4})-([0-9]{4})\Z", re.ASCII)


@dataclass(frozen=True)
class MandatePeriod:
    """A mandate period (mandatperiod) of four calendar years, written "2023-2026"."""

    first_year: int
    last_year: int

    @staticmethod
    def parse(text: str) -> MandatePeriod:
        match = _PERIOD.match(text)
        if not match or int(match[2]) - int(match[1]) != 3:
            raise InvalidInput(
                f"a mandate period is four years written like 2023-2026, not {text!r}",
                {"period": ["not a four-year period"]},
            )
        return MandatePeriod(values.year(match[1], "period"), values.year(match[2], "period"))

    def __str__(self) -> str:
        return f"{self.first_year}-{self.last_year}"


@dataclass(frozen=True)
class GoalContent:
    title: str
    description: str = ""
    perspectives: tuple[Perspective, ...] = ()  # sustainability perspectives it serves


@dataclass(frozen=True)
class Lineage:
    """Where a goal comes from in an earlier period."""

    relation: Relation
    predecessors: tuple[str, ...]


@dataclass(frozen=True)
class Successor:
    goal_id: str
    relation: Relation


@dataclass(frozen=True)
class Evaluation:
    outcome: Outcome
    reasoning: str
    evaluated_on: dt.date


@dataclass(frozen=True)
class Placement:
    """Where a goal sits in the goal chain (changes only in a draft or by a revision)."""

    development_area_id: str | None = None  # strategic goals
    programme_id: str | None = None  # political programme it implements (strategic, optional)
    derived_from: tuple[str, ...] = ()  # strategic goals it serves (operational)


@dataclass(frozen=True)
class UnitFacts:
    """What a goal's rules need to know about an organisation unit."""

    id: str
    kind: str
    name: str
    closed: bool = False


@dataclass(frozen=True)
class Goal:
    id: str
    level: Level
    owner_unit_id: str
    period: str
    content: GoalContent
    placement: Placement
    lineage: Lineage | None = None
    status: GoalStatus = "draft"
    decision: Decision | None = None
    evaluation: Evaluation | None = None
    successors: tuple[Successor, ...] = ()
    version: int = 0

    # -- events -------------------------------------------------------------------------------
    @dataclass(frozen=True)
    class Drafted(DomainEvent):
        """A strategic or operational goal (strategiskt mål, verksamhetsmål) was drafted."""

        TYPE = "GoalDrafted.v1"
        goal_id: str
        level: Level
        owner_unit_id: str
        period: str
        content: GoalContent
        placement: Placement
        lineage: Lineage | None

    @dataclass(frozen=True)
    class Edited(DomainEvent):
        """A draft goal was changed."""

        TYPE = "GoalEdited.v1"
        goal_id: str
        content: GoalContent
        placement: Placement

    @dataclass(frozen=True)
    class Adopted(DomainEvent):
        """A goal was adopted (antaget) by the council or the owning committee or board."""

        TYPE = "GoalAdopted.v1"
        goal_id: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Revised(DomainEvent):
        """An adopted goal was changed by a new decision (reviderat)."""

        TYPE = "GoalRevised.v1"
        goal_id: str
        content: GoalContent
        placement: Placement
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Retired(DomainEvent):
        """A goal was retired (avvecklat) by decision."""

        TYPE = "GoalRetired.v1"
        goal_id: str
        reason: str
        decided_by: str
        decided_on: dt.date
        minute_ref: str | None

    @dataclass(frozen=True)
    class Evaluated(DomainEvent):
        """A goal was evaluated at the end of its mandate period (utvärderat)."""

        TYPE = "GoalEvaluated.v2"
        goal_id: str
        outcome: Outcome
        reasoning: str
        evaluated_on: dt.date
        #: who decided the evaluation; null only in events recorded as v1, before it was asked
        decided_by: str | None
        decided_on: dt.date | None
        minute_ref: str | None

    @dataclass(frozen=True)
    class CarriedForward(DomainEvent):
        """A goal of a later mandate period carries this one forward (continues, splits, merges)."""

        TYPE = "GoalCarriedForward.v1"
        goal_id: str
        successor_id: str
        relation: Relation

    # -- commands -----------------------------------------------------------------------------
    @staticmethod
    def draft(
        goal_id: str,
        level: str,
        owner: UnitFacts,
        period: str,
        content: GoalContent,
        placement: Placement,
        *,
        sources: Sequence[Goal] = (),
        area_active: bool = True,
        programme_type: str | None = None,
        lineage: Lineage | None = None,
        predecessors: Sequence[Goal] = (),
    ) -> list[DomainEvent]:
        """Draft a goal. `sources` are the goals of `placement.derived_from`, `predecessors`
        those of `lineage`, as they are now; `programme_type` is the document type of
        `placement.programme_id`."""
        mandate = MandatePeriod.parse(period)
        checked = _level(level)
        if owner.closed:
            raise RuleViolation(
                f"{owner.name} is closed and takes no new goals", {"owner_unit_id": ["closed unit"]}
            )
        content = _valid_content(content)
        _check_placement(checked, owner, mandate, placement, sources, area_active, programme_type)
        if lineage is not None:
            lineage = _check_lineage(checked, mandate, lineage, predecessors)
        return [Goal.Drafted(goal_id, checked, owner.id, str(mandate), content, placement, lineage)]

    def carry_forward(self, successor_id: str, relation: Relation) -> list[DomainEvent]:
        """The event on a predecessor when its successor is adopted: only then is the goal
        carried forward (a draft may still be dropped)."""
        return [Goal.CarriedForward(self.id, successor_id, relation)]

    def edit(
        self,
        content: GoalContent,
        placement: Placement,
        owner: UnitFacts,
        sources: Sequence[Goal] = (),
        area_active: bool = True,
        programme_type: str | None = None,
    ) -> list[DomainEvent]:
        if self.status != "draft":
            raise RuleViolation(
                f"an {self.status} goal changes only by a new decision "
                "(POST …/revise with who decided, when and the minute "
                "reference)"
            )
        content = _valid_content(content)
        _check_placement(
            self.level, owner, self.mandate, placement, sources, area_active, programme_type
        )
        return [Goal.Edited(self.id, content, placement)]

    def adopt(
        self,
        decision: Decision,
        decider: Decider,
        sources: Sequence[Goal] = (),
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        if self.status != "draft":
            raise RuleViolation(
                f"the goal is {self.status}; only a draft goal can be adopted"
                + ("; revise it by a new decision instead" if self.status == "adopted" else "")
            )
        decision = self._check_decision(decision, decider, today)
        if self.level == "operational":
            _check_sources(self.mandate, self.placement.derived_from, sources)
        return [
            Goal.Adopted(self.id, decision.decided_by, decision.decided_on, decision.minute_ref)
        ]

    def revise(
        self,
        content: GoalContent,
        placement: Placement,
        decision: Decision,
        decider: Decider,
        owner: UnitFacts,
        sources: Sequence[Goal] = (),
        area_active: bool = True,
        programme_type: str | None = None,
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        if self.status != "adopted":
            raise RuleViolation(
                f"only an adopted goal is revised by decision; this one is "
                f"{self.status}" + ("; edit the draft instead" if self.status == "draft" else "")
            )
        decision = self._check_decision(decision, decider, today)
        decisions.not_before(decision, self._decided_on, "a revision")
        content = _valid_content(content)
        _check_placement(
            self.level, owner, self.mandate, placement, sources, area_active, programme_type
        )
        return [
            Goal.Revised(
                self.id,
                content,
                placement,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    def retire(
        self, reason: str, decision: Decision, decider: Decider, *, today: dt.date
    ) -> list[DomainEvent]:
        if self.status == "retired":
            raise RuleViolation("the goal is already retired")
        reason = decisions.reason(reason, "the goal is retired")
        decision = self._check_decision(decision, decider, today, check_period=False)
        decisions.not_before(decision, self._decided_on, "a retirement")
        return [
            Goal.Retired(
                self.id,
                reason,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    def evaluate(
        self,
        outcome: str,
        reasoning: str,
        evaluated_on: dt.date,
        decision: Decision,
        decider: Decider,
        *,
        today: dt.date,
    ) -> list[DomainEvent]:
        """The evaluation at the end of the mandate period (met / partly met / not met), decided
        by the body that adopted the goal."""
        if self.status != "adopted":
            raise RuleViolation(f"only an adopted goal is evaluated; this one is {self.status}")
        checked = _outcome(outcome)
        reasoning = values.text(reasoning, "reasoning", max_length=10_000, multiline=True)
        values.not_in_future(evaluated_on, today, "evaluated_on", "an evaluation")
        mandate = self.mandate
        if not (mandate.last_year <= evaluated_on.year <= mandate.last_year + 1):
            raise InvalidInput(
                f"goals of {mandate} are evaluated at the end of the period, in "
                f"{mandate.last_year} or {mandate.last_year + 1}, not on {evaluated_on}",
                {"evaluated_on": ["outside the end of the mandate period"]},
            )
        decision = self._check_decision(decision, decider, today, check_period=False)
        return [
            Goal.Evaluated(
                self.id,
                checked,
                reasoning,
                evaluated_on,
                decision.decided_by,
                decision.decided_on,
                decision.minute_ref,
            )
        ]

    @property
    def mandate(self) -> MandatePeriod:
        return MandatePeriod.parse(self.period)

    @property
    def _decided_on(self) -> dt.date | None:
        return self.decision.decided_on if self.decision else None

    def require_decider(self, decider: Decider, what: str) -> None:
        """A strategic goal's decisions are the council's; an operational goal's are the
        committee's or company board's that owns it (also for its indicators)."""
        if self.level == "strategic":
            require_decider(decider, ("council",), what)
        else:
            require_decider(decider, OPERATIONAL_OWNERS, what)
            if decider.unit_id != self.owner_unit_id:
                raise RuleViolation(
                    f"{what} is decided by the committee or board that owns it, "
                    f"not by {decider.name}",
                    {"decided_by": ["not the owning body"]},
                )

    def _check_decision(
        self, decision: Decision, decider: Decider, today: dt.date, check_period: bool = True
    ) -> Decision:
        what = "a strategic goal" if self.level == "strategic" else "an operational goal"
        self.require_decider(decider, what)
        decision = decisions.valid_decision(decision, decider, today, "a goal decision")
        mandate = self.mandate
        if check_period and not (
            mandate.first_year - 1 <= decision.decided_on.year <= mandate.last_year
        ):
            raise InvalidInput(
                f"a goal for {mandate} is decided between {mandate.first_year - 1} and "
                f"{mandate.last_year}, not on {decision.decided_on}",
                {"decided_on": ["outside the mandate period"]},
            )
        return decision

    # -- folding ------------------------------------------------------------------------------
    @staticmethod
    def start(event: Any) -> Goal:
        if not isinstance(event, Goal.Drafted):
            raise ValueError(f"{type(event).__name__} before GoalDrafted")
        return Goal(
            event.goal_id,
            event.level,
            event.owner_unit_id,
            event.period,
            event.content,
            event.placement,
            event.lineage,
            version=1,
        )

    def when(self, event: Any) -> Goal:
        version = self.version + 1
        match event:
            case Goal.Edited():
                return replace(
                    self, content=event.content, placement=event.placement, version=version
                )
            case Goal.Adopted():
                return replace(self, status="adopted", decision=_decision(event), version=version)
            case Goal.Revised():
                return replace(
                    self,
                    content=event.content,
                    placement=event.placement,
                    decision=_decision(event),
                    version=version,
                )
            case Goal.Retired():
                return replace(self, status="retired", decision=_decision(event), version=version)
            case Goal.Evaluated():
                return replace(
                    self,
                    evaluation=Evaluation(event.outcome, event.reasoning, event.evaluated_on),
                    version=version,
                )
            case Goal.CarriedForward():
                return replace(
                    self,
                    successors=(*self.successors, Successor(event.successor_id, event.relation)),
                    version=version,
                )
        raise ValueError(f"{type(event).__name__} does not apply to a goal")


def _decision(event: Any) -> Decision:
    return Decision(event.decided_by, event.decided_on, event.minute_ref)


def _level(level: str) -> Level:
    for known in LEVELS:
        if level == known:
            return known
    raise InvalidInput(
        f"level is strategic or operational, not {level!r}", {"level": ["unknown level"]}
    )


def _outcome(outcome: str) -> Outcome:
    for known in OUTCOMES:
        if outcome == known:
            return known
    raise InvalidInput(f"outcome is one of {', '.join(OUTCOMES)}", {"outcome": ["unknown outcome"]})


def _valid_content(content: GoalContent) -> GoalContent:
    title = values.name(content.title, "title", 500)
    unknown = [p for p in content.perspectives if p not in PERSPECTIVES]
    if unknown:
        raise InvalidInput(
            f"sustainability perspectives are {', '.join(PERSPECTIVES)}; not {', '.join(unknown)}",
            {"perspectives": ["unknown perspective"]},
        )
    return replace(
        content,
        title=title,
        description=values.text(
            content.description, "description", max_length=10_000, multiline=True, required=False
        ),
        perspectives=tuple(dict.fromkeys(content.perspectives)),
    )


def _check_placement(
    level: Level,
    owner: UnitFacts,
    mandate: MandatePeriod,
    placement: Placement,
    sources: Sequence[Goal],
    area_active: bool,
    programme_type: str | None,
) -> None:
    if placement.programme_id and programme_type != "political_programme":
        raise InvalidInput(
            "programme_id names a political programme",
            {"programme_id": [f"a {programme_type or 'missing document'}"]},
        )
    if level == "strategic":
        if owner.kind != "council":
            raise RuleViolation(
                f"strategic goals belong to the council (kommunfullmäktige), not to {owner.name}",
                {"owner_unit_id": ["not the council"]},
            )
        if not placement.development_area_id:
            raise InvalidInput(
                "a strategic goal belongs to a development area",
                {"development_area_id": ["required for a strategic goal"]},
            )
        if not area_active:
            raise RuleViolation(
                "the development area is retired and takes no new goals",
                {"development_area_id": ["retired area"]},
            )
        if placement.derived_from:
            raise InvalidInput(
                "strategic goals are not derived from other goals",
                {"derived_from": ["only for operational goals"]},
            )
    else:
        if owner.kind not in OPERATIONAL_OWNERS:
            raise RuleViolation(
                "operational goals belong to a committee (nämnd) or company "
                f"(bolag), not to {owner.name}",
                {"owner_unit_id": ["not a committee or company"]},
            )
        _check_sources(mandate, placement.derived_from, sources)


def _check_sources(
    mandate: MandatePeriod, derived_from: Sequence[str], sources: Sequence[Goal]
) -> None:
    if not derived_from:
        raise InvalidInput(
            "an operational goal traces to at least one adopted strategic goal",
            {"derived_from": ["at least one strategic goal"]},
        )
    found = {goal.id: goal for goal in sources}
    for goal_id in derived_from:
        goal = found.get(goal_id)
        problem = None
        if goal is None or goal.level != "strategic":
            problem = "not a strategic goal"
        elif goal.status != "adopted":
            problem = f"the strategic goal is {goal.status}, not adopted"
        elif goal.period != str(mandate):
            problem = f"the strategic goal is of {goal.period}, not {mandate}"
        if problem:
            raise RuleViolation(
                f"an operational goal must trace to adopted strategic goals of "
                f"the same period; {goal_id}: {problem}",
                {"derived_from": [problem]},
            )


def _check_lineage(
    level: Level, mandate: MandatePeriod, lineage: Lineage, predecessors: Sequence[Goal]
) -> Lineage:
    if lineage.relation not in RELATIONS:
        raise InvalidInput(
            f"lineage relation is one of {', '.join(RELATIONS)}",
            {"lineage.relation": ["unknown relation"]},
        )
    count = len(set(lineage.predecessors))
    if (lineage.relation == "merged_from") != (count >= 2) or count == 0:
        raise InvalidInput(
            "a merged goal has two or more predecessors; a continued or split goal has exactly one",
            {"lineage.predecessors": ["wrong count"]},
        )
    found = {goal.id: goal for goal in predecessors}
    for goal_id in lineage.predecessors:
        goal = found.get(goal_id)
        if goal is None:
            raise RuleViolation(
                f"no goal {goal_id} to carry forward", {"lineage.predecessors": ["unknown goal"]}
            )
        if goal.level != level:
            raise RuleViolation(
                f"a {level} goal carries forward {level} goals, not {goal.level} ones",
                {"lineage.predecessors": ["other level"]},
            )
        if goal.status == "draft":
            raise RuleViolation(
                f"{goal_id} was never adopted; only adopted goals are carried forward",
                {"lineage.predecessors": ["a draft"]},
            )
        if goal.mandate.last_year >= mandate.first_year:
            raise RuleViolation(
                f"{goal_id} is of {goal.period}; a goal is carried forward into a later period",
                {"lineage.predecessors": ["not earlier"]},
            )
    return replace(lineage, predecessors=tuple(dict.fromkeys(lineage.predecessors)))


EVENTS = EventRegistry(
    Goal.Drafted,
    Goal.Edited,
    Goal.Adopted,
    Goal.Revised,
    Goal.Retired,
    Goal.Evaluated,
    Goal.CarriedForward,
)
KIND = AggregateKind(STREAM_TYPE, Goal, EVENTS, Goal.start)
