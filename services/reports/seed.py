"""Demo follow-up for the goals service's demo seed (services/goals/seed.py): results of its
indicators for 2023-2025 (green, yellow and red, with trends), two goal assessments, and one
approved quality report of Hasslerudskolan for 2025 whose improvement proposal the plans service
turns into an activity of the school's 2026 plan, and the council's standard annual wheel
(årshjul) for the years of the seeded mandate period, so the calendar and the overdue list have
deadlines to show.

Reports learns of units, goals and indicators only from goals.events, through its consumer, so
the seed first waits (with progress lines) until its read model knows the seeded entities; run
it with the consumer running (the dev stack runs seeds once its processes are up). Ids are
derived from names, as goals' seed derives them, so seeding twice finds everything there.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from services.reports import deadlines, handlers, known
from services.reports.domain import assessment, calendar, report, result
from services.reports.domain.result import SOURCES
from shared import values
from shared.errors import RuleViolation
from shared.events import Metadata

if TYPE_CHECKING:
    from shared.runtime import Runtime

#: the namespace and stream prefixes of services/goals/seed.py: its ids follow from the keys
GOALS_SEED_NAMESPACE = uuid.UUID("5b0e3c1e-6a4f-4c1b-9d59-1471a0000000")
UNIT_PREFIX, GOAL_PREFIX, INDICATOR_PREFIX = "org-unit-", "goal-", "indicator-"

WAIT_SECONDS = 60.0
PROGRESS_EVERY_SECONDS = 5.0

#: (indicator key, year, value, women, men): near the targets and thresholds goals' seed set,
#: so 2025 shows a green, a yellow and a red indicator, and trends both ways
RESULTS: list[tuple[str, int, float, float | None, float | None]] = [
    # higher is better; green at 88, yellow at 84 (thresholds)
    ("i-behorighet", 2023, 83.5, 86.1, 81.0),
    ("i-behorighet", 2024, 86.2, 88.0, 84.5),
    ("i-behorighet", 2025, 89.1, 90.8, 87.5),
    # higher is better; green at 88, yellow at 80
    ("i-trygghet", 2023, 86.0, 86.5, 85.0),
    ("i-trygghet", 2024, 83.0, 83.8, 81.9),
    ("i-trygghet", 2025, 78.5, 79.2, 77.4),
    # lower is better; green at most 145, yellow at most 155
    ("i-energi", 2023, 158.0, None, None),
    ("i-energi", 2024, 152.5, None, None),
    ("i-energi", 2025, 149.0, None, None),
    # a target for 2026 only, no thresholds: no colour before 2026, the reason says why
    ("i-nmi", 2023, 54.0, 55.0, 53.0),
    ("i-nmi", 2024, 56.0, 57.0, 55.0),
    ("i-nmi", 2025, 57.0, 58.0, 56.0),
]

#: (goal key, year, verdict, analysis)
ASSESSMENTS = [
    (
        "o-kunskap",
        2025,
        "met",
        "Andelen elever i åk 9 som är behöriga till yrkesprogram steg till 89,1 % och nådde "
        "målvärdet 88 %. Flickor 90,8 %, pojkar 87,5 %: skillnaden minskar men finns kvar.",
    ),
    (
        "o-aldre",
        2025,
        "not_met",
        "Tryggheten i särskilt boende har sjunkit två år i rad, till 78,5 %. Brukarundersökningen "
        "pekar på nattbemanning och många nya vikarier.",
    ),
]

REPORT_UNIT, REPORT_PERIOD = "hasslerud", "2025"

#: The annual wheel the council decides for each year of the seeded mandate period (2023-2026):
#: (kind, month, day, in the next year?) — results entered by 31 January, quality reports by
#: 15 February, the annual report approved by 30 April, all of the following year; the interim
#: report as of 31 August of the year
COUNCIL = "kf"
WHEEL_YEARS = range(2023, 2027)
STANDARD_WHEEL: list[tuple[calendar.Kind, int, int, bool]] = [
    ("interim_report_as_of", 8, 31, False),
    ("results_due", 1, 31, True),
    ("quality_report_due", 2, 15, True),
    ("annual_report_due", 4, 30, True),
]
QUALITY_ASSURANCE = (
    ("goal_follow_up", "student_survey", "staff_survey", "comparison"),
    "Måluppföljning varje termin, elevenkät i åk 5 och 8, medarbetarenkät och jämförelse med "
    "liknande kommuner i Kolada. Elevenkäten visar att trygghet på rasterna och studiero i "
    "matematik behöver förbättras.",
)
IMPROVEMENT_AREAS = [
    ("Studiero i matematik", "Färre elever än tidigare upplever studiero på mattelektionerna."),
    ("Trygghet på rasterna", "Elever i åk 4-6 känner sig otrygga vid skolgården bakom idrotten."),
]
#: the section on each goal of the school's plan, if it has a plan for 2025
GOAL_ANALYSIS = "Delvis uppfyllt; se skolans måluppföljning."
PROPOSAL = (
    "Inför rastvärdar och aktiva raster i åk 4-6",
    "Vuxna rastvärdar med schemalagda aktiviteter på skolgården, och elevråd som följer upp "
    "tryggheten varje månad.",
)


def seed_id(prefix: str, key: str) -> str:
    """The id goals' seed gives the entity of `key`."""
    return f"{prefix}{uuid.uuid5(GOALS_SEED_NAMESPACE, key)}"


class NotKnownYet(RuntimeError):
    """The read model did not learn of the seeded goals data within the time allowed."""


def wait_until_known(
    runtime: Runtime,
    timeout: float = WAIT_SECONDS,
    progress: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    """Wait until reports' read model of goals.events knows every entity this seed refers to:
    the seeded indicators (active), the goals it assesses (adopted) and the reporting unit."""
    started = time.monotonic()
    shown = started - PROGRESS_EVERY_SECONDS
    while True:
        missing = _not_known(runtime)
        if not missing:
            return
        now = time.monotonic()
        if now - started > timeout:
            raise NotKnownYet(
                f"reports: after {timeout:.0f} s the read model still does not know "
                f"{', '.join(missing)} (from goals.events). Seed goals first "
                "(python -m services.goals seed) and keep the goals relay and the reports "
                "consumer running; see the reports consumer's log"
            )
        if now - shown >= PROGRESS_EVERY_SECONDS:
            progress(
                f"reports: waiting for goals.events: {len(missing)} seeded entities not known "
                f"yet ({', '.join(missing)}); {now - started:.0f} of {timeout:.0f} s"
            )
            shown = now
        time.sleep(0.5)


def _not_known(runtime: Runtime) -> list[str]:
    """The keys of the seeded entities the read model does not know (in their state) yet."""
    missing = []
    with runtime.pool.connection() as conn:
        for key in dict.fromkeys(key for key, *_ in RESULTS):
            row = known.indicator(conn, seed_id(INDICATOR_PREFIX, key))
            if row is None or row.status != "active":
                missing.append(key)
        for key, *_ in ASSESSMENTS:
            found = known.goal(conn, seed_id(GOAL_PREFIX, key))
            if found is None or found.status != "adopted":
                missing.append(key)
        for unit_key in (REPORT_UNIT, COUNCIL):
            unit = known.unit(conn, seed_id(UNIT_PREFIX, unit_key))
            if unit is None or unit.status != "active":
                missing.append(unit_key)
    return missing


def seed(runtime: Runtime) -> str:
    try:
        wait_until_known(runtime)
    except NotKnownYet as exc:
        raise SystemExit(str(exc)) from None  # one clear line and exit status 1, no traceback
    metadata = Metadata(actor="system:seed", correlation_id=str(uuid.uuid4()))

    def exists(stream_id: str) -> bool:
        with runtime.pool.connection() as conn:
            return bool(runtime.store.stream_version(conn, stream_id))

    results = 0
    for key, year, value, women, men in RESULTS:
        indicator_id = seed_id(INDICATOR_PREFIX, key)
        if exists(result.result_id_for(indicator_id, str(year))):
            continue
        with runtime.pool.connection() as conn:
            row = known.indicator(conn, indicator_id)
        source = row.source_kind if row and row.source_kind in SOURCES else "manual"
        handlers.record_result(
            runtime.uow(),
            metadata,
            indicator_id=indicator_id,
            period=str(year),
            value=value,
            women=women,
            men=men,
            source=source,
        )
        results += 1

    assessed = 0
    for key, year, verdict, analysis in ASSESSMENTS:
        goal_id = seed_id(GOAL_PREFIX, key)
        if exists(assessment.assessment_id_for(goal_id, year)):
            continue
        handlers.assess_goal(
            runtime.uow(), metadata, goal_id=goal_id, year=year, verdict=verdict, analysis=analysis
        )
        assessed += 1

    approved = _quality_report(runtime, metadata)
    done = (
        "and approved the quality report of Hasslerudskolan 2025 (its improvement proposal "
        "goes to the school's 2026 plan)"
        if approved
        else "the quality report of Hasslerudskolan 2025 was approved already"
    )
    decided = _annual_wheel(runtime, metadata, exists)
    years = f"{WHEEL_YEARS[0]}-{WHEEL_YEARS[-1]}"
    wheel = (
        f"decided {decided} deadlines of the annual wheel {years}"
        if decided
        else f"the annual wheel {years} was decided already"
    )
    return f"reports: seeded {results} results and {assessed} assessments {done}; {wheel}"


def _annual_wheel(runtime: Runtime, metadata: Metadata, exists: Callable[[str], bool]) -> int:
    """The council's standard wheel for each seeded year, decided the November before (as a
    budget council would), through the same handler as the API; a deadline set already (by an
    earlier seed, or by hand) is left as it is."""
    council = seed_id(UNIT_PREFIX, COUNCIL)
    decided = 0
    for year in WHEEL_YEARS:
        decided_on = dt.date(year - 1, 11, 28)
        for kind, month, day, next_year in STANDARD_WHEEL:
            if exists(calendar.deadline_id(kind, year)):
                continue
            try:
                deadlines.set_deadline(
                    runtime.uow(),
                    metadata,
                    kind=kind,
                    year=year,
                    date=dt.date(year + 1 if next_year else year, month, day),
                    decided_by=council,
                    decided_on=decided_on,
                    minute_ref=f"KF {decided_on.isoformat()} § 112",
                )
            except RuleViolation as refused:
                if "year" not in refused.fields:
                    raise
                break  # a year closed before it had a wheel keeps none: the seed moves on
            decided += 1
    return decided


def _quality_report(runtime: Runtime, metadata: Metadata) -> bool:
    """Take the report as far as approved from wherever it stands (an earlier seed may have
    stopped half-way); False if it was approved already."""
    unit_id = seed_id(UNIT_PREFIX, REPORT_UNIT)
    report_id = report.report_id_for(unit_id, REPORT_PERIOD)

    def load() -> Any:
        with runtime.pool.connection() as conn:
            events = runtime.store.read_stream(conn, report_id)
        return report.KIND.fold_new(report.EVENTS.decode_all(events)) if events else None

    def change(decide: Callable[[report.QualityReport], list[Any]]) -> None:
        handlers.change_report(runtime.uow(), metadata, report_id, None, decide)

    state = load()
    if state is None:
        handlers.start_report(runtime.uow(), metadata, unit_id=unit_id, period=REPORT_PERIOD)
        state = load()
    if state.status == "approved":
        return False
    if state.status == "draft":
        assessed = {s.goal_id for s in state.goal_sections}
        for goal_id in state.goal_ids:  # those of the school's plan for 2025, if it has one
            if goal_id not in assessed:
                assess = partial(
                    report.QualityReport.assess_goal,
                    goal_id=goal_id,
                    verdict="partly_met",
                    analysis=GOAL_ANALYSIS,
                )
                change(assess)
        if not state.activities_comment:
            change(
                lambda r: r.comment_activities(
                    "Läsfrämjande insatser och mattelyftet genomfördes; läxhjälpen startade först "
                    "i oktober."
                )
            )
        if not state.quality_assurance.text:
            change(lambda r: r.write_quality_assurance(*QUALITY_ASSURANCE))
        if not state.improvement_areas:
            change(lambda r: r.write_improvement_areas(IMPROVEMENT_AREAS))
        if not state.proposal_ids:
            title, description = PROPOSAL
            handlers.draft_proposal(
                runtime.uow(), metadata, report_id=report_id, title=title, description=description
            )
        state = load()
        for section in report.SECTIONS:
            if section not in state.done:
                change(partial(report.QualityReport.mark_done, section=section))
        handlers.submit_report(runtime.uow(), metadata, report_id, None)
    today = values.today()
    handlers.approve_report(
        runtime.uow(),
        metadata,
        report_id,
        None,
        decided_by=unit_id,
        decided_on=today,
        minute_ref=f"Rektorsbeslut {today.isoformat()}",
    )
    return True
