"""Command handlers of the goals service: load aggregates, let them decide, append — one
transaction per command. The rules themselves live in `domain/`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.goals.domain import areas, documents, goal, indicator, organisation
from services.goals.domain.areas import DevelopmentArea
from services.goals.domain.decisions import Decider, Decision
from services.goals.domain.documents import Content, SteeringDocument
from services.goals.domain.goal import Goal, GoalContent, Lineage, Placement, UnitFacts
from services.goals.domain.indicator import Definition, Indicator, Thresholds
from services.goals.domain.organisation import OrgUnit
from shared.aggregate import DomainEvent
from shared.commands import change, create, load
from shared.errors import InvalidInput, RuleViolation
from shared.events import Metadata
from shared.uow import UnitOfWork

# -- loading ------------------------------------------------------------------------------------


def unit_facts(uow: UnitOfWork, unit_id: str, field: str = "owner_unit_id") -> UnitFacts:
    unit: OrgUnit = load(uow, organisation.KIND, unit_id, field)
    return UnitFacts(unit.id, unit.kind, unit.name, unit.closed)


def resolve_decider(uow: UnitOfWork, decided_by: str) -> Decider:
    """A unit id decides through the unit's body (or manager); otherwise it names a role."""
    if decided_by.startswith(organisation.STREAM_PREFIX):
        unit: OrgUnit = load(uow, organisation.KIND, decided_by, "decided_by")
        return Decider.of_unit(unit.id, unit.kind, unit.name)
    return Decider.of_role(decided_by)


def _goals(uow: UnitOfWork, ids: Sequence[str], field: str) -> list[Goal]:
    return [load(uow, goal.KIND, goal_id, field) for goal_id in dict.fromkeys(ids)]


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4()}"


# -- organisation units -------------------------------------------------------------------------


def create_org_unit(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    name: str,
    kind: str,
    parent_id: str | None,
    unit_id: str | None = None,
) -> OrgUnit:
    unit_id = unit_id or new_id(organisation.STREAM_PREFIX)

    def decide() -> list[DomainEvent]:
        parent = load(uow, organisation.KIND, parent_id, "parent_id") if parent_id else None
        return OrgUnit.create(unit_id, name, kind, parent)

    return create(uow, metadata, organisation.KIND, unit_id, decide)


def rename_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, name: str
) -> OrgUnit:
    return change(
        uow, metadata, organisation.KIND, unit_id, expected_version, lambda u: u.rename(name)
    )


def move_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, parent_id: str
) -> OrgUnit:
    from services.goals import queries

    def decide(unit: OrgUnit) -> list[DomainEvent]:
        parent = load(uow, organisation.KIND, parent_id, "parent_id")
        return unit.move(parent, queries.ancestry(uow.conn, parent_id))

    return change(uow, metadata, organisation.KIND, unit_id, expected_version, decide)


def close_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, reason: str
) -> OrgUnit:
    return change(
        uow, metadata, organisation.KIND, unit_id, expected_version, lambda u: u.close(reason)
    )


# -- steering documents -------------------------------------------------------------------------


def draft_document(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    doc_type: str,
    owner_unit_id: str,
    content: Content,
    document_id: str | None = None,
) -> SteeringDocument:
    document_id = document_id or new_id(documents.STREAM_PREFIX)

    def decide() -> list[DomainEvent]:
        owner = unit_facts(uow, owner_unit_id)
        return SteeringDocument.draft(document_id, doc_type, owner.id, content, owner.closed)

    return create(uow, metadata, documents.KIND, document_id, decide)


def edit_document(
    uow: UnitOfWork,
    metadata: Metadata,
    document_id: str,
    expected_version: int | None,
    changes: dict[str, Any],
) -> SteeringDocument:
    return change(
        uow,
        metadata,
        documents.KIND,
        document_id,
        expected_version,
        lambda d: d.edit(replace(d.content, **changes)),
    )


def adopt_document(
    uow: UnitOfWork,
    metadata: Metadata,
    document_id: str,
    expected_version: int | None,
    decision: Decision,
) -> SteeringDocument:
    return change(
        uow,
        metadata,
        documents.KIND,
        document_id,
        expected_version,
        lambda d: d.adopt(decision, resolve_decider(uow, decision.decided_by)),
    )


def revise_document(
    uow: UnitOfWork,
    metadata: Metadata,
    document_id: str,
    expected_version: int | None,
    changes: dict[str, Any],
    decision: Decision,
) -> SteeringDocument:
    return change(
        uow,
        metadata,
        documents.KIND,
        document_id,
        expected_version,
        lambda d: d.revise(
            replace(d.content, **changes), decision, resolve_decider(uow, decision.decided_by)
        ),
    )


def repeal_document(
    uow: UnitOfWork,
    metadata: Metadata,
    document_id: str,
    expected_version: int | None,
    reason: str,
    decision: Decision,
) -> SteeringDocument:
    return change(
        uow,
        metadata,
        documents.KIND,
        document_id,
        expected_version,
        lambda d: d.repeal(reason, decision, resolve_decider(uow, decision.decided_by)),
    )


# -- development areas --------------------------------------------------------------------------


def define_area(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    name: str,
    description: str,
    plan_id: str | None,
    area_id: str | None = None,
) -> DevelopmentArea:
    area_id = area_id or new_id(areas.STREAM_PREFIX)

    def decide() -> list[DomainEvent]:
        if plan_id:
            plan: SteeringDocument = load(uow, documents.KIND, plan_id, "plan_id")
            if plan.doc_type not in ("long_term_plan", "vision"):
                raise InvalidInput(
                    "a development area belongs to a long-term plan or vision",
                    {"plan_id": [f"a {plan.doc_type}"]},
                )
        return DevelopmentArea.define(area_id, name, description, plan_id)

    return create(uow, metadata, areas.KIND, area_id, decide)


def retire_area(
    uow: UnitOfWork, metadata: Metadata, area_id: str, expected_version: int | None, reason: str
) -> DevelopmentArea:
    return change(uow, metadata, areas.KIND, area_id, expected_version, lambda a: a.retire(reason))


# -- goals --------------------------------------------------------------------------------------


def _placement_facts(uow: UnitOfWork, placement: Placement) -> tuple[list[Goal], bool]:
    """The strategic goals a placement derives from, and whether its area is active."""
    sources = _goals(uow, placement.derived_from, "derived_from")
    area_active = True
    if placement.development_area_id:
        area: DevelopmentArea = load(
            uow, areas.KIND, placement.development_area_id, "development_area_id"
        )
        area_active = area.status == "active"
    if placement.programme_id:
        programme: SteeringDocument = load(
            uow, documents.KIND, placement.programme_id, "programme_id"
        )
        if programme.doc_type != "political_programme":
            raise InvalidInput(
                "programme_id names a political programme",
                {"programme_id": [f"a {programme.doc_type}"]},
            )
    return sources, area_active


def draft_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    level: str,
    owner_unit_id: str,
    period: str,
    content: GoalContent,
    placement: Placement,
    lineage: Lineage | None = None,
    goal_id: str | None = None,
) -> Goal:
    goal_id = goal_id or new_id(goal.STREAM_PREFIX)
    with uow:
        owner = unit_facts(uow, owner_unit_id)
        sources, area_active = _placement_facts(uow, placement)
        predecessors = _goals(uow, lineage.predecessors, "lineage.predecessors") if lineage else []
        events = Goal.draft(
            goal_id,
            level,
            owner,
            period,
            content,
            placement,
            sources=sources,
            area_active=area_active,
            lineage=lineage,
            predecessors=predecessors,
        )
        uow.append(goal_id, goal.STREAM_TYPE, 0, [e.to_new_event() for e in events], metadata)
        for predecessor in predecessors:  # the lineage is recorded on both sides
            assert lineage is not None
            uow.append(
                predecessor.id,
                goal.STREAM_TYPE,
                predecessor.version,
                [e.to_new_event() for e in predecessor.carry_forward(lineage, goal_id)],
                metadata,
            )
    drafted = goal.KIND.fold_new(events)
    return drafted


def _changed(state: Goal, changes: dict[str, Any]) -> tuple[GoalContent, Placement]:
    content_fields = {
        k: v for k, v in changes.items() if k in ("title", "description", "perspectives")
    }
    placement_fields = {
        k: v
        for k, v in changes.items()
        if k in ("development_area_id", "programme_id", "derived_from")
    }
    return replace(state.content, **content_fields), replace(state.placement, **placement_fields)


def edit_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    changes: dict[str, Any],
) -> Goal:
    def decide(state: Goal) -> list[DomainEvent]:
        content, placement = _changed(state, changes)
        sources, area_active = _placement_facts(uow, placement)
        return state.edit(
            content, placement, unit_facts(uow, state.owner_unit_id), sources, area_active
        )

    return change(uow, metadata, goal.KIND, goal_id, expected_version, decide)


def adopt_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    decision: Decision,
) -> Goal:
    def decide(state: Goal) -> list[DomainEvent]:
        sources = _goals(uow, state.placement.derived_from, "derived_from")
        return state.adopt(decision, resolve_decider(uow, decision.decided_by), sources)

    return change(uow, metadata, goal.KIND, goal_id, expected_version, decide)


def revise_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    changes: dict[str, Any],
    decision: Decision,
) -> Goal:
    def decide(state: Goal) -> list[DomainEvent]:
        content, placement = _changed(state, changes)
        sources, area_active = _placement_facts(uow, placement)
        return state.revise(
            content,
            placement,
            decision,
            resolve_decider(uow, decision.decided_by),
            unit_facts(uow, state.owner_unit_id),
            sources,
            area_active,
        )

    return change(uow, metadata, goal.KIND, goal_id, expected_version, decide)


def retire_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    reason: str,
    decision: Decision,
) -> Goal:
    return change(
        uow,
        metadata,
        goal.KIND,
        goal_id,
        expected_version,
        lambda g: g.retire(reason, decision, resolve_decider(uow, decision.decided_by)),
    )


def evaluate_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    outcome: str,
    reasoning: str,
    evaluated_on: Any,
) -> Goal:
    return change(
        uow,
        metadata,
        goal.KIND,
        goal_id,
        expected_version,
        lambda g: g.evaluate(outcome, reasoning, evaluated_on),
    )


# -- indicators ---------------------------------------------------------------------------------


def define_indicator(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    *,
    definition: Definition,
    targets: dict[int, float] | None = None,
    thresholds: Thresholds | None = None,
    indicator_id: str | None = None,
) -> Indicator:
    """Define an indicator on a goal, with its first targets and thresholds in one command."""
    indicator_id = indicator_id or new_id(indicator.STREAM_PREFIX)
    with uow:
        owner: Goal = load(uow, goal.KIND, goal_id)
        events = Indicator.define(indicator_id, goal_id, owner.status, definition)
        state = indicator.KIND.fold_new(events)
        years = _period_years(owner)
        for year, value in sorted((targets or {}).items()):
            step = state.set_target(year, value, years)
            events += step
            state = indicator.KIND.fold_new(events)
        if thresholds is not None:
            events += state.set_thresholds(thresholds)
        uow.append(
            indicator_id, indicator.STREAM_TYPE, 0, [e.to_new_event() for e in events], metadata
        )
    result = indicator.KIND.fold_new(events)
    return result


def _period_years(owner: Goal) -> range:
    mandate = owner.mandate
    return range(mandate.first_year, mandate.last_year + 1)


def set_target(
    uow: UnitOfWork,
    metadata: Metadata,
    indicator_id: str,
    expected_version: int | None,
    year: int,
    value: float,
) -> Indicator:
    def decide(state: Indicator) -> list[DomainEvent]:
        owner: Goal = load(uow, goal.KIND, state.goal_id)
        if owner.status == "retired":
            raise RuleViolation("the indicator's goal is retired")
        return state.set_target(year, value, _period_years(owner))

    return change(uow, metadata, indicator.KIND, indicator_id, expected_version, decide)


def set_thresholds(
    uow: UnitOfWork,
    metadata: Metadata,
    indicator_id: str,
    expected_version: int | None,
    thresholds: Thresholds,
) -> Indicator:
    return change(
        uow,
        metadata,
        indicator.KIND,
        indicator_id,
        expected_version,
        lambda i: i.set_thresholds(thresholds),
    )


def retire_indicator(
    uow: UnitOfWork,
    metadata: Metadata,
    indicator_id: str,
    expected_version: int | None,
    reason: str,
) -> Indicator:
    return change(
        uow, metadata, indicator.KIND, indicator_id, expected_version, lambda i: i.retire(reason)
    )
