"""Where each plans resource sits in the organisation, for the shared access check
(shared/access.py): a plan is owned by its unit, an activity and an employee agreement by
their plan's unit. The organisation is what plans knows of it from goals.events."""

from __future__ import annotations

from services.plans.domain import activity, agreement, plan
from shared.access import Access, Ownership, SqlOrgTree, field, owner_of

ORG_TREE = SqlOrgTree()  # org_ancestry() and org_root() of migrations/0004

PLAN = Ownership(existing=field("unit_id"), new=field("unit_id"))


def access() -> Access:
    return Access(
        ORG_TREE,
        {
            plan.STREAM_TYPE: PLAN,
            activity.STREAM_TYPE: Ownership(
                existing=owner_of("plan_id", lambda: PLAN, plan.STREAM_PREFIX),
                new=owner_of("plan_id", lambda: PLAN, plan.STREAM_PREFIX),
            ),
            agreement.STREAM_TYPE: Ownership(
                existing=field("unit_id"), new=owner_of("plan_id", lambda: PLAN, plan.STREAM_PREFIX)
            ),
        },
    )
