"""The guarantees of the event store and the consumer, as contract test cases every service runs.

Written once and run against each service's own database (tests/conftest.py DEFINITIONS), as
eventsourcing's shared recorder test cases are. Each is written so that removing the line that
gives its guarantee makes it fail: worker threads' exceptions are collected and raised in the
test, never left to a warning.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from kafka.consumer.fetcher import ConsumerRecord

from services.goals.seed import seed_id, seed_unit_id
from shared import envelope
from shared.consumer import Consumer, EventApplier, Outcome
from shared.envelope import ReceivedEvent
from shared.events import Metadata, NewEvent, RecordedEvent
from shared.metrics import StoreCollector
from shared.runtime import Runtime
from shared.store import APPEND_LOCK, COPY_AT, ConcurrencyError
from shared.uow import Projection, rebuild_own_read_models
from tests.conftest import DEFINITIONS
from tests.support import EDITOR, SignedClient, connect, feed_seeded_goals

META = Metadata(actor="key:test", correlation_id="corr-guarantees")
SECTOR = seed_unit_id("sektor-bou")
COMMITTEE = seed_unit_id("bun")
SCHOOL_GOAL = seed_id("goal-", "o-kunskap")


class Workers:
    """Threads whose exceptions are collected and raised by `join`: a dying worker fails the
    test that started it."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self, work: Callable[..., Any], *args: Any) -> None:
        def run() -> None:
            try:
                work(*args)
            except BaseException as exc:
                self.errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)

    def join(self, timeout: float = 60) -> None:
        for thread in self.threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "a worker did not finish"
        if self.errors:
            raise self.errors[0]


@pytest.fixture(params=sorted(DEFINITIONS))
def service(request: pytest.FixtureRequest, make_runtime: Callable[..., Runtime]) -> Runtime:
    """Each service's runtime on a fresh database: every contract test runs once per service."""
    runtime: Runtime = make_runtime(request.param)
    return runtime


# -- ordering ---------------------------------------------------------------------------------


def test_a_follower_never_skips_a_position_under_eight_concurrent_writers(
    service: Runtime,
) -> None:
    stop, writers_done = threading.Event(), threading.Event()
    written: list[int] = []
    seen: list[int] = []

    def writer(n: int) -> None:
        version = 0
        with connect(service) as conn:
            while not stop.is_set():
                # writer 0 brings commands large enough to go by COPY
                count = COPY_AT if n == 0 else 1 + version % 3
                with conn.transaction():
                    events = service.store.append(
                        conn,
                        f"stream-{n}",
                        "thing",
                        version,
                        [NewEvent("ThingTouched.v1", {"i": version})] * count,
                        META,
                    )
                    time.sleep(0.001)  # hold the transaction open a little, as a command does
                version += len(events)
                written.extend(e.position for e in events)

    def follower() -> None:
        last = 0
        with connect(service) as conn:
            while not writers_done.is_set() or last < max(written, default=0):
                for event in service.store.read_all(conn, last, 100):
                    seen.append(event.position)
                    last = event.position

    writers, reader = Workers(), Workers()
    for n in range(8):
        writers.start(writer, n)
    reader.start(follower)
    time.sleep(3)
    stop.set()
    try:
        writers.join()
    finally:
        writers_done.set()
        reader.join()
    assert len(written) > 100
    assert seen == list(range(1, len(written) + 1)), "the follower saw every position, in order"


def test_writers_on_different_streams_never_conflict(service: Runtime) -> None:
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        with connect(service) as conn:
            for version in range(40):
                with conn.transaction():
                    service.store.append(
                        conn, f"own-{n}", "thing", version, [NewEvent("ThingTouched.v1", {})], META
                    )

    workers = Workers()
    for n in range(8):
        workers.start(writer, n)
    workers.join()  # a ConcurrencyError in any writer fails here
    with connect(service) as conn:
        assert [service.store.stream_version(conn, f"own-{n}") for n in range(8)] == [40] * 8
        assert service.store.last_position(conn) == 8 * 40
        assert service.store.verify(conn).ok


# -- what a conflict is ---------------------------------------------------------------------------


def _append_against_an_uncommitted_row(
    runtime: Runtime, row_position: int, row_stream: str
) -> BaseException | None:
    """Append version 1 of stream `s` while another transaction holds an uncommitted row
    (inserted around the append function, as a bug would) that it then commits; return what
    the append raised."""
    raised: list[BaseException] = []

    def append() -> None:
        try:
            with connect(runtime) as conn, conn.transaction():
                runtime.store.append(conn, "s", "thing", 0, [NewEvent("ThingMade.v1", {})], META)
        except BaseException as exc:
            raised.append(exc)

    with connect(runtime) as other, other.transaction():
        other.execute(
            """INSERT INTO events (position, stream_id, stream_type, version, event_id,
                 event_type, data, metadata, recorded_at, prev_hash, hash)
               VALUES (%s, %s, 'thing', 1, %s, 'ThingMade.v1', '{}', '{}', now(), %s, %s)""",
            [row_position, row_stream, uuid.uuid4(), "0" * 64, "1" * 64],
        )
        workers = Workers()
        workers.start(append)
        deadline = time.monotonic() + 30
        while not _waiting_for_a_transaction(other):
            assert time.monotonic() < deadline, "the append never waited for the other row"
            time.sleep(0.01)
    workers.join()
    return raised[0] if raised else None


def _waiting_for_a_transaction(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
    ).fetchone()
    return bool(row and row[0])


def test_a_duplicate_stream_version_is_a_concurrency_error(service: Runtime) -> None:
    raised = _append_against_an_uncommitted_row(service, 1000, "s")
    assert isinstance(raised, ConcurrencyError)
    assert (raised.expected, raised.actual) == (0, 1)


def test_a_duplicate_position_is_a_bug_not_a_version_conflict(service: Runtime) -> None:
    raised = _append_against_an_uncommitted_row(service, 1, "another-stream")
    assert isinstance(raised, psycopg.errors.UniqueViolation), raised
    assert raised.diag.constraint_name == "events_pkey"


def test_a_duplicate_event_id_is_a_bug_not_a_version_conflict(
    service: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.store

    same = uuid.uuid4()
    monkeypatch.setattr(shared.store.uuid, "uuid4", lambda: same)
    with connect(service) as conn, conn.transaction():
        service.store.append(conn, "a", "thing", 0, [NewEvent("ThingMade.v1", {})], META)
    with (
        pytest.raises(psycopg.errors.UniqueViolation) as raised,
        connect(service) as conn,
        conn.transaction(),
    ):
        service.store.append(conn, "b", "thing", 0, [NewEvent("ThingMade.v1", {})], META)
    assert raised.value.diag.constraint_name == "events_event_id_key"


# -- HTTP 409 for a concurrent change -----------------------------------------------------------


def _goals_command(goals: Runtime, make_runtime: Callable[..., Runtime]) -> tuple[Any, str, str]:
    from services.goals.app import create_app

    app = create_app(goals.config, goals)
    made = SignedClient(app, EDITOR).post(
        "/api/v1/org-units", {"name": "Kommunfullmäktige", "kind": "council"}
    )
    assert made.status_code == 201, made.get_json()
    return app, f"/api/v1/org-units/{made.get_json()['id']}/rename", "name"


def _plans_command(plans: Runtime, make_runtime: Callable[..., Runtime]) -> tuple[Any, str, str]:
    from services.plans.app import create_app

    feed_seeded_goals(make_runtime("goals"), plans)
    app = create_app(plans.config, plans)
    editor = SignedClient(app, EDITOR)
    made = editor.post(
        "/api/v1/plans",
        {"unit_id": SECTOR, "period": "2025/26", "title": "Handlingsplan", "goal_ids": []},
    )
    assert made.status_code == 201, made.get_json()
    activity = editor.post(
        f"/api/v1/plans/{made.get_json()['id']}/activities",
        {
            "title": "Lässtunder",
            "owner": "arbetslag",
            "starts_on": "2025-08-20",
            "due_on": "2026-06-10",
        },
    )
    assert activity.status_code == 201, activity.get_json()
    return app, f"/api/v1/activities/{activity.get_json()['id']}/progress", "note"


def _reports_command(
    reports: Runtime, make_runtime: Callable[..., Runtime]
) -> tuple[Any, str, str]:
    from services.reports.app import create_app

    feed_seeded_goals(make_runtime("goals"), reports)
    app = create_app(reports.config, reports)
    made = SignedClient(app, EDITOR).post(
        "/api/v1/quality-reports", {"unit_id": COMMITTEE, "period": "2025"}
    )
    assert made.status_code == 201, made.get_json()
    # each comment on the activities appends an event, a different text or the same
    return app, f"/api/v1/quality-reports/{made.get_json()['id']}/activities", "comment"


#: per service: an app and a command on one entity whose every call appends an event
COMMANDS = {"goals": _goals_command, "plans": _plans_command, "reports": _reports_command}


def test_two_requests_at_the_same_version_one_wins_one_gets_409(
    service: Runtime, make_runtime: Callable[..., Runtime]
) -> None:
    app, path, field = COMMANDS[service.config.service](service, make_runtime)
    with connect(service) as conn:
        before = service.store.last_position(conn)
    statuses: list[int] = []

    def request(n: int) -> None:
        response = SignedClient(app, EDITOR).post(path, {field: f"Ändring {n}"})
        statuses.append(response.status_code)

    workers = Workers()
    with connect(service) as holder:
        # Both requests load the entity at the same version, then wait for the append lock.
        holder.execute("SELECT pg_advisory_lock(%s)", [APPEND_LOCK])
        try:
            for n in range(2):
                workers.start(request, n)
            deadline = time.monotonic() + 30
            while _waiting_for_append_lock(holder) < 2 and not workers.errors:
                assert time.monotonic() < deadline, "the requests never reached the append"
                time.sleep(0.01)
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", [APPEND_LOCK])
    workers.join()
    assert sorted(statuses) == [200, 409]
    with connect(service) as conn:
        assert service.store.last_position(conn) == before + 1, "only the winner appended"


def _waiting_for_append_lock(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return int(row[0]) if row else 0


# -- consumer gaps ------------------------------------------------------------------------------


class Recorder(Projection):
    """Remembers what it was given (in memory: the test's batches all commit)."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, int]] = []

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        self.applied.append((event.stream_id, event.version))


def foreign(stream_id: str, version: int) -> ReceivedEvent:
    """Version `version` of a stream of another service (goals), as a consumer receives it."""
    return ReceivedEvent(
        "/styrkort/goals",
        RecordedEvent(
            position=100 + version,
            stream_id=stream_id,
            stream_type="thing",
            version=version,
            event_id=uuid.UUID(int=version),
            event_type="ThingTouched.v1",
            data={},
            metadata={"actor": "key:test"},
            recorded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            prev_hash="0" * 64,
            hash="1" * 64,
        ),
    )


def open_gaps(runtime: Runtime) -> tuple[int, float]:
    """(open gaps in consumer_gaps, what the styrkort_consumer_open_gaps metric says)."""
    with connect(runtime) as conn:
        row = conn.execute(
            "SELECT count(*) FROM consumer_gaps WHERE resolved_at IS NULL"
        ).fetchone()
    [metric] = [m for m in StoreCollector(runtime).collect() if m.name.endswith("open_gaps")]
    return (row[0] if row else -1), metric.samples[0].value


def test_a_gap_filled_within_one_batch_leaves_no_open_gap(service: Runtime) -> None:
    recorder = Recorder()
    applier = EventApplier({"goals": [recorder]})
    with connect(service) as conn, conn.transaction():
        applier.apply_all(conn, [foreign("a", 1)])
    with connect(service) as conn, conn.transaction():
        outcome = applier.apply_all(conn, [foreign("a", v) for v in (3, 2, 3)])
        applier.apply_all(conn, [foreign("b", v) for v in (1, 3, 2, 3)])
    assert (outcome.applied, outcome.gaps) == (2, 1)
    assert recorder.applied == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("b", 3)]
    assert open_gaps(service) == (0, 0)


def test_a_gap_stays_open_until_its_held_back_event_is_applied(service: Runtime) -> None:
    applier = EventApplier({"goals": [Recorder()]})
    with connect(service) as conn, conn.transaction():
        applier.apply_all(conn, [foreign("a", v) for v in (1, 3, 2)])  # v3 was not applied
    assert open_gaps(service) == (1, 1)
    with connect(service) as conn, conn.transaction():
        applier.apply_all(conn, [foreign("a", 3)])  # republished
    assert open_gaps(service) == (0, 0)


# -- failures that are not the event's shape --------------------------------------------------


class FailsOn(Projection):
    """A projection with a bug: a database error on stream `data-error`, a RuntimeError on
    `bug`; it applies every other event."""

    def apply(self, conn: psycopg.Connection[Any], event: RecordedEvent) -> None:
        if event.stream_id == "data-error":
            conn.execute("SELECT 1 / 0")  # psycopg.errors.DivisionByZero, a DataError
        if event.stream_id == "bug":
            raise RuntimeError("a bug in the projection")


def _records(events: list[ReceivedEvent]) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(
            topic="t",
            partition=0,
            leader_epoch=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=item.event.stream_id.encode(),
            value=envelope.encode(envelope.to_cloudevent(item.event, item.source)),
            headers=[],
            checksum=None,
            serialized_key_size=1,
            serialized_value_size=1,
            serialized_header_size=0,
        )
        for offset, item in enumerate(events)
    ]


def _rejected_metric(runtime: Runtime) -> dict[str, float]:
    [metric] = [
        m for m in StoreCollector(runtime).collect() if m.name == "styrkort_consumer_rejected"
    ]
    return {s.labels["cause"]: s.value for s in metric.samples}


def test_an_event_failing_every_attempt_is_rejected_and_the_consumer_moves_on(
    service: Runtime,
) -> None:
    records = _records([foreign(stream, 1) for stream in ("ok-1", "data-error", "bug", "ok-2")])
    config = replace(service.config, consumer_max_attempts=3)
    consumer = Consumer(config, service.pool, EventApplier({"goals": [FailsOn()]}))
    failures: list[str] = []
    outcome = None
    for _ in range(10):  # the poll loop retries the batch after each failure
        try:
            outcome = consumer.process(records)
            break
        except Exception as exc:
            failures.append(type(exc).__name__)
    assert failures == ["DivisionByZero"] * 2 + ["RuntimeError"] * 2
    # ok-1 was applied at the first try, ok-2 once both failing events were rejected
    assert outcome == Outcome(applied=1, skipped=1, rejected=2)
    with connect(service) as conn:
        rejected = conn.execute(
            "SELECT stream_id, version, reason FROM consumer_rejects ORDER BY id"
        ).fetchall()
        applied = conn.execute("SELECT stream_id FROM consumed_streams ORDER BY 1").fetchall()
    assert [r[:2] for r in rejected] == [("data-error", 1), ("bug", 1)]
    assert rejected[0][2].startswith("gave up after 3 attempts: DivisionByZero")
    assert rejected[1][2].startswith("gave up after 3 attempts: RuntimeError: a bug")
    assert applied == [("ok-1",), ("ok-2",)]
    assert _rejected_metric(service) == {"unreadable": 0, "failing": 2}


# -- reactions ----------------------------------------------------------------------------------


def _proposal_taken(goals: Runtime, plans: Runtime) -> list[ReceivedEvent]:
    """An improvement proposal (reports.events) that becomes an activity of a plan."""
    return [
        ReceivedEvent(
            "/styrkort/reports",
            RecordedEvent(
                position=1,
                stream_id="proposal-7",
                stream_type="improvement_proposal",
                version=1,
                event_id=uuid.uuid4(),
                event_type="ImprovementProposed.v1",
                data={"unit_id": SECTOR, "period": "2025/26", "title": "Mer läsning"},
                metadata={"actor": "key:rektor", "correlation_id": "c-1"},
                recorded_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
                prev_hash="0" * 64,
                hash="1" * 64,
            ),
        )
    ]


def _goal_retired(goals: Runtime, plans: Runtime) -> list[ReceivedEvent]:
    """A goal's whole stream, ending with its retirement, which flags the plan serving it."""
    from services.plans.app import create_app

    made = SignedClient(create_app(plans.config, plans), EDITOR).post(
        "/api/v1/plans",
        {"unit_id": SECTOR, "period": "2025/26", "title": "Plan", "goal_ids": [SCHOOL_GOAL]},
    )
    assert made.status_code == 201, made.get_json()
    with connect(goals) as conn, conn.transaction():
        version = goals.store.stream_version(conn, SCHOOL_GOAL)
        goals.store.append(
            conn,
            SCHOOL_GOAL,
            "goal",
            version,
            [NewEvent("GoalRetired.v1", {"goal_id": SCHOOL_GOAL, "reason": "Ny mandatperiod"})],
            META,
        )
        stream = goals.store.read_stream(conn, SCHOOL_GOAL)
    return [ReceivedEvent("/styrkort/goals", e) for e in stream]


#: each reaction of a service (plans is the one that reacts): the events that make it act
REACTIONS = {"proposal taken": _proposal_taken, "goal retired": _goal_retired}


@pytest.mark.parametrize("reaction", sorted(REACTIONS))
def test_a_reaction_applied_again_with_its_tracking_rows_cleared_adds_nothing(
    goals: Runtime, plans: Runtime, reaction: str
) -> None:
    feed_seeded_goals(goals, plans)
    received = REACTIONS[reaction](goals, plans)
    with connect(plans) as conn:
        before = plans.store.last_position(conn)
    with connect(plans) as conn, conn.transaction():
        plans.applier.apply_all(conn, received)
        acted = plans.store.last_position(conn)
    assert acted > before, "the reaction appended its events"
    # Replayed as a rebuild replays reactions (they write events, so have no tables to clear),
    # with the consumer's record of what it applied gone.
    reactions = EventApplier(
        {s: [p for p in group if not p.tables] for s, group in plans.applier.projections.items()}
    )
    with connect(plans) as conn, conn.transaction():
        conn.execute("DELETE FROM consumed_streams")
        outcome = reactions.apply_all(conn, received)
        assert outcome.applied == len(received)
        assert plans.store.last_position(conn) == acted, "the reaction acted once"


# -- rebuild ------------------------------------------------------------------------------------


def _goals_entity(n: int) -> tuple[str, str, NewEvent]:
    unit_id = f"org-unit-{uuid.uuid4()}"
    data = {"unit_id": unit_id, "name": f"Enhet {n}", "kind": "unit", "parent_id": None}
    return unit_id, "org_unit", NewEvent("OrgUnitCreated.v1", data)


def _plans_entity(n: int) -> tuple[str, str, NewEvent]:
    plan_id = f"plan-{uuid.uuid4()}"
    data = {
        "plan_id": plan_id,
        "unit_id": f"org-unit-{n}",
        "period": "2026",
        "title": f"Plan {n}",
        "goal_ids": [],
        "started_on": "2026-01-02",
    }
    return plan_id, "action_plan", NewEvent("ActionPlanDrafted.v1", data)


def _reports_entity(n: int) -> tuple[str, str, NewEvent]:
    from services.reports.domain.assessment import STREAM_TYPE, GoalAssessment

    assessment_id = f"assessment-{uuid.uuid4()}"
    event = GoalAssessment.Assessed(
        assessment_id, SCHOOL_GOAL, 2025, "met", f"Analys {n}", dt.date(2026, 1, 20)
    )
    return assessment_id, STREAM_TYPE, event.to_new_event()


#: per service: a new entity its own read model (entity_versions) keeps
ENTITIES = {"goals": _goals_entity, "plans": _plans_entity, "reports": _reports_entity}


def _create(runtime: Runtime, count: int, offset: int = 0) -> None:
    make = ENTITIES[runtime.config.service]
    with runtime.uow() as uow:
        for n in range(offset, offset + count):
            stream_id, stream_type, event = make(n)
            uow.append(stream_id, stream_type, 0, [event], META)


def _entity_versions(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT entity_id, version, position FROM entity_versions ORDER BY position"
    ).fetchall()


def test_rebuild_under_concurrent_reads_and_writes_loses_and_doubles_nothing(
    service: Runtime,
) -> None:
    _create(service, 3000)
    stop = threading.Event()
    counts: list[int] = []

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            _create(service, 1, 10_000 * (n + 1) + i)
            i += 1

    def reader() -> None:
        with connect(service) as conn:
            while not stop.is_set():
                row = conn.execute("SELECT count(*) FROM entity_versions").fetchone()
                counts.append(row[0] if row else -1)

    workers = Workers()
    for n in range(3):
        workers.start(writer, n)
    workers.start(reader)
    try:
        for _ in range(3):
            rebuild_own_read_models(service.pool, service.store, service.projections)
    finally:
        stop.set()
        workers.join()
    assert counts == sorted(counts) and min(counts) >= 3000, "readers never saw rows go missing"
    with connect(service) as conn:
        events = conn.execute(
            "SELECT stream_id, version, position FROM events ORDER BY position"
        ).fetchall()
        assert _entity_versions(conn) == events, "one row per event: none lost, none doubled"
