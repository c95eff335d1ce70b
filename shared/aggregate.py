"""The building blocks of aggregates: domain events as frozen dataclasses, and folding them.

Pure Python (no I/O): domain packages build on this. An aggregate declares its events as
nested classes, so its whole history vocabulary is in one file (STYLE.md, rule 3).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

from shared.events import JsonValue, NewEvent, RecordedEvent


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """A fact, named in the past tense. Subclasses set TYPE, e.g. `OrgUnitCreated.v1`."""

    TYPE: ClassVar[str]

    def to_new_event(self) -> NewEvent:
        return NewEvent(self.TYPE, self.as_data())

    def as_data(self) -> dict[str, JsonValue]:
        return {f.name: _to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_data(cls, data: Mapping[str, JsonValue]) -> Self:
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in data:
                values[f.name] = _from_json(hints[f.name], data[f.name])
        return cls(**values)


def _to_json(value: Any) -> JsonValue:
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if hasattr(value, "isoformat"):  # date and datetime travel as ISO 8601
        return value.isoformat()
    return value


def _from_json(hint: Any, value: JsonValue) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if value is None:
        return None
    if origin is tuple:
        return tuple(_from_json(args[0], v) for v in value)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _from_json(inner[0], value) if len(inner) == 1 else value
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
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
