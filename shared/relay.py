"""The outbox relay: hands a service's events to Kafka in position order (DESIGN.md §4).

PostgreSQL is the source of truth; the relay reads events after its checkpoint, produces them
with an idempotent producer (acks=all, key = stream id, so each stream stays in order in one
partition) and advances the checkpoint only after the broker acknowledged the whole batch.
A crash between produce and checkpoint re-sends a batch: consumers skip what they applied.
If the broker is down, commands still succeed and the relay catches up when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import psycopg
from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2
from kafka.producer.future import FutureRecordMetadata

from shared.config import Config
from shared.kafka import ensure_topic, topic_is_empty
from shared.store import NOTIFY_CHANNEL, EventStore

log = logging.getLogger(__name__)

#: Session-level advisory lock: one active relay per store; others stand by.
RELAY_LOCK = 7_151_000_003
#: Batches sent but not yet acknowledged, at most (plus the one being sent).
MAX_BATCHES_IN_FLIGHT = 3


class CheckpointMoved(Exception):
    """A republish moved the checkpoint while batches were in flight."""


def make_producer(config: Config) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=config.kafka_bootstrap_servers.split(","),
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
        order across batches. On an error nothing later is checkpointed.
        """
        start = self.checkpoint(conn)
        in_flight: deque[tuple[int, list[FutureRecordMetadata]]] = deque()
        sent = 0
        # The next batch is read on a second connection while this one is being sent.
        prefetch = self._prefetch = self._prefetch or ThreadPoolExecutor(1)
        pending = prefetch.submit(self._read, start)
        try:
            while True:
                rows = pending.result()
                if rows:
                    pending = prefetch.submit(self._read, rows[-1][0])
                    in_flight.append((rows[-1][0], self._send(rows)))
                    sent += len(rows)
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

    def _send(self, rows: list[tuple[int, str, bytes]]) -> list[FutureRecordMetadata]:
        partition = self._partitioner()
        send = self.producer.send
        return [
            send(self.topic, key=key, value=value, partition=partition(key))
            for key, value in ((stream_id.encode("utf-8"), value) for _, stream_id, value in rows)
        ]

    def _settle_oldest(
        self,
        conn: psycopg.Connection[Any],
        in_flight: deque[tuple[int, list[FutureRecordMetadata]]],
        checkpoint: int,
    ) -> int:
        """Wait for the oldest batch's acknowledgements, then checkpoint past it."""
        last_position, futures = in_flight.popleft()
        for future in futures:
            future.get(timeout=30)  # raises the broker's error if the send failed
        if not self._advance(conn, checkpoint, last_position):
            raise CheckpointMoved
        return last_position

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
            while not stop.is_set():
                try:
                    if not healthy:
                        ensure_topic(self.config, self.topic)
                        self.refeed_if_topic_lost(conn)
                        healthy = True
                        backoff = 0.5
                    self.catch_up(conn)
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
