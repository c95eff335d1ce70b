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
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from shared import envelope
from shared.errors import EventTooLarge
from shared.events import (
    GENESIS_HASH,
    Metadata,
    NewEvent,
    RecordedEvent,
    Upcasters,
    canonical_head,
    canonical_tail,
    canonical_text,
    chain_hash,
    event_hash,
    format_time,
    normalise_json,
    split_type,
)

#: Channel on which each commit of new events is announced (claim_append; the relay listens).
NOTIFY_CHANNEL = "styrkort_events"
#: The advisory lock that serialises appends (the same number is in the append function).
APPEND_LOCK = 7_151_000_002
#: SQLSTATE the append function raises when the stream is not at the expected version.
VERSION_CONFLICT = "SK409"
#: The unique constraint on (stream_id, version): a duplicate there is a version conflict.
STREAM_VERSION_KEY = "events_stream_id_version_key"
#: expected_version of a stream that must not exist yet.
NO_STREAM = 0

_COLUMNS = (
    "position, stream_id, stream_type, version, event_id, event_type, data, metadata, "
    "recorded_at, prev_hash, hash"
)


#: From this many events in one append, rows go in by COPY (see _append_by_copy).
COPY_AT = 50

#: The largest CloudEvent (UTF-8 bytes) a store accepts by default: below Kafka's default
#: message.max.bytes (1,048,588) and the producer's max_request_size (1,048,576).
MAX_MESSAGE_BYTES = 1_000_000
#: Bytes of an envelope besides data, metadata, stream id and type, event type and source,
#: bounded above: attribute names, id, time, position, version, both hashes, the Kafka key
#: and record overhead (tests/integration/test_size_limits.py checks the bound).
ENVELOPE_OVERHEAD = 600


def _number_growth(value: Any) -> int:
    """How many bytes longer PostgreSQL writes the numbers of a value than Python's JSON:
    numeric has no exponent, so 1e-300 comes out as 0.000...1."""
    if type(value) is float:
        text = repr(value)
        return len(format(Decimal(text), "f")) - len(text) if "e" in text else 0
    if type(value) is dict:
        return sum(_number_growth(item) for item in value.values())
    if type(value) is list:
        return sum(_number_growth(item) for item in value)
    return 0


def _json_bytes(text: str) -> int:
    """UTF-8 bytes of canonical JSON as jsonb writes it: a space after every ':' and ','
    (counted also where they stand in strings: an upper bound)."""
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return size + text.count(",") + text.count(":")


def envelope_size_bound(data: Any, data_text: str, fixed: int, event_type: str) -> int:
    """An upper bound of the bytes of an event's CloudEvent as the relay sends it (the
    envelope of shared/envelope.ENVELOPE_SQL) with its key: `fixed` counts what the events
    of one append share (metadata, stream id and type, source, overhead)."""
    growth = _number_growth(data) if "e-" in data_text else 0
    return fixed + _json_bytes(data_text) + growth + len(event_type)


def _copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t")
        value = value.replace("\n", "\\n").replace("\r", "\\r")
    return value


@dataclass(frozen=True)
class _Prepared:
    """An event ready to append: normalised data, its id and its canonical JSON parts."""

    event_type: str
    data: Any
    data_text: str  # canonical JSON of data: hashed, and written as is by COPY
    event_id: uuid.UUID
    event_id_text: str
    head: str
    tail: str


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

    def __init__(
        self, upcasters: Upcasters | None = None, max_message_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        self.upcasters = upcasters or Upcasters()
        #: events whose CloudEvent would be larger are refused (EventTooLarge): the broker
        #: would refuse them, and the relay could not pass them
        self.max_message_bytes = max_message_bytes

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
        """Append `events` to a stream at `expected_version`; they commit with the transaction.

        An event whose CloudEvent would exceed `max_message_bytes` is refused with
        EventTooLarge, and nothing of the command is appended."""
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
        # stream id twice (subject, Kafka key); the longest source and prefix of any service
        fixed = ENVELOPE_OVERHEAD + 2 * _json_bytes(stream_id_text) + _json_bytes(stream_type_text)
        fixed += 2 * len(envelope.type_prefix("/styrkort/reports"))
        fixed += _json_bytes(metadata_text)
        limit = self.max_message_bytes
        prepared = []
        for n, (event, data, event_id) in enumerate(
            zip(events, payloads, event_ids, strict=True), start=1
        ):
            data_text = canonical_text(data)
            # 4 bytes a character bound UTF-8 and jsonb's spaces: most events are measured no
            # further; numbers grow only when the data has exponents
            if 4 * len(data_text) + fixed + len(event.type) > limit or (
                "e-" in data_text and _number_growth(data)
            ):
                size = envelope_size_bound(data, data_text, fixed, event.type)
                if size > limit:
                    raise EventTooLarge(event.type, size, limit)
            id_text = str(event_id)
            prepared.append(
                _Prepared(
                    event.type,
                    data,
                    data_text,
                    event_id,
                    id_text,
                    canonical_head(data_text, id_text, event.type, metadata_text),
                    canonical_tail(stream_id_text, stream_type_text, expected_version + n),
                )
            )
        append = self._append_by_copy if len(events) >= COPY_AT else self._append_by_function
        try:
            return append(conn, stream_id, stream_type, expected_version, meta, prepared)
        except psycopg.Error as exc:
            if exc.sqlstate == VERSION_CONFLICT:
                actual = int(exc.diag.message_detail or -1)
                raise ConcurrencyError(stream_id, expected_version, actual) from None
            if (
                isinstance(exc, psycopg.errors.UniqueViolation)
                and exc.diag.constraint_name == STREAM_VERSION_KEY
            ):  # the stream moved on under us; any other duplicate (position, id) is a bug
                raise ConcurrencyError(stream_id, expected_version, expected_version + 1) from exc
            raise

    def _append_by_function(
        self,
        conn: psycopg.Connection[Any],
        stream_id: str,
        stream_type: str,
        expected_version: int,
        meta: dict[str, Any],
        prepared: list[_Prepared],
    ) -> list[RecordedEvent]:
        """One round trip: the database locks, checks, chains and inserts (append_events)."""
        payload = [
            {
                "event_id": p.event_id_text,
                "event_type": p.event_type,
                "data": p.data,
                "head": p.head,
                "tail": p.tail,
            }
            for p in prepared
        ]
        rows = conn.execute(
            "SELECT * FROM append_events(%s, %s, %s, %s, %s)",
            [stream_id, stream_type, expected_version, Jsonb(meta), Jsonb(payload)],
        ).fetchall()
        return [
            RecordedEvent(
                position,
                stream_id,
                stream_type,
                expected_version + n,
                p.event_id,
                p.event_type,
                p.data,
                meta,
                recorded_at,
                prev_hash,
                hash_,
            )
            for n, (p, (position, recorded_at, prev_hash, hash_)) in enumerate(
                zip(prepared, rows, strict=True), start=1
            )
        ]

    def _append_by_copy(
        self,
        conn: psycopg.Connection[Any],
        stream_id: str,
        stream_type: str,
        expected_version: int,
        meta: dict[str, Any],
        prepared: list[_Prepared],
    ) -> list[RecordedEvent]:
        """For many events: lock and read the head, chain the hashes here, COPY the rows.

        The same lock, checks and hash as append_events; COPY writes rows several times faster
        than inserts when a command (an import, a seed) brings hundreds of events.
        """
        row = conn.execute(
            "SELECT * FROM claim_append(%s, %s, %s)", [stream_id, expected_version, len(prepared)]
        ).fetchone()
        assert row is not None
        position, prev_hash, recorded_at = row
        recorded = []
        stamp = format_time(recorded_at)
        for n, p in enumerate(prepared, start=1):
            hash_ = chain_hash(prev_hash, p.head, position + n, stamp, p.tail)
            recorded.append(
                RecordedEvent(
                    position + n,
                    stream_id,
                    stream_type,
                    expected_version + n,
                    p.event_id,
                    p.event_type,
                    p.data,
                    meta,
                    recorded_at,
                    prev_hash,
                    hash_,
                )
            )
            prev_hash = hash_
        # COPY's text format, written in one piece: canonical JSON never holds a raw tab or
        # newline, and _copy_text escapes what COPY treats specially in any field.
        common = f"{_copy_text(stream_id)}\t{_copy_text(stream_type)}"
        after_data = f"{_copy_text(canonical_text(meta))}\t{stamp}"
        lines = [
            f"{e.position}\t{common}\t{e.version}\t{p.event_id_text}\t{_copy_text(e.event_type)}\t"
            f"{_copy_text(p.data_text)}\t{after_data}\t{e.prev_hash}\t{e.hash}\n"
            for e, p in zip(recorded, prepared, strict=True)
        ]
        with conn.cursor() as cur, cur.copy(f"COPY events ({_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join(lines).encode(conn.info.encoding))
        return recorded

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
                    problem = chain_problem(event, expected_position, expected_prev)
                    if problem:
                        return VerifyReport(checked, expected_position - 1, event.position, problem)
                    expected_prev = event.hash
                    expected_position += 1
                    checked += 1
                if len(rows) < batch:
                    return VerifyReport(checked, expected_position - 1)
                after = rows[-1]["position"]


def chain_problem(event: RecordedEvent, expected_position: int, expected_prev: str) -> str | None:
    """Why `event` does not continue the chain at `expected_position` after `expected_prev`
    (None: it does). The store's verify and the offline check of an export
    (shared/verify_export.py) both ask this."""
    if event.position != expected_position:
        return f"position {expected_position} is missing (removed?); the next is {event.position}"
    if event.prev_hash != expected_prev:
        return "prev_hash does not match the hash of the previous event (chain relinked)"
    if event_hash(event.prev_hash, event) != event.hash:
        return "hash does not match the event's contents (row changed)"
    return None
