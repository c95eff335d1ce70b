"""Configuration from the environment (no I/O)."""

from __future__ import annotations

import pytest

from shared.config import Config, ConfigError


def test_config_reads_the_environment_with_defaults() -> None:
    config = Config.from_env(
        "goals", {"DATABASE_URL": "postgresql://x/goals", "KAFKA_TOPIC_PREFIX": "test."}
    )
    assert config.topic() == "test.goals.events" and config.topic("plans") == "test.plans.events"
    assert config.source == "/styrkort/goals" and config.topic_partitions == 6


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DATABASE_URL"),
        ({"DATABASE_URL": "x", "KAFKA_TOPIC_PARTITIONS": "0"}, "KAFKA_TOPIC_PARTITIONS"),
        ({"DATABASE_URL": "x", "RELAY_BATCH_SIZE": "many"}, "RELAY_BATCH_SIZE"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env("goals", env)


def test_unknown_service_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown service"):
        Config.from_env("budget", {"DATABASE_URL": "x"})
