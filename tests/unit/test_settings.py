"""One list of settings: what the code reads from the environment, what README's table says,
and what docker-compose.yml passes are the same names (and the same defaults)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.gateway.upstream import BACKENDS
from shared.config import REQUIRED, SERVICES, SETTINGS, settings_table

REPO = Path(__file__).resolve().parents[2]
BY_NAME = {setting.name: setting for setting in SETTINGS}
#: how code reads a setting: env.get("X"), os.environ["X"], _positive_int(env, "X", ...),
#: "X" in os.environ, a constant X_ENV = "X" handed to env.get
READS = [
    re.compile(r"""(?:\benv|(?<!request\.)environ)\.get\(\s*"([A-Z][A-Z0-9_]+)\""""),
    re.compile(r"""(?<!request\.)environ\[\s*"([A-Z][A-Z0-9_]+)"\s*\]"""),
    re.compile(r"""\(\s*env,\s*"([A-Z][A-Z0-9_]+)\""""),
    re.compile(r""""([A-Z][A-Z0-9_]+)"\s+(?:not\s+)?in\s+os\.environ"""),
    re.compile(r"""^[A-Z_]*ENV\s*=\s*"([A-Z][A-Z0-9_]+)"$""", re.MULTILINE),
]
#: names built from a service's name: f"{name.upper()}_URL" (the gateway's backends),
#: f"{service.upper()}_PORT" (the dev stack's ports), and which services they are built of
DYNAMIC = re.compile(r"""\(\s*f"\{\w+\.upper\(\)\}(_[A-Z]+)",""")
DYNAMIC_SERVICES = {"_URL": BACKENDS, "_PORT": SERVICES}
#: what the postgres and kafka images read, not our code
IMAGE_SETTINGS = re.compile(r"(POSTGRES|KAFKA)_[A-Z_]+|CLUSTER_ID")
COMPOSE_REFERENCE = re.compile(r"^\$\{([A-Z][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}$")
#: compose's own defaults, for its own Kafka
COMPOSE_DEFAULTS = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}


def source_texts() -> dict[str, str]:
    return {
        str(path.relative_to(REPO)): path.read_text()
        for top in ("shared", "services", "infra")
        for path in (REPO / top).rglob("*.py")
    }


def names_read() -> dict[str, set[str]]:
    """Every setting name the code reads -> the files reading it."""
    found: dict[str, set[str]] = {}
    for path, text in source_texts().items():
        names = {name for pattern in READS for name in pattern.findall(text)}
        for suffix in DYNAMIC.findall(text):
            names |= {f"{service.upper()}{suffix}" for service in DYNAMIC_SERVICES[suffix]}
        for name in names:
            found.setdefault(name, set()).add(path)
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return document


def app_containers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if n.split("-")[0] in SERVICES}


def test_every_setting_the_code_reads_is_in_the_table() -> None:
    read = names_read()
    missing = {name: sorted(files) for name, files in read.items() if name not in BY_NAME}
    assert missing == {}, "add these to shared/config.py SETTINGS (and README)"


def test_every_row_of_the_table_is_read_by_the_code() -> None:
    read = names_read()
    # the scan must see the reads it is meant to see, or the test above proves nothing
    assert {"DATABASE_URL", "KAFKA_SASL_PASSWORD", "GATEWAY_RATE_LIMIT", "GOALS_URL"} <= set(read)
    assert {"WEB_CONCURRENCY", "STYRKORT_API_KEY", "KOLADA_BASE_URL", "DEV_PG_PORT"} <= set(read)
    assert sorted(set(BY_NAME) - set(read)) == []


def test_every_setting_says_who_reads_it_and_has_a_meaning() -> None:
    readers = {"all", "web", "gateway", "reports", "cli", "image", "dev stack"}
    for setting in SETTINGS:
        assert setting.read_by in readers and setting.meaning, setting.name
        assert "|" not in setting.meaning + setting.default, setting.name  # a table cell


def test_readme_has_the_one_table_made_from_the_settings() -> None:
    readme = (REPO / "README.md").read_text()
    assert settings_table() in readme, "regenerate README's table from shared/config.py"
    assert readme.count("| Setting | Default |") == 1
    assert len(SETTINGS) == len(BY_NAME)  # no name twice


def test_every_environment_key_in_compose_is_a_setting_or_an_images(compose: dict) -> None:
    for name, spec in compose["services"].items():
        for key in spec.get("environment", {}):
            if name in ("postgres", "kafka"):
                assert IMAGE_SETTINGS.fullmatch(key), f"{name}: {key}"
            else:
                assert key in BY_NAME, f"{name}: {key} is read by no code"


def test_compose_defaults_are_the_documented_defaults(compose: dict) -> None:
    checked = 0
    for name, spec in app_containers(compose).items():
        for key, value in spec["environment"].items():
            match = COMPOSE_REFERENCE.match(str(value))
            if not match or match.group(2) != ":-":
                continue
            assert match.group(1) == key, f"{name}: {key} takes ${match.group(1)}"
            expected = COMPOSE_DEFAULTS.get(key, BY_NAME[key].default)
            assert match.group(3) == expected, f"{name}: {key} defaults to {match.group(3)!r}"
            checked += 1
    assert checked > 100


def test_every_production_setting_can_be_passed_to_the_containers_that_read_it(
    compose: dict,
) -> None:
    for name, spec in app_containers(compose).items():
        service, kind = name.split("-", 1)
        env = spec["environment"]
        for setting in SETTINGS:
            needed = setting.read_by == "all" or setting.read_by == service
            needed |= setting.read_by == "web" and kind == "web"
            if needed:
                assert setting.name in env, f"{name} cannot be given {setting.name}"
        assert not {s.name for s in SETTINGS if s.read_by == "dev stack"} & set(env), name


def test_required_settings_have_no_default_in_compose(compose: dict) -> None:
    for name, spec in app_containers(compose).items():
        env = spec["environment"]
        assert env["STYRKORT_ENV"] == "production", name
        assert env["STYRKORT_INTERNAL_SECRET"].startswith("${STYRKORT_INTERNAL_SECRET:?"), name
        assert env["DATABASE_URL"].startswith("postgresql://"), name
        assert BY_NAME["DATABASE_URL"].default == REQUIRED


def test_the_image_sets_what_it_owns() -> None:
    dockerfile = (REPO / "infra" / "Dockerfile").read_text()
    for setting in SETTINGS:
        if setting.read_by == "image":
            assert re.search(rf"\b{setting.name}={re.escape(setting.default)}\b", dockerfile)
