"""The gateway's merged event feed (issue #11): events/s through `GET /api/v1/events`, and the
same services' own feeds read one after another, straight.

goals, plans and reports run under gunicorn on loopback (infra/gunicorn_conf.py), each on its
own database of one durable PostgreSQL, filled with N, N/2 and N/4 events. The gateway's feed
view runs in this process (the core's key check is not part of the figure: the identity is set
directly) and asks the services over HTTP through `Upstreams`, as the gateway does. It pages
with `limit` until caught up; then each service's own `/api/v1/events/<service>` is paged
straight with the same limit. Prints events/s of both and their ratio; asserts nothing.
  python -m bench gateway_feed [--events N] [--limit L]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask, g

from bench.goals import Gunicorn
from bench.table import Figure, record
from infra.embedded import EmbeddedPostgres, free_port
from services.gateway import audit_trail
from services.gateway.upstream import Upstreams
from services.goals.app import DEFINITION as GOALS
from services.plans.app import DEFINITION as PLANS
from services.reports.app import DEFINITION as REPORTS
from shared.config import Config
from shared.events import Metadata, NewEvent
from shared.http import register_error_handlers
from shared.identity import Identity
from shared.migrate import migrate
from shared.runtime import Runtime, ServiceDefinition

SECRET = "bench-" + uuid.uuid4().hex
META = Metadata(actor="key:bench", correlation_id=str(uuid.uuid4()))
AUDITOR = Identity("key:bench-auditor", "auditor", "*")
DEFINITIONS: dict[str, ServiceDefinition] = {"goals": GOALS, "plans": PLANS, "reports": REPORTS}


def fill(runtime: Runtime, count: int, per_command: int = 100) -> None:
    """`count` events in commands of `per_command` (one stream each)."""
    with psycopg.connect(runtime.config.database_url) as conn:
        for b in range(0, count, per_command):
            events = [
                NewEvent("ThingNoted.v1", {"n": i, "text": f"händelse {i}"})
                for i in range(min(per_command, count - b))
            ]
            runtime.store.append(conn, f"goal-bench-{b}", "thing", 0, events, META)
            conn.commit()


def feed_app(upstreams: Upstreams) -> Flask:
    """The gateway's feed view, with an auditor's identity on every request."""
    app = Flask("bench-gateway")
    register_error_handlers(app)

    @app.before_request
    def _identity() -> None:
        g.identity = AUDITOR

    app.register_blueprint(audit_trail.blueprint(upstreams))
    return app


def page_merged(app: Flask, limit: int) -> tuple[int, float, int]:
    """Events, seconds and pages to read the merged feed until caught up."""
    client = app.test_client()
    after, events, pages = "", 0, 0
    started = time.perf_counter()
    while True:
        response = client.get(f"/api/v1/events?limit={limit}&after={after}")
        body: dict[str, Any] = response.get_json()
        if response.status_code != 200:
            raise RuntimeError(f"the merged feed answered {response.status_code}: {body}")
        events += len(body["events"])
        pages += 1
        after = body["next_after"]
        if body["caught_up"]:
            return events, time.perf_counter() - started, pages


def page_straight(upstreams: Upstreams, limit: int) -> tuple[int, float]:
    """Events and seconds to read every service's own feed, one service after another."""
    events = 0
    started = time.perf_counter()
    for service in upstreams.clients:
        after = 0
        while True:
            target = f"/api/v1/events/{service}?after={after}&limit={limit}"
            body = upstreams.request(service, "GET", target, AUDITOR).json()
            events += len(body["events"])
            after = body["next_after"]
            if after >= body["last_position"]:
                break
    return events, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench gateway_feed")
    parser.add_argument("--events", type=int, default=40_000, help="goals' events (N)")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    counts = {"goals": args.events, "plans": args.events // 2, "reports": args.events // 4}
    with (
        tempfile.TemporaryDirectory(prefix="bench-gwfeed-") as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        services: list[Gunicorn] = []
        upstreams: Upstreams | None = None
        try:
            for name, definition in DEFINITIONS.items():
                url = pg.create_database(f"bench_{name}")
                migrate(url, definition.migrations())
                runtime = Runtime(definition, Config(name, url, "localhost:1", "b.", 1))
                try:
                    fill(runtime, counts[name])
                finally:
                    runtime.close()
                services.append(Gunicorn(url, Path(tmp) / f"{name}.log", name, SECRET))
            for service in services:
                service.wait_ready()
            upstreams = Upstreams({s.name: s.url for s in services}, SECRET)
            total = sum(counts.values())
            print(f"events: {counts} ({total:,}); page limit {args.limit}")
            merged, seconds, pages = page_merged(feed_app(upstreams), args.limit)
            print(
                f"merged feed through the gateway's view: {merged:,} events in {pages} pages, "
                f"{seconds:.2f} s, {merged / seconds:,.0f} events/s"
            )
            straight, straight_s = page_straight(upstreams, args.limit)
            print(
                f"each service's own feed, straight: {straight:,} events, {straight_s:.2f} s, "
                f"{straight / straight_s:,.0f} events/s"
            )
            print(f"ratio merged / straight: {(merged / seconds) / (straight / straight_s):.2f}")
            record(
                Figure(
                    f"merged event feed through the gateway's view, {merged:,} events",
                    merged / seconds,
                    "events/s",
                    f"each service's own feed {straight / straight_s:,.0f}/s",
                    (merged / seconds) / (straight / straight_s),
                )
            )
        finally:
            if upstreams is not None:
                upstreams.close()
            for service in services:
                service.stop()


if __name__ == "__main__":
    main()
