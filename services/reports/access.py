"""Where each reports resource sits in the organisation, for the shared access check
(shared/access.py): a result belongs to its indicator's goal's owner, an assessment to its
goal's owner, a quality report to its unit, an improvement proposal to its report's unit, and
the annual report (the year's close), the status rules and the annual wheel's deadlines to the
municipality as a whole. The organisation and the goals are what reports knows of them from
goals.events."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.reports.domain import (
    annual,
    assessment,
    calendar,
    improvement,
    report,
    result,
    rules,
)
from shared.access import Access, Conn, Ownership, SqlOrgTree, Unit, field, owner_of, whole
from shared.errors import NotFound

ORG_TREE = SqlOrgTree()  # org_ancestry() and org_root() of migrations/0001


def goal_owner(goal_field: str) -> Callable[..., Sequence[Unit]]:
    """The unit that owns the goal named by `goal_field`."""

    def units(conn: Conn, values: Mapping[str, Any], *_: Any) -> Sequence[Unit]:
        goal_id = values.get(goal_field)
        row = conn.execute(
            "SELECT owner_unit_id FROM known_goals WHERE id = %s", [str(goal_id)]
        ).fetchone()
        if row is None:
            raise NotFound(f"no goal {goal_id} is known here", {goal_field: ["unknown goal"]})
        return [row[0]]

    return units


def indicator_owner(indicator_field: str) -> Callable[..., Sequence[Unit]]:
    """The unit that owns the goal the indicator named by `indicator_field` measures."""

    def units(conn: Conn, values: Mapping[str, Any], *_: Any) -> Sequence[Unit]:
        indicator_id = values.get(indicator_field)
        row = conn.execute(
            """SELECT g.owner_unit_id FROM known_indicators i
                 JOIN known_goals g ON g.id = i.goal_id WHERE i.id = %s""",
            [str(indicator_id)],
        ).fetchone()
        if row is None:
            raise NotFound(
                f"no indicator {indicator_id} is known here",
                {indicator_field: ["unknown indicator"]},
            )
        return [row[0]]

    return units


REPORT = Ownership(existing=field("unit_id"), new=field("unit_id"))
MUNICIPALITY = Ownership(existing=whole, new=whole)


def access() -> Access:
    return Access(
        ORG_TREE,
        {
            result.STREAM_TYPE: Ownership(
                existing=indicator_owner("indicator_id"), new=indicator_owner("indicator_id")
            ),
            assessment.STREAM_TYPE: Ownership(
                existing=goal_owner("goal_id"), new=goal_owner("goal_id")
            ),
            report.STREAM_TYPE: REPORT,
            improvement.STREAM_TYPE: Ownership(
                existing=field("unit_id"),
                new=owner_of("report_id", lambda: REPORT, report.STREAM_PREFIX),
            ),
            annual.STREAM_TYPE: MUNICIPALITY,
            rules.STREAM_TYPE: MUNICIPALITY,
            calendar.STREAM_TYPE: MUNICIPALITY,  # the annual wheel, like the status rules
        },
    )
