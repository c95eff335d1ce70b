"""Wiring of the plans service: the only place its parts are put together."""

from __future__ import annotations

from pathlib import Path

from services.plans.projections import consumed_projections
from shared.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="plans",
    migrations_dir=Path(__file__).parent / "migrations",
    consumed=consumed_projections,
)
