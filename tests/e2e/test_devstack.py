"""`make run` end to end: the stack comes up seeded (goals, then reports once its consumer knows
goals' data; the quality report's improvement proposal reaches plans), stops cleanly on Ctrl-C,
and restarts on its data without seeding anything twice.

Every port is a free one picked at random (never the fixed defaults), so the test runs beside a
developer's `make run` and beside other test sessions."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from infra.embedded import free_port, port_open
from shared.identity import Identity, sign, signing_target

REPO = Path(__file__).resolve().parents[2]
PORT_SETTINGS = (
    "DEV_PG_PORT",
    "DEV_KAFKA_PORT",
    "GATEWAY_PORT",
    "GOALS_PORT",
    "PLANS_PORT",
    "REPORTS_PORT",
)
BANNER = "styrkort dev stack is up"
#: ids of goals' demo seed (services/goals/seed.py derives them from these keys)
SEED_NAMESPACE = uuid.UUID("5b0e3c1e-6a4f-4c1b-9d59-1471a0000000")
COUNCIL = f"org-unit-{uuid.uuid5(SEED_NAMESPACE, 'kf')}"
SCHOOL = f"org-unit-{uuid.uuid5(SEED_NAMESPACE, 'hasslerud')}"

pytestmark = pytest.mark.slow


def distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def processes_of(dev_dir: Path) -> list[psutil.Process]:
    """Every process started for this dev dir: its path in the command line or the environment."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.pid == os.getpid():
                continue
            in_cmdline = str(dev_dir) in " ".join(proc.cmdline())
            if in_cmdline or proc.environ().get("STYRKORT_DEV_DIR") == str(dev_dir):
                found.append(proc)
    return found


def answers_ok(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_until_up(launcher: subprocess.Popen[bytes], output: Path, health_url: str) -> None:
    deadline = time.monotonic() + 180
    while not (BANNER in output.read_text(errors="replace") and answers_ok(health_url)):
        if launcher.poll() is not None:
            pytest.fail(f"the dev stack exited with {launcher.returncode}:\n{output.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the dev stack did not come up within 180 s:\n{output.read_text()}")
        time.sleep(0.5)


def get_json(dev_dir: Path, service: str, port: int, path: str) -> Any:
    """GET a service's API as a reader, signed with the dev stack's secret (no gateway yet)."""
    secret = (dev_dir / "internal-secret").read_text().strip()
    who = Identity("key:e2e", "reader", "*")
    headers = sign(secret, who, "GET", signing_target(path), audience=service)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.load(response)


def check_gateway_with_admin_key(dev_dir: Path, output: Path, ports: dict[str, int]) -> str:
    """The banner shows the admin key kept in .dev/admin-key (0600), and the gateway answers a
    request made with it, from the service that owns the path; without it, a 401."""
    key_file = dev_dir / "admin-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert f"Admin key  {key}" in output.read_text()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://127.0.0.1:{ports['GATEWAY_PORT']}/api/v1/org-units?kind=council"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with opener.open(request, timeout=10) as response:
        assert [unit["id"] for unit in json.load(response)["items"]] == [COUNCIL]
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(urllib.request.Request(url), timeout=10)
    assert refused.value.code == 401
    return key


def check_seeded_follow_up(dev_dir: Path, ports: dict[str, int]) -> None:
    """Reports answers with a coloured scorecard of the council for 2025, and plans turned the
    approved quality report's improvement proposal into an activity of the school's 2026 plan."""
    card = get_json(
        dev_dir, "reports", ports["REPORTS_PORT"], f"/api/v1/scorecard?unit_id={COUNCIL}&year=2025"
    )
    colours = [line["status"]["colour"] for g in card["goals"] for line in g["indicators"]]
    assert {"green", "yellow", "red"} <= set(colours), card
    assert card["summary"]["assessed"]["met"] >= 1, card["summary"]

    deadline = time.monotonic() + 60  # plans' consumer reads reports.events meanwhile
    plans_port = ports["PLANS_PORT"]
    while True:
        found = get_json(
            dev_dir, "plans", plans_port, f"/api/v1/plans?unit_id={SCHOOL}&period=2026"
        )
        if found["items"]:
            plan_id = found["items"][0]["id"]
            path = f"/api/v1/plans/{plan_id}/activities"
            activities = get_json(dev_dir, "plans", plans_port, path)["items"]
            proposed = [a for a in activities if (a.get("proposed_by") or "").startswith("improv")]
            if proposed:
                assert proposed[0]["work"]["title"] == "Inför rastvärdar och aktiva raster i åk 4-6"
                return
        if time.monotonic() > deadline:
            pytest.fail(f"no activity of the improvement proposal in plans within 60 s: {found}")
        time.sleep(0.5)


@pytest.fixture
def dev_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "dev"
    yield path
    for proc in processes_of(path):  # only if the test failed: never leave them running
        with contextlib.suppress(psutil.Error):
            proc.kill()


def test_dev_stack_stops_cleanly_on_ctrl_c_and_restarts_on_its_data(
    dev_dir: Path, tmp_path: Path
) -> None:
    ports = dict(zip(PORT_SETTINGS, distinct_free_ports(len(PORT_SETTINGS)), strict=True))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "STYRKORT_INTERNAL_SECRET")
    }
    env.update({key: str(port) for key, port in ports.items()})
    env.update(STYRKORT_DEV_DIR=str(dev_dir), NO_COLOR="1")
    health_url = f"http://127.0.0.1:{ports['GOALS_PORT']}/healthz"

    keys: list[str] = []
    for run in ("first", "second"):
        output = tmp_path / f"{run}-run.log"
        with output.open("wb") as out:
            launcher = subprocess.Popen(
                [sys.executable, "-m", "infra.devstack"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_up(launcher, output, health_url)
            keys.append(check_gateway_with_admin_key(dev_dir, output, ports))
            if run == "first":
                check_seeded_follow_up(dev_dir, ports)
        finally:
            launcher.send_signal(signal.SIGINT)
            try:
                code = launcher.wait(60)
            except subprocess.TimeoutExpired:
                launcher.kill()
                pytest.fail(f"the {run} run did not stop within 60 s:\n{output.read_text()}")

        assert code == 0, output.read_text()
        if run == "second":  # the seeds found everything there
            log = output.read_text()
            assert "reports: seeded 0 results and 0 assessments" in log, log
            assert "goals: seeded 0 entities" in log, log
        assert [port for port in ports.values() if port_open(port)] == []
        assert processes_of(dev_dir) == []

    assert keys[0] == keys[1], "the admin key is made once"
    assert (dev_dir / "pgdata" / "PG_VERSION").exists()
    assert (dev_dir / "internal-secret").stat().st_mode & 0o777 == 0o600
