"""Goals benchmarks: the goal tree as of any instant under a long history, and commands over HTTP.

a. The goal tree (`queries.goal_tree`, and `GET /api/v1/goals/tree` through the Flask test client,
   which adds routing, the signature check and serialisation) for 300 goals (60 strategic, 240
   operational, 2 indicators each) once the store holds 100,000 events: as of the start of the
   history, its middle, an explicit `now`, and without as_of (the current rows). Median and p95
   of 20 runs each; target ≤ 200 ms. The structure is made by the command handlers; the further
   history (target changes, revisions by decision, renames) is decided by the aggregates and
   appended through `Runtime.uow()` in batches, so `entity_versions` is filled by the same
   projection as in production.
b. Commands per second over HTTP: the goals app under gunicorn (infra/gunicorn_conf.py, its
   default workers and threads) on loopback, driven by N client threads, each with a keep-alive
   connection sending signed POSTs: create an org unit under a committee, then rename it with
   If-Match. Commands/s and p50 / p99 latency per client count.

Runs its own durable PostgreSQL (fsync on); prints figures, asserts nothing.
  python -m bench goals [--events N] [--runs N] [--seconds S] [--clients 1,4,8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.table import Figure, at_most, record
from infra.embedded import EmbeddedPostgres, free_port
from services.goals import handlers, queries
from services.goals.app import DEFINITION as GOALS
from services.goals.app import create_app
from services.goals.domain import goal, indicator, organisation
from services.goals.domain.decisions import Decider, Decision
from services.goals.domain.documents import Content
from services.goals.domain.goal import Goal, GoalContent, Placement, UnitFacts
from services.goals.domain.indicator import DataSource, Definition, Indicator, Thresholds
from services.goals.domain.organisation import OrgUnit
from shared.config import Config
from shared.events import Metadata
from shared.identity import Identity, sign, signing_target
from shared.migrate import migrate
from shared.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-" + uuid.uuid4().hex
EDITOR = Identity("key:bench-editor", "editor", "*")
READER = Identity("key:bench-reader", "reader", "*")
META = Metadata(actor="key:bench", correlation_id=str(uuid.uuid4()))
PERIOD = "2023-2026"
YEARS = range(2023, 2027)
COMMITTEES = [
    "Kommunstyrelsen",  # an executive board in real life; a committee here keeps the rules simple
    "Barn- och utbildningsnämnden",
    "Socialnämnden",
    "Miljö- och byggnadsnämnden",
    "Kultur- och fritidsnämnden",
    "Tekniska nämnden",
    "Valnämnden",
    "Överförmyndarnämnden",
]
TODAY = dt.date(2026, 11, 24)  # decisions of the history are dated before the day it is made
AREAS = ["Livskvalitet", "Hållbar tillväxt", "Attraktiv kommun", "Effektiv organisation"]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


# -- a. the world and its history ----------------------------------------------------------------


@dataclass
class World:
    """The entities the history is made of, as the aggregates now stand."""

    council: OrgUnit
    committees: list[OrgUnit]
    goals: dict[str, Goal] = field(default_factory=dict)
    indicators: list[Indicator] = field(default_factory=list)

    def unit(self, unit_id: str) -> OrgUnit:
        return next(u for u in [self.council, *self.committees] if u.id == unit_id)


def decision_by(unit: OrgUnit, on: dt.date, n: int) -> Decision:
    prefix = "KF" if unit.kind == "council" else "".join(w[0] for w in unit.name.split()[:3])
    return Decision(unit.id, on, f"{prefix.upper()} {on.isoformat()} §{n}")


def build_structure(runtime: Runtime, strategic: int = 60, per_strategic: int = 4) -> World:
    """Council, committees, an adopted vision, 4 areas, adopted goals and their indicators, each
    made by its command handler as the API would (one transaction per command)."""
    uow = runtime.uow
    council = handlers.create_org_unit(
        uow(), META, name="Kommunfullmäktige", kind="council", parent_id=None
    )
    world = World(
        council,
        [
            handlers.create_org_unit(uow(), META, name=name, kind="committee", parent_id=council.id)
            for name in COMMITTEES
        ],
    )
    vision = handlers.draft_document(
        uow(),
        META,
        doc_type="vision",
        owner_unit_id=council.id,
        content=Content("Vision 2030", "Götene, möjligheternas kommun", dt.date(2023, 1, 1)),
    )
    handlers.adopt_document(
        uow(), META, vision.id, None, decision_by(council, dt.date(2022, 12, 12), 1)
    )
    area_ids = [
        handlers.define_area(
            uow(),
            META,
            name=name,
            description="",
            plan_id=vision.id,
            decision=decision_by(council, dt.date(2022, 12, 12), 2 + a),
        ).id
        for a, name in enumerate(AREAS)
    ]
    n = 0
    for s in range(strategic):
        drafted = handlers.draft_goal(
            uow(),
            META,
            level="strategic",
            owner_unit_id=council.id,
            period=PERIOD,
            content=GoalContent(f"Strategiskt mål {s + 1}", "", ("social",)),
            placement=Placement(development_area_id=area_ids[s % len(area_ids)]),
        )
        n += 1
        decision = decision_by(council, dt.date(2023, 2, 13), n)
        world.goals[drafted.id] = handlers.adopt_goal(uow(), META, drafted.id, None, decision)
    strategic_ids = list(world.goals)
    for o in range(strategic * per_strategic):
        owner = world.committees[o % len(world.committees)]
        drafted = handlers.draft_goal(
            uow(),
            META,
            level="operational",
            owner_unit_id=owner.id,
            period=PERIOD,
            content=GoalContent(f"Verksamhetsmål {o + 1}", "", ("social", "economic")),
            placement=Placement(derived_from=(strategic_ids[o % strategic],)),
        )
        n += 1
        decision = decision_by(owner, dt.date(2023, 3, 1), n)
        world.goals[drafted.id] = handlers.adopt_goal(uow(), META, drafted.id, None, decision)
    for goal_id, owning in world.goals.items():
        for k in range(2):
            n += 1
            world.indicators.append(
                handlers.define_indicator(
                    uow(),
                    META,
                    goal_id,
                    definition=Definition(
                        f"Indikator {k + 1}", "%", "higher_is_better", DataSource("manual")
                    ),
                    decision=decision_by(world.unit(owning.owner_unit_id), dt.date(2023, 3, 1), n),
                    targets={year: 60.0 + year - 2023 for year in YEARS},
                    thresholds=Thresholds(80.0, 60.0),
                )
            )
    return world


def decided_in_round(r: int) -> dt.date:
    """The day round r's decisions are dated: a week after the last round's, from the
    adoptions on (a revision may not predate the goal's last decision), never after TODAY (a
    decision dated in the future is refused)."""
    return min(dt.date(2023, 3, 1) + dt.timedelta(weeks=r), TODAY)


def history_rounds(world: World) -> Iterator[list[tuple[str, str, int, list[Any]]]]:
    """Rounds of further history, each one transaction: (stream, type, version, events).

    Every round changes each indicator's targets (4 years), revises a quarter of the goals by
    decision of their owner, and now and then renames a committee. The aggregates decide each
    event, so the history is one the rules allow.
    """
    r = 0
    while True:
        r += 1
        batch: list[tuple[str, str, int, list[Any]]] = []
        for i, ind in enumerate(world.indicators):
            owning = world.goals[ind.goal_id]
            owner = world.unit(owning.owner_unit_id)
            decided = decision_by(owner, decided_in_round(r), r)
            decider = Decider.of_unit(owner.id, owner.kind, owner.name)
            events = []
            for year in YEARS:
                value = round(50 + (r * 7 + i + year) % 50, 1)
                step = ind.set_target(year, value, owning, decided, decider, today=TODAY)
                events += step
                for event in step:
                    ind = ind.when(event)
            batch.append((ind.id, indicator.STREAM_TYPE, ind.version - len(events), events))
            world.indicators[i] = ind
        for g in list(world.goals.values())[r % 4 :: 4]:
            owner = world.unit(g.owner_unit_id)
            content = GoalContent(f"{g.content.title.split(' (')[0]} (rev {r})", f"Revision {r}")
            decided_on = decided_in_round(r)
            events = g.revise(
                content,
                g.placement,
                decision_by(owner, decided_on, r),
                Decider.of_unit(owner.id, owner.kind, owner.name),
                UnitFacts(owner.id, owner.kind, owner.name),
                [world.goals[s] for s in g.placement.derived_from],
                today=TODAY,
            )
            batch.append((g.id, goal.STREAM_TYPE, g.version, events))
            for event in events:
                g = g.when(event)
            world.goals[g.id] = g
        if r % 10 == 0:
            c = (r // 10) % len(world.committees)
            unit = world.committees[c]
            others = [u.name for u in world.committees if u.id != unit.id]
            events = unit.rename(f"{COMMITTEES[c]} ({r})", sibling_names=others)
            batch.append((unit.id, organisation.STREAM_TYPE, unit.version, events))
            for event in events:
                unit = unit.when(event)
            world.committees[c] = unit
        yield batch


def build_history(runtime: Runtime, world: World, events: int) -> None:
    with runtime.pool.connection() as conn:
        total = runtime.store.last_position(conn)
    rounds = history_rounds(world)
    while total < events:
        with runtime.uow() as uow:
            for stream_id, stream_type, version, facts in next(rounds):
                uow.append(stream_id, stream_type, version, [e.to_new_event() for e in facts], META)
                total += len(facts)


def time_runs(fn: Callable[[], Any], runs: int) -> list[float]:
    for _ in range(2):  # warm the caches of both PostgreSQL and Python
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def bench_tree(
    runtime: Runtime, instants: dict[str, dt.datetime | None], runs: int
) -> dict[str, list[float]]:
    """Times the tree at each instant; returns the HTTP samples by label."""
    timings: dict[str, list[float]] = {}
    app = create_app(runtime.config, runtime)
    client = app.test_client()
    for label, as_of in instants.items():
        with runtime.pool.connection() as conn:
            tree = queries.goal_tree(conn, as_of, None)
            query = time_runs(lambda c=conn, a=as_of: queries.goal_tree(c, a, None), runs)
        url = "/api/v1/goals/tree" + (f"?as_of={quote(as_of.isoformat())}" if as_of else "")
        sizes: list[int] = []

        def get(url: str = url, sizes: list[int] = sizes) -> None:
            signed = sign(SECRET, READER, "GET", signing_target(url), audience="goals")
            response = client.get(url, headers=signed)
            assert response.status_code == 200, response.get_data(as_text=True)
            sizes.append(len(response.get_data()))

        over_http = time_runs(get, runs)
        timings[label] = over_http
        indicators = sum(
            len(g["indicators"]) + sum(len(o["indicators"]) for o in g["operational_goals"])
            for a in tree["development_areas"]
            for g in a["strategic_goals"]
        )
        print(
            f"  as_of {label:<28} {tree['goal_count']:>3} goals, {indicators:>3} indicators | "
            f"goal_tree median {ms(statistics.median(query))}, p95 {ms(percentile(query, 95))} | "
            f"GET /goals/tree median {ms(statistics.median(over_http))}, "
            f"p95 {ms(percentile(over_http, 95))}, {sizes[-1] / 1024:,.0f} KiB"
        )
    return timings


def record_tree(timings: dict[str, list[float]], goals: int, events: int) -> None:
    """Rows: the tree as of a past instant over HTTP, against the current rows in the run."""
    labels = list(timings)
    current = percentile(timings[labels[-1]], 95) * 1000
    for label in labels[:-1:]:
        if not label.startswith(("start", "middle")):
            continue
        p95 = percentile(timings[label], 95) * 1000
        record(
            Figure(
                f"goal tree as_of {label.split(' (')[0]} over HTTP p95, {goals} goals, "
                f"{events:,} events",
                p95,
                "ms",
                f"current rows {current:.1f} ms",
                p95 / current,
                at_most(200),
            )
        )


# -- b. commands over HTTP under gunicorn ----------------------------------------------------------


class Gunicorn:
    """A service's web app (goals unless named) under gunicorn on 127.0.0.1, as the dev stack
    and the image run it."""

    def __init__(
        self, database_url: str, log_path: Path, service: str = "goals", secret: str = SECRET
    ) -> None:
        self.name = service
        self.port = free_port()
        self.log_path = log_path
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "STYRKORT_INTERNAL_SECRET": secret,
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # the web app never talks to Kafka
            "LOG_LEVEL": "WARNING",
        }
        env.pop("PORT", None)  # gunicorn_conf binds all interfaces when PORT is set
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                "infra/gunicorn_conf.py",
                f"services.{service}.wsgi:app",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}'s gunicorn exited; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: workers finish their requests
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class Tally:
    """One client's answers: latency of each, and the refusals by status."""

    latencies: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, why: str) -> None:
        self.refused[why] = self.refused.get(why, 0) + 1


def drive(
    port: int,
    parent_id: str,
    client: int | str,
    stop_at: float,
    tally: Tally,
    identity: Identity = EDITOR,
) -> None:
    """Create a unit and rename it with If-Match, over one keep-alive connection, until stop_at."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(path: str, body: dict[str, Any], **headers: str) -> Any:
        """The answer's JSON, or None if the command was refused (counted, not timed)."""
        nonlocal conn
        data = json.dumps(body).encode()
        sent = {**headers, "Content-Type": "application/json"}
        signed = sign(SECRET, identity, "POST", path, data, audience="goals", headers=sent)
        all_headers = {**signed, **sent}  # If-Match and Content-Type are signed too
        start = time.perf_counter()
        try:
            conn.request("POST", path, data, all_headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            tally.refuse(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            return None
        if response.status >= 300:
            tally.refuse(str(response.status))
            return None
        tally.latencies.append(time.perf_counter() - start)
        return json.loads(payload)

    n = 0
    while time.perf_counter() < stop_at:
        n += 1
        name = f"Enhet {client}-{n}"
        unit = post("/api/v1/org-units", {"name": name, "kind": "unit", "parent_id": parent_id})
        if unit is not None:
            post(
                f"/api/v1/org-units/{unit['id']}/rename",
                {"name": f"{name}b"},
                **{"If-Match": '"1"'},
            )
    conn.close()


def bench_commands(port: int, parent_id: str, clients: int, seconds: float) -> None:
    """Commands/s and latency of `clients` threads; recorded as two rows."""
    run = uuid.uuid4().hex[:6]
    tallies = [Tally() for _ in range(clients)]
    start = time.perf_counter()
    stop_at = start + seconds
    threads = [
        # sibling names are unique: each run names its units afresh
        threading.Thread(target=drive, args=(port, parent_id, f"{run}-{c}", stop_at, tallies[c]))
        for c in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies = [x for t in tallies for x in t.latencies]
    refused: dict[str, int] = {}
    for t in tallies:
        for why, count in t.refused.items():
            refused[why] = refused.get(why, 0) + count
    if not latencies:
        print(f"  {clients} client(s): no command succeeded; refused {refused}")
        return
    print(
        f"  {clients} client(s): {len(latencies) / elapsed:,.0f} commands/s "
        f"({len(latencies):,} in {elapsed:.1f} s), latency p50 "
        f"{ms(statistics.median(latencies))}, p99 {ms(percentile(latencies, 99))}"
        + (f", refused {refused}" if refused else "")
    )
    what = f"goals commands over HTTP (gunicorn), {clients} client(s)"
    record(Figure(f"{what}: create or rename a unit", len(latencies) / elapsed, "commands/s"))
    record(Figure(f"{what}: p99", percentile(latencies, 99) * 1000, "ms"))


# -- the run ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench goals")
    parser.add_argument("--events", type=int, default=100_000, help="events in the store")
    parser.add_argument("--runs", type=int, default=20, help="timed goal trees per instant")
    parser.add_argument("--seconds", type=float, default=10.0, help="per client count")
    parser.add_argument("--clients", default="1,4,8", help="client thread counts")
    parser.add_argument("--strategic", type=int, default=60, help="strategic goals (4 below each)")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        url = pg.create_database("bench_goals")
        migrate(url, GOALS.migrations())
        runtime = Runtime(GOALS, Config("goals", url, internal_secret=SECRET))
        try:
            print(f"PostgreSQL {pg.url()} durable (fsync on); {os.cpu_count()} CPUs")
            started = time.perf_counter()
            world = build_structure(runtime, args.strategic)
            with runtime.pool.connection() as conn:
                structure = runtime.store.last_position(conn)
                (start,) = conn.execute("SELECT max(recorded_at) FROM events").fetchone()
            build_history(runtime, world, args.events)
            with runtime.pool.connection() as conn:
                total = runtime.store.last_position(conn)
                (middle,) = conn.execute(
                    "SELECT recorded_at FROM events WHERE position = %s", [total // 2]
                ).fetchone()
                (now,) = conn.execute("SELECT now()").fetchone()
                (versions,) = conn.execute("SELECT count(*) FROM entity_versions").fetchone()
            print(
                f"built {total:,} events ({structure:,} by command handlers, the rest in "
                f"batches), {versions:,} rows in entity_versions, in "
                f"{time.perf_counter() - started:.0f} s"
            )
            print(f"a. goal tree for {len(world.goals)} goals, {args.runs} runs (target ≤ 200 ms):")
            timings = bench_tree(
                runtime,
                {
                    "start (structure built)": start,
                    f"middle (position {total // 2:,})": middle,
                    "now (explicit instant)": now,
                    "none (current rows)": None,
                },
                args.runs,
            )
            record_tree(timings, len(world.goals), total)
            server = Gunicorn(url, Path(tmp) / "gunicorn.log")
            try:
                server.wait_ready()
                print(
                    f"b. commands over HTTP: gunicorn {os.environ.get('WEB_CONCURRENCY', '2')} "
                    f"workers x {os.environ.get('GUNICORN_THREADS', '4')} threads on "
                    f"127.0.0.1:{server.port}; create a unit + rename it with If-Match:"
                )
                parent = world.committees[1].id
                for clients in (int(c) for c in args.clients.split(",")):
                    bench_commands(server.port, parent, clients, args.seconds)
            finally:
                server.stop()
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
