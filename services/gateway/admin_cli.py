"""The administrator's commands across services, over the gateway's HTTP API with a key:
`python -m services.gateway admin <command>`.

verify                      every store's hash chain and witness; exit 1 if one is broken or
                            a service did not answer, 3 if sound but a witness was unread
lag                         each relay's and each consumer's lag; exit 1 if a relay is
                            stopped or a service did not answer
rebuild SERVICE [--no-wait] rebuild a service's own read models (waits for the job; exit 1 if
                            it fails)
republish SERVICE --from N  make a service's relay re-send its events from position N

The key is read from `--key-file` (default `.dev/admin-key`, what `make run` writes), or from
the environment variable STYRKORT_API_KEY when no `--key-file` is given; it travels as
`Authorization: Bearer <key>`. Exit 2: the command could not be run (no key, the gateway
refused or could not be reached). `--json` prints the gateway's answer as it came.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx

from services.gateway.upstream import BACKENDS

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_KEY_FILE = ".dev/admin-key"
KEY_ENV = "STYRKORT_API_KEY"
POLL_SECONDS = 0.5
EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INCOMPLETE = 0, 1, 2, 3


class CommandError(Exception):
    """The command could not be run (exit 2); the message says why."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m services.gateway admin",
        description="Verify, lag, rebuild and republish across services, through the gateway.",
    )
    top.add_argument("--url", default=DEFAULT_URL, help=f"the gateway (default {DEFAULT_URL})")
    top.add_argument(
        "--key-file",
        help=f"a file holding the API key (default {DEFAULT_KEY_FILE}, or ${KEY_ENV})",
    )
    top.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    top.add_argument("--json", action="store_true", help="print the gateway's JSON answer")
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("verify", help="every store's chain and witness")
    commands.add_parser("lag", help="relay and consumer lag per service")
    rebuild = commands.add_parser("rebuild", help="rebuild a service's own read models")
    rebuild.add_argument("service", choices=BACKENDS)
    rebuild.add_argument("--no-wait", action="store_true", help="start the job and return")
    rebuild.add_argument(
        "--wait-timeout", type=float, default=3600.0, help="seconds to wait for the job"
    )
    republish = commands.add_parser("republish", help="re-send a service's events from N")
    republish.add_argument("service", choices=BACKENDS)
    republish.add_argument("--from", dest="from_position", type=int, required=True)
    return top


def read_key(key_file: str | None, env: Mapping[str, str]) -> str:
    """The API key: from --key-file, else $STYRKORT_API_KEY, else the dev stack's file."""
    if key_file is None and env.get(KEY_ENV, "").strip():
        return env[KEY_ENV].strip()
    path = Path(key_file or DEFAULT_KEY_FILE)
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(
            f"no API key: cannot read {path} ({exc.strerror}); give --key-file or set {KEY_ENV}"
        ) from None
    if not key:
        raise CommandError(f"no API key: {path} is empty")
    return key


class Gateway:
    """Calls to the gateway's API with the key; CommandError on anything but the answer."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, ok: Sequence[int] = (200,)) -> Any:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise CommandError(
                f"the gateway at {self.client.base_url} did not answer: {exc}"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code not in ok:
            detail = answer.get("detail") if isinstance(answer, dict) else response.text[:200]
            raise CommandError(f"{method} {path}: {response.status_code} {detail}")
        return answer, response


def _verify(gateway: Gateway, args: argparse.Namespace, out: TextIO) -> int:
    found, _ = gateway.call("GET", "/api/v1/admin/verify")
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False), file=out)
    for service, result in found["services"].items():
        head = result.get("head") or {}
        if result["status"] == "unavailable":
            print(f"{service:8} UNAVAILABLE  {result.get('reason')}", file=out)
        elif result["status"] == "broken":
            print(
                f"{service:8} BROKEN at position {result.get('first_broken_position')}: "
                f"{result.get('reason')}",
                file=out,
            )
        else:
            witness = (result.get("witness") or {}).get("status")
            print(
                f"{service:8} ok  {result.get('checked')} events, head {head.get('position')} "
                f"{str(head.get('hash'))[:16]}…, witness {witness}",
                file=out,
            )
    if not found["ok"]:
        print("NOT OK: a chain is broken or a service did not answer", file=out)
        return EXIT_FAILED
    if not found["complete"]:
        print("sound, but a witness could not be consulted: the tail is unverified", file=out)
        return EXIT_INCOMPLETE
    print("ok: every chain is sound and its witness agrees", file=out)
    return EXIT_OK


def _lag(gateway: Gateway, args: argparse.Namespace, out: TextIO) -> int:
    found, _ = gateway.call("GET", "/api/v1/admin/lag")
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False), file=out)
    failed = False
    for service, state in found["services"].items():
        if state["status"] != "ok":
            print(f"{service:8} UNAVAILABLE  {state.get('reason')}", file=out)
            failed = True
            continue
        relay = state["relay"]
        stopped = relay.get("stopped")
        line = (
            f"{service:8} last {state['last_position']}, relayed {relay['checkpoint']}, "
            f"relay lag {relay['lag']}"
        )
        if stopped:
            line += f" — STOPPED at {stopped['position']}: {stopped['error']}"
            failed = True
        print(line, file=out)
        for source, consumer in state["consumers"].items():
            lag = consumer["lag"]
            print(
                f"{'':8}   consumer of {source}: applied {consumer['applied_position']} of "
                f"{consumer['source_position']}, lag {'unknown' if lag is None else lag}, "
                f"open gaps {consumer['open_gaps']}",
                file=out,
            )
    return EXIT_FAILED if failed else EXIT_OK


def _rebuild(gateway: Gateway, args: argparse.Namespace, out: TextIO) -> int:
    job, response = gateway.call("POST", f"/api/v1/admin/{args.service}/rebuild", ok=(202,))
    location = (
        response.headers.get("Location") or f"/api/v1/admin/{args.service}/rebuild/{job['id']}"
    )
    print(f"rebuild of {args.service}: job {job['id']} {job['state']} ({location})", file=out)
    deadline = time.monotonic() + args.wait_timeout
    while not args.no_wait and job["state"] not in ("done", "failed"):
        if time.monotonic() > deadline:
            print(f"still {job['state']} after {args.wait_timeout:g} s; see {location}", file=out)
            return EXIT_FAILED
        time.sleep(POLL_SECONDS)
        job, _ = gateway.call("GET", location)
    if args.json:
        print(json.dumps(job, indent=2, ensure_ascii=False), file=out)
    if job["state"] == "failed":
        print(f"FAILED: {job.get('error')}", file=out)
        return EXIT_FAILED
    if job["state"] == "done":
        print(f"done: {job.get('events_applied')} events applied", file=out)
    return EXIT_OK


def _republish(gateway: Gateway, args: argparse.Namespace, out: TextIO) -> int:
    found, _ = gateway.call(
        "POST",
        f"/api/v1/admin/{args.service}/republish",
        {"from": args.from_position},
        ok=(202,),
    )
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False), file=out)
    print(
        f"{args.service}: the relay re-sends from position {found['republishing_from']}", file=out
    )
    return EXIT_OK


COMMANDS: dict[str, Callable[[Gateway, argparse.Namespace, TextIO], int]] = {
    "verify": _verify,
    "lag": _lag,
    "rebuild": _rebuild,
    "republish": _republish,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one admin command; the exit code (see the module docstring). `transport` lets tests
    reach a gateway app without a socket."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    try:
        key = read_key(args.key_file, os.environ)
        with httpx.Client(
            base_url=args.url,
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            timeout=args.timeout,
            transport=transport,
        ) as client:
            return COMMANDS[args.command](Gateway(client), args, out)
    except CommandError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
