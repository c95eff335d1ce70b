"""The command line every service shares: `python -m services.<name> <command>`.

migrate                 apply the SQL migrations (idempotent)
relay                   run the outbox relay to Kafka until SIGTERM/SIGINT
consumer                run the consumer of other services' topics until SIGTERM/SIGINT
rebuild [--own|--consumed]  refill read models from events, beside the live ones, and swap
republish --from N      re-send this service's events from position N to Kafka
relay-status            where the relay is; where and why it stopped; the recorded skips
relay-skip --position N --reason TEXT [--by NAME]
                        pass the position the relay stopped at (recorded: who, when, why)
relay-retry             send the position the relay stopped at again (its cause was fixed)
verify [--anchor FILE] [--no-witness]
                        recompute the hash chain and compare the head with the service's topic
                        (and with anchors from FILE); exit 1 naming the first broken position,
                        3 when the chain is sound but the topic could not be consulted
anchor                  print the head of the store (one line for minutes, and JSON)
seed                    load the demo data (idempotent)

A service adds commands of its own with `main(DEFINITION, commands={name: Command(...)})`
(e.g. reports' `import-kolada`): each declares its arguments and runs with the runtime.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shared import rebuild
from shared.config import Config, ConfigError
from shared.consumer import Consumer, Outcome
from shared.logs import configure_logging
from shared.migrate import migrate
from shared.relay import AdminError, Relay, record_skip, relay_status, retry_blocked
from shared.runtime import Runtime, ServiceDefinition
from shared.witness import Anchor, current_anchor, parse_anchors, verify_all

log = logging.getLogger(__name__)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


@dataclass(frozen=True)
class Command:
    """A command of one service: its help line, its arguments, and what it runs (an exit code)."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Runtime], int]


def build_parser(
    definition: ServiceDefinition, own: Mapping[str, Command] | None = None
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m services.{definition.name}",
        description=f"styrkort {definition.name} service",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("migrate", help="apply the SQL migrations (idempotent)")
    commands.add_parser("relay", help="run the outbox relay to Kafka")
    if definition.consumes():
        commands.add_parser("consumer", help="run the consumer of other services' topics")
    rebuild = commands.add_parser("rebuild", help="drop and refill read models from events")
    which = rebuild.add_mutually_exclusive_group()
    which.add_argument("--own", action="store_true", help="only the service's own read models")
    which.add_argument("--consumed", action="store_true", help="only those fed by other topics")
    republish = commands.add_parser("republish", help="re-send events to Kafka from a position")
    republish.add_argument("--from", dest="from_position", type=int, required=True, metavar="N")
    verify = commands.add_parser(
        "verify", help="check the hash chain, and the head against the topic and anchors"
    )
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="FILE",
        help="a file holding anchors (the line `anchor` printed, or its JSON)",
    )
    verify.add_argument(
        "--no-witness", action="store_true", help="do not consult the topic (tail unverified)"
    )
    commands.add_parser("anchor", help="print the head of the store, to record in minutes")
    # every service has a store and a relay, the gateway too (its API keys' events)
    commands.add_parser("relay-status", help="where the relay is, and why it stopped")
    skip = commands.add_parser(
        "relay-skip", help="pass the position the relay stopped at (recorded durably)"
    )
    skip.add_argument("--position", type=int, required=True, metavar="N")
    skip.add_argument("--reason", required=True, help="why; kept with who and when")
    skip.add_argument(
        "--by", default=None, help="who decides (default $STYRKORT_ADMIN or the OS user)"
    )
    commands.add_parser("relay-retry", help="send the position the relay stopped at again")
    if definition.seed is not None:
        commands.add_parser("seed", help="load the demo data (idempotent)")
    for name, command in (own or {}).items():
        command.arguments(commands.add_parser(name, help=command.help))
    return parser


def main(
    definition: ServiceDefinition,
    argv: Sequence[str] | None = None,
    commands: Mapping[str, Command] | None = None,
) -> int:
    args = build_parser(definition, commands).parse_args(argv)
    try:
        config = Config.from_env(definition.name)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(definition.name, args.command, config.log_level)

    if args.command == "migrate":
        applied = migrate(config.database_url, definition.migrations())
        print(
            f"{definition.name}: {len(applied)} migration(s) applied"
            + "".join(f"\n  {name}" for name in applied)
        )
        if definition.after_migrate is not None:
            runtime = Runtime(definition, config, pool_size=1)
            try:
                said = definition.after_migrate(runtime)
                if said:
                    print(f"{definition.name}: {said}")
            finally:
                runtime.close()
        return 0

    runtime = Runtime(definition, config, pool_size=4)
    try:
        if commands and args.command in commands:
            return commands[args.command].run(args, runtime)
        return _run(args, definition, runtime)
    finally:
        runtime.close()


def _rebuild(args: argparse.Namespace, definition: ServiceDefinition, runtime: Runtime) -> int:
    """In the foreground, as a recorded job (any process answers its state), with progress
    lines; the service keeps taking commands meanwhile (shared/rebuild.py)."""
    name, pool = definition.name, runtime.pool
    by = os.environ.get("STYRKORT_ADMIN") or f"cli:{getpass.getuser()}"
    started = time.monotonic()

    def progress(what: str) -> Callable[[int], None]:
        def show(applied: int) -> None:
            seconds = time.monotonic() - started
            rate = applied / seconds if seconds else 0.0
            print(f"{name}: rebuild {what}: {applied} events applied ({rate:,.0f}/s)", flush=True)

        return show

    try:
        if not args.consumed:
            job = rebuild.create_job(pool, "own", by)
            print(f"{name}: rebuild job {job} (own read models)", flush=True)
            count = rebuild.run_job(
                job,
                lambda report: rebuild.rebuild_own(
                    pool, runtime.store, runtime.projections, report
                ),
                pool,
                progress("own"),
            )
            print(f"{name}: own read models rebuilt from {count} events")
        if not args.own and runtime.applier.projections:
            job = rebuild.create_job(pool, "consumed", by)
            print(f"{name}: rebuild job {job} (consumed read models)", flush=True)
            outcomes: list[Outcome] = []

            def consumed(report: Callable[[int], None]) -> int:
                outcomes.append(
                    rebuild.rebuild_consumed(runtime.config, pool, runtime.applier, report)
                )
                return outcomes[-1].applied

            rebuild.run_job(job, consumed, pool, progress("consumed"))
            print(f"{name}: consumed read models rebuilt: {outcomes[-1]}")
    except rebuild.RebuildBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace, definition: ServiceDefinition, runtime: Runtime) -> int:
    config = runtime.config
    if args.command == "relay":
        Relay(config, runtime.store).run(_stop_on_signals())
    elif args.command == "consumer":
        Consumer(config, runtime.pool, runtime.applier).run(_stop_on_signals())
    elif args.command == "rebuild":
        return _rebuild(args, definition, runtime)
    elif args.command == "republish":
        if args.from_position < 1:
            print("error: --from must be a position of 1 or more", file=sys.stderr)
            return 2
        with runtime.pool.connection() as conn:
            Relay(config, runtime.store).reset_checkpoint(conn, args.from_position)
        print(f"{definition.name}: the relay re-sends events from position {args.from_position}")
    elif args.command == "relay-status":
        with runtime.pool.connection() as conn:
            status = relay_status(conn, config)
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 1 if status["stopped"] else 0
    elif args.command == "relay-skip":
        by = args.by or os.environ.get("STYRKORT_ADMIN") or getpass.getuser()
        try:
            with runtime.pool.connection() as conn:
                skip = record_skip(conn, config, args.position, args.reason, by)
        except AdminError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({"service": definition.name, "skipped": skip}, ensure_ascii=False))
    elif args.command == "relay-retry":
        with runtime.pool.connection() as conn:
            position = retry_blocked(conn, config)
        if position is None:
            print(f"{definition.name}: the relay is not stopped")
        else:
            print(f"{definition.name}: the relay sends position {position} again")
    elif args.command == "verify":
        return _verify(args, runtime)
    elif args.command == "anchor":
        with runtime.pool.connection() as conn:
            anchor = current_anchor(conn, definition.name)
        print(anchor.line)
        print(json.dumps(anchor.as_dict(), ensure_ascii=False))
    elif args.command == "seed":
        assert definition.seed is not None
        print(definition.seed(runtime))
    return 0


def _verify(args: argparse.Namespace, runtime: Runtime) -> int:
    anchors: list[Anchor] = []
    for name in args.anchor:
        try:
            with open(name, encoding="utf-8") as file:
                anchors += parse_anchors(file.read())
        except (OSError, ValueError) as exc:
            print(f"error: --anchor {name}: {exc}", file=sys.stderr)
            return 2
    with runtime.pool.connection() as conn:
        result = verify_all(
            conn, runtime.store, runtime.config, anchors=anchors, witness=not args.no_witness
        )
    print(json.dumps(result, ensure_ascii=False))
    if not result["ok"]:
        print(
            f"verify: BROKEN at position {result['first_broken_position']}: {result['reason']}",
            file=sys.stderr,
        )
        return 1
    if not result["complete"]:
        why = result["witness"].get("reason") or "the witness was not consulted"
        print(f"verify: the chain is sound, but {why}", file=sys.stderr)
        return 3
    return 0
