"""Consumers of other services' topics (DESIGN.md §4).

A consumer applies events to its read models and records what it applied, per foreign stream,
in the same database transaction. It is idempotent by (source, stream_id, streamversion): an
event at or below the recorded version is skipped, so re-delivery and republishing never count
twice. A version gap (an event whose predecessors never arrived) is recorded in
`consumer_gaps` and logged, and the event is not applied; the stream resumes once the missing
events arrive (e.g. after `republish`). Kafka offsets are committed after the database commit,
so a crash re-delivers, never loses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaError
from psycopg_pool import ConnectionPool, PoolTimeout

from shared import envelope
from shared.config import Config
from shared.errors import StyrkortError
from shared.kafka import ensure_topic, new_consumer, offsets_client, partitions_of
from shared.store import EventStore
from shared.uow import Projection, UnitOfWork

log = logging.getLogger(__name__)

#: Transaction-scoped advisory lock: a live consumer's batch and a rebuild never interleave.
CONSUMER_LOCK = 7_151_000_004
#: What a projection raises on an event it cannot read: the event's fault, not an outage.
UNREADABLE = (StyrkortError, KeyError, ValueError, TypeError)
#: An outage, not the event's fault: retried (with backoff) until the database answers again.
OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)
#: The start of the reason of an event rejected after failing every attempt (shared/metrics.py).
GAVE_UP = "gave up after"


@dataclass(frozen=True)
class Outcome:
    applied: int = 0
    skipped: int = 0
    gaps: int = 0
    rejected: int = 0

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.applied + other.applied,
            self.skipped + other.skipped,
            self.gaps + other.gaps,
            self.rejected + other.rejected,
        )


class ReactionUnitOfWork(UnitOfWork):
    """The unit of work of a reaction (a command a consumer's projection decides): it appends
    through the runtime's store and the service's own projections, inside the consumer's
    transaction; its block is a savepoint, so a refused command undoes only its own writes."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        store: EventStore,
        projections: Sequence[Projection],
    ) -> None:
        self.store = store
        self.projections = projections
        self._outer = conn
        self._conn = None
        self._transaction = None
        self.guard = None  # the system's own command: no caller to check

    def __enter__(self) -> ReactionUnitOfWork:
        self._conn = self._outer
        self._transaction = self._outer.transaction()
        self._transaction.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._transaction.__exit__(exc_type, exc, tb)
        finally:
            self._conn = None


class EventApplier:
    """Applies received events to the projections that follow their source service."""

    def __init__(self, projections: Mapping[str, Sequence[Projection]]) -> None:
        #: service name ("goals") -> projections fed by that service's topic
        self.projections = projections

    @property
    def all_projections(self) -> list[Projection]:
        return [p for group in self.projections.values() for p in group]

    def apply_records(
        self, conn: psycopg.Connection[Any], records: Iterable[ConsumerRecord]
    ) -> Outcome:
        """Apply a batch of Kafka records inside the caller's transaction."""
        received = []
        rejected = 0
        for record in records:
            try:
                received.append(envelope.from_cloudevent(envelope.decode(record.value)))
            except envelope.InvalidEnvelope as exc:
                log.error(
                    "rejected message %s[%d]@%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
                conn.execute(
                    """INSERT INTO consumer_rejects (topic, partition, "offset", reason)
                       VALUES (%s, %s, %s, %s)""",
                    [
                        record.topic,
                        record.partition,
                        record.offset,
                        f"not a styrkort CloudEvent: {exc}"[:1000],
                    ],
                )
                rejected += 1
        return self.apply_all(conn, received) + Outcome(rejected=rejected)

    def apply(self, conn: psycopg.Connection[Any], received: envelope.ReceivedEvent) -> Outcome:
        return self.apply_all(conn, [received])

    def apply_all(
        self, conn: psycopg.Connection[Any], received: Sequence[envelope.ReceivedEvent]
    ) -> Outcome:
        """Apply events in order, skipping what was applied, reporting gaps; one round trip
        for the tracking reads and one (pipelined) for all the writes."""
        if not received:
            return Outcome()
        keys = sorted({(r.source, r.event.stream_id) for r in received})
        sources, stream_ids = [k[0] for k in keys], [k[1] for k in keys]
        rows = conn.execute(
            """SELECT c.source, c.stream_id, c.version FROM consumed_streams c
                 JOIN unnest(%s::text[], %s::text[]) AS k(source, stream_id)
                USING (source, stream_id)
                ORDER BY c.source, c.stream_id FOR UPDATE OF c""",
            [sources, stream_ids],
        ).fetchall()
        versions: dict[tuple[str, str], int] = {(s, i): v for s, i, v in rows}
        open_gaps = {
            (s, i)
            for s, i in conn.execute(
                """SELECT DISTINCT g.source, g.stream_id FROM consumer_gaps g
                     JOIN unnest(%s::text[], %s::text[]) AS k(source, stream_id)
                    USING (source, stream_id) WHERE g.resolved_at IS NULL""",
                [sources, stream_ids],
            ).fetchall()
        }
        advanced: dict[tuple[str, str], tuple[int, int]] = {}
        applied = skipped = gaps = 0
        with conn.pipeline():
            for item in received:
                event = item.event
                key = (item.source, event.stream_id)
                current = versions.get(key, 0)
                if event.version <= current:
                    skipped += 1
                elif event.version > current + 1:
                    self._report_gap(conn, item, current + 1)
                    open_gaps.add(key)  # it may be filled later in this batch: [v3, v2, v3]
                    gaps += 1
                else:
                    for projection in self.projections.get(item.service, ()):
                        projection.apply(conn, event)
                    versions[key] = event.version
                    advanced[key] = (event.version, event.position)
                    applied += 1
            if advanced:
                self._record_applied(conn, advanced, open_gaps)
        return Outcome(applied=applied, skipped=skipped, gaps=gaps)

    @staticmethod
    def _record_applied(
        conn: psycopg.Connection[Any],
        advanced: dict[tuple[str, str], tuple[int, int]],
        open_gaps: set[tuple[str, str]],
    ) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO consumed_streams (source, stream_id, version, position)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (source, stream_id) DO UPDATE
                     SET version = excluded.version, position = excluded.position,
                         applied_at = now()""",
                [(s, i, v, p) for (s, i), (v, p) in advanced.items()],
            )
            # A gap is filled once the event held back at it has been applied: the stream
            # then reached its received version.
            filled = [(s, i, advanced[(s, i)][0]) for s, i in open_gaps if (s, i) in advanced]
            if filled:
                cur.executemany(
                    """UPDATE consumer_gaps SET resolved_at = now()
                        WHERE source = %s AND stream_id = %s AND resolved_at IS NULL
                          AND received_version <= %s""",
                    filled,
                )

    def _report_gap(
        self, conn: psycopg.Connection[Any], received: envelope.ReceivedEvent, expected: int
    ) -> None:
        event = received.event
        log.error(
            "version gap in %s stream %s: expected version %d, received %d (position %d); "
            "not applied — republish from an earlier position to fill it",
            received.source,
            event.stream_id,
            expected,
            event.version,
            event.position,
        )
        conn.execute(
            """INSERT INTO consumer_gaps
                 (source, stream_id, expected_version, received_version, position, event_id)
               SELECT %s, %s, %s, %s, %s, %s
                WHERE NOT EXISTS (SELECT 1 FROM consumer_gaps
                                   WHERE source = %s AND stream_id = %s AND received_version = %s
                                     AND resolved_at IS NULL)""",
            [
                received.source,
                event.stream_id,
                expected,
                event.version,
                event.position,
                event.event_id,
                received.source,
                event.stream_id,
                event.version,
            ],
        )


def make_consumer(config: Config, topics: Sequence[str]) -> KafkaConsumer:
    return new_consumer(
        config,
        *topics,
        group_id=f"{config.service}-consumer",
        client_id=f"{config.service}-consumer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # Tansu forms a group only after the rebalance timeout (DESIGN.md §8): keep it short,
        # and a batch small enough to finish well within it.
        max_poll_interval_ms=config.kafka_max_poll_interval_ms,
        max_poll_records=500,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        # a topic created after we subscribed (a service started later) is found within 30 s
        metadata_max_age_ms=30_000,
        # Tansu answers a fetch only when its wait is over, not when data arrives: keep the
        # wait short so an event reaches the read model in tens of milliseconds (bench/plans.py)
        fetch_max_wait_ms=25,
        request_timeout_ms=max(config.kafka_max_poll_interval_ms + 5_000, 30_000),
    )


class Consumer:
    """The consumer process of one service: `run(stop)` until `stop` is set."""

    def __init__(self, config: Config, pool: ConnectionPool[Any], applier: EventApplier) -> None:
        self.config = config
        self.pool = pool
        self.applier = applier
        self.topics = [config.topic(service) for service in applier.projections]
        self.total = Outcome()
        self.max_attempts = config.consumer_max_attempts
        #: (topic, partition, offset) -> attempts so far of a record that failed
        self._failures: dict[tuple[str, int, int], int] = {}
        #: records of the batch under way that were rejected already
        self._rejected: set[tuple[str, int, int]] = set()

    def process(self, records: Sequence[ConsumerRecord]) -> Outcome:
        """Apply a batch in one transaction; if an event in it cannot be applied, apply the
        records one by one and reject (record, log) those that fail, so one unreadable event
        does not stop the service's view of the world.

        An outage (OUTAGE) is raised: the caller retries the batch until the database answers.
        Any other failure of a record (a bug, a DataError) is raised `max_attempts - 1` times,
        so the batch is retried with backoff; at the last attempt the record is rejected with
        its error, never retried forever."""
        try:
            outcome = self._apply(records)
        except OUTAGE:
            raise
        except Exception:
            outcome = Outcome()
            for record in records:
                key = (record.topic, record.partition, record.offset)
                if key in self._rejected:  # re-delivered after a later record failed
                    outcome += Outcome(rejected=1)
                    continue
                try:
                    outcome += self._apply([record])
                except OUTAGE:
                    raise
                except UNREADABLE as exc:
                    self._reject(record, exc)
                    self._rejected.add(key)
                    outcome += Outcome(rejected=1)
                except Exception as exc:
                    attempts = self._failures.get(key, 0) + 1
                    self._failures[key] = attempts
                    if attempts < self.max_attempts:
                        raise
                    self._reject(record, exc, f"{GAVE_UP} {attempts} attempts: ")
                    self._rejected.add(key)
                    outcome += Outcome(rejected=1)
        for record in records:  # the batch is done: its offsets are committed next
            key = (record.topic, record.partition, record.offset)
            self._failures.pop(key, None)
            self._rejected.discard(key)
        self.total += outcome
        return outcome

    def _apply(self, records: Sequence[ConsumerRecord]) -> Outcome:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [CONSUMER_LOCK])
            return self.applier.apply_records(conn, records)

    def _reject(self, record: ConsumerRecord, exc: Exception, prefix: str = "") -> None:
        where: tuple[Any, ...]
        try:
            event = envelope.from_cloudevent(envelope.decode(record.value))
            source, ev = event.source, event.event
            where = (source, ev.stream_id, ev.version, ev.event_id)
        except envelope.InvalidEnvelope:
            where = (None, None, None, None)
        reason = f"{prefix}{type(exc).__name__}: {exc}"[:1000]
        log.error(
            "consumer: rejected %s[%d]@%d (%s v%s): %s",
            record.topic,
            record.partition,
            record.offset,
            where[1],
            where[2],
            reason,
        )
        with self.pool.connection() as conn:
            conn.execute(
                """INSERT INTO consumer_rejects
                     (topic, partition, "offset", source, stream_id, version, event_id, reason)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                [record.topic, record.partition, record.offset, *where, reason],
            )

    def run(self, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                # The topics exist before we join: a group formed while a producer's topic is
                # still missing gets no partitions of it until the next metadata refresh and
                # rebalance, so a service started before its producers would lag by that much.
                for topic in self.topics:
                    ensure_topic(self.config, topic)
                consumer = make_consumer(self.config, self.topics)
            except KafkaError as exc:
                log.warning("consumer: broker unavailable (%s); retrying", type(exc).__name__)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            log.info("consumer %s: following %s", self.config.service, ", ".join(self.topics))
            try:
                self._poll_loop(consumer, stop)
            finally:
                consumer.close(autocommit=False)
        log.info("consumer %s: stopped (%s)", self.config.service, self.total)

    def _poll_loop(self, consumer: KafkaConsumer, stop: threading.Event) -> None:
        backoff = 0.5
        topic_ids: dict[str, Any] = {}
        while not stop.is_set():
            try:
                batches = consumer.poll(timeout_ms=500)
            except KafkaError as exc:
                # the caller makes a new consumer; what was applied is in the database
                log.warning("consumer: poll failed (%s); reconnecting", type(exc).__name__)
                stop.wait(backoff)
                return
            if self._read_recreated_again(consumer, topic_ids):
                continue  # this poll's records came from old offsets of a new topic: dropped
            records = [r for batch in batches.values() for r in batch]
            if not records:
                continue
            try:
                outcome = self.process(records)
            except Exception:
                # A failing projection is a bug or an outage of our database: apply nothing of
                # the batch, go back to its start, and try again; never skip it.
                log.exception("consumer: batch failed; retrying in %.1f s", backoff)
                for tp, batch in batches.items():
                    consumer.seek(tp, batch[0].offset)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            if outcome.applied or outcome.gaps:
                log.info("consumer: %s", outcome)
            try:
                consumer.commit()
            except (CommitFailedError, KafkaError) as exc:
                # Harmless: the database knows what was applied; re-delivery is skipped.
                log.warning("consumer: offset commit failed (%s)", type(exc).__name__)

    def _read_recreated_again(self, consumer: KafkaConsumer, topic_ids: dict[str, Any]) -> bool:
        """A topic recreated under us (the dev broker restarted empty and the relay re-fed it;
        a topic deleted and created again) holds other records at the offsets we were at:
        going on from there would skip events. Its id changed, so read it again from the
        start; what was applied is skipped by version. True when a topic was recreated."""
        cluster = consumer._client.cluster  # kafka-python keeps the topics' ids there
        recreated = []
        for topic in self.topics:
            now = cluster.topic_id(topic)
            if now is None:
                continue
            if topic_ids.setdefault(topic, now) != now:
                topic_ids[topic] = now
                recreated.append(topic)
        if not recreated:
            return False
        log.warning(
            "consumer: topic %s was recreated (a broker that restarted empty?): reading it "
            "again from the start; what was applied is skipped",
            ", ".join(recreated),
        )
        again = [tp for tp in consumer.assignment() if tp.topic in recreated]
        if again:
            consumer.seek_to_beginning(*again)
        return True


def rebuild_consumer_read_models(
    config: Config, pool: ConnectionPool[Any], applier: EventApplier, timeout: float = 300.0
) -> Outcome:
    """Drop the read models fed by other services and refill them from their topics, while
    the live consumer runs: chunks into shadow tables, then a short swap (shared/rebuild.py)."""
    from shared.rebuild import rebuild_consumed

    return rebuild_consumed(config, pool, applier, timeout=timeout)


def read_topics_to_end(
    config: Config, topics: Sequence[str], timeout: float = 300.0, idle: float = 1.0
) -> Iterable[list[ConsumerRecord]]:
    """Every record of the topics from the beginning, until caught up and then idle."""
    with offsets_client(config) as consumer:
        partitions: list[TopicPartition] = []
        for topic in topics:
            partitions += partitions_of(consumer, topic)
        if not partitions:
            return
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        yield from read_to_end(consumer, partitions, topics, timeout, idle)


def read_to_end(
    consumer: KafkaConsumer,
    partitions: Sequence[TopicPartition],
    topics: Sequence[str],
    timeout: float = 300.0,
    idle: float = 1.0,
) -> Iterable[list[ConsumerRecord]]:
    """The records of assigned partitions from the consumer's positions on, until caught up
    and then idle for `idle` seconds.

    The end offsets seen at the start are a lower bound only: Tansu 0.6 undercounts them
    (docs/adr/0004), so we read on until nothing more arrives for `idle` seconds.
    """
    end = consumer.end_offsets(list(partitions))
    deadline = time.monotonic() + timeout
    pending = {tp for tp in partitions if end[tp] > 0 and consumer.position(tp) < end[tp]}
    quiet_since = time.monotonic()
    while pending or time.monotonic() - quiet_since < idle:
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {', '.join(topics)} to the end took over {timeout} s")
        batches = consumer.poll(timeout_ms=200, max_records=2000)
        for batch in batches.values():
            if batch:
                quiet_since = time.monotonic()
                yield batch
        for tp in list(pending):
            if consumer.position(tp) >= end[tp]:
                pending.discard(tp)
