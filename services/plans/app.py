"""Wiring of the plans service: the only place its parts are put together."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.plans import warehouse as plans_warehouse
from services.plans.access import access
from services.plans.api import (
    activities_blueprint,
    agreements_blueprint,
    history_guard,
    plans_blueprint,
)
from services.plans.projections import consumed_projections, own_projections
from shared.admin import event_store_blueprint
from shared.config import Config
from shared.http import create_service_app
from shared.runtime import Runtime, ServiceDefinition
from shared.warehouse import warehouse_blueprint

DEFINITION = ServiceDefinition(
    name="plans",
    migrations_dir=Path(__file__).parent / "migrations",
    own_projections=own_projections,
    access=access,
    consumed=consumed_projections,
)


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(DEFINITION, config or Config.from_env("plans"))
    app, api = create_service_app(
        runtime,
        title="styrkort plans",
        description="Action plans, activities and the PDCA cycle (the organisation's how).",
    )
    for blueprint in (plans_blueprint, activities_blueprint, agreements_blueprint):
        api.register_blueprint(blueprint(runtime))
    api.register_blueprint(event_store_blueprint(runtime, guard=history_guard(runtime)))
    api.register_blueprint(warehouse_blueprint(runtime, plans_warehouse.TABLES))
    return app
