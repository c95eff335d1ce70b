"""Wiring of the goals service: the only place its parts are put together."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.goals import warehouse as goals_warehouse
from services.goals.access import access
from services.goals.api import (
    areas_blueprint,
    documents_blueprint,
    goals_blueprint,
    indicators_blueprint,
    org_units_blueprint,
)
from services.goals.events import upcasters
from services.goals.projections import own_projections
from services.goals.seed import seed
from shared.admin import event_store_blueprint
from shared.config import Config
from shared.http import create_service_app
from shared.runtime import Runtime, ServiceDefinition
from shared.warehouse import warehouse_blueprint

DEFINITION = ServiceDefinition(
    name="goals",
    migrations_dir=Path(__file__).parent / "migrations",
    own_projections=own_projections,
    access=access,
    upcasters=upcasters,
    seed=seed,
)


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(DEFINITION, config or Config.from_env("goals"))
    app, api = create_service_app(
        runtime,
        title="styrkort goals",
        description="Organisation, steering documents, goals and indicators (politics' what).",
    )
    for blueprint in (
        org_units_blueprint,
        documents_blueprint,
        areas_blueprint,
        goals_blueprint,
        indicators_blueprint,
    ):
        api.register_blueprint(blueprint(runtime))
    api.register_blueprint(event_store_blueprint(runtime))
    api.register_blueprint(warehouse_blueprint(runtime, goals_warehouse.TABLES))
    return app
