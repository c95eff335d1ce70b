"""Events as values: what a command produces, what the store records, and how it is hashed.

An event type carries its schema version in its name: `GoalAdopted.v1`. When a shape changes,
the owning service adds `GoalAdopted.v2` and an upcaster from v1; stored events are never
rewritten (DESIGN.md §2).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64

JsonValue = Any  # None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]


class InvalidEventData(ValueError):
    """Event data that cannot be stored faithfully as JSON (and so could not be verified)."""


@dataclass(frozen=True)
class Metadata:
    """Who caused an event and in which conversation: recorded with every event."""

    actor: str
    correlation_id: str
    causation_id: str | None = None
    request_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        values = {
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "request_id": self.request_id,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class NewEvent:
    """An event a command decided on, not yet recorded. `type` is e.g. `OrgUnitCreated.v1`."""

    type: str
    data: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedEvent:
    """An event as the store holds it, with its place in the stream and in the service's log."""

    position: int
    stream_id: str
    stream_type: str
    version: int
    event_id: UUID
    event_type: str
    data: Mapping[str, JsonValue]
    metadata: Mapping[str, JsonValue]
    recorded_at: datetime
    prev_hash: str
    hash: str

    @property
    def name(self) -> str:
        """The event type without its schema version: `GoalAdopted`."""
        return split_type(self.event_type)[0]

    @property
    def schema_version(self) -> int:
        return split_type(self.event_type)[1]

    @property
    def actor(self) -> str | None:
        actor = self.metadata.get("actor")
        return str(actor) if actor is not None else None


def split_type(event_type: str) -> tuple[str, int]:
    """`GoalAdopted.v2` -> ("GoalAdopted", 2)."""
    name, _, version = event_type.rpartition(".v")
    if not name or not version.isdigit():
        raise ValueError(f"event type {event_type!r} must end in a version such as '.v1'")
    return name, int(version)


# -- canonical form and the hash chain ------------------------------------------------------


def normalise_json(value: JsonValue, path: str = "data") -> JsonValue:
    """The JSON value as PostgreSQL's jsonb will give it back, or InvalidEventData.

    jsonb keeps numbers as `numeric`: 1e16 comes back as the integer 10000000000000000 and
    -0.0 as 0.0. Normalising before hashing makes the hash of what we wrote equal the hash of
    what we read, so `verify` never reports a false break. jsonb cannot hold NUL characters,
    lone surrogates, NaN or infinities: those are refused, naming where they are.
    """
    try:
        return _normalise(value)
    except _BadValue as bad:
        raise InvalidEventData(f"{path}{''.join(reversed(bad.trail))}: {bad.reason}") from None


class _BadValue(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.trail: list[str] = []  # filled while unwinding: the path is built only on error


def _normalise(value: JsonValue) -> JsonValue:
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is dict or isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _BadValue(f"keys must be text, not {type(key).__name__}")
            try:
                result[_text(key)] = _normalise(item)
            except _BadValue as bad:
                bad.trail.append(f".{key}")
                raise
        return result
    if value is None or kind is bool or kind is int:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _BadValue(f"{value} is not a finite number")
        if value == 0:
            return 0.0
        if value.is_integer() and abs(value) >= 1e16:
            return int(value)
        return value
    if kind is list or kind is tuple:
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_normalise(item))
            except _BadValue as bad:
                bad.trail.append(f"[{index}]")
                raise
        return items
    for base in (bool, int, float, str):  # subclasses such as IntEnum: as their base value
        if isinstance(value, base):
            return _normalise(base(value))
    raise _BadValue(f"{type(value).__name__} is not a JSON value")


def _text(value: str) -> str:
    if "\x00" in value:
        raise _BadValue("text must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _BadValue(f"text is not valid Unicode ({exc.reason})") from None
    return value


def canonical_json(value: JsonValue) -> bytes:
    """Sorted keys, no whitespace, UTF-8: one byte string per JSON value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: `2026-03-14T09:12:00.123456Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_parts(
    *,
    event_id: UUID,
    event_type: str,
    data: Mapping[str, JsonValue],
    metadata: Mapping[str, JsonValue],
    stream_id: str,
    stream_type: str,
    version: int,
) -> tuple[str, str]:
    """The canonical JSON of an event, split around its position and recorded_at.

    Keys in sorted order: data, event_id, event_type, metadata, position, recorded_at,
    stream_id, stream_type, version. The store's append function fills in the two values
    only the database knows (shared/migrations/0001_event_store.sql).
    """

    return (
        canonical_head(canonical_text(data), event_id, event_type, canonical_text(metadata)),
        canonical_tail(canonical_text(stream_id), canonical_text(stream_type), version),
    )


def canonical_text(value: JsonValue) -> str:
    return canonical_json(value).decode("utf-8")


def canonical_head(
    data_text: str, event_id: UUID | str, event_type: str, metadata_text: str
) -> str:
    """The canonical JSON of an event up to its position (see canonical_parts); `data_text`
    and `metadata_text` are canonical_text of the data and metadata."""
    return (
        f'{{"data":{data_text},"event_id":"{event_id}",'
        f'"event_type":{_type_text(event_type)},"metadata":{metadata_text},"position":'
    )


@functools.lru_cache(maxsize=1024)
def _type_text(event_type: str) -> str:
    """Event types are few and repeat: their canonical text is made once."""
    return canonical_text(event_type)


def canonical_tail(stream_id_text: str, stream_type_text: str, version: int) -> str:
    """The canonical JSON of an event after its recorded_at (see canonical_parts)."""
    return f',"stream_id":{stream_id_text},"stream_type":{stream_type_text},"version":{version}}}'


def event_hash(prev_hash: str, event: RecordedEvent) -> str:
    """sha256(prev_hash ‖ canonical JSON of the event), hex."""
    head, tail = canonical_parts(
        event_id=event.event_id,
        event_type=event.event_type,
        data=event.data,
        metadata=event.metadata,
        stream_id=event.stream_id,
        stream_type=event.stream_type,
        version=event.version,
    )
    return chain_hash(prev_hash, head, event.position, format_time(event.recorded_at), tail)


def chain_hash(prev_hash: str, head: str, position: int, recorded_at: str, tail: str) -> str:
    """sha256(prev_hash ‖ canonical JSON), the JSON given as its parts (see canonical_parts);
    `recorded_at` as format_time gives it."""
    body = f'{head}{position},"recorded_at":"{recorded_at}"{tail}'
    return hashlib.sha256(bytes.fromhex(prev_hash) + body.encode("utf-8")).hexdigest()


# -- upcasting --------------------------------------------------------------------------------

Upcast = Callable[[Mapping[str, JsonValue]], Mapping[str, JsonValue]]


class Upcasters:
    """Turns stored events of old schema versions into the current shape, on read."""

    def __init__(self) -> None:
        self._steps: dict[str, tuple[str, Upcast]] = {}

    def register(self, from_type: str, to_type: str, upcast: Upcast) -> None:
        _, version_from = split_type(from_type)
        _, version_to = split_type(to_type)
        if version_to <= version_from:
            raise ValueError(f"an upcaster must raise the version: {from_type} -> {to_type}")
        if from_type in self._steps:
            raise ValueError(f"{from_type} already has an upcaster")
        self._steps[from_type] = (to_type, upcast)

    def upcast(self, event: RecordedEvent) -> RecordedEvent:
        seen = set()
        while event.event_type in self._steps:
            if event.event_type in seen:  # pragma: no cover - register() forbids cycles
                raise RuntimeError(f"upcaster cycle at {event.event_type}")
            seen.add(event.event_type)
            to_type, upcast = self._steps[event.event_type]
            event = replace(event, event_type=to_type, data=upcast(event.data))
        return event
