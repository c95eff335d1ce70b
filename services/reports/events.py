"""The vocabulary of the topic `reports.events`: one event registry per aggregate of the service.

Read by `python -m shared.asyncapi reports` to generate docs/asyncapi/reports.json; the
upcasters read events recorded in older shapes.
"""

from __future__ import annotations

from services.reports.domain import (
    annual,
    assessment,
    calendar,
    comparison,
    improvement,
    report,
    result,
    rules,
)
from shared.aggregate import EventRegistry
from shared.events import Upcasters


def registries() -> list[EventRegistry]:
    """Results, goal assessments, quality reports, improvement proposals, the annual report's
    approval (the year's close), the status rules, the annual wheel's deadlines and the
    comparison municipalities' Kolada values."""
    return [
        result.EVENTS,
        assessment.EVENTS,
        report.EVENTS,
        improvement.EVENTS,
        annual.EVENTS,
        rules.EVENTS,
        comparison.EVENTS,
        calendar.EVENTS,
    ]


def upcasters() -> Upcasters:
    """Approvals of the annual report recorded as v1 read as v2 without chain heads (null)."""
    found = Upcasters()
    found.register(
        "AnnualReportApproved.v1", annual.AnnualReport.Approved.TYPE, annual.chain_heads_added
    )
    return found
