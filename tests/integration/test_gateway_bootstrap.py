"""The admin bootstrap key (STYRKORT_ADMIN_BOOTSTRAP_KEY): issued once as an admin key of scope
`*` by `system:bootstrap`, by migrate or the web app's start, however many start at once; never
brought back after an admin revoked or rotated it; its secret never in a log line."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from services.gateway import bootstrap, key_commands
from services.gateway.app import DEFINITION, create_app
from services.gateway.domain import keys
from shared.cli import main
from shared.config import Config
from shared.runtime import Runtime
from tests.gateway_support import CLI_ACTOR, bearer
from tests.support import INTERNAL_SECRET, connect

KEY = keys.format_key(keys.new_key_id(), keys.new_secret())
KEY_ID, SECRET = keys.parse_key(KEY) or ("", "")


def key_events(runtime: Runtime) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    with connect(runtime) as conn:
        rows = conn.execute(
            "SELECT stream_id, event_type, data, metadata FROM events "
            "WHERE stream_type = 'api_key' ORDER BY position"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config("gateway", admin_bootstrap_key=KEY)


def runtimes(config: Config, count: int) -> list[Runtime]:
    """Several gateway processes on one database: each its own pool."""
    return [Runtime(DEFINITION, config, pool_size=2) for _ in range(count)]


def test_the_key_is_issued_once_as_an_admin_of_everything_by_the_bootstrap(config: Config) -> None:
    [runtime] = runtimes(config, 1)
    try:
        assert bootstrap.ensure_bootstrap_key(runtime) == "issued"
        assert bootstrap.ensure_bootstrap_key(runtime) == "present"
        [(stream, kind, data, metadata)] = key_events(runtime)
        assert (stream, kind) == (keys.stream_id(KEY_ID), "ApiKeyIssued.v1")
        assert (data["role"], data["scope"], data["key_id"]) == ("admin", "*", KEY_ID)
        assert metadata["actor"] == "system:bootstrap"
        assert data["secret_hash"] == keys.secret_hash(SECRET) and SECRET not in str(data)
    finally:
        runtime.close()


def test_many_gateways_starting_at_once_issue_it_once(config: Config) -> None:
    processes = runtimes(config, 6)
    start = threading.Barrier(len(processes))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def start_one(runtime: Runtime) -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(bootstrap.ensure_bootstrap_key(runtime))
        except BaseException as exc:  # collected and raised below
            errors.append(exc)

    threads = [threading.Thread(target=start_one, args=(r,)) for r in processes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        if errors:
            raise errors[0]
        assert sorted(outcomes) == ["issued"] + ["present"] * (len(processes) - 1)
        assert len(key_events(processes[0])) == 1
    finally:
        for runtime in processes:
            runtime.close()


def test_a_revoked_bootstrap_key_stays_revoked_and_its_secret_is_never_logged(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    [runtime] = runtimes(config, 1)
    try:
        caplog.set_level(logging.INFO)
        bootstrap.ensure_bootstrap_key(runtime)
        key_commands.revoke(runtime, CLI_ACTOR, KEY_ID)
        assert bootstrap.ensure_bootstrap_key(runtime) == "revoked"
        app = create_app(runtime=runtime)  # a restart of the web app
        assert app.test_client().get("/api/v1/admin/keys", headers=bearer(KEY)).status_code == 401
        assert [e[1] for e in key_events(runtime)] == ["ApiKeyIssued.v1", "ApiKeyRevoked.v1"]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(KEY_ID in w and "revoked" in w for w in warnings)
        assert SECRET not in caplog.text
    finally:
        runtime.close()


def test_a_rotated_bootstrap_key_keeps_its_new_secret(config: Config) -> None:
    [runtime] = runtimes(config, 1)
    try:
        bootstrap.ensure_bootstrap_key(runtime)
        _, rotated = key_commands.rotate(runtime, CLI_ACTOR, KEY_ID)
        assert bootstrap.ensure_bootstrap_key(runtime) == "rotated"
        client = create_app(runtime=runtime).test_client()
        assert client.get("/api/v1/admin/keys", headers=bearer(KEY)).status_code == 401
        assert client.get("/api/v1/admin/keys", headers=bearer(rotated)).status_code == 200
        assert len(key_events(runtime)) == 2
    finally:
        runtime.close()


def test_the_web_app_issues_it_at_start_and_it_administers(config: Config) -> None:
    [runtime] = runtimes(config, 1)
    try:
        client = create_app(runtime=runtime).test_client()
        answer = client.get("/api/v1/admin/keys", headers=bearer(KEY))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        [listed] = answer.get_json()["items"]
        assert listed["key_id"] == KEY_ID and listed["issued_by"] == "system:bootstrap"
    finally:
        runtime.close()


def test_without_a_bootstrap_key_nothing_is_issued(make_config: Callable[..., Config]) -> None:
    [runtime] = runtimes(make_config("gateway"), 1)
    try:
        assert bootstrap.ensure_bootstrap_key(runtime) == "none"
        assert key_events(runtime) == []
    finally:
        runtime.close()


def test_migrate_issues_it_and_says_so(
    config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", config.database_url)
    monkeypatch.setenv("STYRKORT_ENV", "production")
    monkeypatch.setenv("STYRKORT_INTERNAL_SECRET", INTERNAL_SECRET)
    monkeypatch.setenv("STYRKORT_ADMIN_BOOTSTRAP_KEY", KEY)
    assert main(DEFINITION, ["migrate"]) == 0
    assert main(DEFINITION, ["migrate"]) == 0
    out = capsys.readouterr().out
    assert "gateway: admin bootstrap key: issued" in out
    assert "gateway: admin bootstrap key: present" in out and SECRET not in out
