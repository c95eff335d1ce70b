"""Command handlers of the goals service: load the aggregate, decide, append — one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from services.goals import queries
from services.goals.domain.organisation import EVENTS, STREAM_PREFIX, STREAM_TYPE, OrgUnit
from shared.aggregate import DomainEvent
from shared.errors import NotFound
from shared.events import Metadata
from shared.store import ConcurrencyError
from shared.uow import UnitOfWork


def _load_unit(uow: UnitOfWork, unit_id: str, field: str | None = None) -> OrgUnit:
    unit = OrgUnit.replay(EVENTS.decode_all(uow.load(unit_id)))
    if unit is None:
        fields = {field: ["no such organisation unit"]} if field else None
        raise NotFound(f"no organisation unit {unit_id}", fields)
    return unit


def create_org_unit(
    uow: UnitOfWork,
    metadata: Metadata,
    *,
    name: str,
    kind: str,
    parent_id: str | None,
    unit_id: str | None = None,
) -> OrgUnit:
    with uow:
        parent = _load_unit(uow, parent_id, "parent_id") if parent_id else None
        unit_id = unit_id or f"{STREAM_PREFIX}{uuid.uuid4()}"
        events = OrgUnit.create(unit_id, name, kind, parent)
        uow.append(unit_id, STREAM_TYPE, 0, [e.to_new_event() for e in events], metadata)
    unit = OrgUnit.replay(events)
    assert unit is not None
    return unit


def _change_unit(
    uow: UnitOfWork,
    metadata: Metadata,
    unit_id: str,
    expected_version: int | None,
    decide: Callable[[OrgUnit], list[DomainEvent]],
) -> OrgUnit:
    with uow:
        unit = _load_unit(uow, unit_id)
        if expected_version is not None and expected_version != unit.version:
            raise ConcurrencyError(unit_id, expected_version, unit.version)
        events = decide(unit)
        uow.append(unit_id, STREAM_TYPE, unit.version, [e.to_new_event() for e in events], metadata)
    for event in events:
        unit = unit.when(event)
    return unit


def rename_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, name: str
) -> OrgUnit:
    return _change_unit(uow, metadata, unit_id, expected_version, lambda u: u.rename(name))


def move_org_unit(
    uow: UnitOfWork,
    metadata: Metadata,
    unit_id: str,
    expected_version: int | None,
    parent_id: str,
) -> OrgUnit:
    def decide(unit: OrgUnit) -> list[DomainEvent]:
        parent = _load_unit(uow, parent_id, "parent_id")
        return unit.move(parent, queries.ancestry(uow.conn, parent_id))

    return _change_unit(uow, metadata, unit_id, expected_version, decide)


def close_org_unit(
    uow: UnitOfWork, metadata: Metadata, unit_id: str, expected_version: int | None, reason: str
) -> OrgUnit:
    return _change_unit(uow, metadata, unit_id, expected_version, lambda u: u.close(reason))
