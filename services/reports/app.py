"""Wiring of the reports service: the only place its parts are put together."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.reports.consumed import consumed_projections
from shared.config import Config
from shared.http import create_service_app
from shared.runtime import Runtime, ServiceDefinition

DEFINITION = ServiceDefinition(
    name="reports",
    migrations_dir=Path(__file__).parent / "migrations",
    consumed=consumed_projections,
)


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(DEFINITION, config or Config.from_env("reports"))
    app, _api = create_service_app(
        runtime,
        title="styrkort reports",
        description="Results, statuses, assessments, quality reports and period close "
        "(the follow-up: så här blev det, så här förbättrar vi).",
    )
    return app
