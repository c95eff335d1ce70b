"""Command handlers of the goals service: load aggregates, read the facts their rules need,
let them decide, append — one transaction per command. The rules themselves live in `domain/`;
today's date (Europe/Stockholm) is read here and handed to the domain, which stays pure."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from services.goals import queries
from services.goals.domain import areas, documents, goal, indicator, organisation
from services.goals.domain.areas import DevelopmentArea
from services.goals.domain.decisions import Decider, Decision
from services.goals.domain.documents import Content, SteeringDocument
from services.goals.domain.goal import Goal, GoalContent, Lineage, Placement, UnitFacts
from services.goals.domain.indicator import Definition, Indicator, Thresholds
from services.goals.domain.organisation import OrgUnit
from shared import values
from shared.aggregate import DomainEvent
from shared.commands import change, create, load
from shared.events import Metadata
from shared.store import ConcurrencyError
from shared.uow import UnitOfWork

# -- loading ------------------------------------------------------------------------------------


def unit_facts(uow: UnitOfWork, unit_id: str, field: str = "owner_unit_id") -> UnitFacts:
    unit: OrgUnit = load(uow, organisation.KIND, unit_id, field)
    return UnitFacts(unit.id, unit.kind, unit.name, unit.closed)


def resolve_decider(uow: UnitOfWork, decided_by: str) -> Decider:
    """A unit id decides through the unit's body (or manager); otherwise it names a role."""
    if decided_by.startswith(organisation.STREAM_PREFIX):
        unit: OrgUnit = load(uow, organisation.KIND, decided_by, "decided_by")
        return Decider.of_unit(unit.id, unit.kind, unit.name, unit.closed)
    return Decider.of_role(decided_by)


def _goals(uow: UnitOfWork, ids: Sequence[str], field: str) -> list[Goal]:
    return [load(uow, goal.KIND, goal_id, field) for goal_id in dict.fromkeys(ids)]


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4()}"


# -- organisation units -------------------------------------------------------------------------
# Each org-unit command first takes the store's append lock, so the facts it reads about other
# units (siblings, the council, units below) cannot change before its own events are appended.


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
        uow.store.lock_appends(uow.conn)
        parent = load(uow, organisation.KIND, parent_id, "parent_id") if parent_id else None
        return OrgUnit.create(
            unit_id,
            name,
            kind,
            parent,
            sibling_names=queries.sibling_names(uow.conn, parent_id),
            # only the kinds a municipality has one of are counted (not every school)
            open_of_kind=(
                queries.open_units_of_kind(uow.conn, kind)
                if kind in organisation.SINGLE_KINDS
                else 0
            ),
        )

    return create(uow, metadata, organisation.KIND, unit_id, decide)


def _change_unit(
    uow: UnitOfWork,
    metadata: Metadata,
    unit_id: str,
    expected_version: int | None,
    decide: Callable[[OrgUnit], list[DomainEvent]],
) -> OrgUnit:
    """shared.commands.change, with the append lock taken before anything is read."""
    return change(
        uow, metadata, organisation.KIND, unit_id, expected_version, decide, lock_appends=True
    )


def rename_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, name: str
) -> OrgUnit:
    def decide(unit: OrgUnit) -> list[DomainEvent]:
        siblings = queries.sibling_names(uow.conn, unit.parent_id, excluding=unit.id)
        return unit.rename(name, sibling_names=siblings)

    return _change_unit(uow, metadata, unit_id, expected_version, decide)


def move_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, parent_id: str
) -> OrgUnit:
    def decide(unit: OrgUnit) -> list[DomainEvent]:
        parent = load(uow, organisation.KIND, parent_id, "parent_id")
        return unit.move(
            parent,
            queries.ancestry(uow.conn, parent_id),
            sibling_names=queries.sibling_names(uow.conn, parent_id, excluding=unit.id),
        )

    return _change_unit(uow, metadata, unit_id, expected_version, decide)


def close_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, reason: str
) -> OrgUnit:
    def decide(unit: OrgUnit) -> list[DomainEvent]:
        return unit.close(reason, open_below=queries.open_units_below(uow.conn, unit.id))

    return _change_unit(uow, metadata, unit_id, expected_version, decide)


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
    today = values.today()

    def decide(doc: SteeringDocument) -> list[DomainEvent]:
        decider = resolve_decider(uow, decision.decided_by)
        ancestry = queries.ancestry(uow.conn, doc.owner_unit_id)
        return doc.adopt(decision, decider, ancestry, today=today)

    return change(uow, metadata, documents.KIND, document_id, expected_version, decide)


def revise_document(
    uow: UnitOfWork,
    metadata: Metadata,
    document_id: str,
    expected_version: int | None,
    changes: dict[str, Any],
    decision: Decision,
) -> SteeringDocument:
    today = values.today()

    def decide(doc: SteeringDocument) -> list[DomainEvent]:
        decider = resolve_decider(uow, decision.decided_by)
        ancestry = queries.ancestry(uow.conn, doc.owner_unit_id)
        content = replace(doc.content, **changes)
        return doc.revise(content, decision, decider, ancestry, today=today)

    return change(uow, metadata, documents.KIND, document_id, expected_version, decide)


def repeal_document(
    uow: UnitOfWork,
    metadata: Metadata,
    document_id: str,
    expected_version: int | None,
    reason: str,
    decision: Decision,
) -> SteeringDocument:
    today = values.today()

    def decide(doc: SteeringDocument) -> list[DomainEvent]:
        decider = resolve_decider(uow, decision.decided_by)
        ancestry = queries.ancestry(uow.conn, doc.owner_unit_id)
        return doc.repeal(reason, decision, decider, ancestry, today=today)

    return change(uow, metadata, documents.KIND, document_id, expected_version, decide)


# -- development areas --------------------------------------------------------------------------


def define_area(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    name: str,
    description: str,
    plan_id: str | None,
    decision: Decision,
    area_id: str | None = None,
) -> DevelopmentArea:
    area_id = area_id or new_id(areas.STREAM_PREFIX)
    today = values.today()

    def decide() -> list[DomainEvent]:
        plan_type = None
        if plan_id:
            plan: SteeringDocument = load(uow, documents.KIND, plan_id, "plan_id")
            plan_type = plan.doc_type
        decider = resolve_decider(uow, decision.decided_by)
        return DevelopmentArea.define(
            area_id, name, description, plan_id, plan_type, decision, decider, today=today
        )

    return create(uow, metadata, areas.KIND, area_id, decide)


def retire_area(
    uow: UnitOfWork,
    metadata: Metadata,
    area_id: str,
    expected_version: int | None,
    reason: str,
    decision: Decision,
) -> DevelopmentArea:
    today = values.today()

    def decide(area: DevelopmentArea) -> list[DomainEvent]:
        decider = resolve_decider(uow, decision.decided_by)
        return area.retire(reason, decision, decider, today=today)

    return change(uow, metadata, areas.KIND, area_id, expected_version, decide)


# -- goals --------------------------------------------------------------------------------------


def _placement_facts(uow: UnitOfWork, placement: Placement) -> tuple[list[Goal], bool, str | None]:
    """The strategic goals a placement derives from, whether its area is active, and the
    document type of its programme."""
    sources = _goals(uow, placement.derived_from, "derived_from")
    area_active = True
    if placement.development_area_id:
        area: DevelopmentArea = load(
            uow, areas.KIND, placement.development_area_id, "development_area_id"
        )
        area_active = area.status == "active"
    programme_type = None
    if placement.programme_id:
        programme: SteeringDocument = load(
            uow, documents.KIND, placement.programme_id, "programme_id"
        )
        programme_type = programme.doc_type
    return sources, area_active, programme_type


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

    def decide() -> list[DomainEvent]:
        owner = unit_facts(uow, owner_unit_id)
        sources, area_active, programme_type = _placement_facts(uow, placement)
        predecessors = _goals(uow, lineage.predecessors, "lineage.predecessors") if lineage else []
        return Goal.draft(
            goal_id,
            level,
            owner,
            period,
            content,
            placement,
            sources=sources,
            area_active=area_active,
            programme_type=programme_type,
            lineage=lineage,
            predecessors=predecessors,
        )

    return create(uow, metadata, goal.KIND, goal_id, decide)


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
        sources, area_active, programme_type = _placement_facts(uow, placement)
        owner = unit_facts(uow, state.owner_unit_id)
        return state.edit(content, placement, owner, sources, area_active, programme_type)

    return change(uow, metadata, goal.KIND, goal_id, expected_version, decide)


def adopt_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    decision: Decision,
) -> Goal:
    """Adopt a draft; a goal that carries earlier ones forward records that on each of them in
    the same transaction (only now: a draft successor may still be dropped)."""
    today = values.today()
    with uow:
        state: Goal = load(uow, goal.KIND, goal_id)
        if expected_version is not None and expected_version != state.version:
            raise ConcurrencyError(goal_id, expected_version, state.version)
        sources = _goals(uow, state.placement.derived_from, "derived_from")
        decider = resolve_decider(uow, decision.decided_by)
        events = state.adopt(decision, decider, sources, today=today)
        lineage = state.lineage
        predecessors = _goals(uow, lineage.predecessors, "lineage.predecessors") if lineage else []
        uow.append(
            goal_id, goal.STREAM_TYPE, state.version, [e.to_new_event() for e in events], metadata
        )
        for predecessor in predecessors:  # the lineage is recorded on both sides
            assert lineage is not None
            uow.append(
                predecessor.id,
                goal.STREAM_TYPE,
                predecessor.version,
                [e.to_new_event() for e in predecessor.carry_forward(goal_id, lineage.relation)],
                metadata,
            )
    for event in events:
        state = state.when(event)
    return state


def revise_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    changes: dict[str, Any],
    decision: Decision,
) -> Goal:
    today = values.today()

    def decide(state: Goal) -> list[DomainEvent]:
        content, placement = _changed(state, changes)
        sources, area_active, programme_type = _placement_facts(uow, placement)
        return state.revise(
            content,
            placement,
            decision,
            resolve_decider(uow, decision.decided_by),
            unit_facts(uow, state.owner_unit_id),
            sources,
            area_active,
            programme_type,
            today=today,
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
    today = values.today()

    def decide(state: Goal) -> list[DomainEvent]:
        decider = resolve_decider(uow, decision.decided_by)
        return state.retire(reason, decision, decider, today=today)

    return change(uow, metadata, goal.KIND, goal_id, expected_version, decide)


def evaluate_goal(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    expected_version: int | None,
    outcome: str,
    reasoning: str,
    evaluated_on: dt.date,
    decision: Decision,
) -> Goal:
    today = values.today()

    def decide(state: Goal) -> list[DomainEvent]:
        decider = resolve_decider(uow, decision.decided_by)
        return state.evaluate(outcome, reasoning, evaluated_on, decision, decider, today=today)

    return change(uow, metadata, goal.KIND, goal_id, expected_version, decide)


# -- indicators ---------------------------------------------------------------------------------


def define_indicator(
    uow: UnitOfWork,
    metadata: Metadata,
    goal_id: str,
    *,
    definition: Definition,
    decision: Decision,
    targets: Mapping[str, object] | Mapping[int, object] | None = None,
    thresholds: Thresholds | None = None,
    indicator_id: str | None = None,
) -> Indicator:
    """Define an indicator on a goal, with its first targets and thresholds in one command."""
    indicator_id = indicator_id or new_id(indicator.STREAM_PREFIX)
    today = values.today()

    def decide() -> list[DomainEvent]:
        owner: Goal = load(uow, goal.KIND, goal_id)
        decider = resolve_decider(uow, decision.decided_by)
        return Indicator.define(
            indicator_id,
            owner,
            definition,
            decision,
            decider,
            today=today,
            targets=targets,
            thresholds=thresholds,
        )

    return create(uow, metadata, indicator.KIND, indicator_id, decide)


def set_target(
    uow: UnitOfWork,
    metadata: Metadata,
    indicator_id: str,
    expected_version: int | None,
    year: object,
    value: object,
    decision: Decision,
) -> Indicator:
    today = values.today()

    def decide(state: Indicator) -> list[DomainEvent]:
        owner: Goal = load(uow, goal.KIND, state.goal_id)
        decider = resolve_decider(uow, decision.decided_by)
        return state.set_target(year, value, owner, decision, decider, today=today)

    return change(uow, metadata, indicator.KIND, indicator_id, expected_version, decide)


def set_thresholds(
    uow: UnitOfWork,
    metadata: Metadata,
    indicator_id: str,
    expected_version: int | None,
    thresholds: Thresholds,
    decision: Decision,
) -> Indicator:
    today = values.today()

    def decide(state: Indicator) -> list[DomainEvent]:
        owner: Goal = load(uow, goal.KIND, state.goal_id)
        decider = resolve_decider(uow, decision.decided_by)
        return state.set_thresholds(thresholds, owner, decision, decider, today=today)

    return change(uow, metadata, indicator.KIND, indicator_id, expected_version, decide)


def retire_indicator(
    uow: UnitOfWork,
    metadata: Metadata,
    indicator_id: str,
    expected_version: int | None,
    reason: str,
    decision: Decision,
) -> Indicator:
    today = values.today()

    def decide(state: Indicator) -> list[DomainEvent]:
        owner: Goal = load(uow, goal.KIND, state.goal_id)
        decider = resolve_decider(uow, decision.decided_by)
        return state.retire(reason, owner, decision, decider, today=today)

    return change(uow, metadata, indicator.KIND, indicator_id, expected_version, decide)
