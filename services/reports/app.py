"""Wiring of the reports service: the only place its parts are put together."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.reports import warehouse as reports_warehouse
from services.reports.access import access
from services.reports.api import (
    annual_reports_blueprint,
    assessments_blueprint,
    follow_up_blueprint,
    improvements_blueprint,
    quality_reports_blueprint,
    results_blueprint,
)
from services.reports.api_calendar import calendar_blueprint, deadlines_blueprint
from services.reports.api_documents import documents_blueprint
from services.reports.api_kolada import comparisons_blueprint, imports_blueprint
from services.reports.consumed import consumed_projections
from services.reports.events import upcasters
from services.reports.projections import own_projections
from services.reports.seed import seed
from shared.admin import event_store_blueprint
from shared.config import Config
from shared.http import create_service_app
from shared.runtime import Runtime, ServiceDefinition
from shared.warehouse import warehouse_blueprint

DEFINITION = ServiceDefinition(
    name="reports",
    migrations_dir=Path(__file__).parent / "migrations",
    own_projections=own_projections,
    access=access,
    consumed=consumed_projections,
    upcasters=upcasters,
    seed=seed,
)


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(DEFINITION, config or Config.from_env("reports"))
    app, api = create_service_app(
        runtime,
        title="styrkort reports",
        description="Results, statuses, assessments, quality reports and period close "
        "(the follow-up: så här blev det, så här förbättrar vi).",
    )
    for blueprint in (
        results_blueprint,
        assessments_blueprint,
        quality_reports_blueprint,
        improvements_blueprint,
        annual_reports_blueprint,
        documents_blueprint,
        follow_up_blueprint,
        comparisons_blueprint,
        imports_blueprint,
        deadlines_blueprint,
        calendar_blueprint,
    ):
        api.register_blueprint(blueprint(runtime))
    api.register_blueprint(event_store_blueprint(runtime))
    api.register_blueprint(warehouse_blueprint(runtime, reports_warehouse.TABLES))
    return app
