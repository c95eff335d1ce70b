"""Importing Kolada into reports on the real PostgreSQL, from the local fixture server (paging,
a 429, a null value, a string period, a deleted row; no internet): exactly the events expected,
none on a re-import, one correction for one revised value, one withdrawal for one deleted value,
and a closed year's refusal counted without stopping the run."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.goals.seed import seed_id, seed_unit_id
from services.reports import handlers
from services.reports.domain import result
from services.reports.kolada import KoladaClient
from services.reports.kolada_import import (
    ACTOR,
    REASON_REVISED,
    REASON_WITHDRAWN,
    ImportReport,
    import_kolada,
)
from shared import versions
from shared.events import Metadata
from shared.runtime import Runtime
from tests.kolada_server import KoladaFixtureServer
from tests.support import connect, feed_seeded_goals

ELIGIBLE = seed_id("indicator-", "i-behorighet")  # kolada N15419
SAFETY = seed_id("indicator-", "i-trygghet")  # kolada U23471
COUNCIL = seed_unit_id("kf")
YEARS = [2021, 2022, 2023, 2024]
EVENT_TYPES = ("ResultRecorded.v1", "ResultCorrected.v1", "ResultWithdrawn.v1")


def value(gender: str, number: float | None, deleted: bool = False) -> dict[str, Any]:
    return {"gender": gender, "count": 1, "status": "", "value": number, "isdeleted": deleted}


def row(period: int | str, *values: dict[str, Any], kpi: str = "N15419") -> dict[str, Any]:
    return {"kpi": kpi, "municipality": "1471", "period": period, "values": list(values)}


def first_rows() -> list[dict[str, Any]]:
    return [
        row(2024, value("T", 85.0), value("K", 88.0), value("M", 82.0)),  # a gender split
        row("2023", value("T", 84.0)),  # a string period
        row(2022, value("T", None)),  # a null value: no data
        row(2021, value("T", 80.0, deleted=True)),  # deleted, never recorded: nothing
        {**row(2024, value("T", 1.0)), "municipality": "1402"},  # another municipality
    ]


@pytest.fixture
def server() -> Iterator[KoladaFixtureServer]:
    with KoladaFixtureServer(first_rows(), page_size=2, rate_limit_at=(2,)) as s:
        yield s


@pytest.fixture
def fed(goals: Runtime, reports: Runtime) -> Runtime:
    feed_seeded_goals(goals, reports)
    return reports


def run(reports: Runtime, server: KoladaFixtureServer, **options: Any) -> ImportReport:
    waits: list[float] = []
    with KoladaClient(server.base_url, requests_per_second=0, sleep=waits.append) as client:
        return import_kolada(reports, client, years=YEARS, **options)


def counts(reports: Runtime) -> dict[str, int]:
    with connect(reports) as conn:
        found = dict(
            conn.execute(
                "SELECT event_type, count(*) FROM events WHERE event_type = ANY(%s) "
                "GROUP BY event_type",
                [list(EVENT_TYPES)],
            ).fetchall()
        )
    return {t.split(".")[0]: int(found.get(t, 0)) for t in EVENT_TYPES}


def state(reports: Runtime, year: int) -> dict[str, Any]:
    with connect(reports) as conn:
        found = versions.get(conn, result.result_id_for(ELIGIBLE, str(year)))
    assert found is not None
    return found


def test_import_records_corrects_and_withdraws_exactly_what_kolada_changed(
    fed: Runtime, server: KoladaFixtureServer
) -> None:
    reports = fed
    seen: list[tuple[int, int]] = []
    first = run(reports, server, progress=lambda r: seen.append((r.fetched, r.new)))
    statuses = [r.status for r in server.data_requests()]
    assert statuses == [200, 429, 200], statuses  # paged (4 rows, 2 a page), one 429 retried
    assert counts(reports) == {"ResultRecorded": 2, "ResultCorrected": 0, "ResultWithdrawn": 0}
    assert (first.fetched, first.results) == (6, 4)
    assert (first.new, first.corrected, first.unchanged, first.withdrawn) == (2, 0, 0, 0)
    assert (first.no_data, first.unmapped, first.refused) == (2, 0, [])
    assert seen and seen[-1] == (6, 2)  # the last call: the final report
    recorded = state(reports, 2024)
    assert (recorded["value"], recorded["women"], recorded["men"]) == (85.0, 88.0, 82.0)
    assert recorded["source"] == "kolada"
    assert state(reports, 2023)["value"] == 84.0
    with connect(reports) as conn:
        metadata = conn.execute(
            "SELECT DISTINCT metadata->>'actor', metadata->>'correlation_id' FROM events "
            "WHERE event_type = ANY(%s)",
            [list(EVENT_TYPES)],
        ).fetchall()
    assert metadata == [(ACTOR, first.correlation_id)]

    again = run(reports, server)  # nothing changed: no event
    assert counts(reports) == {"ResultRecorded": 2, "ResultCorrected": 0, "ResultWithdrawn": 0}
    assert (again.new, again.corrected, again.withdrawn, again.unchanged) == (0, 0, 0, 2)

    revised = first_rows()
    revised[0] = row(2024, value("T", 86.5), value("K", 88.0), value("M", 82.0))
    server.set_rows(revised)
    third = run(reports, server)
    assert counts(reports) == {"ResultRecorded": 2, "ResultCorrected": 1, "ResultWithdrawn": 0}
    assert (third.corrected, third.unchanged, third.new) == (1, 1, 0)
    assert state(reports, 2024)["value"] == 86.5
    with connect(reports) as conn:
        (reason,) = conn.execute(
            "SELECT data->>'reason' FROM events WHERE event_type = 'ResultCorrected.v1'"
        ).fetchone() or (None,)
    assert reason == REASON_REVISED

    deleted = list(revised)
    deleted[1] = row("2023", value("T", 84.0, deleted=True))
    server.set_rows(deleted)
    fourth = run(reports, server)
    assert counts(reports) == {"ResultRecorded": 2, "ResultCorrected": 1, "ResultWithdrawn": 1}
    assert (fourth.withdrawn, fourth.unchanged, fourth.corrected) == (1, 1, 0)
    assert state(reports, 2023)["status"] == "withdrawn"
    with connect(reports) as conn:
        (reason,) = conn.execute(
            "SELECT data->>'reason' FROM events WHERE event_type = 'ResultWithdrawn.v1'"
        ).fetchone() or (None,)
    assert reason == REASON_WITHDRAWN

    fifth = run(reports, server)  # withdrawn already: no event
    assert counts(reports) == {"ResultRecorded": 2, "ResultCorrected": 1, "ResultWithdrawn": 1}
    assert fifth.events == 0


def test_a_closed_year_is_refused_and_counted_and_the_run_goes_on(
    fed: Runtime, server: KoladaFixtureServer
) -> None:
    reports = fed
    run(reports, server)
    handlers.approve_annual_report(
        reports.uow(),
        Metadata(actor="test", correlation_id=str(uuid.uuid4())),
        year=2023,
        decided_by=COUNCIL,
        decided_on=dt.date(2024, 4, 20),
        minute_ref="KF §12",
    )
    server.set_rows(
        [
            row(2024, value("T", 87.0), value("K", 88.0), value("M", 82.0)),
            row("2023", value("T", 83.0)),  # a revision of a closed year
            row(2022, value("T", 81.0)),
        ]
    )
    report = run(reports, server)
    assert [(r.indicator_id, r.year, r.action) for r in report.refused] == [
        (ELIGIBLE, 2023, "correct")
    ]
    assert "2023 is closed" in report.refused[0].reason
    assert (report.new, report.corrected) == (1, 1)  # 2022 recorded, 2024 corrected
    assert counts(reports) == {"ResultRecorded": 3, "ResultCorrected": 1, "ResultWithdrawn": 0}
    assert state(reports, 2023)["value"] == 84.0


def test_a_kpi_only_a_retired_indicator_names_is_unmapped(
    fed: Runtime, server: KoladaFixtureServer
) -> None:
    reports = fed
    with connect(reports) as conn:
        conn.execute("UPDATE known_indicators SET status = 'retired' WHERE id = %s", [SAFETY])
    server.set_rows([row(2024, value("T", 91.0), kpi="U23471"), row(2024, value("T", 85.0))])
    report = run(reports, server)
    assert (report.unmapped, report.unmapped_kpis, report.new) == (1, ["U23471"], 1)
    assert counts(reports) == {"ResultRecorded": 1, "ResultCorrected": 0, "ResultWithdrawn": 0}
