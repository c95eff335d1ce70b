"""Fixtures: a real PostgreSQL and a real Kafka-protocol broker, started once per test session.

Each test gets fresh databases cloned from migrated templates (fast, isolated) and a topic
prefix of its own, so tests never see each other's events.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.embedded import EmbeddedBroker, EmbeddedPostgres, create_database, free_port
from services.gateway.app import DEFINITION as GATEWAY
from services.goals.app import DEFINITION as GOALS
from services.plans.app import DEFINITION as PLANS
from services.reports.app import DEFINITION as REPORTS
from shared.config import Config
from shared.migrate import migrate
from shared.runtime import Runtime, ServiceDefinition
from tests.support import INTERNAL_SECRET

DEFINITIONS = {"goals": GOALS, "plans": PLANS, "reports": REPORTS}
#: every service with a database of its own: the three above, and the gateway (API keys)
ALL_DEFINITIONS = {**DEFINITIONS, "gateway": GATEWAY}


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    if os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError("TEST_DATABASE_URL is not supported; tests run their own server")
    data_dir = tmp_path_factory.mktemp("pg") / "data"
    log = open(data_dir.parent / "postgres.log", "wb")  # noqa: SIM115 - closed below
    server = EmbeddedPostgres(data_dir, free_port(), durable=False, log=log)
    server.start()
    for name, definition in ALL_DEFINITIONS.items():
        url = server.create_database(f"template_{name}")
        migrate(url, definition.migrations())
    yield server
    server.stop()
    log.close()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = open(tmp_path_factory.mktemp("kafka") / "tansu.log", "wb")  # noqa: SIM115
    server = EmbeddedBroker(free_port(), log=log)
    server.start()
    yield server
    server.stop()
    log.close()


@pytest.fixture
def make_database(pg_server: EmbeddedPostgres) -> Callable[[str], str]:
    """A fresh, migrated database of a service; returns its URL."""

    def make(service: str) -> str:
        name = f"t_{service}_{uuid.uuid4().hex[:12]}"
        return create_database(pg_server.url(), name, template=f"template_{service}")

    return make


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def make_config(
    make_database: Callable[[str], str], broker: EmbeddedBroker, topic_prefix: str
) -> Callable[..., Config]:
    """Config of a service on a fresh database, the session broker and this test's topics."""

    def make(service: str, database_url: str | None = None, **overrides: Any) -> Config:
        values: dict[str, Any] = {
            "service": service,
            "database_url": database_url or make_database(service),
            "kafka_bootstrap_servers": broker.bootstrap_servers,
            "topic_prefix": topic_prefix,
            "topic_partitions": 3,
            "internal_secret": INTERNAL_SECRET,
            "kafka_max_poll_interval_ms": 3000,
            # no test reaches the internet: an import job a test starts without its own fixture
            # server fails at once (nothing listens on the discard port)
            "kolada_base_url": "http://127.0.0.1:9",
        }
        values.update(overrides)
        return Config(**values)

    return make


@pytest.fixture
def make_runtime(make_config: Callable[..., Config]) -> Iterator[Callable[..., Runtime]]:
    runtimes: list[Runtime] = []

    def make(service: str, config: Config | None = None) -> Runtime:
        definition: ServiceDefinition = ALL_DEFINITIONS[service]
        runtime = Runtime(definition, config or make_config(service))
        runtimes.append(runtime)
        return runtime

    yield make
    for runtime in runtimes:
        runtime.close()


@pytest.fixture
def goals(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime("goals")


@pytest.fixture
def plans(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime("plans")


@pytest.fixture
def reports(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime("reports")


@pytest.fixture
def unhandled_errors() -> Iterator[Any]:
    """The exceptions behind 500s, taken out of the apps' log (the fuzz tests report them)."""
    import logging

    from tests.integration.test_goals_fuzz import UnhandledErrors

    errors = UnhandledErrors()
    logger = logging.getLogger("shared.http")
    logger.addFilter(errors)
    yield errors
    logger.removeFilter(errors)
