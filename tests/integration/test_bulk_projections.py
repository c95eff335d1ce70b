"""A rebuild folds thousands of events at a time through `Projection.apply_many`, which the
versioned read models do in bulk (one UPDATE for the streams a batch continues, COPY for the
new states). Whatever the batch boundaries, the tables must end exactly as the command path —
one event at a time — left them."""

from __future__ import annotations

from typing import Any

import pytest

from services.goals.seed import seed, seed_id
from services.reports import handlers
from shared import versions
from shared.events import Metadata
from shared.runtime import Runtime
from shared.uow import apply_all
from tests.support import connect, feed_seeded_goals

ELIGIBLE = seed_id("indicator-", "i-behorighet")
META = Metadata(actor="system:test", correlation_id="bulk")


def snapshot(runtime: Runtime, table: str, order: str) -> list[tuple[Any, ...]]:
    with connect(runtime) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def refold(runtime: Runtime, chunk: int) -> None:
    """Empty the own read models and fold the whole log again in chunks of `chunk` events."""
    projections = runtime.definition.own_projections()
    with connect(runtime) as conn, conn.transaction():
        for projection in projections:
            for table in projection.tables:
                conn.execute(f"DELETE FROM {table}")
        events = runtime.store.read_all(conn, 0, 100_000)
        for start in range(0, len(events), chunk):
            apply_all(conn, projections, events[start : start + chunk])


@pytest.mark.parametrize("chunk", [1, 7, 5000])
def test_results_folded_in_bulk_equal_the_command_path(
    goals: Runtime, reports: Runtime, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_seeded_goals(goals, reports)
    for year in range(2000, 2026):
        made = handlers.record_result(
            reports.uow(), META, indicator_id=ELIGIBLE, period=str(year), value=float(year % 90)
        )
        for n in range(year % 3):  # some results corrected once or twice, one withdrawn
            handlers.correct_result(
                reports.uow(), META, made.id, None, value=50.0 + n, reason=f"rättelse {n}"
            )
        if year == 2010:
            handlers.withdraw_result(reports.uow(), META, made.id, None, "återkallad")
    tables = {"result_versions": "result_id, version", "entity_versions": "entity_id, version"}
    live = {table: snapshot(reports, table, order) for table, order in tables.items()}
    assert len(live["result_versions"]) > 50
    monkeypatch.setattr(versions, "BULK_AT", 2)  # every batch but a lone event goes in bulk
    refold(reports, chunk)
    for table, order in tables.items():
        assert snapshot(reports, table, order) == live[table], f"{table} folded by {chunk}"


@pytest.mark.parametrize("chunk", [7, 5000])
def test_goals_states_folded_in_bulk_equal_the_command_path(
    goals: Runtime, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(goals)
    live = snapshot(goals, "entity_versions", "entity_id, version")
    monkeypatch.setattr(versions, "BULK_AT", 2)  # the seed's few dozen events go in bulk too
    refold(goals, chunk)
    assert snapshot(goals, "entity_versions", "entity_id, version") == live
