"""The year's close and a change to that year never pass each other (docs/adr/0012): a change
that read the year as open cannot land after the council's approval that closed it.

The race is made to happen, not hoped for: the close is held after its append and before its
commit (a holder's uncommitted row blocks its read-model insert), a correction starts while it
is held, and only then is the close let go. Without the year's lock the correction reads the
year as open, waits for the append lock, and lands after the close."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from services.goals.seed import seed_id, seed_unit_id
from services.reports import handlers
from shared import values
from shared.errors import RuleViolation
from shared.events import Metadata
from shared.runtime import Runtime
from tests.support import connect, feed_seeded_goals

ELIGIBLE = seed_id("indicator-", "i-behorighet")
COUNCIL = seed_unit_id("kf")
META = Metadata(actor="system:test", correlation_id="race")


def waiting(conn: psycopg.Connection[Any]) -> int:
    """How many lock requests in this database are waiting."""
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND (database IS NULL OR database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()))"
    ).fetchone()
    return int(row[0]) if row else 0


def wait_until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_a_correction_that_meets_the_close_is_refused_never_landed_after_it(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    made = handlers.record_result(
        reports.uow(), META, indicator_id=ELIGIBLE, period="2024", value=85.0
    )
    outcomes: dict[str, Any] = {}

    def run(name: str, command: Any) -> None:
        try:
            outcomes[name] = command()
        except BaseException as exc:  # collected: asserted on below, never a thread warning
            outcomes[name] = exc

    close = threading.Thread(
        target=run,
        args=(
            "close",
            lambda: handlers.approve_annual_report(
                reports.uow(),
                META,
                year=2024,
                decided_by=COUNCIL,
                decided_on=values.today(),
                minute_ref="KF §45",
            ),
        ),
    )
    correct = threading.Thread(
        target=run,
        args=(
            "correct",
            lambda: handlers.correct_result(
                reports.uow(), META, made.id, None, value=86.0, reason="rättelse"
            ),
        ),
    )
    with connect(reports) as holder, connect(reports) as watcher:
        watcher.autocommit = True
        holder.autocommit = False
        holder.execute(  # the close's own row, uncommitted: its insert waits for this one
            """INSERT INTO entity_versions
                 (entity_id, entity_type, version, valid_from, position, state)
               VALUES ('annual-report-2024', 'annual_report', 1, now(), 0, '{}')"""
        )
        close.start()
        wait_until(
            lambda: waiting(watcher) >= 1 or "close" in outcomes,
            "the close to be held after its append",
        )
        assert "close" not in outcomes, outcomes
        correct.start()
        wait_until(lambda: waiting(watcher) >= 2, "the correction to wait")
        holder.rollback()  # let the close commit
    close.join(30)
    correct.join(30)
    assert not close.is_alive() and not correct.is_alive()
    assert not isinstance(outcomes["close"], BaseException), outcomes["close"]
    assert isinstance(outcomes["correct"], RuleViolation), outcomes["correct"]
    assert "closed" in outcomes["correct"].detail
    with connect(reports) as conn:
        types = [
            r[0] for r in conn.execute("SELECT event_type FROM events ORDER BY position").fetchall()
        ]
    assert types[-1] == "AnnualReportApproved.v2", "nothing landed after the close"
    assert "ResultCorrected.v1" not in types
