"""What the access check costs: HTTP commands/s and p99 with and without the scope lookups.

The goals app runs under gunicorn (infra/gunicorn_conf.py) on loopback against a durable
PostgreSQL. Client threads, each in a sector of its own, create a unit and rename it with
If-Match, signed as
  - an all-scope editor (`*`): the access check stops at the role, no organisation lookup —
    what a command cost before scopes were checked;
  - an editor scoped to the sectors' committee: every command looks up the ancestry of the
    owning unit in the read model (the create: the sector; the rename: the unit's parent).
The two alternate in rounds of S seconds (ABBA order, as the store grows during the run), so
both see the same machine; the ratio of commands/s (scoped / all-scope) is the figure, target
≥ 0.9. Prints figures, asserts nothing.
  python -m bench access [--seconds S] [--rounds N] [--clients N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.goals import META, SECRET, Gunicorn, Tally, drive, ms, percentile
from bench.table import Figure, at_least, record
from infra.embedded import EmbeddedPostgres, free_port
from services.goals import handlers
from services.goals.app import DEFINITION as GOALS
from shared.config import Config
from shared.identity import Identity
from shared.migrate import migrate
from shared.runtime import Runtime


def organisation(runtime: Runtime) -> str:
    """A council and ten committees with a sector each; the first committee."""
    council = handlers.create_org_unit(
        runtime.uow(), META, name="Kommunfullmäktige", kind="council", parent_id=None
    )
    committees = [
        handlers.create_org_unit(
            runtime.uow(), META, name=f"Nämnd {n}", kind="committee", parent_id=council.id
        )
        for n in range(10)
    ]
    for committee in committees:
        new_sector(runtime, committee.id)
    return committees[0].id


def new_sector(runtime: Runtime, committee: str) -> str:
    """Each client of each run creates its units in a sector of its own, so every run starts
    from no siblings: sibling names are unique, and checking that reads every sibling (a few
    dozen in a real sector; a run makes hundreds)."""
    name = f"Sektor {uuid.uuid4().hex[:8]}"
    return handlers.create_org_unit(
        runtime.uow(), META, name=name, kind="sector", parent_id=committee
    ).id


def run(port: int, sectors: list[str], who: Identity, seconds: float) -> list[float]:
    """One client per sector; latencies of the commands that succeeded; raises if any was
    refused."""
    tallies = [Tally() for _ in sectors]
    stop_at = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=drive,
            args=(port, sector, f"{uuid.uuid4().hex[:8]}-{c}", stop_at, tallies[c], who),
        )
        for c, sector in enumerate(sectors)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [t.refused for t in tallies if t.refused]
    if refused:
        raise RuntimeError(f"commands refused for {who}: {refused}")
    return [x for t in tallies for x in t.latencies]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench access")
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and identity")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        url = pg.create_database("bench_access")
        migrate(url, GOALS.migrations())
        runtime = Runtime(GOALS, Config("goals", url, internal_secret=SECRET))
        committee = organisation(runtime)
        identities = {
            "all-scope editor (no lookup)": Identity("key:bench-all", "editor", "*"),
            "committee-scoped editor": Identity("key:bench-scoped", "editor", committee),
        }
        latencies: dict[str, list[float]] = {name: [] for name in identities}
        seconds: dict[str, float] = dict.fromkeys(identities, 0.0)
        server = Gunicorn(url, Path(tmp) / "gunicorn.log")
        try:
            server.wait_ready()
            print(
                f"{os.cpu_count()} CPUs; gunicorn {os.environ.get('WEB_CONCURRENCY', '2')} "
                f"workers; {args.clients} clients; {args.rounds} rounds of {args.seconds:.0f} s "
                "per identity, ABBA; create a unit + rename it with If-Match"
            )
            order = list(identities.items())
            for round_ in range(args.rounds):
                for name, who in order if round_ % 2 == 0 else reversed(order):
                    sectors = [new_sector(runtime, committee) for _ in range(args.clients)]
                    started = time.perf_counter()
                    latencies[name] += run(server.port, sectors, who, args.seconds)
                    seconds[name] += time.perf_counter() - started
        finally:
            server.stop()
            runtime.close()
        rates = {}
        for name, samples in latencies.items():
            rates[name] = len(samples) / seconds[name]
            print(
                f"  {name:30s} {rates[name]:7,.0f} commands/s, p50 "
                f"{ms(statistics.median(samples))}, p99 {ms(percentile(samples, 99))}"
            )
        scoped, unscoped = rates["committee-scoped editor"], rates["all-scope editor (no lookup)"]
        print(f"  ratio scoped / all-scope: {scoped / unscoped:.2f} (target ≥ 0.9)")
        record(
            Figure(
                f"commands with the scope check (committee-scoped editor), {args.clients} clients",
                scoped,
                "commands/s",
                f"all-scope editor {unscoped:,.0f}/s",
                scoped / unscoped,
                at_least(0.9, "ratio"),
            )
        )


if __name__ == "__main__":
    main()
