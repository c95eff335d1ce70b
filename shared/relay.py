"""The outbox relay: hands a service's events to Kafka in position order (DESIGN.md §4).

PostgreSQL is the source of truth; the relay reads events after its checkpoint, produces them
with an idempotent producer (acks=all, key = stream id, so each stream stays in order in one
partition) and advances the checkpoint only after the broker acknowledged the whole batch.
A crash between produce and checkpoint re-sends a batch: consumers skip what they applied.
If the broker is down, commands still succeed and the relay catches up when it is back.

A permanent produce error (the broker will never take that event: too large, invalid topic,
not authorised; kafka-python's `retriable` is false, see REFUSALS) is not an outage: the
relay stops at that position, records it in `relay_blocks` (the gauge
styrkort_relay_blocked_position), logs one error, and goes on only after an administrator
decides: `relay-skip` records in `relay_skips` who passed exactly that position and why (the
relay and every republish then leave it out, logging it), `relay-retry` sends it again once
the cause is fixed (README "Administration").
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from kafka import KafkaProducer
from kafka.errors import (
    AuthorizationError,
    BrokerResponseError,
    InvalidRecordError,
    InvalidTimestampError,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    PolicyViolationError,
    RecordListTooLargeError,
    UnsupportedForMessageFormatError,
)
from kafka.partitioner.default import murmur2

from shared.config import Config
from shared.kafka import ensure_topic, new_producer, topic_is_empty
from shared.store import NOTIFY_CHANNEL, EventStore

log = logging.getLogger(__name__)

#: Session-level advisory lock: one active relay per store; others stand by.
RELAY_LOCK = 7_151_000_003
#: Batches sent but not yet acknowledged, at most (plus the one being sent).
MAX_BATCHES_IN_FLIGHT = 3
#: How often an idle relay asks whether its topic lost what it was sent (a broker that
#: restarted empty): a relay with nothing to send meets no error that would tell it.
TOPIC_CHECK_SECONDS = 10.0


class CheckpointMoved(Exception):
    """A republish moved the checkpoint while batches were in flight."""


@dataclass(frozen=True)
class Block:
    """Where a relay stopped on a permanent produce error, and why."""

    relay: str
    position: int
    event_id: str | None
    error: str
    blocked_at: datetime


class DeliveryBlocked(Exception):
    """The relay stopped at a position the broker refuses for good; an administrator decides
    (relay-skip or relay-retry). `new` is true when this call met the error."""

    def __init__(self, block: Block, *, new: bool = False) -> None:
        super().__init__(
            f"relay {block.relay} stopped at position {block.position} (event "
            f"{block.event_id}): {block.error}"
        )
        self.block = block
        self.new = new


class AdminError(Exception):
    """An administrator's relay command that cannot be done as asked."""


#: What the broker answers about a message or its topic, the same every time it is sent. Other
#: errors kafka-python does not mark `retriable` are about the connection or the producer's
#: state (BrokerNotAvailable, UnknownProducerId after a broker restart, ...): a new producer
#: gets past them, so they are outages, retried with backoff.
REFUSALS: tuple[type[BrokerResponseError], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    InvalidRecordError,
    InvalidTimestampError,
    InvalidTopicError,
    AuthorizationError,
    PolicyViolationError,
    UnsupportedForMessageFormatError,
)


def is_permanent(exc: BaseException) -> bool:
    """An error the broker will give for this message every time: not `retriable`, and about
    the message or its topic (REFUSALS)."""
    return isinstance(exc, REFUSALS) and not exc.retriable


class _Failed:
    """A send refused before it left (the producer raised): fails when settled, in order."""

    def __init__(self, exc: KafkaError) -> None:
        self.exc = exc

    def get(self, timeout: float | None = None) -> Any:
        raise self.exc


def block_of(conn: psycopg.Connection[Any], relay: str) -> Block | None:
    row = conn.execute(
        "SELECT relay, position, event_id::text, error, blocked_at FROM relay_blocks "
        "WHERE relay = %s",
        [relay],
    ).fetchone()
    return Block(*row) if row else None


def skips_of(conn: psycopg.Connection[Any], relay: str) -> dict[int, dict[str, Any]]:
    """The positions administrators decided to pass: position -> who, when, why."""
    rows = conn.execute(
        "SELECT position, event_id::text, reason, decided_by, decided_at FROM relay_skips "
        "WHERE relay = %s ORDER BY position",
        [relay],
    ).fetchall()
    return {
        position: {
            "position": position,
            "event_id": event_id,
            "reason": reason,
            "decided_by": decided_by,
            "decided_at": decided_at.isoformat(),
        }
        for position, event_id, reason, decided_by, decided_at in rows
    }


def make_producer(config: Config, **overrides: Any) -> KafkaProducer:
    settings: dict[str, Any] = dict(
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=5,
        linger_ms=10,
        batch_size=1024 * 1024,
        compression_type=None,
        request_timeout_ms=10_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
        client_id=f"{config.service}-relay",
    )
    settings.update(overrides)
    return new_producer(config, **settings)


class Relay:
    """Relays one service's event store to its topic. `run(stop)` until `stop` is set."""

    def __init__(
        self,
        config: Config,
        store: EventStore | None = None,
        *,
        batch_size: int | None = None,
        producer_factory: Callable[[Config], KafkaProducer] = make_producer,
        name: str | None = None,
    ) -> None:
        self.config = config
        self.store = store or EventStore()
        self.batch_size = batch_size or config.relay_batch_size
        self.producer_factory = producer_factory
        self.name = name or f"{config.service}-kafka"
        self.topic = config.topic()
        self._producer: KafkaProducer | None = None
        self._partitions: list[int] = []
        self._partition_of: dict[bytes, int] = {}
        self._prefetch: ThreadPoolExecutor | None = None
        self._reader: psycopg.Connection[Any] | None = None
        self._skips: dict[int, dict[str, Any]] = {}

    # -- the checkpoint -------------------------------------------------------------------------
    def checkpoint(self, conn: psycopg.Connection[Any]) -> int:
        conn.execute(
            "INSERT INTO relay_checkpoints (relay) VALUES (%s) ON CONFLICT DO NOTHING", [self.name]
        )
        row = conn.execute(
            "SELECT position FROM relay_checkpoints WHERE relay = %s", [self.name]
        ).fetchone()
        assert row is not None
        return int(row[0])

    def _advance(self, conn: psycopg.Connection[Any], old: int, new: int) -> bool:
        """Compare-and-set, so a `republish` that moved the checkpoint meanwhile wins."""
        cur = conn.execute(
            "UPDATE relay_checkpoints SET position = %s, updated_at = now() "
            "WHERE relay = %s AND position = %s",
            [new, self.name, old],
        )
        return cur.rowcount == 1

    def reset_checkpoint(self, conn: psycopg.Connection[Any], from_position: int) -> None:
        """Make the relay (re)send every event at or after `from_position`. It only ever moves
        the relay back: events it has not sent yet are never skipped."""
        self.checkpoint(conn)
        conn.execute(
            "UPDATE relay_checkpoints SET position = least(position, %s), updated_at = now() "
            "WHERE relay = %s",
            [max(from_position - 1, 0), self.name],
        )

    # -- one batch ------------------------------------------------------------------------------
    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self.producer_factory(self.config)
        return self._producer

    def catch_up(self, conn: psycopg.Connection[Any]) -> int:
        """Relay every event there is now; return how many were sent.

        Batches are pipelined: while the broker acknowledges one batch, the next is read and
        sent. The checkpoint advances batch by batch, in order, each time every send of the
        oldest batch in flight has succeeded; the idempotent producer keeps per-partition
        order across batches. On an error nothing later is checkpointed. A relay stopped by a
        permanent error (DeliveryBlocked) sends nothing until an administrator decided.
        """
        start = self.checkpoint(conn)
        block = block_of(conn, self.name)
        self._skips = skips_of(conn, self.name)
        if block is not None:
            if block.position not in self._skips:
                raise DeliveryBlocked(block)
            conn.execute("DELETE FROM relay_blocks WHERE relay = %s", [self.name])
        in_flight: deque[tuple[int, list[tuple[int, Any]]]] = deque()
        sent = 0
        # The next batch is read on a second connection while this one is being sent.
        prefetch = self._prefetch = self._prefetch or ThreadPoolExecutor(1)
        pending = prefetch.submit(self._read, start)
        try:
            while True:
                rows = pending.result()
                if rows:
                    pending = prefetch.submit(self._read, rows[-1][0])
                    sends = self._send(rows)
                    in_flight.append((rows[-1][0], sends))
                    sent += len(sends)
                    if sends and isinstance(sends[-1][1], _Failed):  # refused before sending
                        while in_flight:  # settles in order and raises at the refused one
                            start = self._settle_oldest(conn, in_flight, start)
                if in_flight and (not rows or len(in_flight) > MAX_BATCHES_IN_FLIGHT):
                    if not rows:
                        self.producer.flush(timeout=30)
                    start = self._settle_oldest(conn, in_flight, start)
                if not rows and not in_flight:
                    return sent
        except CheckpointMoved:
            log.info("relay %s: checkpoint moved by republish; continuing from there", self.name)
            return sent
        finally:
            wait([pending])  # a read still running must end before its connection is reused

    def _read(self, after: int) -> list[tuple[int, str, bytes]]:
        if self._reader is None or self._reader.closed:
            self._reader = psycopg.connect(self.config.database_url, autocommit=True)
        return self.store.read_wire(self._reader, self.config.source, after, self.batch_size)

    def _send(self, rows: list[tuple[int, str, bytes]]) -> list[tuple[int, Any]]:
        """(position, future) of each row sent; it stops after a send the producer refused
        (its future is _Failed); positions an administrator decided to skip are left out."""
        partition = self._partitioner()
        send = self.producer.send
        if self._skips:
            rows = self._without_skipped(rows)
        sends: list[tuple[int, Any]] = []
        add = sends.append
        position = 0
        try:
            for position, stream_id, value in rows:
                key = stream_id.encode("utf-8")
                add((position, send(self.topic, key=key, value=value, partition=partition(key))))
        except BrokerResponseError as exc:  # e.g. larger than the producer's max_request_size
            if not is_permanent(exc):
                raise
            add((position, _Failed(exc)))
        return sends

    def _without_skipped(self, rows: list[tuple[int, str, bytes]]) -> list[tuple[int, str, bytes]]:
        kept = []
        for row in rows:
            skip = self._skips.get(row[0])
            if skip is None:
                kept.append(row)
            else:
                log.warning(
                    "relay %s: leaving out position %d (event %s) as %s decided at %s: %s",
                    self.name,
                    row[0],
                    skip["event_id"],
                    skip["decided_by"],
                    skip["decided_at"],
                    skip["reason"],
                )
        return kept

    def _settle_oldest(
        self,
        conn: psycopg.Connection[Any],
        in_flight: deque[tuple[int, list[tuple[int, Any]]]],
        checkpoint: int,
    ) -> int:
        """Wait for the oldest batch's acknowledgements, then checkpoint past it. A permanent
        error stops the relay at its position: what came before is checkpointed, the position
        is recorded in relay_blocks, and DeliveryBlocked raised."""
        last_position, sends = in_flight.popleft()
        for position, future in sends:
            try:
                future.get(timeout=30)  # raises the broker's error if the send failed
            except KafkaError as exc:
                if not is_permanent(exc):
                    raise
                if position - 1 > checkpoint and not self._advance(conn, checkpoint, position - 1):
                    raise CheckpointMoved from exc
                raise DeliveryBlocked(self._record_block(conn, position, exc), new=True) from exc
        if not self._advance(conn, checkpoint, last_position):
            raise CheckpointMoved
        return last_position

    def _record_block(self, conn: psycopg.Connection[Any], position: int, exc: Exception) -> Block:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        row = conn.execute(
            """INSERT INTO relay_blocks (relay, position, event_id, error)
               SELECT %(relay)s, %(position)s, (SELECT event_id FROM events
                                                 WHERE position = %(position)s), %(error)s
               ON CONFLICT (relay) DO UPDATE SET position = excluded.position,
                 event_id = excluded.event_id, error = excluded.error, blocked_at = now()
               RETURNING relay, position, event_id::text, error, blocked_at""",
            {"relay": self.name, "position": position, "error": error},
        ).fetchone()
        assert row is not None
        return Block(*row)

    def _partitioner(self) -> Callable[[bytes], int]:
        """Kafka's default key partitioning (murmur2), remembered per stream: the same
        partition any Kafka producer would choose, without its cost on every message."""
        partitions = sorted(self.producer.partitions_for(self.topic))
        if partitions != self._partitions:
            self._partitions = partitions
            self._partition_of.clear()
        cache = self._partition_of

        def partition(key: bytes) -> int:
            found = cache.get(key)
            if found is None:
                if len(cache) > 100_000:  # bounded: streams are many, partitions few
                    cache.clear()
                found = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
                cache[key] = found
            return found

        return partition

    def refeed_if_topic_lost(self, conn: psycopg.Connection[Any]) -> None:
        """An empty topic that we had fed lost its messages: re-feed it from the store.

        This is what happens when the dev broker (memory storage) restarts, or when a topic
        was deleted and created again. Consumers skip what they already applied.
        """
        checkpoint = self.checkpoint(conn)
        if checkpoint > 0 and topic_is_empty(self.config, self.topic):
            log.warning(
                "relay %s: topic %s is empty but %d events were relayed; re-feeding from 1",
                self.name,
                self.topic,
                checkpoint,
            )
            self.reset_checkpoint(conn, 1)

    # -- the process ----------------------------------------------------------------------------
    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """Relay until `stop` is set; wait for NOTIFY when idle; back off while Kafka or the
        database is down, and reconnect."""
        backoff = 0.5
        while not stop.is_set():
            try:
                self._run_connected(stop, idle_wait)
            except psycopg.OperationalError as exc:
                log.warning(
                    "relay %s: database unavailable (%s); reconnecting in %.1f s",
                    self.name,
                    exc,
                    backoff,
                )
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        log.info("relay %s: stopped", self.name)

    def _run_connected(self, stop: threading.Event, idle_wait: float) -> None:
        with psycopg.connect(self.config.database_url, autocommit=True) as conn:
            self._acquire_leadership(conn, stop)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            backoff = 0.5
            healthy = False
            checked = time.monotonic()
            while not stop.is_set():
                try:
                    if not healthy:
                        ensure_topic(self.config, self.topic)
                        self.refeed_if_topic_lost(conn)
                        healthy = True
                        backoff = 0.5
                        checked = time.monotonic()
                    self.catch_up(conn)
                    for _ in conn.notifies(timeout=idle_wait, stop_after=1):
                        pass
                    if time.monotonic() - checked > TOPIC_CHECK_SECONDS:
                        self.refeed_if_topic_lost(conn)  # e.g. the gateway's, idle for hours
                        checked = time.monotonic()
                except DeliveryBlocked as blocked:
                    if blocked.new:  # once; then it waits, asking nothing of the broker
                        log.error(
                            "relay %s: STOPPED at position %d (event %s): the broker refuses "
                            "it for good (%s). Nothing later is sent until an administrator "
                            "decides: `python -m services.%s relay-status`, then relay-skip "
                            "--position %d --reason ... or relay-retry",
                            self.name,
                            blocked.block.position,
                            blocked.block.event_id,
                            blocked.block.error,
                            self.config.service,
                            blocked.block.position,
                        )
                        self._close_producer()
                    for _ in conn.notifies(timeout=idle_wait, stop_after=1):
                        pass
                except KafkaError as exc:
                    healthy = False
                    log.warning(
                        "relay %s: broker unavailable (%s); retrying in %.1f s",
                        self.name,
                        type(exc).__name__,
                        backoff,
                    )
                    self._close_producer()
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
            self.close()

    def _acquire_leadership(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        announced = False
        while not stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [RELAY_LOCK]).fetchone()
            if row and row[0]:
                log.info("relay %s: active, producing to %s", self.name, self.topic)
                return
            if not announced:
                log.info("relay %s: another relay is active; standing by", self.name)
                announced = True
            time.sleep(1.0)

    def close(self) -> None:
        """Release the producer, the reading connection and its thread."""
        self._close_producer()
        if self._prefetch is not None:
            self._prefetch.shutdown(wait=True)
            self._prefetch = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # a producer of a dead broker may fail to close; drop it
                log.debug("relay %s: producer close failed", self.name, exc_info=True)
            self._producer = None


# -- the administrator's decisions ----------------------------------------------------------------


def relay_status(conn: psycopg.Connection[Any], config: Config) -> dict[str, Any]:
    """Where the relay of a service is, whether it is stopped and why, and the recorded skips."""
    relay = Relay(config)
    checkpoint = relay.checkpoint(conn)
    last = EventStore().last_position(conn)
    block = block_of(conn, relay.name)
    return {
        "service": config.service,
        "relay": relay.name,
        "checkpoint": checkpoint,
        "last_position": last,
        "lag": last - checkpoint,
        "stopped": None
        if block is None
        else {
            "position": block.position,
            "event_id": block.event_id,
            "error": block.error,
            "since": block.blocked_at.isoformat(),
        },
        "skips": list(skips_of(conn, relay.name).values()),
    }


def record_skip(
    conn: psycopg.Connection[Any], config: Config, position: int, reason: str, decided_by: str
) -> dict[str, Any]:
    """Record that the relay passes exactly `position`, where it is stopped, and wake it. The
    event stays in the store (and in exports); only the broker never gets it."""
    relay = Relay(config).name
    if not reason.strip():
        raise AdminError("a skip needs a --reason: it is kept with who decided and when")
    if not decided_by.strip():
        raise AdminError("a skip needs the name of who decides (--by)")
    with conn.transaction():
        block = conn.execute(
            "SELECT position, event_id, error FROM relay_blocks WHERE relay = %s FOR UPDATE",
            [relay],
        ).fetchone()
        if block is None or block[0] != position:
            where = f"at position {block[0]}" if block else "nowhere"
            raise AdminError(
                f"relay {relay} is stopped {where}; only the position it stopped at can be "
                f"skipped (see relay-status)"
            )
        conn.execute(
            "INSERT INTO relay_skips (relay, position, event_id, error, reason, decided_by) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [relay, position, block[1], block[2], reason.strip(), decided_by.strip()],
        )
        conn.execute("DELETE FROM relay_blocks WHERE relay = %s", [relay])
        conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    log.warning(
        "relay %s: %s decided to skip position %d (event %s, %s): %s",
        relay,
        decided_by,
        position,
        block[1],
        block[2],
        reason,
    )
    return skips_of(conn, relay)[position]


def retry_blocked(conn: psycopg.Connection[Any], config: Config) -> int | None:
    """Let the stopped relay send its position again (its cause was fixed); the position, or
    None when it was not stopped."""
    relay = Relay(config).name
    with conn.transaction():
        row = conn.execute(
            "DELETE FROM relay_blocks WHERE relay = %s RETURNING position", [relay]
        ).fetchone()
        conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return int(row[0]) if row else None
