"""Configuration from the environment (no I/O)."""

from __future__ import annotations

import pytest

from services.gateway.domain import keys
from shared.config import Config, ConfigError, KafkaSecurity


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


def test_topics_a_relay_creates_can_be_replicated_on_a_cluster() -> None:
    env = {"DATABASE_URL": "x"}
    assert Config.from_env("goals", env).topic_replication_factor == 1
    env["KAFKA_TOPIC_REPLICATION_FACTOR"] = "3"
    assert Config.from_env("goals", env).topic_replication_factor == 3
    with pytest.raises(ConfigError, match="KAFKA_TOPIC_REPLICATION_FACTOR"):
        Config.from_env("goals", {**env, "KAFKA_TOPIC_REPLICATION_FACTOR": "0"})


def test_unknown_service_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown service"):
        Config.from_env("budget", {"DATABASE_URL": "x"})


STRONG = "0123456789abcdef" * 2
KEY = "sk_0123456789abcdef0123_" + "A" * 43


def production(service: str = "goals", **env: str) -> Config:
    return Config.from_env(service, {"DATABASE_URL": "x", "STYRKORT_ENV": "production", **env})


def test_development_is_the_default_and_needs_no_secret() -> None:
    config = Config.from_env("gateway", {"DATABASE_URL": "x"})
    assert config.environment == "development"
    assert (config.internal_secret, config.admin_bootstrap_key) == ("", "")


@pytest.mark.parametrize("service", ["goals", "plans", "reports", "gateway"])
def test_production_refuses_to_start_without_the_internal_secret(service: str) -> None:
    with pytest.raises(ConfigError, match=r"^STYRKORT_INTERNAL_SECRET is not set"):
        production(service, STYRKORT_ADMIN_BOOTSTRAP_KEY=KEY)


def test_production_refuses_a_short_internal_secret() -> None:
    with pytest.raises(ConfigError, match=r"STYRKORT_INTERNAL_SECRET is too short \(31"):
        production(STYRKORT_INTERNAL_SECRET="s" * 31)
    assert production(STYRKORT_INTERNAL_SECRET=STRONG).environment == "production"


@pytest.mark.parametrize("secret", ["s" * 40, " " * 40, "ab" * 20, "\t" + "1234567" * 5])
def test_production_refuses_a_guessable_internal_secret(secret: str) -> None:
    with pytest.raises(ConfigError, match=r"^STYRKORT_INTERNAL_SECRET is guessable") as info:
        production(STYRKORT_INTERNAL_SECRET=secret)
    assert secret not in str(info.value)


def test_the_gateway_in_production_needs_a_bootstrap_key_the_services_do_not() -> None:
    with pytest.raises(ConfigError, match=r"^STYRKORT_ADMIN_BOOTSTRAP_KEY is not set"):
        production("gateway", STYRKORT_INTERNAL_SECRET=STRONG)
    gateway = production(
        "gateway", STYRKORT_INTERNAL_SECRET=STRONG, STYRKORT_ADMIN_BOOTSTRAP_KEY=KEY
    )
    assert gateway.admin_bootstrap_key == KEY and KEY not in repr(gateway)
    # a service ignores it: the key is the gateway's alone
    assert production("goals", STYRKORT_INTERNAL_SECRET=STRONG, STYRKORT_ADMIN_BOOTSTRAP_KEY=KEY)


@pytest.mark.parametrize(
    "key",
    [
        "admin",
        KEY[:-1],
        KEY.replace("sk_", "pk_"),
        KEY.replace("0123456789abcdef0123", "0123456789ABCDEF0123"),
        KEY + "A",
    ],
)
def test_a_malformed_bootstrap_key_is_refused_naming_the_setting_not_echoing_it(key: str) -> None:
    for env in ("development", "production"):
        with pytest.raises(ConfigError, match="STYRKORT_ADMIN_BOOTSTRAP_KEY is not a") as info:
            Config.from_env(
                "gateway",
                {
                    "DATABASE_URL": "x",
                    "STYRKORT_ENV": env,
                    "STYRKORT_INTERNAL_SECRET": STRONG,
                    "STYRKORT_ADMIN_BOOTSTRAP_KEY": key,
                },
            )
        assert key not in str(info.value)


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="STYRKORT_ENV"):
        Config.from_env("goals", {"DATABASE_URL": "x", "STYRKORT_ENV": "prod"})


def kafka(**env: str) -> KafkaSecurity:
    return Config.from_env("goals", {"DATABASE_URL": "x", **env}).kafka_security


def test_kafka_security_is_plaintext_by_default_and_empty_settings_are_unset() -> None:
    empty = {name: "" for name in ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                                   "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE")}  # fmt: skip
    assert kafka() == kafka(**empty) == KafkaSecurity()


def test_kafka_sasl_ssl_is_read_with_its_files_and_mechanism() -> None:
    security = kafka(
        KAFKA_SECURITY_PROTOCOL="sasl_ssl",
        KAFKA_SASL_MECHANISM="scram-sha-512",
        KAFKA_SASL_USERNAME="styrkort",
        KAFKA_SASL_PASSWORD="pw",
        KAFKA_SSL_CAFILE="/etc/kafka/ca.pem",
    )
    assert (security.protocol, security.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (security.sasl_username, security.ssl_cafile) == ("styrkort", "/etc/kafka/ca.pem")
    assert "pw" not in repr(security)
    assert (
        kafka(
            KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
            KAFKA_SASL_USERNAME="u",
            KAFKA_SASL_PASSWORD="p",
        ).sasl_mechanism
        == "PLAIN"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI",
             "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"},
            "KAFKA_SASL_MECHANISM",
        ),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": "p"},
         "KAFKA_SASL_USERNAME"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u"},
         "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SASL_USERNAME": "u"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u",
          "KAFKA_SASL_PASSWORD": "p", "KAFKA_SSL_CAFILE": "/ca.pem"}, "KAFKA_SSL_CAFILE"),
    ],
)  # fmt: skip
def test_bad_kafka_security_is_refused_naming_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        kafka(**env)


def test_the_config_accepts_every_key_the_gateway_makes() -> None:
    """shared/ cannot import the gateway's key format: its copy of the shape must agree."""
    for _ in range(50):
        key = keys.format_key(keys.new_key_id(), keys.new_secret())
        gateway = production(
            "gateway", STYRKORT_INTERNAL_SECRET=STRONG, STYRKORT_ADMIN_BOOTSTRAP_KEY=key
        )
        assert gateway.admin_bootstrap_key == key
    assert keys.parse_key(KEY) is not None  # the tests' key is one too
