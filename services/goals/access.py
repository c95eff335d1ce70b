"""Where each goals resource sits in the organisation, for the shared access check
(shared/access.py): a unit is owned by its parent, whose editors set it up, rename, move and
close it; documents and goals by their owning unit; indicators by their goal's owner; the
development areas of the long-term plan by the municipality as a whole (the council)."""

from __future__ import annotations

from typing import Any

from services.goals.domain import areas, documents, goal, indicator, organisation
from shared.access import Access, Ownership, SqlOrgTree, field, owner_of, whole

ORG_TREE = SqlOrgTree()  # org_ancestry() and org_root() of migrations/0003


def _unit_and_new_parent(conn: Any, state: Any, body: Any) -> list[str | None]:
    """A unit is changed by the editors of its parent; a move also needs the new parent."""
    return [state.get("parent_id"), *([body["parent_id"]] if body.get("parent_id") else [])]


GOAL = Ownership(existing=field("owner_unit_id"), new=field("owner_unit_id"))


def access() -> Access:
    return Access(
        ORG_TREE,
        {
            organisation.STREAM_TYPE: Ownership(
                existing=_unit_and_new_parent, new=field("parent_id")
            ),
            documents.STREAM_TYPE: Ownership(
                existing=field("owner_unit_id"), new=field("owner_unit_id")
            ),
            areas.STREAM_TYPE: Ownership(existing=whole, new=whole),
            goal.STREAM_TYPE: GOAL,
            indicator.STREAM_TYPE: Ownership(
                existing=owner_of("goal_id", lambda: GOAL, goal.STREAM_PREFIX),
                new=owner_of("goal_id", lambda: GOAL, goal.STREAM_PREFIX),
            ),
        },
    )
