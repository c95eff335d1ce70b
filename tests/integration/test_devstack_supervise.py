"""The dev stack restarts a crashed PostgreSQL or broker, with backoff, and gives up only after
repeated crashes (infra/devstack.py; tests/fault kills them for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.devstack import SERVER_MAX_CRASHES, Console, DevStack, ServerWatch, StackError
from infra.embedded import EmbeddedBroker, free_port, port_open


def test_a_crashed_broker_is_restarted_on_its_port_and_repeated_crashes_stop_the_stack(
    tmp_path: Path,
) -> None:
    (tmp_path / "logs").mkdir()
    console = Console(tmp_path / "logs")
    stack = DevStack(tmp_path, console)
    stack.broker = EmbeddedBroker(free_port())
    stack._run_broker()
    watch = ServerWatch("kafka", stack._run_broker)
    stack.servers.append(watch)
    try:
        assert stack.broker.proc is not None
        stack.broker.proc.kill()  # a crash: supervise finds the process exited
        stack.broker.proc.wait()
        stack._watch_server(watch)  # noticed: restart scheduled after 1 s
        assert watch.restart_at is not None and len(watch.crashes) == 1
        watch.restart_at = 0.0  # the backoff is over
        stack._watch_server(watch)
        assert watch.restart_at is None
        assert port_open(stack.broker.port), "the broker listens on its port again"
        with pytest.raises(StackError, match="giving up"):
            for _ in range(SERVER_MAX_CRASHES):
                stack._server_crashed(watch, "EXITED", 0.0)
        log = (tmp_path / "logs" / "devstack.log").read_text()
        assert "kafka EXITED unexpectedly" in log and "kafka is back" in log
    finally:
        stack.broker.stop()
        console.close()
