"""Every Kafka client the code makes talks to the cluster as configured (TLS, SASL): the
options come from one function, and the clients are constructed in one module only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.config import Config
from shared.kafka import client_options

REPO = Path(__file__).resolve().parents[2]
CLIENTS = {"KafkaProducer", "KafkaConsumer", "KafkaAdminClient"}
FACTORIES = {"new_producer", "new_consumer", "new_admin"}
SECURE = {
    "DATABASE_URL": "x",
    "KAFKA_BOOTSTRAP_SERVERS": "k1:9093,k2:9093",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
    "KAFKA_SASL_USERNAME": "styrkort",
    "KAFKA_SASL_PASSWORD": "pw",
    "KAFKA_SSL_CAFILE": "/run/secrets/ca.pem",
    "KAFKA_SSL_CERTFILE": "/run/secrets/client.pem",
    "KAFKA_SSL_KEYFILE": "/run/secrets/client.key",
}


def test_sasl_ssl_options_are_kafka_pythons_names() -> None:
    options = client_options(Config.from_env("goals", SECURE))
    assert options == {
        "bootstrap_servers": ["k1:9093", "k2:9093"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "styrkort",
        "sasl_plain_password": "pw",
        "ssl_cafile": "/run/secrets/ca.pem",
        "ssl_certfile": "/run/secrets/client.pem",
        "ssl_keyfile": "/run/secrets/client.key",
    }


@pytest.mark.parametrize(
    ("protocol", "extra"),
    [
        ("PLAINTEXT", set()),
        ("SSL", {"ssl_cafile", "ssl_certfile", "ssl_keyfile"}),
        ("SASL_PLAINTEXT", {"sasl_mechanism", "sasl_plain_username", "sasl_plain_password"}),
    ],
)
def test_each_protocol_gets_only_its_own_options(protocol: str, extra: set[str]) -> None:
    env = {"DATABASE_URL": "x", "KAFKA_SECURITY_PROTOCOL": protocol}
    if protocol.startswith("SASL"):
        env |= {"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}
    options = client_options(Config.from_env("goals", env))
    assert set(options) == {"bootstrap_servers", "security_protocol", *extra}
    assert options["security_protocol"] == protocol


def calls_in(path: Path) -> list[tuple[str, ast.Call]]:
    """(name called, the call) for every call of a plain or attribute name in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            found.append((name, node))
    return found


def source_files() -> list[Path]:
    return [
        p for top in ("shared", "services", "infra", "bench") for p in (REPO / top).rglob("*.py")
    ]


def test_kafka_clients_are_constructed_only_by_the_factories_of_shared_kafka() -> None:
    elsewhere = [
        f"{path.relative_to(REPO)}:{call.lineno} {name}"
        for path in source_files()
        if path != REPO / "shared" / "kafka.py"
        for name, call in calls_in(path)
        if name in CLIENTS
    ]
    assert elsewhere == [], "construct Kafka clients with shared.kafka.new_*(config, ...)"


def test_each_factory_passes_the_configured_options_over_its_settings() -> None:
    """In shared/kafka.py each construction is `Client(..., **{**settings,
    **client_options(config)})`: the cluster's security cannot be overridden by a caller."""
    tree = ast.parse((REPO / "shared" / "kafka.py").read_text())
    constructions = {}
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Name) and call.func.id in CLIENTS:
                constructions[function.name] = call
    assert set(constructions) == FACTORIES
    for name, call in constructions.items():
        [splat] = [k.value for k in call.keywords if k.arg is None]
        assert not [k for k in call.keywords if k.arg is not None], name
        assert isinstance(splat, ast.Dict), name
        last = splat.values[-1]
        assert splat.keys[-1] is None and isinstance(last, ast.Call), name
        assert ast.unparse(last) == "client_options(config)", name


def test_every_kafka_client_of_the_code_is_made_by_a_factory() -> None:
    """The relay's producer, the consumer, the witness's reader, the topic admin and the offsets
    reader: each module that uses Kafka calls a factory (a new module would be seen above)."""
    users = {
        str(path.relative_to(REPO))
        for path in source_files()
        for name, _ in calls_in(path)
        if name in FACTORIES
    }
    assert {
        "shared/relay.py",
        "shared/consumer.py",
        "shared/witness.py",
        "shared/kafka.py",
    } <= users
