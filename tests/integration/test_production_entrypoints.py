"""What `docker compose up` runs, run here without Docker: each container's exact command (its
`command:`, or the Dockerfile's CMD through `sh -c` for the web apps), with its environment from
docker-compose.yml (references substituted, the postgres and kafka hosts replaced by the
embedded servers), against the embedded PostgreSQL (a database per service) and broker.

Migrations run to completion; then every web app, relay and consumer starts, each container's
own compose health check must pass, one command through the gateway with the admin bootstrap
key must reach goals' topic and plans' read model, and SIGTERM must stop everything cleanly.
In production mode, without the internal secret or the bootstrap key, each entry point exits
non-zero with one line naming the setting."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import yaml

from infra.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.gateway.domain import keys
from shared.config import Config
from shared.kafka import new_consumer, partitions_of
from tests.unit.test_dockerfile import arguments

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = ("goals", "plans", "reports", "gateway")
REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}")
#: how long a process may take to start, answer its health check, or stop (never a figure)
PATIENCE = 90.0


def app_containers() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in COMPOSE["services"].items() if n.split("-")[0] in SERVICES}


def substitute(value: str, variables: Mapping[str, str]) -> str:
    """Compose's interpolation: ${X}, ${X:-default}, ${X:?error} (unset or empty: the error)."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3)
        given = variables.get(name, "")
        if given:
            return given
        if kind == ":?":
            raise KeyError(f"compose refuses to start: {name}: {rest}")
        return rest if kind == ":-" else ""

    return REFERENCE.sub(one, value)


def image_env(service: str) -> dict[str, str]:
    """The Dockerfile's ENV, with the build argument SERVICE."""
    env: dict[str, str] = {}
    for line in arguments("ENV"):
        for item in shlex.split(line):
            name, _, value = item.partition("=")
            env[name] = value.replace("${SERVICE}", service)
    return env


def web_command() -> list[str]:
    [cmd] = arguments("CMD")
    command: list[str] = json.loads(cmd)
    return command


@dataclass
class Deployment:
    """Where the containers' hosts are here: databases, broker, each web container's port."""

    databases: dict[str, str]  # compose's database name -> the embedded database's URL
    bootstrap_servers: str
    ports: dict[str, int]  # web container -> port
    variables: dict[str, str]  # the operator's shell: secrets, topic prefix, ...

    def env(self, name: str) -> dict[str, str]:
        """The process environment of a container: image ENV, then compose's environment."""
        spec = app_containers()[name]
        service = spec["build"]["args"]["SERVICE"]
        env = image_env(service)
        for key, raw in spec["environment"].items():
            env[key] = substitute(str(raw), self.variables)
        url = urlsplit(env["DATABASE_URL"])
        assert url.hostname == "postgres" and url.port == 5432, env["DATABASE_URL"]
        env["DATABASE_URL"] = self.databases[url.path.lstrip("/")]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        env["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap_servers
        for key, value in env.items():
            if key.endswith("_URL") and key != "DATABASE_URL" and "-web:8000" in value:
                other = urlsplit(value).hostname or ""
                env[key] = f"http://127.0.0.1:{self.ports[other]}"
        if name.endswith("-web"):
            env["PORT"] = str(self.ports[name])
        return env


def process_env(container_env: Mapping[str, str], home: Path) -> dict[str, str]:
    """A container's environment, and no more of ours than it takes to find Python and this
    checkout's code (the image installs it; here it is the source tree)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin"
    return {"PATH": path, "HOME": str(home), "PYTHONPATH": str(REPO), **container_env}


def command_of(name: str) -> list[str]:
    spec = app_containers()[name]
    if "command" in spec:
        return [str(part) for part in spec["command"]]
    return web_command()


def healthcheck_of(name: str) -> list[str]:
    test = [str(part) for part in app_containers()[name]["healthcheck"]["test"]]
    assert test[0] == "CMD", f"{name}: a CMD health check runs without a shell"
    return test[1:]


@dataclass
class Running:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


class Processes:
    """The containers started by a test: each in its own session, its output in a file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: list[Running] = []
        self._files: list[IO[bytes]] = []

    def start(self, name: str, command: list[str], env: Mapping[str, str]) -> Running:
        log = self.directory / f"{name}.log"
        out = open(log, "wb")  # noqa: SIM115 - closed in close()
        self._files.append(out)
        proc = subprocess.Popen(
            command,
            cwd=self.directory,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        running = Running(name, proc, log)
        self.running.append(running)
        return running

    def tail(self, running: Running, lines: int = 25) -> str:
        text = running.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def close(self) -> None:
        """Whatever still runs after the test (it failed): killed, by its own process group."""
        for running in self.running:
            if running.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.proc.pid, signal.SIGKILL)
                running.proc.wait(timeout=10)
        for file in self._files:
            file.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.close()


def new_bootstrap_key(home: Path) -> str:
    """A key as README says to make one: `python -m services.gateway new-bootstrap-key`, with
    no setting at all."""
    made = subprocess.run(
        [sys.executable, "-m", "services.gateway", "new-bootstrap-key"],
        env=process_env({}, home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=True,
    )
    key = made.stdout.strip()
    assert keys.parse_key(key) is not None, made.stdout
    return key


@pytest.fixture
def deployment(pg_server: EmbeddedPostgres, broker: EmbeddedBroker, tmp_path: Path) -> Deployment:
    """Empty databases (migrate fills them), this test's topics, a fresh bootstrap key."""
    run = uuid.uuid4().hex[:8]
    databases = {}
    for service in SERVICES:
        compose_name = f"styrkort_{service}"
        databases[compose_name] = pg_server.create_database(f"prod_{run}_{compose_name}")
    return Deployment(
        databases=databases,
        bootstrap_servers=broker.bootstrap_servers,
        ports={f"{service}-web": free_port() for service in SERVICES},
        variables={
            "STYRKORT_INTERNAL_SECRET": os.urandom(32).hex(),
            "STYRKORT_ADMIN_BOOTSTRAP_KEY": new_bootstrap_key(tmp_path),
            "POSTGRES_PASSWORD": uuid.uuid4().hex,
            "KAFKA_TOPIC_PREFIX": f"prod{run}.",
            # one worker per web app: the machine runs the whole system and the other tests
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "2",
        },
    )


def run_to_completion(processes: Processes, name: str, env: Mapping[str, str]) -> str:
    running = processes.start(name, command_of(name), env)
    code = running.proc.wait(timeout=PATIENCE)
    assert code == 0, f"{name} exited {code}:\n{processes.tail(running)}"
    return running.log.read_text()


def wait_healthy(processes: Processes, running: Running, env: Mapping[str, str]) -> None:
    """The container's compose health check, retried as Docker would during start_period."""
    check = healthcheck_of(running.name)
    deadline = time.monotonic() + PATIENCE
    while True:
        assert running.proc.poll() is None, (
            f"{running.name} exited {running.proc.returncode}:\n{processes.tail(running)}"
        )
        result = subprocess.run(
            check, env=dict(env), cwd=processes.directory, capture_output=True, timeout=30
        )
        if result.returncode == 0:
            return
        assert time.monotonic() < deadline, (
            f"{running.name} never became healthy: {result.stderr.decode()[-500:]}\n"
            f"{processes.tail(running)}"
        )
        time.sleep(0.5)


def goals_topic_holds(deployment: Deployment, needle: str) -> bool:
    """Whether a message on goals' topic mentions `needle` (the command's unit id)."""
    config = Config(
        service="goals",
        database_url="unused",
        kafka_bootstrap_servers=deployment.bootstrap_servers,
        topic_prefix=deployment.variables["KAFKA_TOPIC_PREFIX"],
    )
    consumer = new_consumer(config, enable_auto_commit=False, consumer_timeout_ms=2000)
    try:
        partitions = partitions_of(consumer, config.topic())
        if not partitions:
            return False
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return any(needle.encode() in (message.value or b"") for message in consumer)
    finally:
        consumer.close()


def eventually(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.5)


def test_the_containers_commands_migrate_serve_relay_consume_and_stop_cleanly(
    deployment: Deployment, processes: Processes, tmp_path: Path
) -> None:
    containers = app_containers()
    envs = {name: process_env(deployment.env(name), tmp_path) for name in containers}
    for name in (n for n in containers if n.endswith("-migrate")):
        out = run_to_completion(processes, name, envs[name])
        assert "migration(s) applied" in out
        if name == "gateway-migrate":
            assert "gateway: admin bootstrap key: issued" in out
            assert deployment.variables["STYRKORT_ADMIN_BOOTSTRAP_KEY"] not in out

    long_running = [n for n in containers if not n.endswith("-migrate")]
    started = [processes.start(n, command_of(n), envs[n]) for n in long_running]
    for running in started:
        wait_healthy(processes, running, envs[running.name])

    key = deployment.variables["STYRKORT_ADMIN_BOOTSTRAP_KEY"]
    gateway = f"http://127.0.0.1:{deployment.ports['gateway-web']}"
    made = httpx.post(
        f"{gateway}/api/v1/org-units",
        json={"name": "Kommunfullmäktige", "kind": "council"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    unit_id = made.json()["id"]
    eventually(lambda: goals_topic_holds(deployment, unit_id), "the unit on goals' topic")

    def plans_knows() -> bool:
        with psycopg.connect(envs["plans-consumer"]["DATABASE_URL"]) as conn:
            row = conn.execute("SELECT 1 FROM known_org_units WHERE id = %s", [unit_id]).fetchone()
        return row is not None

    eventually(plans_knows, "the unit in plans' read model, through plans-consumer")

    for running in started:
        running.proc.send_signal(signal.SIGTERM)  # `docker stop`: SIGTERM to PID 1
    for running in started:
        code = running.proc.wait(timeout=PATIENCE)
        assert code == 0, f"{running.name} exited {code} on SIGTERM:\n{processes.tail(running)}"
        assert "Traceback" not in running.log.read_text(errors="replace"), running.name
    for port in deployment.ports.values():  # gunicorn's workers went with their master
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def refusal_cases(deployment: Deployment) -> list[tuple[str, str, dict[str, str], str]]:
    """(case, container, environment, the setting its one line must name)."""
    cases = []
    for name in app_containers():
        env = deployment.env(name)
        cases.append(("no secret", name, {**env, "STYRKORT_INTERNAL_SECRET": ""}, "SECRET"))
    for name in ("goals-web", "plans-consumer"):
        env = {**deployment.env(name), "STYRKORT_INTERNAL_SECRET": "x" * 31}
        cases.append(("short secret", name, env, "SECRET"))
    for name in ("gateway-migrate", "gateway-web", "gateway-relay"):
        env = {k: v for k, v in deployment.env(name).items() if k != "STYRKORT_ADMIN_BOOTSTRAP_KEY"}
        cases.append(("no bootstrap key", name, env, "KEY_MISSING"))
        malformed = {**env, "STYRKORT_ADMIN_BOOTSTRAP_KEY": "sk_admin_password"}
        cases.append(("malformed bootstrap key", name, malformed, "KEY_MALFORMED"))
    return cases


EXPECTED_LINE = {
    "SECRET": re.compile(r"^error: STYRKORT_INTERNAL_SECRET is (not set|too short)", re.MULTILINE),
    "KEY_MISSING": re.compile(r"^error: STYRKORT_ADMIN_BOOTSTRAP_KEY is not set", re.MULTILINE),
    "KEY_MALFORMED": re.compile(
        r"^error: STYRKORT_ADMIN_BOOTSTRAP_KEY is not a gateway API key", re.MULTILINE
    ),
}


def test_in_production_every_entry_point_refuses_to_start_without_its_secrets(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Nothing is migrated: a refusal must come before any connection is made."""
    cases = refusal_cases(deployment)
    assert len(cases) == len(app_containers()) + 2 + 6
    for batch in (cases[i : i + 6] for i in range(0, len(cases), 6)):
        procs = [
            (
                case,
                name,
                expected,
                subprocess.Popen(
                    command_of(name),
                    env=process_env(env, tmp_path),
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                ),
            )
            for case, name, env, expected in batch
        ]
        for case, name, expected, proc in procs:
            try:
                _, err = proc.communicate(timeout=PATIENCE)  # it exits: gunicorn does not loop
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            text = err.decode(errors="replace")
            assert proc.returncode != 0, f"{name} ({case}) started"
            assert EXPECTED_LINE[expected].search(text), f"{name} ({case}):\n{text[-800:]}"
            assert "Traceback" not in text, f"{name} ({case}):\n{text[-800:]}"
            if name.endswith("-web"):
                assert proc.returncode == 4, f"{name}: gunicorn's 'App failed to load'"
            assert deployment.variables["STYRKORT_INTERNAL_SECRET"] not in text
            assert "sk_admin_password" not in text
