"""Demo data from the source documents: Götene kommun's organisation (idempotent).

Ids are derived from names, so seeding twice finds the units already there.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from services.goals import handlers
from services.goals.domain.organisation import STREAM_PREFIX
from shared.events import Metadata

if TYPE_CHECKING:
    from shared.runtime import Runtime

SEED_NAMESPACE = uuid.UUID("5b0e3c1e-6a4f-4c1b-9d59-1471a0000000")  # 1471 = Götene's code

#: (key, name, kind, parent key)
ORGANISATION = [
    ("kf", "Kommunfullmäktige", "council", None),
    ("ks", "Kommunstyrelsen", "executive_board", "kf"),
    ("bun", "Barn- och utbildningsnämnden", "committee", "kf"),
    ("son", "Socialnämnden", "committee", "kf"),
    ("mbn", "Miljö- och byggnadsnämnden", "committee", "kf"),
    ("bolag", "Götene Bostäder AB", "company", "kf"),
    ("sektor-bou", "Sektor barn och utbildning", "sector", "bun"),
    ("sektor-sov", "Sektor stöd och omsorg", "sector", "son"),
    ("sektor-sam", "Sektor samhällsbyggnad", "sector", "ks"),
    ("ljungs", "Ljungsgårdens förskola", "unit", "sektor-bou"),
    ("hasslerud", "Hasslerudskolan", "unit", "sektor-bou"),
    ("ladugardsbacken", "Ladugårdsbackens äldreboende", "unit", "sektor-sov"),
]


def seed_unit_id(key: str) -> str:
    return f"{STREAM_PREFIX}{uuid.uuid5(SEED_NAMESPACE, key)}"


def seed(runtime: Runtime) -> str:
    metadata = Metadata(actor="system:seed", correlation_id=str(uuid.uuid4()))
    created = 0
    for key, name, kind, parent in ORGANISATION:
        unit_id = seed_unit_id(key)
        with runtime.pool.connection() as conn:
            if runtime.store.stream_version(conn, unit_id):
                continue
        handlers.create_org_unit(
            runtime.uow(),
            metadata,
            name=name,
            kind=kind,
            parent_id=seed_unit_id(parent) if parent else None,
            unit_id=unit_id,
        )
        created += 1
    return f"goals: seeded {created} organisation unit(s), {len(ORGANISATION) - created} existed"
