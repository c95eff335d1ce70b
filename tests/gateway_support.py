"""The gateway in front of the real service apps, for tests: each service's Flask app on its own
fresh database, reached through `httpx.WSGITransport` (no sockets), and keys made as the CLI
makes them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from flask import Flask
from werkzeug.serving import make_server

from services.gateway import key_commands
from services.gateway.app import create_app as create_gateway_app
from services.gateway.domain import keys
from services.gateway.upstream import BACKENDS, Upstreams
from services.goals.app import create_app as create_goals_app
from services.plans.app import create_app as create_plans_app
from services.reports.app import create_app as create_reports_app
from shared.config import Config
from shared.events import Metadata
from shared.runtime import Runtime
from tests.support import INTERNAL_SECRET

SERVICE_APPS: dict[str, Callable[..., Flask]] = {
    "goals": create_goals_app,
    "plans": create_plans_app,
    "reports": create_reports_app,
}
CLI_ACTOR = Metadata(actor="cli:test", correlation_id="test-keys")


@dataclass
class Stack:
    """The gateway app, its runtime and upstreams, and the service apps behind it."""

    gateway: Flask
    runtime: Runtime
    upstreams: Upstreams
    services: dict[str, Flask]
    runtimes: dict[str, Runtime]
    issued: list[str] = field(default_factory=list)

    def client(self) -> Any:
        return self.gateway.test_client()

    def key(self, role: str, scope: str = "*", name: str = "test") -> str:
        """A new key, issued as the CLI would (no check of the scope with goals)."""
        _, key = key_commands.issue(
            self.runtime,
            CLI_ACTOR,
            role=role,
            scope=scope,
            name=name,
            check_scope=lambda _scope: None,
        )
        return key


def id_of(key: str) -> str:
    """The key id of a key (which must be well-formed)."""
    parsed = keys.parse_key(key)
    assert parsed is not None, "not a key"
    return parsed[0]


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def make_stack(
    make_runtime: Callable[..., Runtime],
    make_config: Callable[..., Config],
    *,
    urls: Mapping[str, str] | None = None,
    transports: Mapping[str, httpx.BaseTransport] | None = None,
    timeout: float = 5.0,
    **settings: str,
) -> Stack:
    """Every service app on its own database behind a gateway; `transports` replaces a
    service's (e.g. none, with `urls` naming a closed port: the service is down)."""
    runtimes = {name: make_runtime(name) for name in BACKENDS}
    apps = {name: SERVICE_APPS[name](runtime.config, runtime) for name, runtime in runtimes.items()}
    chosen: dict[str, httpx.BaseTransport] = {
        name: httpx.WSGITransport(app=app) for name, app in apps.items()
    }
    for name in urls or {}:
        chosen.pop(name, None)  # a real socket to that URL
    chosen.update(transports or {})
    base = {name: f"http://{name}.test" for name in BACKENDS}
    base.update(urls or {})
    upstreams = Upstreams(base, INTERNAL_SECRET, timeout, transports=chosen)
    config = make_config("gateway", extra=dict(settings))
    runtime = make_runtime("gateway", config)
    gateway = create_gateway_app(config, upstreams=upstreams, runtime=runtime)
    return Stack(gateway, runtime, upstreams, apps, runtimes)


@contextmanager
def served(app: Any, port: int) -> Iterator[None]:
    """The app behind a real socket, on a thread: a streamed answer (stream_with_context)
    keeps the service's Flask context pushed while it is read, which only a separate thread
    (as a separate process in production) keeps apart from the gateway's."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(10)
        assert not thread.is_alive()
