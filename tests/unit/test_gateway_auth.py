"""The gateway's settings and open paths (pure: no request, no database)."""

from __future__ import annotations

import pytest

from services.gateway.auth import DEFAULT_RATE_LIMIT, is_open, rate_limit_from_env
from shared.config import ConfigError


def test_the_rate_limit_is_read_in_flask_limiters_notation() -> None:
    assert rate_limit_from_env({}) == DEFAULT_RATE_LIMIT
    assert rate_limit_from_env({"GATEWAY_RATE_LIMIT": "20/second"}) == "20/second"
    for bad in ("", "many", "-1/minute", "5/fortnight"):
        with pytest.raises(ConfigError, match="GATEWAY_RATE_LIMIT"):
            rate_limit_from_env({"GATEWAY_RATE_LIMIT": bad})


@pytest.mark.parametrize(
    ("path", "open_"),
    [
        ("/healthz", True),
        ("/readyz", True),
        ("/metrics", True),
        ("/api/v1/openapi.json", True),
        ("/api/v1/docs", True),
        ("/api/v1/docs/swagger-ui.css", True),
        ("/", True),
        ("/static/app.css", True),
        ("/review/report-1", True),
        ("/api/v1/org-units", False),
        ("/api/v1/admin/keys", False),
        ("/healthz/x", False),
        ("/metricsx", False),
        ("/api/v1/openapi.json/x", False),
    ],
)
def test_only_health_metrics_documents_and_pages_need_no_key(path: str, open_: bool) -> None:
    assert is_open(path) is open_
