"""`make run` end to end: the stack comes up, stops cleanly on Ctrl-C, restarts on its data."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from infra.embedded import free_port, port_open

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
        finally:
            launcher.send_signal(signal.SIGINT)
            try:
                code = launcher.wait(60)
            except subprocess.TimeoutExpired:
                launcher.kill()
                pytest.fail(f"the {run} run did not stop within 60 s:\n{output.read_text()}")

        assert code == 0, output.read_text()
        assert [port for port in ports.values() if port_open(port)] == []
        assert processes_of(dev_dir) == []

    assert (dev_dir / "pgdata" / "PG_VERSION").exists()
    assert (dev_dir / "internal-secret").stat().st_mode & 0o777 == 0o600
