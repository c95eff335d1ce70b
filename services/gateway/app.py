"""Wiring of the gateway: the only door to styrkort for people and programs (port 8080).

A service like the others in its own right (its own database `gateway`, event store and relay
to `gateway.events`, for the API keys' events), but its web app is not a service app: instead
of checking a signed identity it authenticates API keys (auth.py), then signs the key's
identity for the service that owns the path (proxy.py, upstream.py). Order of the request
hooks: ids (observe.py), key, rate limit; then the route.

Other parts of the gateway register their routes by appending a factory to `BLUEPRINTS`
before `create_app` runs (a flask-smorest Blueprint is documented in the gateway's spec).
The gateway does not serve `/api/v1/openapi.json` itself: the merged document is served by
whoever registers it, from `app.extensions["styrkort.gateway.spec"]()` and the services'.

Environment, besides shared/config.py's: GOALS_URL, PLANS_URL, REPORTS_URL,
GATEWAY_UPSTREAM_TIMEOUT (upstream.py), GATEWAY_RATE_LIMIT (auth.py, default 1200/minute per
key and process), GATEWAY_AUDIT_LOG (a file the audit lines are appended to, besides stdout).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import flask_smorest
from flask import Flask, Response
from flask_smorest import Api
from prometheus_client import CollectorRegistry, generate_latest

from services.gateway import admin_ops, audit_trail, bootstrap, docs, web
from services.gateway.admin_api import admin_keys_blueprint
from services.gateway.auth import install_auth, install_rate_limit, rate_limit_from_env
from services.gateway.key_commands import unit_checker
from services.gateway.observe import install_observability
from services.gateway.projections import own_projections
from services.gateway.proxy import proxy_blueprint
from services.gateway.upstream import BACKENDS, Upstreams, timeout_from_env, urls_from_env
from shared.config import Config
from shared.http import API_PREFIX, register_error_handlers
from shared.runtime import Runtime, ServiceDefinition

log = logging.getLogger(__name__)


def _bootstrap_at_migrate(runtime: Runtime) -> str:
    """After migrate: the admin bootstrap key is issued (a line only when one is configured)."""
    outcome = bootstrap.ensure_bootstrap_key(runtime)
    return "" if outcome == "none" else f"admin bootstrap key: {outcome}"


DEFINITION = ServiceDefinition(
    name="gateway",
    migrations_dir=Path(__file__).parent / "migrations",
    own_projections=own_projections,
    after_migrate=_bootstrap_at_migrate,
)
#: factories of the gateway's other routes (merged feed, history, exports, web pages, ...)
BLUEPRINTS: list[Callable[[Upstreams], flask.Blueprint]] = [
    docs.blueprint,  # the merged /api/v1/openapi.json and the offline docs page
    audit_trail.blueprint,  # /api/v1/history/<id> and the merged /api/v1/events feed
    admin_ops.blueprint,  # /api/v1/admin/verify and /api/v1/admin/lag across the services
    web.blueprint,  # the public dashboard at / and the reviewer pages under /review/
]
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "Authorization: Bearer <key>; keys are issued by admins "
    "(`python -m services.gateway keys create` or POST /api/v1/admin/keys)",
}
#: how long /readyz waits for each service's /readyz
READY_TIMEOUT_SECONDS = 2.0


def settings(config: Config) -> dict[str, str]:
    """The process environment, with what the config carries in `extra` (tests) over it."""
    return {**os.environ, **dict(config.extra)}


def create_app(
    config: Config | None = None,
    *,
    upstreams: Upstreams | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    runtime = runtime or Runtime(DEFINITION, config or Config.from_env("gateway"))
    config = runtime.config
    bootstrap.ensure_bootstrap_key(runtime)  # production's first admin (docs/adr/0021)
    env = settings(config)
    if upstreams is None:
        upstreams = Upstreams(urls_from_env(env), config.internal_secret, timeout_from_env(env))
    # httpx logs every request at INFO: one more log line per proxied call, as costly as the
    # call itself; the audit log says what was called
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = Flask("styrkort.gateway")
    app.config.update(
        API_TITLE="styrkort",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=None,  # the merged document is served from the spec callable
        API_SPEC_OPTIONS={
            "info": {"description": "The gateway's own routes: API keys."},
            "security": [{"apiKey": []}],
        },
        MAX_CONTENT_LENGTH=config.max_request_bytes,  # larger bodies: 413, never read
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["styrkort.runtime"] = runtime
    app.extensions["styrkort.gateway.upstreams"] = upstreams
    registry = CollectorRegistry()
    install_observability(app, env.get("GATEWAY_AUDIT_LOG") or None, registry)
    install_auth(app, runtime)
    install_rate_limit(app, rate_limit_from_env(env))

    api = Api(app)
    api.spec.components.schemas.pop("Error", None)
    register_error_handlers(app)  # after Api: its handler of HTTPException is replaced
    api.spec.components.security_scheme("apiKey", SECURITY_SCHEME)
    app.extensions["styrkort.gateway.spec"] = lambda: api.spec.to_dict()
    app.extensions["styrkort.gateway.api"] = api
    api.register_blueprint(admin_keys_blueprint(runtime, unit_checker(upstreams)))
    for factory in BLUEPRINTS:
        blueprint = factory(upstreams)
        if isinstance(blueprint, flask_smorest.Blueprint):
            api.register_blueprint(blueprint)
        else:
            app.register_blueprint(blueprint)
    _health_routes(app, runtime, upstreams, registry)
    app.register_blueprint(proxy_blueprint(upstreams))  # last: the catch-all of /api/v1
    return app


def _health_routes(
    app: Flask, runtime: Runtime, upstreams: Upstreams, registry: CollectorRegistry
) -> None:
    @app.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        """Alive: the process answers."""
        return {"status": "ok", "service": "gateway"}, 200

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, Any], int]:
        """Ready: the gateway's database answers (else 503), and each service's /readyz is
        reported; 503 naming the services that are not ready."""
        try:
            with runtime.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            log.warning("not ready: %s", exc)
            return {"status": "not ready", "reason": f"database: {type(exc).__name__}"}, 503
        services = {name: service_ready(upstreams, name) for name in BACKENDS}
        down = [name for name, state in services.items() if state["status"] != "ready"]
        body: dict[str, Any] = {
            "status": "not ready" if down else "ready",
            "service": "gateway",
            "services": services,
        }
        if down:
            body["reason"] = "not ready: " + ", ".join(down)
        return body, 503 if down else 200

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")


def service_ready(upstreams: Upstreams, service: str) -> dict[str, Any]:
    """A service's own /readyz answer (open: no identity), or why there is none."""
    try:
        response = upstreams.clients[service].get("/readyz", timeout=READY_TIMEOUT_SECONDS)
    except Exception as exc:  # down, refused, slow: each is "not ready", named
        return {"status": "down", "reason": type(exc).__name__}
    if response.status_code != 200:
        return {"status": "not ready", "http_status": response.status_code}
    return {"status": "ready", "http_status": 200}


__all__ = ["API_PREFIX", "BLUEPRINTS", "DEFINITION", "create_app"]
