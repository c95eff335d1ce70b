"""The building blocks of aggregates: domain events as frozen dataclasses, and folding them.

Pure Python (no I/O): domain packages build on this. An aggregate declares its events as
nested classes, so its whole history vocabulary is in one file (STYLE.md, rule 3). Events and
aggregate states turn into JSON and back by their type hints (`to_json` / `from_json`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
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


_PLAIN = (str, int, float, bool, type(None))


def to_json(value: Any) -> JsonValue:
    """Dataclasses, tuples, dates and mappings as JSON values."""
    if isinstance(value, _PLAIN):
        return value
    names = _field_names(type(value))  # type: ignore[arg-type]  # types hash
    if names is not None:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, dt.date):  # date and datetime travel as ISO 8601
        return value.isoformat()
    return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type (once per type), None for any other type."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return None


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    """A dataclass's fields with their resolved type hints, worked out once per class (the
    annotations are strings, and resolving them cost most of folding an event)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def from_json(hint: Any, value: Any) -> Any:
    """The inverse of to_json, guided by a type hint (a dataclass, tuple[...], date, ...)."""
    return _decoder(hint)(value)


def _as_is(value: Any) -> Any:
    return value


@functools.cache
def _decoder(hint: Any) -> typing.Callable[[Any], Any]:
    """The function that reads JSON as `hint`, built once per type: a rebuild decodes
    hundreds of thousands of events, and asking the type the same questions each time cost
    more than the database (bench/reports)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    convert: typing.Callable[[Any], Any]
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        convert = _decoder(inner[0]) if len(inner) == 1 else _as_is
    elif dataclasses.is_dataclass(hint) and isinstance(hint, type):
        cls = hint
        fields = tuple((name, _decoder(field)) for name, field in _fields(cls))

        def convert(value: Any) -> Any:
            return cls(**{name: read(value[name]) for name, read in fields if name in value})

    elif origin is tuple:
        item = _decoder(args[0])

        def convert(value: Any) -> Any:
            return tuple(item(v) for v in value)

    elif origin is dict:
        key, val = _decoder(args[0]), _decoder(args[1])

        def convert(value: Any) -> Any:
            return {key(k): val(v) for k, v in value.items()}

    elif hint is dt.date:
        convert = dt.date.fromisoformat
    elif hint is dt.datetime:
        convert = dt.datetime.fromisoformat
    elif hint is int:

        def convert(value: Any) -> Any:
            return int(value) if isinstance(value, str) else value  # dict keys: target years

    else:
        convert = _as_is

    def read(value: Any) -> Any:
        return None if value is None else convert(value)

    return read


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
