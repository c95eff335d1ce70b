"""What the access check costs: HTTP commands/s and p99 with and without the scope lookups.

The goals app runs under gunicorn (infra/gunicorn_conf.py) on loopback against a durable
PostgreSQL. Client threads create a unit under a sector and rename it with If-Match, signed as
  - an all-scope editor (`*`): the access check stops at the role, no organisation lookup —
    what a command cost before scopes were checked;
  - an editor scoped to the sector's committee: every command looks up the ancestry of the
    owning unit in the read model (the create: the sector; the rename: the unit's parent).
The two alternate in rounds of S seconds, so both see the same machine; the ratio of
commands/s (scoped / all-scope) is the figure, target ≥ 0.9. Prints figures, asserts nothing.
  python -m bench access [--seconds S] [--rounds N] [--clients N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.goals import META, SECRET, Gunicorn, Tally, drive, ms, percentile
from infra.embedded import EmbeddedPostgres, free_port
from services.goals import handlers
from services.goals.app import DEFINITION as GOALS
from shared.config import Config
from shared.identity import Identity
from shared.migrate import migrate
from shared.runtime import Runtime


def organisation(runtime: Runtime) -> tuple[str, str]:
    """A council, ten committees with a sector each; the first committee and its sector."""
    council = handlers.create_org_unit(
        runtime.uow(), META, name="Kommunfullmäktige", kind="council", parent_id=None
    )
    first: tuple[str, str] | None = None
    for n in range(10):
        committee = handlers.create_org_unit(
            runtime.uow(), META, name=f"Nämnd {n}", kind="committee", parent_id=council.id
        )
        sector = handlers.create_org_unit(
            runtime.uow(), META, name=f"Sektor {n}", kind="sector", parent_id=committee.id
        )
        first = first or (committee.id, sector.id)
    assert first is not None
    return first


def run(port: int, sector: str, who: Identity, clients: int, seconds: float) -> list[float]:
    """Latencies of the commands that succeeded; raises if any was refused."""
    tallies = [Tally() for _ in range(clients)]
    stop_at = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=drive, args=(port, sector, f"{who.scope[-6:]}-{c}", stop_at, tallies[c], who)
        )
        for c in range(clients)
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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True) as pg,
    ):
        url = pg.create_database("bench_access")
        migrate(url, GOALS.migrations())
        runtime = Runtime(GOALS, Config("goals", url, internal_secret=SECRET))
        try:
            committee, sector = organisation(runtime)
        finally:
            runtime.close()
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
                "per identity, alternating; create a unit + rename it with If-Match"
            )
            for _ in range(args.rounds):
                for name, who in identities.items():
                    started = time.perf_counter()
                    latencies[name] += run(server.port, sector, who, args.clients, args.seconds)
                    seconds[name] += time.perf_counter() - started
        finally:
            server.stop()
        rates = {}
        for name, samples in latencies.items():
            rates[name] = len(samples) / seconds[name]
            print(
                f"  {name:30s} {rates[name]:7,.0f} commands/s, p50 "
                f"{ms(statistics.median(samples))}, p99 {ms(percentile(samples, 99))}"
            )
        scoped, unscoped = rates["committee-scoped editor"], rates["all-scope editor (no lookup)"]
        print(f"  ratio scoped / all-scope: {scoped / unscoped:.2f} (target ≥ 0.9)")


if __name__ == "__main__":
    main()
