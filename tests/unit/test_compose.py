"""The production compose file keeps the deployment rules: health, own databases, no secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("goals", "plans", "reports", "gateway")
PROCESSES = {
    "goals": ("migrate", "web", "relay"),
    "plans": ("migrate", "web", "relay", "consumer"),
    "reports": ("migrate", "web", "relay", "consumer"),
    "gateway": ("migrate", "web", "relay"),  # its API keys' events go to gateway.events
}
REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[?-][^}]*)?\}$")  # ${NAME}, ${NAME:?msg}, ...


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="module")
def containers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def app_containers(containers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in containers.items() if name.split("-")[0] in SERVICES}


def is_one_shot(spec: dict[str, Any]) -> bool:
    return spec.get("restart") == "no" and spec.get("command", [])[-1:] == ["migrate"]


def strings_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [str(key), *strings_in(value)]]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item)]
    return [str(node)]


def test_every_process_of_every_service_has_its_own_container(containers: dict) -> None:
    expected = {f"{service}-{kind}" for service, kinds in PROCESSES.items() for kind in kinds}
    assert set(app_containers(containers)) == expected


def test_every_container_has_a_healthcheck_or_is_one_shot(containers: dict) -> None:
    for name, spec in containers.items():
        health = spec.get("healthcheck", {})
        if is_one_shot(spec):
            continue
        assert health.get("test") and not health.get("disable"), f"{name} has no healthcheck"


def test_a_healthcheck_that_runs_python_is_valid_python(containers: dict) -> None:
    for name, spec in containers.items():
        test = spec.get("healthcheck", {}).get("test", [])
        if test[:3] == ["CMD", "python", "-c"]:
            compile(test[3], f"{name} healthcheck", "exec")


def test_services_start_only_after_what_they_need_is_healthy_or_done(containers: dict) -> None:
    allowed = {"service_healthy", "service_completed_successfully"}
    for name, spec in app_containers(containers).items():
        depends = spec.get("depends_on", {})
        assert isinstance(depends, dict) and depends, f"{name} must say what it waits for"
        assert {d["condition"] for d in depends.values()} <= allowed, name
        if not is_one_shot(spec):
            assert f"{name.split('-')[0]}-migrate" in depends, f"{name} must wait for migrations"


def test_no_secret_is_written_in_the_file(compose: dict) -> None:
    for name, spec in compose["services"].items():
        for key, value in spec.get("environment", {}).items():
            if re.search(r"SECRET|PASSWORD|TOKEN|_KEY$", key):
                assert REFERENCE.match(str(value)), f"{name}: {key} must come from the environment"
    for text in strings_in(compose):
        for password in re.findall(r"://[^/:@\s]+:([^@\s]+)@", text):
            assert REFERENCE.match(password), f"a literal password in {text!r}"


def test_the_internal_secret_is_required_not_defaulted(containers: dict) -> None:
    for name, spec in app_containers(containers).items():
        assert spec["environment"]["STYRKORT_INTERNAL_SECRET"].startswith(
            "${STYRKORT_INTERNAL_SECRET:?"
        ), name


def test_every_service_uses_its_own_database(containers: dict) -> None:
    for name, spec in app_containers(containers).items():
        service = name.split("-")[0]
        url = spec["environment"]["DATABASE_URL"]
        assert url.rsplit("/", 1)[1] == f"styrkort_{service}", f"{name} uses {url}"


def test_the_postgres_init_script_creates_every_service_database() -> None:
    script = (REPO / "infra" / "postgres-init" / "01-databases.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+);", script))
    assert created == {f"styrkort_{service}" for service in SERVICES}


def test_kafka_keeps_every_event_forever(containers: dict) -> None:
    env = containers["kafka"]["environment"]
    assert str(env["KAFKA_LOG_RETENTION_MS"]) == "-1"
    assert str(env.get("KAFKA_LOG_RETENTION_BYTES", "-1")) == "-1"
    assert not {"KAFKA_LOG_RETENTION_HOURS", "KAFKA_LOG_RETENTION_MINUTES"} & set(env)
    assert containers["kafka"]["image"] == "apache/kafka:3.9.0"
    assert "controller" in env["KAFKA_PROCESS_ROLES"]  # KRaft: no ZooKeeper


def test_relays_and_consumers_run_the_image_of_their_web_app(containers: dict) -> None:
    for service, kinds in PROCESSES.items():
        web = containers[f"{service}-web"]
        assert web["build"]["args"]["SERVICE"] == service
        assert web["build"]["dockerfile"] == "infra/Dockerfile"
        for kind in kinds:
            spec = containers[f"{service}-{kind}"]
            assert (spec["image"], spec["build"]) == (web["image"], web["build"]), (
                f"{service}-{kind}"
            )
            if kind != "web":
                assert spec["command"] == ["python", "-m", f"services.{service}", kind]


def test_only_the_gateway_is_published_on_the_host(containers: dict) -> None:
    published = {name: spec["ports"] for name, spec in containers.items() if spec.get("ports")}
    assert published == {"gateway-web": ["8080:8000"]}


def test_every_app_container_runs_in_production_mode(containers: dict) -> None:
    for name, spec in app_containers(containers).items():
        assert spec["environment"]["STYRKORT_ENV"] == "production", name


def test_the_bootstrap_key_is_required_and_only_the_gateways(containers: dict) -> None:
    for name, spec in app_containers(containers).items():
        value = spec["environment"].get("STYRKORT_ADMIN_BOOTSTRAP_KEY")
        if name.startswith("gateway-"):
            assert str(value).startswith("${STYRKORT_ADMIN_BOOTSTRAP_KEY:?"), name
        else:
            assert value is None, f"{name} must not see the gateway's admin key"


KAFKA_SECURITY = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CAFILE",
    "KAFKA_SSL_CERTFILE",
    "KAFKA_SSL_KEYFILE",
)


def test_kafka_security_and_cluster_are_passed_through_for_an_existing_cluster(
    containers: dict,
) -> None:
    for name, spec in app_containers(containers).items():
        env = spec["environment"]
        for key in (*KAFKA_SECURITY, "KAFKA_BOOTSTRAP_SERVERS"):
            assert REFERENCE.match(str(env[key])), f"{name}: {key} must come from the environment"
            assert str(env[key]).startswith(f"${{{key}:-"), f"{name}: {key} passes ${key}"
        assert env["KAFKA_SECURITY_PROTOCOL"] == "${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}"


def test_every_web_app_and_worker_has_the_healthcheck_of_its_kind(containers: dict) -> None:
    web = containers["goals-web"]["healthcheck"]["test"]
    worker = containers["goals-relay"]["healthcheck"]["test"]
    assert "/healthz" in web[-1] and "psycopg.connect" in worker[-1]
    for name, spec in app_containers(containers).items():
        if not is_one_shot(spec):
            expected = web if name.endswith("-web") else worker
            assert spec["healthcheck"]["test"] == expected, name


def test_web_containers_run_the_images_command(containers: dict) -> None:
    """No `command:`: the Dockerfile's CMD (gunicorn on $PORT) is what runs."""
    for service in SERVICES:
        assert "command" not in containers[f"{service}-web"], service
