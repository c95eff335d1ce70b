"""Findings of a hostile user's attack on the annual wheel's and the Kolada import's routes
(issue 10), each a test that failed before its fix, on the real PostgreSQL and local servers:
another spelling of a job's UUID, look-alike dates, hostile Kolada files and answers."""

from __future__ import annotations

from services.reports.app import create_app
from shared.runtime import Runtime
from tests.support import ADMIN, SignedClient, feed_seeded_goals

IMPORTS = "/api/v1/imports/kolada"


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
