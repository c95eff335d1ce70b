"""The follow-up loop across all three services over the real broker and PostgreSQL: goals
publishes units, goals, indicators and their yardsticks; reports follows goals.events and
plans.events and computes the scorecard; an approved quality report's improvement proposal goes
back over reports.events to become an activity in the unit's next plan, once, however often
it is delivered. Relays and consumers run as threads, as their processes run them."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest

from services.goals.app import create_app as goals_app
from services.goals.seed import seed, seed_id, seed_unit_id
from services.plans.app import create_app as plans_app
from services.reports.app import create_app as reports_app
from shared import values
from shared.consumer import Consumer, Outcome, read_topics_to_end, rebuild_consumer_read_models
from shared.identity import Identity
from shared.kafka import ensure_topic
from shared.rebuild import rebuild_own
from shared.relay import Relay
from shared.runtime import Runtime
from tests.support import ADMIN, EDITOR, SignedClient, connect, wait_for

KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SECTOR = seed_unit_id("sektor-bou")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")  # owned by BUN, 2023-2026
ELIGIBLE = seed_id("indicator-", "i-behorighet")  # target 2025: 88, thresholds 88 / 84
TODAY = values.today().isoformat()
#: the sector's manager: an editor within the sector, who approves its quality report
MANAGER = Identity("key:sektorschef-bou", "editor", SECTOR)


# -- the running system ---------------------------------------------------------------------------


@dataclass
class System:
    goals: Runtime
    plans: Runtime
    reports: Runtime
    relays: dict[str, Relay]
    plans_consumer: Consumer
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def start(self, name: str, target: Callable[[threading.Event], None]) -> None:
        def run() -> None:
            try:
                target(self.stop)
            except BaseException as exc:  # collected, raised in the test (never only a warning)
                self.errors.append(exc)

        thread = threading.Thread(target=run, name=name)
        self.threads.append(thread)
        thread.start()

    def check(self) -> None:
        if self.errors:
            raise AssertionError(f"a relay or consumer thread failed: {self.errors!r}") from (
                self.errors[0]
            )

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
        """wait_for, failing at once when a thread failed meanwhile."""

        def checked() -> Any:
            self.check()
            return predicate()

        return wait_for(checked, timeout, what)

    def halt(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        alive = [t.name for t in self.threads if t.is_alive()]
        assert not alive, f"threads still running: {alive}"
        self.check()


@pytest.fixture
def system(goals: Runtime, plans: Runtime, reports: Runtime) -> Iterator[System]:
    """Goals seeded (Götene); the three relays and the plans and reports consumers running."""
    seed(goals)
    for runtime in (goals, plans, reports):  # consumers subscribe before the relays start
        ensure_topic(runtime.config, runtime.config.topic())
    relays = {r.config.service: Relay(r.config, r.store) for r in (goals, plans, reports)}
    running = System(
        goals, plans, reports, relays, Consumer(plans.config, plans.pool, plans.applier)
    )
    for service, relay in relays.items():
        running.start(f"{service}-relay", functools.partial(relay.run, idle_wait=0.2))
    running.start("plans-consumer", running.plans_consumer.run)
    running.start("reports-consumer", Consumer(reports.config, reports.pool, reports.applier).run)
    try:
        yield running
    finally:
        running.halt()


def api(runtime: Runtime, who: Identity = EDITOR) -> SignedClient:
    make = {"goals": goals_app, "plans": plans_app, "reports": reports_app}
    return SignedClient(make[runtime.config.service](runtime.config, runtime), who)


def row(runtime: Runtime, query: str, *params: Any) -> Any:
    with connect(runtime) as conn:
        return conn.execute(query, list(params)).fetchone()


def last_position(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        return runtime.store.last_position(conn)


def caught_up(system: System) -> bool:
    """Every event of every service relayed and applied by each consumer that follows it."""
    runtimes = {"goals": system.goals, "plans": system.plans, "reports": system.reports}
    lasts = {name: last_position(r) for name, r in runtimes.items()}
    for name, runtime in runtimes.items():
        with connect(runtime) as conn:
            if system.relays[name].checkpoint(conn) != lasts[name]:
                return False
    follows = {"plans": ("goals", "reports"), "reports": ("goals", "plans")}
    for consumer, sources in follows.items():
        for source in sources:
            applied = row(
                runtimes[consumer],
                "SELECT coalesce(max(position), 0) FROM consumed_streams WHERE source = %s",
                f"/styrkort/{source}",
            )[0]
            if applied != lasts[source]:
                return False
    # a reaction may have appended meanwhile: caught up only if nothing moved
    return lasts == {name: last_position(r) for name, r in runtimes.items()}


def line(card: dict[str, Any], indicator_id: str) -> dict[str, Any]:
    for goal in card["goals"]:
        for found in goal["indicators"]:
            if found["indicator_id"] == indicator_id:
                return dict(found)
    raise AssertionError(f"{indicator_id} not on the scorecard")


def scorecard_line(
    client: SignedClient, unit_id: str, year: int, indicator_id: str, as_of: str | None = None
) -> dict[str, Any]:
    query: dict[str, Any] = {"unit_id": unit_id, "year": year}
    if as_of is not None:
        query["as_of"] = as_of
    answer = client.get(f"/api/v1/scorecard?{urlencode(query)}")
    assert answer.status_code == 200, answer.get_json()
    return line(answer.get_json(), indicator_id)


def wait_for_seed(system: System) -> None:
    """The seeded organisation and goals reached both consumers."""
    for runtime in (system.plans, system.reports):
        wait_for_seed_in(system, runtime)
    system.wait(
        lambda: (
            row(
                system.reports,
                "SELECT count(*) FROM known_thresholds WHERE indicator_id = %s",
                ELIGIBLE,
            )
            == (1,)
        ),
        "the seeded indicator's thresholds in reports",
    )


def wait_for_seed_in(system: System, runtime: Runtime) -> None:
    service = runtime.config.service
    system.wait(
        lambda: (
            row(runtime, "SELECT status FROM known_goals WHERE id = %s", SCHOOL_GOAL)
            == ("adopted",)
        ),
        f"the adopted school goal in {service}",
    )
    system.wait(
        lambda: row(runtime, "SELECT kind FROM known_org_units WHERE id = %s", SECTOR),
        f"the sector in {service}",
    )


# -- 1. goals → reports: the scorecard's colour and its reason ------------------------------------


def test_an_indicator_decided_in_goals_colours_the_scorecard_of_a_result_in_reports(
    system: System,
) -> None:
    wait_for_seed(system)
    goals_api, reports_api = api(system.goals), api(system.reports)
    decision = {"decided_by": BUN, "decided_on": TODAY, "minute_ref": "BUN 2026 §31"}
    made = goals_api.post(
        f"/api/v1/goals/{SCHOOL_GOAL}/indicators",
        {
            "name": "Elever som läser minst en bok i månaden",
            "unit_of_measure": "%",
            "direction": "higher_is_better",
            "source": {"kind": "survey"},
            "targets": {"2025": 50},
            **decision,
        },
    )
    assert made.status_code == 201, made.get_json()
    reading = made.get_json()["id"]
    system.wait(
        lambda: (
            row(
                system.reports,
                "SELECT value FROM known_targets WHERE indicator_id = %s AND year = 2025",
                reading,
            )
            == (50.0,)
        ),
        "the indicator and its target in reports",
    )

    recorded = reports_api.post(
        "/api/v1/results", {"indicator_id": reading, "period": "2025", "value": 45}
    )
    assert recorded.status_code == 201, recorded.get_json()
    by_target = scorecard_line(reports_api, BUN, 2025, reading)
    assert by_target["target"] == 50.0 and by_target["thresholds"] is None
    assert by_target["result"]["value"] == 45.0
    assert by_target["status"]["colour"] == "yellow"
    reason = by_target["status"]["reason"]
    assert (reason["rule"], reason["value"], reason["target"]) == ("target", 45.0, 50.0)
    assert (reason["green_line"], reason["yellow_line"]) == (50.0, 40.0), "80 % of the target"

    # thresholds decided later in goals take over once reports has them
    lines = goals_api.post(
        f"/api/v1/indicators/{reading}/thresholds", {"green": 44, "yellow": 30, **decision}
    )
    assert lines.status_code == 200, lines.get_json()
    system.wait(
        lambda: (
            row(
                system.reports,
                "SELECT green, yellow FROM known_thresholds WHERE indicator_id = %s",
                reading,
            )
            == (44.0, 30.0)
        ),
        "the thresholds in reports",
    )
    by_thresholds = scorecard_line(reports_api, BUN, 2025, reading)
    assert by_thresholds["thresholds"] == {"green": 44.0, "yellow": 30.0}
    assert by_thresholds["status"]["colour"] == "green"
    reason = by_thresholds["status"]["reason"]
    assert (reason["rule"], reason["value"], reason["target"]) == ("thresholds", 45.0, 50.0)
    assert (reason["green_line"], reason["yellow_line"]) == (44.0, 30.0)


# -- 2. reports → plans: an approved report's proposal becomes next period's activity, once ------


@dataclass(frozen=True)
class Loop:
    plan_id: str  # the sector's plan for 2025, which the report covers
    activity_id: str
    report_id: str
    proposal_id: str
    next_plan_id: str  # drafted in plans for 2026 by the proposal
    proposed_activity_id: str


def run_the_loop(system: System) -> Loop:
    """A plan for the sector's 2025 (in plans) → its quality report (in reports), with one
    improvement proposal, approved by the sector → an activity of the sector's 2026 plan."""
    wait_for_seed(system)
    plans_api, reports_api = api(system.plans), api(system.reports)
    created = plans_api.post(
        "/api/v1/plans",
        {
            "unit_id": SECTOR,
            "period": "2025",
            "title": "Handlingsplan 2025",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    assert created.status_code == 201, created.get_json()
    plan_id = created.get_json()["id"]
    planned = plans_api.post(
        f"/api/v1/plans/{plan_id}/activities",
        {
            "title": "Läsfrämjande insatser i åk 4-6",
            "owner": "rektor",
            "starts_on": "2025-01-10",
            "due_on": "2025-06-10",
            "goal_ids": [SCHOOL_GOAL],
        },
    )
    assert planned.status_code == 201, planned.get_json()
    activity_id = planned.get_json()["id"]
    system.wait(
        lambda: (
            row(system.reports, "SELECT plan_id FROM known_activities WHERE id = %s", activity_id)
            == (plan_id,)
        ),
        "the plan and its activity in reports",
    )

    started = reports_api.post("/api/v1/quality-reports", {"unit_id": SECTOR, "period": "2025"})
    assert started.status_code == 201, started.get_json()
    report = started.get_json()
    assert (report["plan_id"], report["goal_ids"]) == (plan_id, [SCHOOL_GOAL]), (
        "the report covers the goals of the unit's plan"
    )
    path = f"/api/v1/quality-reports/{report['id']}"
    for action, body in [
        ("goals", {"goal_id": SCHOOL_GOAL, "verdict": "partly_met", "analysis": "Nära målet."}),
        ("activities", {"comment": "Läsinsatserna genomfördes."}),
        ("quality-assurance", {"methods": ["student_survey"], "text": "Elevenkät i åk 5."}),
        ("improvement-areas", {"areas": [{"title": "Läsförståelse", "description": "åk 4-6"}]}),
    ]:
        answer = reports_api.post(f"{path}/{action}", body)
        assert answer.status_code == 200, (action, answer.get_json())
    proposed = reports_api.post(
        "/api/v1/improvements",
        {"report_id": report["id"], "title": "Mer läsning i alla ämnen", "description": "åk 4-9"},
    )
    assert proposed.status_code == 201, proposed.get_json()
    proposal_id = proposed.get_json()["id"]
    for section in (
        "goals",
        "activities",
        "quality_assurance",
        "improvement_areas",
        "improvement_proposals",
    ):
        answer = reports_api.post(f"{path}/done", {"section": section})
        assert answer.status_code == 200, (section, answer.get_json())
    submitted = reports_api.post(f"{path}/submit", {})
    assert submitted.status_code == 200, submitted.get_json()
    outcomes = submitted.get_json()["activity_outcomes"]
    assert [o["activity_id"] for o in outcomes] == [activity_id], outcomes

    manager = api(system.reports, MANAGER)  # a sector decides by its manager: no minute needed
    approved = manager.post(f"{path}/approve", {"decided_by": SECTOR, "decided_on": TODAY})
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"

    def next_plans() -> Any:
        found = plans_api.get(f"/api/v1/plans?{urlencode({'unit_id': SECTOR, 'period': '2026'})}")
        return found.get_json()["items"]

    [next_plan] = system.wait(next_plans, "the sector's plan for 2026")
    assert (next_plan["status"], next_plan["title"]) == ("draft", "Handlingsplan 2026")
    [activity] = system.wait(
        lambda: plans_api.get(f"/api/v1/plans/{next_plan['id']}/activities").get_json()["items"],
        "the proposed activity",
    )
    assert activity["proposed_by"] == proposal_id
    assert activity["work"]["title"] == "Mer läsning i alla ämnen"
    # ... and reports learns of it from plans.events: the loop is closed
    system.wait(
        lambda: (
            row(
                system.reports,
                "SELECT plan_id, proposed_by FROM known_activities WHERE id = %s",
                activity["id"],
            )
            == (next_plan["id"], proposal_id)
        ),
        "the proposed activity in reports",
    )
    return Loop(plan_id, activity_id, report["id"], proposal_id, next_plan["id"], activity["id"])


def proposals_taken(plans: Runtime, proposal_id: str) -> tuple[int, int, int]:
    """Plans' store: accepted proposals, activities proposed by this proposal, 2026 plans."""
    counted = row(
        plans,
        """SELECT count(*) FILTER (WHERE event_type = 'ImprovementProposalAccepted.v1'),
                  count(*) FILTER (WHERE event_type LIKE 'ActivityPlanned.%%'
                                     AND data->>'proposed_by' = %s),
                  count(*) FILTER (WHERE event_type LIKE 'ActionPlanDrafted.%%'
                                     AND data->>'period' = '2026')
             FROM events""",
        proposal_id,
    )
    return (int(counted[0]), int(counted[1]), int(counted[2]))


def test_an_approved_quality_report_proposes_one_activity_to_the_next_plan_however_delivered(
    system: System,
) -> None:
    loop = run_the_loop(system)
    plans = system.plans
    assert proposals_taken(plans, loop.proposal_id) == (1, 1, 1)
    with connect(system.reports) as conn:
        proposed = conn.execute(
            "SELECT stream_id, data FROM events WHERE event_type LIKE 'ImprovementProposed.%'"
        ).fetchall()
    assert [(s, d["unit_id"], d["period"]) for s, d in proposed] == [
        (loop.proposal_id, SECTOR, "2025")
    ]

    # the reports relay republishes everything it ever sent; the plans consumer skips it all
    reports_events = last_position(system.reports)
    skipped_before = system.plans_consumer.total.skipped
    relay = system.relays["reports"]
    with connect(system.reports) as conn:
        relay.reset_checkpoint(conn, 1)
    system.wait(
        lambda: system.plans_consumer.total.skipped - skipped_before >= reports_events,
        "the republished reports events to reach the plans consumer",
    )

    # a second consumer reading reports.events from its start (both deliveries) adds nothing
    second = Consumer(plans.config, plans.pool, plans.applier)
    outcome = Outcome()
    for records in read_topics_to_end(plans.config, [plans.config.topic("reports")], idle=0.5):
        outcome += second.process(records)
    assert (outcome.applied, outcome.gaps, outcome.rejected) == (0, 0, 0), outcome
    assert outcome.skipped >= 2 * reports_events, "the first delivery and the republished one"

    system.wait(lambda: caught_up(system), "everything relayed and applied")
    assert proposals_taken(plans, loop.proposal_id) == (1, 1, 1)
    plans_api = api(plans)
    items = plans_api.get(f"/api/v1/plans/{loop.next_plan_id}/activities").get_json()["items"]
    assert [(a["id"], a["proposed_by"]) for a in items] == [
        (loop.proposed_activity_id, loop.proposal_id)
    ]
    with connect(plans) as conn:
        rejected = conn.execute("SELECT count(*) FROM consumer_rejects").fetchone()
    assert rejected == (0,)


# -- 3. a correction: the scorecard now, and as it was known before ------------------------------


def test_a_correction_changes_the_scorecard_now_but_not_as_of_an_instant_before_it(
    system: System,
) -> None:
    wait_for_seed(system)
    reports_api = api(system.reports)
    made = reports_api.post(
        "/api/v1/results",
        {"indicator_id": ELIGIBLE, "period": "2025", "value": 86.5, "source": "kolada"},
    )
    assert made.status_code == 201, made.get_json()
    result_id = made.get_json()["id"]
    before = scorecard_line(reports_api, BUN, 2025, ELIGIBLE)
    assert before["status"]["colour"] == "yellow"
    assert before["status"]["reason"]["rule"] == "thresholds"
    assert (
        before["status"]["reason"]["green_line"],
        before["status"]["reason"]["yellow_line"],
    ) == (
        88.0,
        84.0,
    )

    corrected = reports_api.post(
        f"/api/v1/results/{result_id}/correct",
        {"value": 89.0, "reason": "SCB rättade underlaget"},
        headers={"If-Match": made.headers["ETag"]},
    )
    assert corrected.status_code == 200, corrected.get_json()
    (corrected_at,) = row(
        system.reports,
        "SELECT valid_from FROM result_versions WHERE result_id = %s AND version = 2",
        result_id,
    )
    just_before = (corrected_at - dt.timedelta(microseconds=1)).isoformat()

    now = scorecard_line(reports_api, BUN, 2025, ELIGIBLE)
    assert (now["result"]["value"], now["status"]["colour"]) == (89.0, "green")
    assert (now["status"]["reason"]["rule"], now["status"]["reason"]["value"]) == (
        "thresholds",
        89.0,
    )
    then = scorecard_line(reports_api, BUN, 2025, ELIGIBLE, as_of=just_before)
    assert (then["result"]["value"], then["status"]["colour"]) == (86.5, "yellow")
    assert then["status"]["reason"] == before["status"]["reason"]
    at_it = scorecard_line(reports_api, BUN, 2025, ELIGIBLE, as_of=corrected_at.isoformat())
    assert at_it["result"]["value"] == 89.0, "known from the instant it was recorded"


# -- 4. the year's close ---------------------------------------------------------------------------


def test_a_closed_year_refuses_a_result_change_until_the_council_reopens_it(
    system: System,
) -> None:
    wait_for_seed(system)
    system.wait(
        lambda: (
            row(system.reports, "SELECT kind FROM known_org_units WHERE id = %s", KF)
            == ("council",)
        ),
        "the council in reports",
    )
    admin = api(system.reports, ADMIN)
    made = admin.post("/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2024", "value": 85})
    assert made.status_code == 201, made.get_json()
    result_id = made.get_json()["id"]
    decision = {"decided_by": KF, "decided_on": TODAY}
    unminuted = admin.post("/api/v1/annual-reports/2024/approve", decision)
    assert unminuted.status_code == 422 and "minute_ref" in unminuted.get_json()["errors"]
    closed = admin.post("/api/v1/annual-reports/2024/approve", {**decision, "minute_ref": "KF §45"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["closed"] is True

    correction = {"value": 87.0, "reason": "Rättat underlag"}
    refused = admin.post(f"/api/v1/results/{result_id}/correct", correction)
    assert refused.status_code == 409, refused.get_json()
    problem = refused.get_json()
    assert problem["closed_by"]["minute_ref"] == "KF §45"
    assert problem["closed_by"]["decided_by"] == KF
    assert "KF §45" in problem["detail"], problem["detail"]
    assert scorecard_line(admin, KF, 2024, ELIGIBLE)["result"]["value"] == 85.0

    reopened = admin.post(
        "/api/v1/annual-reports/2024/reopen",
        {**decision, "minute_ref": "KF §60", "reason": "Rättelse av utfall"},
    )
    assert reopened.status_code == 200, reopened.get_json()
    accepted = admin.post(f"/api/v1/results/{result_id}/correct", correction)
    assert accepted.status_code == 200, accepted.get_json()
    assert scorecard_line(admin, KF, 2024, ELIGIBLE)["result"]["value"] == 87.0

    history = admin.get("/api/v1/history/annual-report-2024").get_json()["events"]
    assert [e["event_type"] for e in history] == [
        "AnnualReportApproved.v2",
        "AnnualReportReopened.v1",
    ]
    assert [e["decision"]["minute_ref"] for e in history] == ["KF §45", "KF §60"]
    assert all(e["decision"]["decided_by"] == KF for e in history)


# -- 5. rebuild from the topics and the store gives the same read models --------------------------

CONSUMED = (
    "known_org_units",
    "known_areas",
    "known_goals",
    "known_indicators",
    "known_targets",
    "known_thresholds",
    "known_plans",
    "known_activities",
)
OWN = ("entity_versions", "result_versions")


def snapshot(reports: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    with connect(reports) as conn:
        return {
            table: sorted(
                (tuple(r) for r in conn.execute(f"SELECT * FROM {table}").fetchall()), key=repr
            )
            for table in (*CONSUMED, *OWN)
        }


def test_rebuilding_reports_read_models_from_the_topics_and_its_store_gives_the_same(
    system: System,
) -> None:
    loop = run_the_loop(system)
    reports_api = api(system.reports)
    made = reports_api.post(
        "/api/v1/results", {"indicator_id": ELIGIBLE, "period": "2025", "value": 86.5}
    )
    assert made.status_code == 201, made.get_json()
    corrected = reports_api.post(
        f"/api/v1/results/{made.get_json()['id']}/correct", {"value": 89.0, "reason": "SCB"}
    )
    assert corrected.status_code == 200, corrected.get_json()
    system.wait(lambda: caught_up(system), "everything relayed and applied")

    before = snapshot(system.reports)
    empty = [table for table in (*CONSUMED, *OWN) if not before[table]]
    assert not empty, f"nothing to compare in {empty}"
    assert {r[0] for r in before["known_plans"]} >= {loop.plan_id, loop.next_plan_id}
    assert {r[0] for r in before["known_activities"]} >= {
        loop.activity_id,
        loop.proposed_activity_id,
    }
    assert len(before["result_versions"]) == 2
    reports = system.reports
    consumed = rebuild_consumer_read_models(reports.config, reports.pool, reports.applier)
    assert consumed.applied == last_position(system.goals) + last_position(system.plans)
    assert (consumed.gaps, consumed.rejected) == (0, 0)
    own = rebuild_own(reports.pool, reports.store, reports.projections)
    assert own == last_position(reports)
    after = snapshot(reports)
    for table in (*CONSUMED, *OWN):
        assert after[table] == before[table], table
