"""The building blocks of aggregates: domain events as frozen dataclasses, and folding them.

Pure Python (no I/O): domain packages build on this. An aggregate declares its events as
nested classes, so its whole history vocabulary is in one file (STYLE.md, rule 3). Events and
aggregate states turn into JSON and back by their type hints (`to_json` / `from_json`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from shared.events import JsonValue, NewEvent, RecordedEvent


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """A fact, named in the past tense. Subclasses set TYPE, e.g. `OrgUnitCreated.v1`."""

    TYPE: ClassVar[str]

    def to_new_event(self) -> NewEvent:
        return NewEvent(self.TYPE, self.as_data())

    def as_data(self) -> dict[str, JsonValue]:
        data = to_json(self)
        assert isinstance(data, dict)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, JsonValue]) -> Self:
        event: Self = from_json(cls, data)
        return event


def to_json(value: Any) -> JsonValue:
    """Dataclasses, tuples, dates and mappings as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, dt.date):  # date and datetime travel as ISO 8601
        return value.isoformat()
    return value


def from_json(hint: Any, value: Any) -> Any:
    """The inverse of to_json, guided by a type hint (a dataclass, tuple[...], date, ...)."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return from_json(inner[0], value) if len(inner) == 1 else value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        return hint(
            **{
                f.name: from_json(hints[f.name], value[f.name])
                for f in dataclasses.fields(hint)
                if f.name in value
            }
        )
    if origin is tuple:
        return tuple(from_json(args[0], v) for v in value)
    if origin is dict:
        return {from_json(args[0], k): from_json(args[1], v) for k, v in value.items()}
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if hint is int and isinstance(value, str):  # dict keys such as target years
        return int(value)
    return value


class EventRegistry:
    """Maps stored event types to the event classes of one aggregate."""

    def __init__(self, *classes: type[DomainEvent]) -> None:
        self.classes = {cls.TYPE: cls for cls in classes}

    def decode(self, event: RecordedEvent) -> DomainEvent:
        try:
            cls = self.classes[event.event_type]
        except KeyError:
            raise ValueError(f"unknown event type {event.event_type}") from None
        return cls.from_data(event.data)

    def decode_all(self, events: Iterable[RecordedEvent]) -> list[DomainEvent]:
        return [self.decode(e) for e in events]


class Aggregate(Protocol):
    """What generic code needs of an aggregate's state: its version and how it folds."""

    @property
    def version(self) -> int: ...

    def when(self, event: Any) -> Self: ...


S = TypeVar("S", bound=Aggregate)


@dataclasses.dataclass(frozen=True)
class AggregateKind(Generic[S]):
    """An aggregate type as generic code sees it: its stream type, events and folds."""

    stream_type: str
    state: type[S]
    events: EventRegistry
    #: the state after the stream's first event
    start: typing.Callable[[Any], S]

    def fold(self, events: Iterable[DomainEvent]) -> S | None:
        state: S | None = None
        for event in events:
            state = self.start(event) if state is None else state.when(event)
        return state

    def fold_new(self, events: Iterable[DomainEvent]) -> S:
        """The state after the events that begin a stream (there is at least one)."""
        state = self.fold(events)
        if state is None:
            raise ValueError(f"no events to begin a {self.stream_type}")
        return state

    def restore(self, data: Mapping[str, Any]) -> S:
        restored: S = from_json(self.state, data)
        return restored
