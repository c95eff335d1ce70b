"""Rebuilding read models while the service keeps writing (issue #8; README "Administration").

A rebuild fills *shadow* tables beside the live ones: a schema of its own (`rebuild_own`,
`rebuild_consumed`) holds an empty copy of each read-model table (`LIKE … INCLUDING ALL`), and
the rebuild's transactions put that schema first on their search_path, so the projections'
unqualified table names write into the copies. Events are folded in batches, each batch its own
short transaction, without the append lock, up to the head of the log. Then one short
transaction takes the live tables (ACCESS EXCLUSIVE), folds the events appended meanwhile,
drops the live tables and moves the shadow ones into their place (renaming their indexes to the
live names). Readers see the old read models until that commit, the new ones after; commands
wait only for that last step.

Why the table locks suffice, without the append lock: a command writes the read models in the
transaction of its append, before it commits. Once the rebuild holds every read-model table, a
command that appended cannot commit an event its projections write (it waits for the table),
and appends are serialised and visible in position order, so the committed events the last step
reads are a prefix of the log that already contains every event of the live tables: nothing is
lost (all are folded) and nothing doubled (each folded once, in order). An event no projection
writes may commit meanwhile; it changes no table, so the shadow needs it no more than the live
ones. Taking the append lock as well would deadlock: a command that read a read model (the
access check) holds it while it waits for the append lock.

The table locks are asked for with a short lock_timeout (below deadlock_timeout, so a command
is never the one chosen to fail): when a command that waits for the tables holds the append lock
another command that reads them waits for, the rebuild gives way, folds what was appended, and
tries again.

Read models fed by other services' topics are rebuilt the same way: the topic is read in chunks,
each applied in its own transaction into shadow tables (and shadow tracking tables
`consumed_streams`/`consumer_gaps`), then, holding the consumer lock, the last records are read
and the shadow tables swapped in.

Each rebuild is a job recorded in `rebuild_jobs` (shared/migrations/0008): the CLI runs it in
the foreground; over HTTP it runs in a thread of the web process that accepted it (so a
restart of that process fails the job: a later rebuild marks it failed), and any process
answers its state.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from shared.config import Config
from shared.consumer import CONSUMER_LOCK, EventApplier, Outcome, read_to_end
from shared.kafka import offsets_client, partitions_of
from shared.store import EventStore
from shared.uow import Projection, apply_all

log = logging.getLogger(__name__)

#: Session advisory locks: one rebuild of each scope at a time in a database.
OWN_REBUILD_LOCK = 7_151_000_005
CONSUMED_REBUILD_LOCK = 7_151_000_006
OWN_SCHEMA = "rebuild_own"
CONSUMED_SCHEMA = "rebuild_consumed"
#: events folded per transaction
BATCH = 5000
#: the catching up goes on until a batch is smaller than this (or 50 batches were short)
TAIL = 500
#: how long the last step waits for the tables (or the consumer lock) before giving way (below
#: PostgreSQL's deadlock_timeout of 1 s, so a command is never the one chosen to fail)
LOCK_WAIT = "300ms"
#: how often the last step may give way before the rebuild fails
ATTEMPTS = 100
#: the tables a consumer records what it applied in; rebuilt per source, not swapped
TRACKING = ("consumed_streams", "consumer_gaps")

Progress = Callable[[int], None]


class RebuildBusy(RuntimeError):
    """Another rebuild of the same read models is running."""


# -- shadow tables ------------------------------------------------------------------------------


def _try_lock(conn: psycopg.Connection[Any], key: int) -> None:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
    if not (row and row[0]):
        raise RebuildBusy("another rebuild of these read models is running")


def _unlock(conn: psycopg.Connection[Any], key: int) -> None:
    if not conn.closed:
        conn.execute("SELECT pg_advisory_unlock(%s)", [key])


def _live_schema(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_schema()").fetchone()
    assert row is not None
    return str(row[0])


def _prepare_shadow(
    conn: psycopg.Connection[Any], shadow: str, live: str, tables: Sequence[str]
) -> None:
    """An empty copy of each table (columns, defaults, constraints, indexes) in `shadow`."""
    with conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(shadow)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(shadow)))
        for table in tables:
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(shadow, table), sql.Identifier(live, table)
                )
            )


def _drop_shadow(conn: psycopg.Connection[Any], shadow: str) -> None:
    if not conn.closed:
        conn.rollback()
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(shadow)))
        conn.commit()


def _into_shadow(conn: psycopg.Connection[Any], shadow: str, live: str) -> None:
    """In this transaction, unqualified table names are the shadow's where it has them."""
    conn.execute(
        sql.SQL("SET LOCAL search_path TO {}, {}").format(
            sql.Identifier(shadow), sql.Identifier(live)
        )
    )


def _analyze(conn: psycopg.Connection[Any], shadow: str, tables: Sequence[str]) -> None:
    """Statistics before the swap: the planner must not meet the new tables blind."""
    for table in tables:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(shadow, table)))
    conn.commit()


def _lock_tables(conn: psycopg.Connection[Any], live: str, tables: Sequence[str]) -> None:
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_WAIT)))
    conn.execute(
        sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(live, t) for t in tables)
        )
    )


def _indexes(conn: psycopg.Connection[Any], schema: str, table: str) -> dict[str, str]:
    """Index definition (without its name and table) -> index name."""
    rows = conn.execute(
        """SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = to_regclass(%s)""",
        [f'"{schema}"."{table}"'],
    ).fetchall()
    return {f"{unique} {d.split(' USING ', 1)[1]}": name for name, d, unique in rows}


def _swap(conn: psycopg.Connection[Any], shadow: str, live: str, tables: Sequence[str]) -> None:
    """Put each shadow table in place of the live one, its indexes under the live names."""
    for table in tables:
        names = _indexes(conn, live, table)
        built = _indexes(conn, shadow, table)
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(live, table)))
        conn.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(shadow, table), sql.Identifier(live)
            )
        )
        for definition, name in built.items():
            target = names.get(definition)
            if target is not None and target != name:
                conn.execute(
                    sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                        sql.Identifier(live, name), sql.Identifier(target)
                    )
                )


def _final_step(
    conn: psycopg.Connection[Any], step: Callable[[], None], catch_up: Callable[[], None]
) -> None:
    """Run `step` (one transaction: locks, last events, swap); when a lock is not granted in
    LOCK_WAIT, give way: fold what was appended meanwhile, unlocked, and try again."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            started = time.monotonic()
            with conn.transaction():
                step()
            log.info(
                "rebuild: the last step took %.3f s (attempt %d)",
                time.monotonic() - started,
                attempt,
            )
            return
        except psycopg.errors.LockNotAvailable:
            log.info("rebuild: the last step gave way (attempt %d); catching up", attempt)
            catch_up()
    raise RuntimeError(f"rebuild: the last step did not get its locks in {ATTEMPTS} attempts")


# -- own read models ----------------------------------------------------------------------------


def rebuild_own(
    pool: ConnectionPool[Any],
    store: EventStore,
    projections: Sequence[Projection],
    progress: Progress | None = None,
    batch: int = BATCH,
) -> int:
    """Refill the service's own read models from its events without stopping writes; return
    the events applied (the whole log up to the swap)."""
    tables = [t for p in projections for t in p.tables]
    if not tables:
        return 0
    applied = 0
    position = 0
    rounds = 0  # batches folded
    with pool.connection() as conn:
        _try_lock(conn, OWN_REBUILD_LOCK)
        try:
            live = _live_schema(conn)
            conn.commit()
            _prepare_shadow(conn, OWN_SCHEMA, live, tables)

            def catch_up() -> None:
                nonlocal applied, position, rounds
                while True:
                    with conn.transaction():
                        _into_shadow(conn, OWN_SCHEMA, live)
                        events = store.read_all(conn, position, batch)
                        apply_all(conn, projections, events)
                    if events:
                        applied += len(events)
                        position = events[-1].position
                        if progress is not None:
                            progress(applied)
                    # the last step folds what comes after under its locks: make it small
                    rounds += 1
                    if len(events) < min(batch, TAIL) or (len(events) < batch and rounds > 50):
                        return

            catch_up()
            _analyze(conn, OWN_SCHEMA, tables)
            catch_up()

            last = [0, 0]  # events folded by the last step, and its last position

            def step() -> None:
                _lock_tables(conn, live, tables)
                conn.execute("SET LOCAL lock_timeout = 0")
                _into_shadow(conn, OWN_SCHEMA, live)
                events = list(store.iterate_all(conn, position))
                apply_all(conn, projections, events)
                _swap(conn, OWN_SCHEMA, live, tables)
                last[:] = [len(events), events[-1].position if events else position]

            _final_step(conn, step, catch_up)
            applied += last[0]  # counted once committed
        finally:
            try:
                _drop_shadow(conn, OWN_SCHEMA)
            finally:
                _unlock(conn, OWN_REBUILD_LOCK)
    log.info("rebuild: done, %d events applied", applied)
    if progress is not None:
        progress(applied)
    return applied


# -- read models fed by other services' topics ------------------------------------------------


def rebuild_consumed(
    config: Config,
    pool: ConnectionPool[Any],
    applier: EventApplier,
    progress: Progress | None = None,
    timeout: float = 300.0,
) -> Outcome:
    """Refill the read models fed by other services' topics while the live consumer runs:
    chunks of the topics, each in its own transaction, into shadow tables; then the swap."""
    sources = [f"/styrkort/{service}" for service in applier.projections]
    # Reactions (projections without tables) wrote events that are in the store already.
    applier = EventApplier(
        {service: [p for p in group if p.tables] for service, group in applier.projections.items()}
    )
    # a table several sources' projections fill (reports' consumed_heads) is copied once
    tables = list(dict.fromkeys(t for p in applier.all_projections for t in p.tables))
    if not tables:
        return Outcome()
    topics = [config.topic(s) for s in applier.projections]
    outcome = Outcome()
    with pool.connection() as conn:
        _try_lock(conn, CONSUMED_REBUILD_LOCK)
        try:
            live = _live_schema(conn)
            conn.commit()
            _prepare_shadow(conn, CONSUMED_SCHEMA, live, [*tables, *TRACKING])
            with offsets_client(config) as consumer:
                partitions = []
                for topic in topics:
                    partitions += partitions_of(consumer, topic)
                if partitions:
                    consumer.assign(partitions)
                    consumer.seek_to_beginning(*partitions)

                def read(idle: float) -> Outcome:
                    done = Outcome()
                    if not partitions:
                        return done
                    for records in read_to_end(consumer, partitions, topics, timeout, idle):
                        with conn.transaction():
                            _into_shadow(conn, CONSUMED_SCHEMA, live)
                            done += applier.apply_records(conn, records)
                        if progress is not None:
                            progress((outcome + done).applied)
                    return done

                outcome += read(1.0)
                _analyze(conn, CONSUMED_SCHEMA, tables)
                last = [Outcome()]

                def step() -> None:
                    conn.execute(
                        sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_WAIT))
                    )
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", [CONSUMER_LOCK])
                    _lock_tables(conn, live, tables)
                    conn.execute("SET LOCAL lock_timeout = 0")
                    # the records the live consumer may have applied meanwhile (in this
                    # transaction: a failure leaves the reader where it was read from anew)
                    last[0] = Outcome()
                    _into_shadow(conn, CONSUMED_SCHEMA, live)
                    if partitions:
                        for records in read_to_end(consumer, partitions, topics, timeout, 0.3):
                            last[0] += applier.apply_records(conn, records)
                    _swap(conn, CONSUMED_SCHEMA, live, tables)
                    for table in TRACKING:
                        conn.execute(
                            sql.SQL("DELETE FROM {} WHERE source = ANY(%s)").format(
                                sql.Identifier(live, table)
                            ),
                            [sources],
                        )
                        conn.execute(
                            sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                                sql.Identifier(live, table), sql.Identifier(CONSUMED_SCHEMA, table)
                            )
                        )

                _final_step(conn, step, lambda: None)
                outcome += last[0]
        finally:
            try:
                _drop_shadow(conn, CONSUMED_SCHEMA)
            finally:
                _unlock(conn, CONSUMED_REBUILD_LOCK)
    log.info("rebuild of consumer read models: %s", outcome)
    if progress is not None:
        progress(outcome.applied)
    return outcome


# -- jobs ---------------------------------------------------------------------------------------


def create_job(pool: ConnectionPool[Any], scope: str, requested_by: str) -> str:
    job_id = str(uuid.uuid4())
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO rebuild_jobs (id, scope, state, requested_by) "
            "VALUES (%s, %s, 'queued', %s)",
            [job_id, scope, requested_by],
        )
    return job_id


def get_job(pool: ConnectionPool[Any], job_id: str) -> dict[str, Any] | None:
    try:
        uuid.UUID(job_id)
    except ValueError:
        return None
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        row: dict[str, Any] | None = cur.execute(
            """SELECT id::text AS id, scope, state, events_applied, requested_by, error,
                      created_at, started_at, finished_at, updated_at
                 FROM rebuild_jobs WHERE id = %s""",
            [job_id],
        ).fetchone()
    return row


def _set(pool: ConnectionPool[Any], job_id: str, **values: Any) -> None:
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values)
    with pool.connection() as conn:
        conn.execute(
            sql.SQL("UPDATE rebuild_jobs SET {}, updated_at = now() WHERE id = %s").format(
                assignments
            ),
            [*values.values(), job_id],
        )


def run_job(
    job_id: str,
    run: Callable[[Progress], int],
    pool: ConnectionPool[Any],
    progress: Progress | None = None,
    every: float = 1.0,
) -> int:
    """Run a recorded job: running, its events applied as it goes (at most once a `every`
    seconds), then done or failed with the error. Returns the events applied; re-raises."""
    _set(pool, job_id, state="running", started_at=_now(pool))
    last = [0.0]

    def report(applied: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            _set(pool, job_id, events_applied=applied)
            if progress is not None:
                progress(applied)

    try:
        applied = run(report)
    except BaseException as exc:
        _set(
            pool,
            job_id,
            state="failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=_now(pool),
        )
        raise
    _set(pool, job_id, state="done", events_applied=applied, finished_at=_now(pool))
    if progress is not None:
        progress(applied)
    return applied


def _now(pool: ConnectionPool[Any]) -> Any:
    with pool.connection() as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]


def start_job_thread(
    job_id: str, run: Callable[[Progress], int], pool: ConnectionPool[Any]
) -> threading.Thread:
    """Run a job in a thread of this process (the HTTP route's way; see the module doc)."""

    def target() -> None:
        try:
            run_job(job_id, run, pool)
        except Exception:
            log.exception("rebuild job %s failed", job_id)

    thread = threading.Thread(target=target, name=f"rebuild-{job_id[:8]}", daemon=True)
    thread.start()
    return thread
