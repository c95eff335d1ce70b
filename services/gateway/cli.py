"""`python -m services.gateway keys create|list|rotate|revoke`: API keys from the command line.

Run by an operator on the gateway's host (it needs DATABASE_URL of the gateway's database), so
the actor of the key's events is `cli:<os user>` (or $STYRKORT_ADMIN). A new or rotated key is
printed alone on the last line, so a script can take it with `tail -n 1`; everything else goes
before it. Errors go to stderr with exit code 2 (bad input) or 1 (refused, unknown key, goals
not answering for a unit scope).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import uuid

from services.gateway import key_commands
from services.gateway.projections import current_keys
from services.gateway.upstream import Upstreams, timeout_from_env, urls_from_env
from shared.cli import Command
from shared.config import ConfigError
from shared.errors import InvalidInput, NotFound, StyrkortError
from shared.events import Metadata
from shared.identity import ROLES
from shared.runtime import Runtime


def _arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="keys_command", required=True, metavar="action")
    create = actions.add_parser("create", help="issue a key; prints it alone on the last line")
    create.add_argument("--role", required=True, help=f"one of {', '.join(ROLES)}")
    create.add_argument("--scope", required=True, help="an organisation unit id, or * for all")
    create.add_argument("--name", default="", help="what the key is for (e.g. the system)")
    actions.add_parser("list", help="the keys (never their secrets), as JSON lines")
    rotate = actions.add_parser("rotate", help="a new secret; prints it alone on the last line")
    rotate.add_argument("key_id")
    revoke = actions.add_parser("revoke", help="revoke a key; it is refused at once")
    revoke.add_argument("key_id")


def _metadata() -> Metadata:
    actor = os.environ.get("STYRKORT_ADMIN") or f"cli:{getpass.getuser()}"
    return Metadata(actor=actor, correlation_id=str(uuid.uuid4()))


def _scope_check(runtime: Runtime, scope: str) -> key_commands.ScopeCheck:
    """Goals is asked only for a unit scope: `*` works with goals down (e.g. `make run`)."""
    if scope == "*":
        return lambda _scope: None
    upstreams = Upstreams(urls_from_env(), runtime.config.internal_secret, timeout_from_env())
    return key_commands.unit_checker(upstreams)


def _run(args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        return _dispatch(args, runtime)
    except InvalidInput as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except NotFound:
        print(f"error: no API key {getattr(args, 'key_id', '')}", file=sys.stderr)
        return 1
    except (StyrkortError, ConfigError) as exc:
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, runtime: Runtime) -> int:
    if args.keys_command == "list":
        with runtime.pool.connection() as conn:
            for key in current_keys(conn):
                print(json.dumps(key, ensure_ascii=False))
        return 0
    if args.keys_command == "create":
        listed, new_key = key_commands.issue(
            runtime,
            _metadata(),
            role=args.role,
            scope=args.scope,
            name=args.name,
            check_scope=_scope_check(runtime, args.scope),
        )
        print(json.dumps(listed, ensure_ascii=False))
        print(new_key)
        return 0
    if args.keys_command == "rotate":
        listed, new_key = key_commands.rotate(runtime, _metadata(), args.key_id)
        print(json.dumps(listed, ensure_ascii=False))
        print(new_key)
        return 0
    print(json.dumps(key_commands.revoke(runtime, _metadata(), args.key_id), ensure_ascii=False))
    return 0


KEYS = Command(help="API keys: create, list, rotate, revoke", arguments=_arguments, run=_run)
COMMANDS = {"keys": KEYS}
