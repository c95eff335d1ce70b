"""Read models of the goals service: every entity's states over time (shared/versions.py),
updated in the same transaction as the append."""

from __future__ import annotations

from services.goals.domain import areas, documents, goal, indicator, organisation
from shared.uow import Projection
from shared.versions import EntityVersionsProjection

KINDS = (organisation.KIND, documents.KIND, areas.KIND, goal.KIND, indicator.KIND)


def own_projections() -> list[Projection]:
    return [EntityVersionsProjection(KINDS)]
