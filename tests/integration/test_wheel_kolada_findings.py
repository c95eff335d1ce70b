"""Findings of a hostile user's attack on the annual wheel's and the Kolada import's routes
(issue 10), each a test that failed before its fix, on the real PostgreSQL and local servers:
another spelling of a job's UUID, look-alike dates, hostile Kolada files and answers."""

from __future__ import annotations

from services.reports.app import create_app
from shared.runtime import Runtime
from tests.integration.test_kolada_http import events
from tests.support import ADMIN, SignedClient, connect, feed_seeded_goals

IMPORTS = "/api/v1/imports/kolada"


def jobs(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        row = conn.execute("SELECT count(*) FROM kolada_jobs").fetchone()
    assert row is not None
    return int(row[0])


def test_a_job_id_in_another_spelling_of_a_uuid_is_a_404_never_a_500(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    admin = SignedClient(create_app(reports.config, reports), ADMIN)
    zero = "00000000-0000-0000-0000-000000000000"
    for spelling in (f"urn:uuid:{zero}", f"{{{zero}}}", zero.replace("-", ""), zero.upper()[:-1]):
        answer = admin.get(f"{IMPORTS}/{spelling}")
        assert answer.status_code == 404, (spelling, answer.get_json())
        assert answer.content_type == "application/problem+json"


def test_a_from_date_in_a_look_alike_form_is_refused_and_starts_no_job(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    admin = SignedClient(create_app(reports.config, reports), ADMIN)
    before = events(reports)
    # marshmallow's Date reads these as 2024-01-01 (date.fromisoformat's other ISO forms)
    for text in ("20240101", "2024-W01-1", "2024-001", "2024-01-01T00:00", "٢٠٢٤-01-01"):
        answer = admin.post(IMPORTS, {"years": [2024], "from_date": text})
        assert answer.status_code == 422, (text, answer.get_json())
        assert "from_date" in answer.get_json()["errors"], (text, answer.get_json())
    assert jobs(reports) == 0 and events(reports) == before
