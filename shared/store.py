"""The event store of one service on PostgreSQL (DESIGN.md §3).

Appends are serialised by a transaction-scoped advisory lock, taken before the head of the log
is read, all inside one server-side function (one round trip). So positions are gapless and
become visible strictly in order:
a reader that has seen position N will never later see a new event at a position below N.
The lock is held from the append to the commit of the command's transaction, which also
updates the service's own read models (docs/adr/0004).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from shared import envelope
from shared.events import (
    GENESIS_HASH,
    Metadata,
    NewEvent,
    RecordedEvent,
    Upcasters,
    canonical_head,
    canonical_tail,
    canonical_text,
    event_hash,
    normalise_json,
    split_type,
)

#: Channel on which each commit of new events is announced (the relay listens).
NOTIFY_CHANNEL = "styrkort_events"
#: The advisory lock that serialises appends (the same number is in the append function).
APPEND_LOCK = 7_151_000_002
#: SQLSTATE the append function raises when the stream is not at the expected version.
VERSION_CONFLICT = "SK409"
#: expected_version of a stream that must not exist yet.
NO_STREAM = 0

_COLUMNS = (
    "position, stream_id, stream_type, version, event_id, event_type, data, metadata, "
    "recorded_at, prev_hash, hash"
)


class ConcurrencyError(Exception):
    """The stream is not at the version the command expected (HTTP 409, or 412 with If-Match)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual}, but version {expected} was expected"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class VerifyReport:
    """The result of recomputing a store's hash chain."""

    checked: int
    last_position: int
    first_broken_position: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken_position is None


def _row_to_event(row: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(**row)


class EventStore:
    """Appends and reads events inside the caller's transaction (see shared.uow)."""

    def __init__(self, upcasters: Upcasters | None = None) -> None:
        self.upcasters = upcasters or Upcasters()

    # -- writing ------------------------------------------------------------------------------
    def append(
        self,
        conn: psycopg.Connection[Any],
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: Metadata,
    ) -> list[RecordedEvent]:
        """Append `events` to a stream at `expected_version`; they commit with the transaction."""
        if not events:
            return []
        for event in events:
            split_type(event.type)  # the type must carry its schema version
        meta = normalise_json(metadata.as_dict(), "metadata")
        payloads = [normalise_json(dict(event.data)) for event in events]
        event_ids = [uuid.uuid4() for _ in events]
        # The parts every event of the command shares are made canonical once.
        metadata_text = canonical_text(meta)
        stream_id_text, stream_type_text = canonical_text(stream_id), canonical_text(stream_type)
        payload = [
            {
                "event_id": str(event_id),
                "event_type": event.type,
                "data": data,
                "head": canonical_head(data, event_id, event.type, metadata_text),
                "tail": canonical_tail(stream_id_text, stream_type_text, expected_version + n),
            }
            for n, (event, data, event_id) in enumerate(
                zip(events, payloads, event_ids, strict=True), start=1
            )
        ]
        try:
            rows = conn.execute(
                "SELECT * FROM append_events(%s, %s, %s, %s, %s)",
                [stream_id, stream_type, expected_version, Jsonb(meta), Jsonb(payload)],
            ).fetchall()
        except psycopg.Error as exc:
            if exc.sqlstate == VERSION_CONFLICT:
                actual = int(exc.diag.message_detail or -1)
                raise ConcurrencyError(stream_id, expected_version, actual) from None
            if isinstance(exc, psycopg.errors.UniqueViolation):  # a racing first append
                raise ConcurrencyError(stream_id, expected_version, expected_version + 1) from exc
            raise
        return [
            RecordedEvent(
                position=position,
                stream_id=stream_id,
                stream_type=stream_type,
                version=expected_version + offset,
                event_id=event_id,
                event_type=event.type,
                data=data,
                metadata=meta,
                recorded_at=recorded_at,
                prev_hash=prev_hash,
                hash=hash_,
            )
            for offset, (
                event,
                data,
                event_id,
                (position, recorded_at, prev_hash, hash_),
            ) in enumerate(zip(events, payloads, event_ids, rows, strict=True), start=1)
        ]

    # -- reading ------------------------------------------------------------------------------
    def read_stream(
        self,
        conn: psycopg.Connection[Any],
        stream_id: str,
        *,
        as_of: datetime | None = None,
        after_version: int = 0,
    ) -> list[RecordedEvent]:
        """A stream's events in version order, upcast; only those recorded by `as_of` if given."""
        query = f"SELECT {_COLUMNS} FROM events WHERE stream_id = %s AND version > %s"
        params: list[Any] = [stream_id, after_version]
        if as_of is not None:
            query += " AND recorded_at <= %s"
            params.append(as_of)
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query + " ORDER BY version", params).fetchall()
        return [self.upcasters.upcast(_row_to_event(r)) for r in rows]

    def read_all(
        self,
        conn: psycopg.Connection[Any],
        after_position: int = 0,
        limit: int = 1000,
        *,
        stream_types: Sequence[str] | None = None,
        as_of: datetime | None = None,
        upcast: bool = True,
    ) -> list[RecordedEvent]:
        """Events after a position in position order; upcast unless asked for as recorded."""
        query = f"SELECT {_COLUMNS} FROM events WHERE position > %s"
        params: list[Any] = [after_position]
        if stream_types is not None:
            query += " AND stream_type = ANY(%s)"
            params.append(list(stream_types))
        if as_of is not None:
            query += " AND recorded_at <= %s"
            params.append(as_of)
        query += " ORDER BY position LIMIT %s"
        params.append(limit)
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, params).fetchall()
        if not upcast:
            return [_row_to_event(r) for r in rows]
        return [self.upcasters.upcast(_row_to_event(r)) for r in rows]

    def read_wire(
        self, conn: psycopg.Connection[Any], source: str, after_position: int, limit: int
    ) -> list[tuple[int, str, bytes]]:
        """(position, stream_id, CloudEvent as UTF-8 JSON) after a position: events as recorded,
        enveloped by the database (the relay's and export's fast path)."""
        params = {
            "source": source,
            "type_prefix": envelope.type_prefix(source),
            "after": after_position,
            "limit": limit,
        }
        return conn.execute(envelope.ENVELOPE_SQL, params).fetchall()

    def iterate_all(
        self, conn: psycopg.Connection[Any], after_position: int = 0, batch: int = 5000, **kw: Any
    ) -> Iterator[RecordedEvent]:
        """Every event after a position, fetched a batch at a time."""
        while True:
            events = self.read_all(conn, after_position, batch, **kw)
            yield from events
            if len(events) < batch:
                return
            after_position = events[-1].position

    @staticmethod
    def lock_appends(conn: psycopg.Connection[Any]) -> None:
        """Hold off every append until the caller's transaction ends (used by rebuild)."""
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK])

    def last_position(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
        return int(row[0]) if row else 0

    def stream_version(self, conn: psycopg.Connection[Any], stream_id: str) -> int:
        row = conn.execute(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = %s", [stream_id]
        ).fetchone()
        return int(row[0]) if row else 0

    # -- tamper evidence ----------------------------------------------------------------------
    def verify(self, conn: psycopg.Connection[Any], batch: int = 10_000) -> VerifyReport:
        """Recompute the hash chain from the first event; name the first broken position."""
        expected_prev = GENESIS_HASH
        expected_position = 1
        checked = 0
        with conn.cursor(row_factory=dict_row) as cur:
            after = 0
            while True:
                rows = cur.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s",
                    [after, batch],
                ).fetchall()
                for row in rows:
                    event = _row_to_event(row)
                    problem = _chain_problem(event, expected_position, expected_prev)
                    if problem:
                        return VerifyReport(checked, expected_position - 1, event.position, problem)
                    expected_prev = event.hash
                    expected_position += 1
                    checked += 1
                if len(rows) < batch:
                    return VerifyReport(checked, expected_position - 1)
                after = rows[-1]["position"]


def _chain_problem(event: RecordedEvent, expected_position: int, expected_prev: str) -> str | None:
    if event.position != expected_position:
        return f"position {expected_position} is missing (removed?); the next is {event.position}"
    if event.prev_hash != expected_prev:
        return "prev_hash does not match the hash of the previous event (chain relinked)"
    if event_hash(event.prev_hash, event) != event.hash:
        return "hash does not match the event's contents (row changed)"
    return None
