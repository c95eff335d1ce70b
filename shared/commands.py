"""The two shapes of a command handler, the same in every service: create an aggregate, or
load it, let it decide and append what it decided — in one unit of work."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.aggregate import AggregateKind, DomainEvent, S, to_json
from shared.errors import NotFound
from shared.events import Metadata
from shared.store import ConcurrencyError
from shared.uow import UnitOfWork


def load(uow: UnitOfWork, kind: AggregateKind[S], entity_id: str, field: str | None = None) -> S:
    """The aggregate folded from its events, or NotFound naming the field that referred to it."""
    events = uow.load(entity_id)
    if not events or events[0].stream_type != kind.stream_type:
        what = kind.stream_type.replace("_", " ")
        raise NotFound(f"no {what} {entity_id}", {field: [f"no such {what}"]} if field else None)
    state = kind.fold_new(kind.events.decode_all(events))
    # the caller's access check runs as soon as the entity its command changes is loaded,
    # before any rule of the command is looked at (shared/access.py CommandGuard)
    uow.loaded(entity_id, lambda: _as_json(state))
    return state


def create(
    uow: UnitOfWork,
    metadata: Metadata,
    kind: AggregateKind[S],
    entity_id: str,
    decide: Callable[[], list[DomainEvent]],
) -> S:
    """Append the events that begin a new stream (a second creation is a ConcurrencyError)."""
    with uow:
        events = decide()
        uow.append(entity_id, kind.stream_type, 0, [e.to_new_event() for e in events], metadata)
    return kind.fold_new(events)


def change(
    uow: UnitOfWork,
    metadata: Metadata,
    kind: AggregateKind[S],
    entity_id: str,
    expected_version: int | None,
    decide: Callable[[S], list[DomainEvent]],
    *,
    lock_appends: bool = False,
) -> S:
    """Load, check If-Match's version, decide, append at the version loaded; the new state.

    `lock_appends` takes the store's append lock before the command's rules read other
    streams' facts that a concurrent command could change (unique names)."""
    with uow:
        state = load(uow, kind, entity_id)  # and the caller's access checked, before the lock
        if lock_appends:
            uow.store.lock_appends(uow.conn)
            # loaded before the lock: a change that came between is a conflict at append
        if expected_version is not None and expected_version != state.version:
            raise ConcurrencyError(entity_id, expected_version, state.version)
        events = decide(state)
        uow.append(
            entity_id, kind.stream_type, state.version, [e.to_new_event() for e in events], metadata
        )
    for event in events:
        state = state.when(event)
    return state


def _as_json(state: object) -> Mapping[str, Any]:
    data = to_json(state)
    assert isinstance(data, dict)
    return data
