"""Fault injection (issue #13): SIGKILL random processes of the running system under a steady
command load through the gateway, let it recover on its own, then check that nothing accepted
was lost and nothing was applied twice.

The whole dev stack runs as `make run` starts it (infra/devstack.py, on free ports in a temporary
directory): embedded PostgreSQL and broker, every service's gunicorn web app, relay and
consumer, the gateway. The devstack restarts what dies: app processes, PostgreSQL (its data is
durable) and the broker (memory storage: it comes back empty and the relays re-feed it).

The kills are chosen by `random.Random(seed)`: which kind of process (a gunicorn worker, a web
master, a relay, a consumer, the broker, the PostgreSQL postmaster), which one, and when. The
seed is printed; `FAULT_SEED` replays a run's choices, `FAULT_KILLS` sets how many (`make
test` runs the short version, every kind at least once; `make test-fault` 20).

After the last kill and the load's last answer, once every service is ready and relay and
consumer lag are 0, the checks (tests/fault/checks.py): (a) every command answered 2xx has its
events in its store; (b) every store event is on its topic, each stream in order (re-sends
counted, allowed); (c) each consumer's read models equal their rebuild from the topics; (d)
nothing was applied twice: no command's and no reaction's events twice, every consumed stream
exactly at its source's head, no open gaps, nothing rejected; (e) the gateway's
`/api/v1/admin/verify`: every chain and its witness OK. Prints accepted / lost / duplicated /
failed-then-retried; lost and duplicated must be 0.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest

from bench.gateway import DevStackRun
from bench.load import Load
from shared.relay import TOPIC_CHECK_SECONDS
from tests.fault import checks

pytestmark = [pytest.mark.slow, pytest.mark.fault]

KILLS = int(os.environ.get("FAULT_KILLS", "6"))
SEED = int(os.environ.get("FAULT_SEED") or random.SystemRandom().randrange(1, 10**6))
KINDS = ("worker", "master", "relay", "consumer", "broker", "postgres")
#: seconds between two kills: at random within this range
GAP = (3.0, 9.0)
#: how long the stack may take to recover after the last kill (relays re-feed a new broker)
RECOVERY_SECONDS = 240.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStackRun]:
    env = {
        "GATEWAY_RATE_LIMIT": "1000000/minute",
        # a killed service must be a quick 503 (retried), not a 30 s wait
        "GATEWAY_UPSTREAM_TIMEOUT": "10",
        "LOG_LEVEL": "WARNING",
        # our kills are not a failing server: the stack must not give up on them
        "DEV_SERVER_MAX_CRASHES": str(KILLS + 1),
    }
    run = DevStackRun(tmp_path_factory.mktemp("fault") / "dev", env)
    try:
        run.start()
    except (RuntimeError, TimeoutError) as exc:
        run.stop()
        pytest.fail(f"the dev stack did not start: {exc}")
    try:
        yield run
    finally:
        run.stop()
    assert run.processes() == [], "every process of the stack stopped"


# -- the kills ----------------------------------------------------------------------------------


def targets(stack: DevStackRun, kind: str) -> list[psutil.Process]:
    """The stack's processes of one kind, in a stable order (by command line)."""
    found = []
    for proc in stack.processes():
        try:
            line = " ".join(proc.cmdline())
            parent = proc.parent()
            parent_line = " ".join(parent.cmdline()) if parent else ""
        except psutil.Error:
            continue
        master = "gunicorn" in line and "gunicorn" not in parent_line
        wanted = {
            "worker": "gunicorn" in line and "gunicorn" in parent_line,
            "master": master,
            "relay": line.endswith(" relay"),
            "consumer": line.endswith(" consumer"),
            "broker": " broker --listener-url" in line,
            "postgres": "/bin/postgres -D" in line,
        }[kind]
        if wanted:
            found.append((line, proc.pid, proc))
    return [proc for _, _, proc in sorted(found, key=lambda f: (f[0], f[1]))]


def schedule(rng: random.Random, kills: int) -> list[str]:
    """Which kind of process each kill hits: every kind once (in random order) first, when
    there are kills enough, then any kind."""
    first = rng.sample(KINDS, k=min(kills, len(KINDS)))
    return first + [rng.choice(KINDS) for _ in range(kills - len(first))]


def kill_one(stack: DevStackRun, rng: random.Random, kind: str) -> str:
    """SIGKILL one process of the kind (a random one); what was killed. A kind whose process
    is being restarted right now has none: wait for it a little."""
    deadline = time.monotonic() + 60
    while not (found := targets(stack, kind)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind} process to kill for 60 s:\n{stack.log_tail()}")
        time.sleep(0.5)
    victim = rng.choice(found)
    try:
        what = " ".join(victim.cmdline()[-3:])
        victim.send_signal(signal.SIGKILL)
    except psutil.NoSuchProcess:
        what = "(ended by itself)"
    return f"{kind} pid {victim.pid}: {what}"


# -- recovery -----------------------------------------------------------------------------------


def wait(predicate: Callable[[], bool], what: str, stack: DevStackRun, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout:.0f} s:\n{stack.log_tail(80)}")
        time.sleep(1.0)


def all_ready(stack: DevStackRun) -> bool:
    for service in ("gateway", "goals", "plans", "reports"):
        try:
            if httpx.get(f"{stack.url(service)}/readyz", timeout=3, trust_env=False).is_error:
                return False
        except httpx.HTTPError:
            return False
    return True


def caught_up(admin: httpx.Client) -> bool:
    """Every relay and consumer at lag 0, none stopped (the gateway's /api/v1/admin/lag)."""
    try:
        answer = admin.get("/api/v1/admin/lag")
    except httpx.HTTPError:
        return False
    if answer.status_code != 200:
        return False
    for found in answer.json()["services"].values():
        if found["status"] != "ok" or found["relay"]["lag"] != 0 or found["relay"]["stopped"]:
            return False
        if any(c["lag"] != 0 for c in found["consumers"].values()):
            return False
    return True


# -- the test -----------------------------------------------------------------------------------


@pytest.mark.timeout(600 + 40 * KILLS)
def test_nothing_accepted_is_lost_or_applied_twice_under_kills(stack: DevStackRun) -> None:
    rng = random.Random(SEED)
    print(f"\nfault injection: seed {SEED} (FAULT_SEED={SEED} replays it), {KILLS} kills")
    load = Load(stack.url("gateway"), stack.admin_key, workers=3)
    load.setup()
    load.start()
    killed: list[str] = []
    last_kill = time.monotonic()
    try:
        for kind in schedule(rng, KILLS):
            load.halt.wait(rng.uniform(*GAP))
            if load.halt.is_set():  # a load thread failed: stop() raises its error
                break
            killed.append(kill_one(stack, rng, kind))
            last_kill = time.monotonic()
            print(f"  kill {len(killed):>2}: {killed[-1]}", flush=True)
        load.halt.wait(3.0)  # the load goes on a moment after the last kill
    finally:
        load.stop()
    tally = load.tally
    print(
        f"load: {len(tally.accepted)} accepted, {tally.retried} failed-then-retried "
        f"(failed attempts {dict(tally.failures)}), final refusals {dict(tally.refused)}"
    )

    with httpx.Client(
        base_url=stack.url("gateway"),
        headers={"Authorization": f"Bearer {stack.admin_key}"},
        timeout=60,
        trust_env=False,
    ) as admin:
        # an idle relay learns that a restarted broker lost its topic within its next check
        time.sleep(max(0.0, last_kill + 2 * TOPIC_CHECK_SECONDS - time.monotonic()))
        wait(lambda: all_ready(stack), "every service ready", stack, RECOVERY_SECONDS)
        wait(lambda: caught_up(admin), "relay and consumer lag 0", stack, RECOVERY_SECONDS)
        events = {service: checks.store_events(stack, service) for service in checks.STORES}

        # (a) and (d): every accepted command in its store, once; every reaction once
        findings = checks.Findings(accepted=len(tally.accepted), retried=tally.retried)
        findings.lost, findings.duplicated = checks.commands_in_stores(tally.accepted, events)
        findings.duplicated += checks.reactions_twice(events)
        print(f"fault injection (seed {SEED}): {findings.line()}")

        # (b) every event on its topic, per stream in order
        topics: dict[str, Any] = {}
        for service in checks.STORES:
            found = checks.check_topic(stack, service, events[service])
            topics[service] = found
            print(
                f"  {service}.events: {len(events[service])} events in the store, "
                f"{found.records} records on the topic ({found.duplicates} re-sent)"
            )

        # (c) every consumer read model equals its rebuild; (d) what the consumers applied
        rebuilt: dict[str, Any] = {}
        consumers: dict[str, Any] = {}
        for service in checks.CONSUMERS:
            consumers[service] = {  # before the rebuild, which replaces what it records
                **checks.consumer_state(stack, service),
                "behind": checks.applied_behind(stack, service, events),
            }
            tables = checks.consumed_tables(service)
            before = checks.snapshot(stack, service, tables)
            checks.rebuild_consumed(stack, service)
            rebuilt[service] = checks.differences(before, checks.snapshot(stack, service, tables))

        # (c) the services' own read models equal their rebuild (the admin's, through the
        # gateway): plans' include the plans the consumer's reactions flagged
        for service in ("goals", "plans", "reports"):
            tables = checks.own_tables(service)
            before = checks.snapshot(stack, service, tables)
            checks.rebuild_own(admin, service)
            own = checks.differences(before, checks.snapshot(stack, service, tables))
            rebuilt[f"{service} own"] = own

        # (e) every chain, with the external witness
        verified = admin.get("/api/v1/admin/verify").json()

    assert tally.accepted, "the load got commands through"
    assert len(killed) == KILLS, f"only {len(killed)} of {KILLS} kills were made"
    assert findings.lost == [], f"accepted but not in the store: {findings.lost[:10]}"
    assert findings.duplicated == [], f"applied twice: {findings.duplicated[:10]}"
    for service, found in topics.items():
        assert found.missing == [], f"{service}: positions not on the topic: {found.missing[:20]}"
        assert found.out_of_order == [], f"{service}: out of order: {found.out_of_order[:10]}"
    assert all(found == {} for found in rebuilt.values()), f"read model != rebuild: {rebuilt}"
    assert len(rebuilt) == 5, rebuilt
    for service, state in consumers.items():
        assert state == {"open gaps": 0, "rejected": 0, "behind": []}, f"{service}: {state}"
    broken = {
        service: {k: v for k, v in found.items() if k != "head"}
        for service, found in verified["services"].items()
        if not (found["ok"] and found["complete"])
    }
    assert verified["ok"] and verified["complete"], f"chains or witnesses not OK: {broken}"
