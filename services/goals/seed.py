"""Demo data from the source documents: Götene kommun's organisation, vision, development areas
and a handful of goals and indicators, so a new user sees a living system at once.

Ids are derived from names, so seeding twice finds everything already there (idempotent).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from services.goals import handlers
from services.goals.domain import areas, documents, goal, indicator, organisation
from services.goals.domain.decisions import Decision
from services.goals.domain.documents import Content
from services.goals.domain.goal import GoalContent, Placement
from services.goals.domain.indicator import Baseline, DataSource, Definition, Thresholds
from shared.events import Metadata

if TYPE_CHECKING:
    from shared.runtime import Runtime

SEED_NAMESPACE = uuid.UUID("5b0e3c1e-6a4f-4c1b-9d59-1471a0000000")  # 1471 = Götene's code
PERIOD = "2023-2026"

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

#: Götene's four development areas (utvecklingsområden) of the long-term plan
AREAS = [
    (
        "livsmiljo",
        "Attraktiva livsmiljöer",
        "Götene ska vara en attraktiv kommun att bo, leva och verka i.",
    ),
    ("naringsliv", "Dynamiskt näringsliv", "Ett växande och mångsidigt näringsliv."),
    ("rorlighet", "Ökad rörlighet", "Goda kommunikationer och hållbara resor."),
    ("synligt", "Ett synligt Götene", "Götene syns, engagerar och välkomnar."),
]

#: (key, area key, title, perspectives)
STRATEGIC = [
    ("s-trygg", "livsmiljo", "Götene är en trygg kommun att växa upp och åldras i", ("social",)),
    ("s-klimat", "livsmiljo", "Kommunens klimatpåverkan minskar", ("environmental",)),
    ("s-jobb", "naringsliv", "Fler arbetstillfällen i ett växande näringsliv", ("economic",)),
    (
        "s-resor",
        "rorlighet",
        "Fler reser hållbart till arbete och skola",
        ("environmental", "social"),
    ),
]

#: (key, owner key, title, strategic keys)
OPERATIONAL = [
    ("o-kunskap", "bun", "Alla elever når kunskapskraven i grundskolan", ("s-trygg",)),
    ("o-aldre", "son", "Äldre känner sig trygga i sitt boende", ("s-trygg",)),
    ("o-energi", "mbn", "Minskad energianvändning i kommunens lokaler", ("s-klimat",)),
    ("o-bostader", "bolag", "Fler bostäder för alla skeden i livet", ("s-trygg", "s-jobb")),
]

#: (key, goal key, name, unit, direction, source, baseline, targets, thresholds)
INDICATORS: list[tuple[Any, ...]] = [
    (
        "i-behorighet",
        "o-kunskap",
        "Elever i åk 9 behöriga till gymnasiets yrkesprogram",
        "%",
        "higher_is_better",
        DataSource("kolada", "N15419"),
        Baseline(84.0, 2022),
        {2024: 86.0, 2025: 88.0, 2026: 90.0},
        Thresholds(88.0, 84.0),
    ),
    (
        "i-trygghet",
        "o-aldre",
        "Brukare i särskilt boende som känner sig trygga",
        "%",
        "higher_is_better",
        DataSource("kolada", "U23471"),
        Baseline(81.0, 2022),
        {2026: 90.0},
        Thresholds(88.0, 80.0),
    ),
    (
        "i-energi",
        "o-energi",
        "Energianvändning i kommunens lokaler",
        "kWh/m²",
        "lower_is_better",
        DataSource("manual", None, "Fastighetsavdelningens mätningar"),
        Baseline(160.0, 2022),
        {2026: 140.0},
        Thresholds(145.0, 155.0),
    ),
    (
        "i-nmi",
        "s-trygg",
        "Nöjd Medborgar-Index, helhet",
        "index",
        "higher_is_better",
        DataSource("survey", None, "SCB:s medborgarundersökning"),
        Baseline(55.0, 2022),
        {2026: 60.0},
        None,
    ),
]


def seed_id(prefix: str, key: str) -> str:
    return f"{prefix}{uuid.uuid5(SEED_NAMESPACE, key)}"


def seed_unit_id(key: str) -> str:
    return seed_id(organisation.STREAM_PREFIX, key)


def seed(runtime: Runtime) -> str:
    metadata = Metadata(actor="system:seed", correlation_id=str(uuid.uuid4()))
    created = 0

    def missing(entity_id: str) -> bool:
        """True (and counted) when the entity is not there yet: then the caller makes it."""
        nonlocal created
        with runtime.pool.connection() as conn:
            if runtime.store.stream_version(conn, entity_id):
                return False
        created += 1
        return True

    def uow() -> Any:
        return runtime.uow()

    for key, name, kind, parent in ORGANISATION:
        if missing(seed_unit_id(key)):
            handlers.create_org_unit(
                uow(),
                metadata,
                name=name,
                kind=kind,
                parent_id=seed_unit_id(parent) if parent else None,
                unit_id=seed_unit_id(key),
            )

    kf = seed_unit_id("kf")
    plan_id = seed_id(documents.STREAM_PREFIX, "framtidsplan")
    for doc_id, doc_type, title, summary in (
        (
            plan_id,
            "long_term_plan",
            "Framtidsplan för Götene kommun",
            "Kommunens långsiktiga plan med vision och utvecklingsområden.",
        ),
        (
            seed_id(documents.STREAM_PREFIX, "vision"),
            "vision",
            "Bo i Götene, lev i världen",
            "Götene kommuns vision: en plats att bo på, med världen inom räckhåll.",
        ),
    ):
        if missing(doc_id):
            since = dt.date(2009, 1, 26)
            handlers.draft_document(
                uow(),
                metadata,
                doc_type=doc_type,
                owner_unit_id=kf,
                content=Content(title, summary, since),
                document_id=doc_id,
            )
            handlers.adopt_document(
                uow(), metadata, doc_id, None, Decision(kf, since, "KF 2009-01-26 §5")
            )

    plan_decision = Decision(kf, dt.date(2009, 1, 26), "KF 2009-01-26 §5")
    for key, name, description in AREAS:
        area_id = seed_id(areas.STREAM_PREFIX, key)
        if missing(area_id):
            handlers.define_area(
                uow(),
                metadata,
                name=name,
                description=description,
                plan_id=plan_id,
                decision=plan_decision,
                area_id=area_id,
            )

    goal_id = {key: seed_id(goal.STREAM_PREFIX, key) for key, *_ in STRATEGIC + OPERATIONAL}
    council = Decision(kf, dt.date(2022, 11, 28), "KF 2022-11-28 §120")
    #: goal key -> the decision that adopted it; its indicators are decided with it
    decided = {key: council for key, *_ in STRATEGIC}
    for key, area, title, perspectives in STRATEGIC:
        if missing(goal_id[key]):
            handlers.draft_goal(
                uow(),
                metadata,
                level="strategic",
                owner_unit_id=kf,
                period=PERIOD,
                content=GoalContent(title, "", perspectives),
                placement=Placement(seed_id(areas.STREAM_PREFIX, area)),
                goal_id=goal_id[key],
            )
            handlers.adopt_goal(uow(), metadata, goal_id[key], None, council)

    for key, owner, title, sources in OPERATIONAL:
        body = seed_unit_id(owner)
        decided[key] = Decision(body, dt.date(2023, 2, 15), f"{owner.upper()} §14")
        if missing(goal_id[key]):
            placement = Placement(derived_from=tuple(goal_id[s] for s in sources))
            handlers.draft_goal(
                uow(),
                metadata,
                level="operational",
                owner_unit_id=body,
                period=PERIOD,
                content=GoalContent(title),
                placement=placement,
                goal_id=goal_id[key],
            )
            handlers.adopt_goal(uow(), metadata, goal_id[key], None, decided[key])

    for key, goal_key, name, unit, direction, source, baseline, targets, thresholds in INDICATORS:
        indicator_id = seed_id(indicator.STREAM_PREFIX, key)
        if missing(indicator_id):
            handlers.define_indicator(
                uow(),
                metadata,
                goal_id[goal_key],
                definition=Definition(name, unit, direction, source, baseline),
                decision=decided[goal_key],
                targets=targets,
                thresholds=thresholds,
                indicator_id=indicator_id,
            )
    return f"goals: seeded {created} entities (Götene kommun), the rest existed"
