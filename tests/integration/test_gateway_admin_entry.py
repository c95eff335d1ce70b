"""`python -m services.gateway admin ...` reaches the admin CLI (services/gateway/admin_cli.py,
tested in test_gateway_views.py) without a database: it talks to the gateway over HTTP only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.gateway", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_admin_commands_run_from_the_gateway_module_without_a_database(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    helped = run("admin", "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert all(name in helped.stdout for name in ("verify", "lag", "rebuild", "republish"))
    key_file = tmp_path / "admin-key"
    key_file.write_text("")
    refused = run("admin", "--key-file", str(key_file), "lag", env=env)
    assert refused.returncode == 2 and "no API key" in refused.stderr, refused
