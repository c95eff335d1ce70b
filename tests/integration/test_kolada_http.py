"""The Kolada import as a job over HTTP and the comparisons route, on the real PostgreSQL, from
the local fixture server (paging, a 429, a null value, a string period, a deleted row; no
internet): 202 with the job's URL, its status going to done with the expected counts, a second
job that changes nothing, an administrator's alone to start; a failed fetch is a failed job that
records nothing, and the next job records everything; comparisons beside the municipality's
value, with their mean, as of an instant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from services.goals.seed import seed_id, seed_unit_id
from services.reports.app import create_app
from services.reports.kolada_jobs import default_years
from shared.config import Config
from shared.identity import Identity
from shared.runtime import Runtime
from tests.integration.test_kolada_import import comparison_rows, of, value
from tests.kolada_server import KoladaFixtureServer
from tests.support import ADMIN, AUDITOR, READER, SignedClient, connect, feed_seeded_goals, wait_for

ELIGIBLE = seed_id("indicator-", "i-behorighet")  # kolada N15419
ENERGY = seed_id("indicator-", "i-energi")  # manual
EDITOR = Identity("key:bun", "editor", seed_unit_id("bun"))


@pytest.fixture
def server() -> Iterator[KoladaFixtureServer]:
    with KoladaFixtureServer(comparison_rows(), page_size=2, rate_limit_at=(2,)) as s:
        yield s


@pytest.fixture
def runtime(
    goals: Runtime,
    make_runtime: Callable[..., Runtime],
    make_config: Callable[..., Config],
    server: KoladaFixtureServer,
) -> Runtime:
    reports = make_runtime(
        "reports",
        make_config("reports", kolada_base_url=server.base_url, kolada_requests_per_second=0),
    )
    feed_seeded_goals(goals, reports)
    return reports


@pytest.fixture
def app(runtime: Runtime) -> Any:
    return create_app(runtime.config, runtime)


def events(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        return runtime.store.last_position(conn)


def finished(client: SignedClient, location: str) -> dict[str, Any]:
    def state() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(location).get_json()
        return job if job["state"] in ("done", "failed") else None

    found: dict[str, Any] = wait_for(state, 60.0, f"the job {location} to finish")
    return found


def start(client: SignedClient, body: dict[str, Any]) -> str:
    started = client.post("/api/v1/imports/kolada", body)
    assert started.status_code == 202, started.get_json()
    location = started.headers["Location"]
    job = started.get_json()
    assert location == f"/api/v1/imports/kolada/{job['id']}"
    assert job["state"] in ("queued", "running", "done") and job["source"] == "Kolada"
    return str(location)


def test_an_import_job_reports_its_counts_and_a_second_one_changes_nothing(
    app: Any, runtime: Runtime, server: KoladaFixtureServer
) -> None:
    admin = SignedClient(app, ADMIN)
    location = start(admin, {"years": [2024, 2023]})
    job = finished(SignedClient(app, AUDITOR), location)
    assert job["state"] == "done", job
    assert job["years"] == [2023, 2024] and job["error"] is None
    assert [r.status for r in server.data_requests()] == [200, 429, 200, 200, 200]
    # ours: one result (2024); comparisons: 4 new, a null and a deleted one no data
    counts = {k: job[k] for k in ("new", "corrected", "unchanged", "withdrawn", "no_data")}
    assert counts == {"new": 5, "corrected": 0, "unchanged": 0, "withdrawn": 0, "no_data": 2}
    assert job["fetched"] == 11 and job["refused"] == 0  # observations: T, K, M each
    assert job["results"]["new"] == 1 and job["comparisons"]["new"] == 4
    assert job["started_at"] and job["finished_at"]
    after_first = events(runtime)

    revised = comparison_rows()
    revised[1] = of("1494", 2024, value("T", 71.9), value("K", 73.0), value("M", 69.5))
    server.set_rows(revised)
    second = finished(admin, start(admin, {"years": [2023, 2024]}))
    assert (second["new"], second["corrected"], second["unchanged"]) == (0, 1, 4), second
    assert events(runtime) == after_first + 1  # exactly one correction

    compared = admin.get(f"/api/v1/indicators/{ELIGIBLE}/comparisons?year=2024")
    assert compared.status_code == 200, compared.get_json()
    body = compared.get_json()
    assert (body["comparable"], body["kpi"], body["label"]) == (True, "N15419", "Källa: Kolada")
    (year,) = body["years"]
    assert year["year"] == 2024 and year["municipality"]["value"] == 85.0
    assert [(c["name"], c["value"]) for c in year["comparisons"]] == [
        ("Lidköping", 71.9),
        ("Skara", 80.0),
        ("Mariestad", None),
        ("Vara", 75.5),
    ]
    assert year["mean"] == pytest.approx((71.9 + 80.0 + 75.5) / 3)

    with connect(runtime) as conn:
        (corrected_at,) = conn.execute(
            "SELECT recorded_at FROM events WHERE event_type = 'ComparisonValueCorrected.v1'"
        ).fetchone() or (None,)
    before = (corrected_at - dt.timedelta(microseconds=1)).isoformat()
    earlier = admin.get(
        f"/api/v1/indicators/{ELIGIBLE}/comparisons?year=2024&as_of={quote(before)}"
    ).get_json()
    assert earlier["years"][0]["comparisons"][0]["value"] == 71.2

    card = admin.get(f"/api/v1/scorecard?unit_id={seed_unit_id('kf')}&year=2024").get_json()
    lines = [i for g in card["goals"] for i in g["indicators"]]
    by_id = {i["indicator_id"]: i for i in lines}
    assert by_id[ELIGIBLE]["comparison"]["mean"] == pytest.approx(year["mean"])
    assert by_id[ELIGIBLE]["comparison"]["source"] == "Kolada"
    assert by_id[ENERGY]["comparison"] is None


def test_only_an_administrator_starts_an_import_and_bad_input_is_named(
    app: Any, runtime: Runtime
) -> None:
    before = events(runtime)
    for who in (EDITOR, READER, AUDITOR):
        refused = SignedClient(app, who).post("/api/v1/imports/kolada", {"years": [2024]})
        assert refused.status_code == 403, refused.get_json()
        problem = refused.get_json()
        assert problem["scope"] == who.scope and "administrator" in problem["rule"]
    admin = SignedClient(app, ADMIN)
    for body, field in [
        ({"years": [1800]}, "years"),
        ({"years": ["2024"]}, "years"),
        ({"years": 2024}, "years"),
        ({"years": []}, "years"),
        ({"years": list(range(1990, 2041))}, "years"),
        ({"from_date": "2024-02-30"}, "from_date"),
        ({"from_date": "1000-01-01"}, "from_date"),
        ({"base_url": "http://example.org"}, "base_url"),
    ]:
        answer = admin.post("/api/v1/imports/kolada", body)
        assert answer.status_code == 422, (body, answer.get_json())
        assert field in str(answer.get_json()["errors"]), (body, answer.get_json())
    with connect(runtime) as conn:
        row = conn.execute("SELECT count(*) FROM kolada_jobs").fetchone()
    assert row == (0,), "a refused request starts no job"
    assert events(runtime) == before
    assert admin.get("/api/v1/imports/kolada/no-such-job").status_code == 404
    assert (
        admin.get(f"/api/v1/imports/kolada/{'0' * 8}-0000-0000-0000-{'0' * 12}").status_code == 404
    )
    assert SignedClient(app, EDITOR).get("/api/v1/imports/kolada/x").status_code == 403


def test_a_failed_fetch_fails_the_job_records_nothing_and_the_next_job_records_everything(
    app: Any, runtime: Runtime, server: KoladaFixtureServer
) -> None:
    server.fail_at = {3}  # the second page answers 400: the run stops half way through
    server.fail_status = 400
    admin = SignedClient(app, ADMIN)
    before = events(runtime)
    failed = finished(admin, start(admin, {"years": [2023, 2024]}))
    assert failed["state"] == "failed" and "400" in failed["error"], failed
    assert events(runtime) == before, "a failed fetch records nothing"
    done = finished(admin, start(admin, {}))  # the default years hold 2023 and 2024
    assert done["state"] == "done" and done["years"] == default_years(), done
    assert (done["new"], done["unchanged"]) == (5, 0), done
    assert events(runtime) == before + 5

    since = finished(admin, start(admin, {"years": [2024], "from_date": "2025-01-01"}))
    assert since["state"] == "done" and since["fetched"] == 0, since  # nothing changed since
    assert server.data_requests()[-1].query["from_date"] == ["2025-01-01"]


def test_comparisons_of_an_unknown_or_a_non_kolada_indicator(app: Any) -> None:
    reader = SignedClient(app, READER)
    missing = reader.get("/api/v1/indicators/indicator-nope/comparisons")
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"
    manual = reader.get(f"/api/v1/indicators/{ENERGY}/comparisons?year=2024")
    assert manual.status_code == 200, manual.get_json()
    body = manual.get_json()
    assert body["comparable"] is False and "manual" in body["reason"] and body["years"] == []
    wrong = reader.get(f"/api/v1/indicators/{ELIGIBLE}/comparisons?year=24")
    assert wrong.status_code == 422 and "year" in wrong.get_json()["errors"]
    defaults = reader.get(f"/api/v1/indicators/{ELIGIBLE}/comparisons").get_json()
    assert [y["year"] for y in defaults["years"]] == default_years()
    assert all(y["mean"] is None for y in defaults["years"])  # nothing imported yet
