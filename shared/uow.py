"""Unit of work: one transaction that appends a command's events and updates read models.

The service's own read models are projections applied in the same transaction as the append, so
the API reads its own writes; every read model can be dropped and rebuilt from events alone.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from shared.events import Metadata, NewEvent, RecordedEvent
from shared.store import EventStore

log = logging.getLogger(__name__)

#: Called with the connection of a unit of work that appended, in its transaction, just before
#: it commits: shared/http.py records there that the request's Idempotency-Key was applied, so
#: that the record commits with the events or not at all.
BEFORE_COMMIT: list[Callable[[psycopg.Connection[Any]], None]] = []


class Projection(ABC):
    """Keeps read-model tables up to date from events; the tables are its alone."""

    #: The read-model tables this projection fills (cleared on rebuild).
    tables: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        """Apply one event; ignore event types the projection does not care about."""

    def apply_many(self, conn: psycopg.Connection[Any], events: Sequence[RecordedEvent]) -> None:
        """Apply events in order. A projection may do it in bulk (a rebuild folds thousands at
        a time); the tables must end as `apply` one by one would leave them."""
        for event in events:
            self.apply(conn, event)


class UnitOfWork:
    """`with uow:` opens a transaction; leaving the block commits, an exception rolls back."""

    def __init__(
        self, pool: ConnectionPool[Any], store: EventStore, projections: Sequence[Projection]
    ) -> None:
        self.pool = pool
        self.store = store
        self.projections = projections
        self._conn: psycopg.Connection[Any] | None = None
        self._transaction: Any = None
        self._appended = False
        #: the caller's access check (shared/access.py CommandGuard), None for the system's
        #: own commands (seed, consumers' reactions)
        self.guard: Any = None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self._conn

    def __enter__(self) -> UnitOfWork:
        self._conn_cm = self.pool.connection()
        self._conn = self._conn_cm.__enter__()
        self._transaction = self._conn.transaction()
        self._transaction.__enter__()
        self._appended = False
        if self.guard is not None:
            try:
                self.guard.entered(self._conn)
            except BaseException as exc:  # __exit__ will not run: close what was opened
                self.__exit__(type(exc), exc, exc.__traceback__)
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            failed: BaseException | None = None
            if exc_type is None and self._appended:
                try:
                    for hook in BEFORE_COMMIT:
                        hook(self.conn)
                except BaseException as error:  # roll back: the events and the record both
                    failed = error
                    exc_type, exc, tb = type(error), error, error.__traceback__
            self._transaction.__exit__(exc_type, exc, tb)
            if failed is not None:
                raise failed
        finally:
            self._conn_cm.__exit__(exc_type, exc, tb)
            self._conn = None

    def load(self, stream_id: str) -> list[RecordedEvent]:
        return self.store.read_stream(self.conn, stream_id)

    def loaded(self, stream_id: str, state: Callable[[], Mapping[str, Any]]) -> None:
        """A command loaded the entity it changes: the guard checks access on its state."""
        if self.guard is not None:
            self.guard.loaded(self.conn, stream_id, state)

    def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: Metadata,
    ) -> list[RecordedEvent]:
        if self.guard is not None:
            self.guard.appending(self.conn)
        recorded = self.store.append(
            self.conn, stream_id, stream_type, expected_version, events, metadata
        )
        apply_all(self.conn, self.projections, recorded)
        self._appended = True
        return recorded


def apply_all(
    conn: psycopg.Connection[Any],
    projections: Sequence[Projection],
    events: Iterable[RecordedEvent],
) -> None:
    """Each projection takes the events in order; projections own separate tables, so one
    may take all of them before the next (in bulk, if it can)."""
    batch = list(events)
    for projection in projections:
        projection.apply_many(conn, batch)


def clear_tables(conn: psycopg.Connection[Any], projections: Sequence[Projection]) -> None:
    """Empty read-model tables with DELETE, not TRUNCATE: readers keep the old rows until commit."""
    for projection in projections:
        for table in projection.tables:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))


def rebuild_own_read_models(
    pool: ConnectionPool[Any], store: EventStore, projections: Sequence[Projection]
) -> int:
    """Refill the service's own read models from its events; return events applied.

    Built beside the live tables in batches, without holding off appends, then swapped in by
    one short transaction that holds the live tables (shared/rebuild.py): readers see the old
    read models until then, and no event is missed or applied twice.
    """
    from shared.rebuild import rebuild_own

    return rebuild_own(pool, store, projections)
