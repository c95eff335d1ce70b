"""The CloudEvents 1.0 envelope of an event on the wire: Kafka values, HTTP feeds, exports.

One function pair converts: `to_cloudevent` / `from_cloudevent`; `encode` / `decode` turn the
envelope into UTF-8 JSON bytes and back. Extension attributes (lower-case, as CloudEvents
requires) carry the event's place in its stream and the service's log, who caused it, and the
hash chain, so a data warehouse can verify what it loads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events import RecordedEvent, format_time, split_type

SPEC_VERSION = "1.0"
TYPE_PREFIX = "styrkort."

# metadata key in the store -> CloudEvents extension attribute
_METADATA_ATTRIBUTES = {
    "actor": "actor",
    "correlation_id": "correlationid",
    "causation_id": "causationid",
    "request_id": "requestid",
}
_REQUIRED = ("specversion", "id", "source", "type", "subject", "time", "data")
_REQUIRED_EXTENSIONS = ("position", "streamtype", "streamversion")


class InvalidEnvelope(ValueError):
    """A message that is not a styrkort CloudEvent; says which attribute is wrong."""


@dataclass(frozen=True)
class ReceivedEvent:
    """An event read off the wire: which service it came from, and the event."""

    source: str
    event: RecordedEvent

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]


def to_cloudevent(event: RecordedEvent, source: str) -> dict[str, Any]:
    """The envelope of one recorded event of the service whose `source` is `/styrkort/<name>`."""
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "source": source,
        "type": f"{type_prefix(source)}{event.event_type}",
        "subject": event.stream_id,
        "time": format_time(event.recorded_at),
        "datacontenttype": "application/json",
        "position": event.position,
        "streamtype": event.stream_type,
        "streamversion": event.version,
    }
    for key, attribute in _METADATA_ATTRIBUTES.items():
        if event.metadata.get(key) is not None:
            envelope[attribute] = event.metadata[key]
    envelope["prevhash"] = event.prev_hash
    envelope["hash"] = event.hash
    envelope["data"] = event.data
    return envelope


# The same envelope built by PostgreSQL, for the relay and exports: the database does the JSON
# work on its own core while Python only hands bytes to Kafka (docs/adr/0004). Parameters:
# source, type prefix ("styrkort.goals."), after position, limit. Its output equals
# to_cloudevent's (tests/integration/test_envelope_sql.py).
ENVELOPE_SQL = """
    SELECT position, stream_id, convert_to((
        jsonb_build_object(
            'specversion', '1.0', 'id', event_id, 'source', %(source)s::text,
            'type', %(type_prefix)s::text || event_type, 'subject', stream_id,
            'time', to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'datacontenttype', 'application/json', 'position', position,
            'streamtype', stream_type, 'streamversion', version,
            'prevhash', prev_hash, 'hash', hash, 'data', data)
        || jsonb_strip_nulls(jsonb_build_object(
            'actor', metadata -> 'actor', 'correlationid', metadata -> 'correlation_id',
            'causationid', metadata -> 'causation_id', 'requestid', metadata -> 'request_id'))
        )::text, 'UTF8')
      FROM events WHERE position > %(after)s ORDER BY position LIMIT %(limit)s"""


# The same envelope again as JSON text put together by one concat() a row, for the warehouse
# export (shared/admin.py): no jsonb is built and the text is allocated once, so it runs at
# about half to two thirds of the speed of a bare COPY of the table (bench/warehouse.py), where
# ENVELOPE_SQL's jsonb_build_object ran at a fifth. Keys in to_cloudevent's order; strings
# escaped by to_json, data and metadata values as jsonb writes them; a metadata attribute left
# out when absent or null (concat skips NULL). The time: the UTC timestamp as text (DateStyle
# ISO, set by the caller) with its fraction padded to six digits and a "T", what format_time
# gives, without to_char's cost. Its output equals to_cloudevent's
# (tests/integration/test_envelope_sql.py). Event and stream types are few: their JSON text is
# looked up in the maps `types` (event type -> the CloudEvents type as a JSON string) and
# `stream_types` (-> a JSON string) the caller makes once (export_type_maps), as to_json
# per row was the query's largest cost; a type missing from a map is escaped by to_json.
# Parameters: source_json (the source as a JSON string), type_prefix, types, stream_types,
# after (a position).
EXPORT_SQL = """
    SELECT concat('{"specversion":"1.0","id":"', event_id,
        '","source":', %(source_json)s::text,
        ',"type":', coalesce(%(types)s::jsonb ->> event_type,
                             to_json(%(type_prefix)s::text || event_type)::text),
        ',"subject":', to_json(stream_id),
        ',"time":"', overlay(rpad(CASE WHEN length(t.utc) = 19 THEN t.utc || '.' ELSE t.utc
                                  END, 26, '0') PLACING 'T' FROM 11 FOR 1),
        'Z","datacontenttype":"application/json","position":', position,
        ',"streamtype":', coalesce(%(stream_types)s::jsonb ->> stream_type,
                                   to_json(stream_type)::text),
        ',"streamversion":', version,
        ',"actor":' || nullif(metadata -> 'actor', 'null')::text,
        ',"correlationid":' || nullif(metadata -> 'correlation_id', 'null')::text,
        ',"causationid":' || nullif(metadata -> 'causation_id', 'null')::text,
        ',"requestid":' || nullif(metadata -> 'request_id', 'null')::text,
        ',"prevhash":"', prev_hash, '","hash":"', hash, '","data":', data, '}')
      FROM events CROSS JOIN LATERAL (SELECT (recorded_at AT TIME ZONE 'UTC')::text AS utc) t
     WHERE position > %(after)s ORDER BY position"""


def export_type_maps(source: str, types: Iterable[tuple[str, str]]) -> dict[str, str]:
    """EXPORT_SQL's `types` and `stream_types` parameters (JSON objects as text) for the
    (stream type, event type) pairs an export will meet."""
    pairs = list(types)
    prefix = type_prefix(source)
    event_types = {e: json.dumps(f"{prefix}{e}", ensure_ascii=False) for _, e in pairs}
    stream_types = {s: json.dumps(s, ensure_ascii=False) for s, _ in pairs}
    return {"types": json.dumps(event_types), "stream_types": json.dumps(stream_types)}


def type_prefix(source: str) -> str:
    """`/styrkort/goals` -> `styrkort.goals.`"""
    return f"{TYPE_PREFIX}{source.rsplit('/', 1)[-1]}."


def from_cloudevent(envelope: Mapping[str, Any]) -> ReceivedEvent:
    """The event inside an envelope, or InvalidEnvelope naming what is wrong."""
    if not isinstance(envelope, Mapping):
        raise InvalidEnvelope("a CloudEvent must be a JSON object")
    for name in (*_REQUIRED, *_REQUIRED_EXTENSIONS):
        if name not in envelope:
            raise InvalidEnvelope(f"attribute '{name}' is missing")
    if envelope["specversion"] != SPEC_VERSION:
        raise InvalidEnvelope(f"specversion must be '1.0', not {envelope['specversion']!r}")
    source = _text(envelope, "source")
    prefix = type_prefix(source)
    type_ = _text(envelope, "type")
    if not type_.startswith(prefix):
        raise InvalidEnvelope(f"type {type_!r} does not start with {prefix!r} (from source)")
    event_type = type_[len(prefix) :]
    try:
        split_type(event_type)
        event_id = uuid.UUID(_text(envelope, "id"))
        recorded_at = datetime.fromisoformat(_text(envelope, "time"))
    except ValueError as exc:
        raise InvalidEnvelope(str(exc)) from exc
    if recorded_at.tzinfo is None:
        raise InvalidEnvelope("attribute 'time' must carry a time zone")
    if not isinstance(envelope["data"], Mapping):
        raise InvalidEnvelope("attribute 'data' must be a JSON object")
    metadata = {
        key: envelope[attribute]
        for key, attribute in _METADATA_ATTRIBUTES.items()
        if envelope.get(attribute) is not None
    }
    event = RecordedEvent(
        position=_positive(envelope, "position"),
        stream_id=_text(envelope, "subject"),
        stream_type=_text(envelope, "streamtype"),
        version=_positive(envelope, "streamversion"),
        event_id=event_id,
        event_type=event_type,
        data=dict(envelope["data"]),
        metadata=metadata,
        recorded_at=recorded_at,
        prev_hash=str(envelope.get("prevhash", "")),
        hash=str(envelope.get("hash", "")),
    )
    return ReceivedEvent(source=source, event=event)


def encode(envelope: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON (å, ä, ö as themselves, not escaped)."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(payload: bytes | None) -> dict[str, Any]:
    if payload is None:
        raise InvalidEnvelope("the message has no value (a tombstone?)")
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEnvelope(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidEnvelope("a CloudEvent must be a JSON object")
    return value


def _text(envelope: Mapping[str, Any], name: str) -> str:
    value = envelope[name]
    if not isinstance(value, str) or not value:
        raise InvalidEnvelope(f"attribute '{name}' must be a non-empty string")
    return value


def _positive(envelope: Mapping[str, Any], name: str) -> int:
    value = envelope[name]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidEnvelope(f"attribute '{name}' must be a positive integer")
    return value
