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
from services.reports import comparisons, handlers
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
from shared.rebuild import rebuild_own
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


# -- comparison municipalities --------------------------------------------------------------------

COMPARISONS = ["1494", "1495", "1493", "1470"]  # Lidköping, Skara, Mariestad, Vara
COMPARISON_TYPES = (
    "ComparisonValueRecorded.v1",
    "ComparisonValueCorrected.v1",
    "ComparisonValueWithdrawn.v1",
)


def of(municipality: str, period: int | str, *values: dict[str, Any]) -> dict[str, Any]:
    return {**row(period, *values), "municipality": municipality}


def comparison_rows() -> list[dict[str, Any]]:
    """Ours and four comparison municipalities', with a null value, string periods and a
    deleted row, served two rows a page behind a 429."""
    return [
        row(2024, value("T", 85.0), value("K", 88.0), value("M", 82.0)),
        of("1494", 2024, value("T", 71.2), value("K", 73.0), value("M", 69.5)),
        of("1495", 2024, value("T", 80.0)),
        of("1493", 2024, value("T", None)),  # a null value: no data, no event
        of("1470", "2024", value("T", 75.5)),  # a string period
        of("1494", 2023, value("T", 70.0, deleted=True)),  # deleted, never recorded: nothing
        of("1495", "2023", value("T", 79.0)),
        of("1402", 2024, value("T", 1.0)),  # not a comparison municipality: not asked for
    ]


def all_counts(reports: Runtime) -> dict[str, int]:
    types = [*EVENT_TYPES, *COMPARISON_TYPES]
    with connect(reports) as conn:
        found = dict(
            conn.execute(
                "SELECT event_type, count(*) FROM events WHERE event_type = ANY(%s) "
                "GROUP BY event_type",
                [types],
            ).fetchall()
        )
    return {t.split(".")[0]: int(found.get(t, 0)) for t in types}


def expected(**nonzero: int) -> dict[str, int]:
    return {t.split(".")[0]: 0 for t in (*EVENT_TYPES, *COMPARISON_TYPES)} | nonzero


def compare(reports: Runtime, server: KoladaFixtureServer) -> ImportReport:
    return run(reports, server, comparisons=COMPARISONS)


def comparison_now(reports: Runtime, as_of: dt.datetime | None = None) -> dict[str, Any]:
    with connect(reports) as conn:
        return comparisons.for_indicators(conn, [ELIGIBLE, SAFETY], [2024], as_of)


def test_comparison_municipalities_get_exactly_the_expected_events_and_one_correction(
    fed: Runtime,
) -> None:
    reports = fed
    with KoladaFixtureServer(comparison_rows(), page_size=2, rate_limit_at=(2,)) as server:
        first = compare(reports, server)
        statuses = [r.status for r in server.data_requests()]
        assert statuses == [200, 429, 200, 200, 200], statuses  # 7 rows, 2 a page, one 429
        assert server.data_requests()[0].segments["municipality"] == ["1471", *COMPARISONS]
        assert all_counts(reports) == expected(ResultRecorded=1, ComparisonValueRecorded=4)
        c = first.comparisons
        assert (c.values, c.new, c.no_data, c.unchanged, c.corrected, c.withdrawn) == (
            6,
            4,
            2,
            0,
            0,
            0,
        )
        assert first.totals()["new"] == 5 and first.events == 5

        again = compare(reports, server)  # nothing changed: no event at all
        assert all_counts(reports) == expected(ResultRecorded=1, ComparisonValueRecorded=4)
        assert again.events == 0 and again.comparisons.unchanged == 4

        revised = comparison_rows()
        revised[2] = of("1495", 2024, value("T", 80.5))  # Kolada revised Skara's 2024
        server.set_rows(revised)
        third = compare(reports, server)
        assert all_counts(reports) == expected(
            ResultRecorded=1, ComparisonValueRecorded=4, ComparisonValueCorrected=1
        )
        assert (third.events, third.comparisons.corrected, third.comparisons.unchanged) == (
            1,
            1,
            3,
        )
        with connect(reports) as conn:
            (corrected_at,) = conn.execute(
                "SELECT recorded_at FROM events WHERE event_type = 'ComparisonValueCorrected.v1'"
            ).fetchone() or (None,)

        withdrawn = list(revised)
        withdrawn[4] = of("1470", "2024", value("T", 75.5, deleted=True))  # Vara's deleted
        server.set_rows(withdrawn)
        fourth = compare(reports, server)
        assert all_counts(reports) == expected(
            ResultRecorded=1,
            ComparisonValueRecorded=4,
            ComparisonValueCorrected=1,
            ComparisonValueWithdrawn=1,
        )
        assert (fourth.events, fourth.comparisons.withdrawn) == (1, 1)

    now = comparison_now(reports)
    assert sorted(now) == sorted([ELIGIBLE, SAFETY])  # Kolada indicators, with data or not
    assert [c["value"] for c in now[SAFETY][2024]["comparisons"]] == [None] * 4
    assert now[SAFETY][2024]["mean"] is None
    year = now[ELIGIBLE][2024]
    assert year["kpi"] == "N15419" and year["source"] == "Kolada"
    assert year["municipality"] == {"code": "1471", "value": 85.0, "women": 88.0, "men": 82.0}
    shown = [(c["code"], c["name"], c["value"]) for c in year["comparisons"]]
    assert shown == [
        ("1494", "Lidköping", 71.2),
        ("1495", "Skara", 80.5),
        ("1493", "Mariestad", None),  # null: no data
        ("1470", "Vara", None),  # withdrawn: no data
    ]
    assert year["comparisons"][0]["women"] == 73.0 and year["comparisons"][0]["position"]
    assert year["mean"] == pytest.approx((71.2 + 80.5) / 2)

    assert corrected_at is not None
    before = comparison_now(reports, corrected_at - dt.timedelta(microseconds=1))[ELIGIBLE][2024]
    assert [c["value"] for c in before["comparisons"]] == [71.2, 80.0, None, 75.5]
    assert before["mean"] == pytest.approx((71.2 + 80.0 + 75.5) / 3)


def test_an_interrupted_import_is_finished_by_running_it_again(fed: Runtime) -> None:
    """Resumable: a run stopped half way (here: after its first batch, one result) is finished
    by the next, which records only what is missing."""
    reports = fed
    rows = [*comparison_rows(), row("2023", value("T", 84.0))]

    class Stopped(Exception):
        pass

    def stop_after_one(report: ImportReport) -> None:
        if report.new == 1:
            raise Stopped

    with KoladaFixtureServer(rows, page_size=50, rate_limit_at=()) as server:
        with pytest.raises(Stopped):
            compare_with = {"comparisons": COMPARISONS, "batch": 1}
            run(reports, server, progress=stop_after_one, **compare_with)
        assert all_counts(reports) == expected(ResultRecorded=1)
        rest = compare(reports, server)
    assert (rest.new, rest.unchanged, rest.comparisons.new) == (1, 1, 4)
    assert all_counts(reports) == expected(ResultRecorded=2, ComparisonValueRecorded=4)


def test_a_rebuild_refills_the_comparison_values_from_their_events(fed: Runtime) -> None:
    reports = fed
    with KoladaFixtureServer(comparison_rows(), page_size=50, rate_limit_at=()) as server:
        compare(reports, server)
        revised = comparison_rows()
        revised[2] = of("1495", 2024, value("T", 80.5))
        revised[4] = of("1470", "2024", value("T", 75.5, deleted=True))
        server.set_rows(revised)
        compare(reports, server)
    query = (
        "SELECT comparison_id, kpi, municipality, year, version, value, women, men, withdrawn, "
        "recorded_at, position, event_id FROM comparison_values ORDER BY position"
    )
    with connect(reports) as conn:
        before = conn.execute(query).fetchall()
    assert len(before) == 6 and sum(1 for r in before if r[8]) == 1  # 4 + 1 correction + 1
    rebuild_own(reports.pool, reports.store, reports.projections)
    with connect(reports) as conn:
        assert conn.execute(query).fetchall() == before
