"""What a service is made of, and the one place its parts are wired together.

Each service declares a `ServiceDefinition` (its migrations, projections, consumed topics,
upcasters, seed); `Runtime` builds the connection pool, the store and units of work from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg_pool import ConnectionPool

from shared import values
from shared.access import NO_TREE, Access
from shared.config import Config
from shared.consumer import EventApplier
from shared.events import Upcasters
from shared.migrate import SHARED_MIGRATIONS, Migration, discover
from shared.store import EventStore
from shared.uow import Projection, UnitOfWork


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    migrations_dir: Path
    #: read models of the service's own events, updated in the append transaction
    own_projections: Callable[[], list[Projection]] = list
    #: source service -> read models fed by that service's topic (the consumer's work); given
    #: the runtime's store, so reactions load aggregates with the service's upcasters
    consumed: Callable[[EventStore], dict[str, list[Projection]]] = lambda store: {}
    upcasters: Callable[[], Upcasters] = Upcasters
    #: fills demo data; idempotent; returns a line saying what it did
    seed: Callable[[Runtime], str] | None = None
    #: who may write what: the service's organisation tree and resource ownership
    access: Callable[[], Access] = lambda: Access(NO_TREE, {})
    #: run by `migrate` once the migrations are applied (the gateway's admin bootstrap key);
    #: returns a line saying what it did (empty: nothing to say)
    after_migrate: Callable[[Runtime], str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def consumes(self) -> bool:
        """Whether the service follows other services' topics (has a consumer)."""
        return bool(self.consumed(EventStore(self.upcasters())))

    def migrations(self) -> list[Migration]:
        return discover("shared", SHARED_MIGRATIONS) + discover(self.name, self.migrations_dir)


class Runtime:
    """The live parts of one service process. Build it once, in `create_app` or the CLI."""

    def __init__(self, definition: ServiceDefinition, config: Config, pool_size: int = 10) -> None:
        self.definition = definition
        self.config = config
        values.configure_years(config.year_min, config.year_max)
        self.store = EventStore(definition.upcasters(), config.kafka_max_message_bytes)
        self.projections = definition.own_projections()
        self.access = definition.access()
        self.applier = EventApplier(definition.consumed(self.store))
        self.pool: ConnectionPool[Any] = ConnectionPool(
            config.database_url,
            min_size=1,
            max_size=pool_size,
            open=True,
            name=f"{config.service}-pool",
            # a connection broken by a PostgreSQL restart is replaced, not handed to a request
            check=ConnectionPool.check_connection,
        )

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.pool, self.store, self.projections)

    def close(self) -> None:
        self.pool.close()
