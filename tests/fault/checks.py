"""What the fault-injection suite checks once the stack recovered: the data, not timings.

Each check reads the stores (the services' PostgreSQL databases), the topics (the broker) or
the gateway's admin views, and returns what it found; the test asserts on it. `Findings` keeps
the counts the suite prints: accepted, lost, duplicated, failed-then-retried.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql

from bench.gateway import REPO, DevStackRun
from bench.load import Accepted
from services.goals.app import DEFINITION as GOALS
from services.plans.app import DEFINITION as PLANS
from services.reports.app import DEFINITION as REPORTS
from shared import envelope
from shared.config import Config
from shared.consumer import read_topics_to_end
from shared.store import EventStore

#: every service with an event store and a topic
STORES = ("goals", "plans", "reports", "gateway")
#: the services with a consumer, and their read models fed by other services' topics
CONSUMERS = {"plans": PLANS, "reports": REPORTS}


@dataclass
class Findings:
    accepted: int = 0
    lost: list[Accepted] = field(default_factory=list)
    #: (service, what): a command's or a reaction's events recorded more than once
    duplicated: list[tuple[str, str]] = field(default_factory=list)
    retried: int = 0

    def line(self) -> str:
        return (
            f"accepted {self.accepted} / lost {len(self.lost)} / duplicated "
            f"{len(self.duplicated)} / failed-then-retried {self.retried}"
        )


def database_url(stack: DevStackRun, service: str) -> str:
    assert stack.ports is not None
    return f"postgresql://postgres@127.0.0.1:{stack.ports['postgres']}/styrkort_{service}"


def config(stack: DevStackRun, service: str) -> Config:
    assert stack.ports is not None
    env = {
        "DATABASE_URL": database_url(stack, service),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{stack.ports['kafka']}",
    }
    return Config.from_env(service, env)


def store_events(stack: DevStackRun, service: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url(stack, service)) as conn:
        cur = conn.execute(
            "SELECT position, stream_id, version, event_id::text, event_type, metadata, data "
            "FROM events ORDER BY position"
        )
        names = [c.name for c in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# -- (a) and (d): every accepted command's events, once ----------------------------------------


def commands_in_stores(
    accepted: Iterable[Accepted], events: dict[str, list[dict[str, Any]]]
) -> tuple[list[Accepted], list[tuple[str, str]]]:
    """The accepted commands with no event in their service's store (lost), and the commands
    whose events are there more than once (an event type twice for one correlation id)."""
    by_correlation: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for service, found in events.items():
        for event in found:
            correlation = event["metadata"].get("correlation_id", "")
            if correlation.startswith("load-") and not event["metadata"].get("causation_id"):
                by_correlation[(service, correlation)].append(event)
    lost, duplicated = [], []
    for command in accepted:
        own = by_correlation.get((command.service, command.correlation_id), [])
        mentioned = any(
            e["stream_id"] == command.entity_id or str(command.entity_id) in str(e["data"])
            for e in own
        )
        if not own or (command.entity_id is not None and not mentioned):
            lost.append(command)
        twice = [t for t, n in Counter(e["event_type"] for e in own).items() if n > 1]
        if twice:
            what = f"{command.kind} {command.correlation_id}: {twice}"
            duplicated.append((command.service, what))
    return lost, duplicated


def reactions_twice(events: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """Events a consumer's reaction recorded more than once for the same source event: a
    reaction (actor system:...) is one per (source event, stream, event type)."""
    twice = []
    for service, found in events.items():
        seen = Counter(
            (e["metadata"].get("causation_id"), e["stream_id"], e["event_type"])
            for e in found
            if str(e["metadata"].get("actor", "")).startswith("system:")
            and e["metadata"].get("causation_id")
        )
        twice += [(service, f"reaction {key} x{n}") for key, n in seen.items() if n > 1]
    return twice


# -- (b) every event on its topic, each stream in order ----------------------------------------


@dataclass
class TopicCheck:
    records: int = 0
    duplicates: int = 0
    missing: list[int] = field(default_factory=list)
    #: streams whose events reached the topic out of order: (stream, what a reader would see)
    out_of_order: list[str] = field(default_factory=list)


def check_topic(stack: DevStackRun, service: str, events: list[dict[str, Any]]) -> TopicCheck:
    """Read the service's topic from the start: every store event must be on it, and a reader
    applying each stream's events in topic order (skipping what it had) never meets a gap.
    Duplicates (at-least-once re-sends, re-feeds of a restarted broker) are counted."""
    cfg = config(stack, service)
    found = TopicCheck()
    seen: set[int] = set()
    versions: dict[str, int] = {}
    for batch in read_topics_to_end(cfg, [cfg.topic()], timeout=120, idle=2.0):
        for record in batch:
            event = envelope.from_cloudevent(envelope.decode(record.value)).event
            found.records += 1
            if event.position in seen:
                found.duplicates += 1
            seen.add(event.position)
            current = versions.get(event.stream_id, 0)
            if event.version > current + 1:
                found.out_of_order.append(
                    f"{event.stream_id}: v{event.version} after v{current} (offset "
                    f"{record.partition}@{record.offset})"
                )
            versions[event.stream_id] = max(current, event.version)
    found.missing = [e["position"] for e in events if e["position"] not in seen]
    return found


# -- (c) consumer read models equal their rebuild ----------------------------------------------


def consumed_tables(service: str) -> list[str]:
    definition = CONSUMERS[service]
    projections = definition.consumed(EventStore(definition.upcasters()))
    tables = (t for group in projections.values() for p in group for t in p.tables)
    return list(dict.fromkeys(tables))


def snapshot(stack: DevStackRun, service: str, tables: list[str]) -> dict[str, list[str]]:
    """Every row of the tables, as text, sorted: comparable across a rebuild."""
    rows = {}
    with psycopg.connect(database_url(stack, service)) as conn:
        for table in tables:
            query = sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(table))
            rows[table] = sorted(row[0] for row in conn.execute(query).fetchall())
    return rows


def rebuild_consumed(stack: DevStackRun, service: str) -> None:
    """`python -m services.<service> rebuild --consumed`, as an operator runs it."""
    cfg = config(stack, service)
    env = {
        **os.environ,
        "DATABASE_URL": cfg.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": cfg.kafka_bootstrap_servers,
        "STYRKORT_INTERNAL_SECRET": stack.secret,
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}", "rebuild", "--consumed"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"rebuild of {service} failed:\n{done.stdout}{done.stderr}"


def differences(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, Any]:
    """Per table, the rows only the live read model had and those only its rebuild has."""
    found = {}
    for table, rows in before.items():
        live, rebuilt = Counter(rows), Counter(after[table])
        if live != rebuilt:
            found[table] = {
                "live only": list((live - rebuilt).elements())[:5],
                "rebuild only": list((rebuilt - live).elements())[:5],
            }
    return found


# -- (d) what the consumers applied -----------------------------------------------------------


def consumer_state(stack: DevStackRun, service: str) -> dict[str, int]:
    """Open gaps and rejected messages of a consumer: both must be none."""
    with psycopg.connect(database_url(stack, service)) as conn:
        gaps = conn.execute("SELECT count(*) FROM consumer_gaps WHERE resolved_at IS NULL")
        open_gaps = gaps.fetchone()
        rejects = conn.execute("SELECT count(*) FROM consumer_rejects").fetchone()
    assert open_gaps is not None and rejects is not None
    return {"open gaps": int(open_gaps[0]), "rejected": int(rejects[0])}


def applied_behind(
    stack: DevStackRun, service: str, events: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """Streams of a source whose last version the consumer did not apply (or applied a version
    the source never had): after recovery each must be exactly at the source's head."""
    with psycopg.connect(database_url(stack, service)) as conn:
        rows = conn.execute("SELECT source, stream_id, version FROM consumed_streams").fetchall()
    applied = {(source.rsplit("/", 1)[-1], stream): v for source, stream, v in rows}
    wrong = []
    for source in {s for s, _ in applied}:
        heads: dict[str, int] = {}
        for event in events[source]:
            heads[event["stream_id"]] = max(heads.get(event["stream_id"], 0), event["version"])
        for (src, stream), version in applied.items():
            if src == source and heads.get(stream) != version:
                wrong.append(f"{src} {stream}: applied v{version}, source has {heads.get(stream)}")
    return wrong


# -- (c) the services' own read models equal their rebuild, run through the gateway ------------


def own_tables(service: str) -> list[str]:
    definition = CONSUMERS.get(service) or GOALS
    return list(dict.fromkeys(t for p in definition.own_projections() for t in p.tables))


def rebuild_own(admin: httpx.Client, service: str, timeout: float = 300.0) -> dict[str, Any]:
    """The admin's rebuild of a service's own read models through the gateway, to its end."""
    started = admin.post(f"/api/v1/admin/{service}/rebuild")
    assert started.status_code == 202, started.text
    job: dict[str, Any] = started.json()
    deadline = time.monotonic() + timeout
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"the rebuild of {service} did not end: {job}"
        time.sleep(0.5)
        job = admin.get(f"/api/v1/admin/{service}/rebuild/{job['id']}").json()
    assert job["state"] == "done", job
    return job
