"""The proxy's pure parts: which service owns a path, and which headers go on either way."""

from __future__ import annotations

import httpx
import pytest

from services.gateway.observe import sane_correlation_id
from services.gateway.proxy import owner, request_headers, response_headers


@pytest.mark.parametrize(
    ("rest", "service"),
    [
        ("org-units", "goals"),
        ("goals/goal-1/indicators", "goals"),
        ("indicators/indicator-1", "goals"),
        ("indicators/indicator-1/comparisons", "reports"),
        ("plans/plan-1/activities", "plans"),
        ("scorecard", "reports"),
        ("events/plans", "plans"),
        ("export/reports/events.jsonl", "reports"),
        ("admin/goals/verify", "goals"),
        ("history/annual-report-2025", "reports"),
        ("history/report-x", "reports"),
        ("history/org-unit-x", "goals"),
        ("history/activity-x", "plans"),
    ],
)
def test_a_path_goes_to_its_owner(rest: str, service: str) -> None:
    assert owner(rest) == service


@pytest.mark.parametrize(
    "rest",
    ["", "nothing", "events", "events/gateway", "admin/keys2", "history/x-1", "history/a/b"],
)
def test_an_unknown_path_has_no_owner(rest: str) -> None:
    assert owner(rest) is None


def test_hop_by_hop_credentials_and_identity_headers_never_reach_a_service() -> None:
    sent = [
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("X-Secret-Hop", "1"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic x"),
        ("Authorization", "Bearer sk_x"),
        ("Cookie", "session=1"),
        ("X-Styrkort-Actor", "key:admin"),
        ("x-styrkort-role", "admin"),
        ("X-Correlation-Id", "forged"),
        ("Host", "gateway"),
        ("If-Match", '"3"'),
        ("Idempotency-Key", "k-1"),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ]
    kept = request_headers(sent, "corr-1")
    assert kept == {
        "If-Match": '"3"',
        "Idempotency-Key": "k-1",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Correlation-Id": "corr-1",
    }


def test_a_services_end_to_end_headers_come_back_and_hop_by_hop_ones_do_not() -> None:
    answer = httpx.Headers(
        [
            ("Content-Type", "application/problem+json"),
            ("ETag", '"2"'),
            ("Location", "/api/v1/goals/goal-1"),
            ("Retry-After", "5"),
            ("Idempotent-Replayed", "true"),
            ("Content-Disposition", 'attachment; filename="x.pdf"'),
            ("Connection", "close, X-Internal"),
            ("X-Internal", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Proxy-Authenticate", "Basic"),
            ("Server", "gunicorn"),
        ]
    )
    names = [name.lower() for name, _ in response_headers(answer)]
    assert names == [
        "content-type",
        "etag",
        "location",
        "retry-after",
        "idempotent-replayed",
        "content-disposition",
    ]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("ticket-4711", "ticket-4711"),
        ("a.b_c-D9", "a.b_c-D9"),
        ("x" * 64, "x" * 64),
        ("x" * 65, None),
        ("has space", None),
        ("new\nline", None),
        ("", None),
        (None, None),
    ],
)
def test_a_clients_correlation_id_is_kept_only_if_it_is_a_sane_token(
    given: str | None, kept: str | None
) -> None:
    assert sane_correlation_id(given) == kept
