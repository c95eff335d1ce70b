"""`python -m shared.verify_export FILE [--after-hash HASH]`: check an exported event file offline.

A warehouse loads `GET /api/v1/export/<service>/events.jsonl` (JSON Lines of CloudEvents, each
with its position, prevhash and hash). Before trusting it, it can recompute every line's hash
exactly as the store does (shared/events.event_hash over the canonical JSON; the chain checks of
shared/store.chain_problem), see that each line's prevhash is the hash of the line before and
that positions follow one another without a gap. A file exported with `after=N` starts in the
middle of the chain: it is checked from its first line's prevhash, or from `--after-hash`, the
head the loader kept from the previous file (which also proves the two files join up).

Exit status 0 with `OK …` (count and head), 1 with the first broken line and why.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shared import envelope
from shared.events import GENESIS_HASH
from shared.store import chain_problem


@dataclass(frozen=True)
class ExportCheck:
    """What the check found: the lines checked, the head reached, the first break if any."""

    checked: int
    first_position: int | None
    head_position: int | None
    head_hash: str | None
    broken_line: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_line is None

    def summary(self) -> str:
        if not self.ok:
            return (
                f"BROKEN at line {self.broken_line}: {self.reason} "
                f"({self.checked} lines before it verified)"
            )
        if not self.checked:
            return "OK: 0 events (empty export)"
        return (
            f"OK: {self.checked} events, positions {self.first_position}..{self.head_position}, "
            f"head {self.head_hash}"
        )


def check_lines(lines: Iterable[bytes], after_hash: str | None = None) -> ExportCheck:
    """Check a chain of exported lines; stops at the first break. Pure: no I/O but the
    iteration of `lines`, so a file of a million events is read a line at a time."""
    chain = _Chain(after_hash)
    for number, line in enumerate(lines, start=1):
        reason = chain.take(line)
        if reason is not None:
            return chain.result(number, reason)
    return chain.result()


class _Chain:
    """Where the check stands: the hash and position the next line must continue."""

    def __init__(self, after_hash: str | None) -> None:
        self.expected_prev = after_hash
        self.expected_position: int | None = None
        self.source: str | None = None
        self.checked = 0
        self.first: int | None = None
        self.head_position: int | None = None
        self.head_hash: str | None = None

    def take(self, line: bytes) -> str | None:
        """Check one line against the chain so far; why it breaks it, or None."""
        if not line.strip():
            return "an empty line (a JSON Lines file has one event on every line)"
        try:
            received = envelope.from_cloudevent(envelope.decode(line))
        except envelope.InvalidEnvelope as exc:
            return f"not a styrkort CloudEvent: {exc}"
        event = received.event
        if self.source is None:
            self.source = received.source
        elif received.source != self.source:
            return f"source {received.source} in an export of {self.source}"
        if self.expected_position is None:  # the first line: the chain is entered here
            self.expected_position = self.first = event.position
            if self.expected_prev is None:
                self.expected_prev = GENESIS_HASH if event.position == 1 else event.prev_hash
        problem = chain_problem(event, self.expected_position, self.expected_prev or "")
        if problem:
            return f"position {event.position}: {problem}"
        self.checked += 1
        self.head_position, self.head_hash = event.position, event.hash
        self.expected_prev, self.expected_position = event.hash, event.position + 1
        return None

    def result(self, broken_line: int | None = None, reason: str | None = None) -> ExportCheck:
        return ExportCheck(
            self.checked, self.first, self.head_position, self.head_hash, broken_line, reason
        )


def check_file(path: Path, after_hash: str | None = None) -> ExportCheck:
    with path.open("rb") as lines:
        return check_lines(lines, after_hash)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.verify_export",
        description="Verify the hash chain of an events.jsonl export offline.",
    )
    parser.add_argument("file", type=Path, help="the JSON Lines file the export gave")
    parser.add_argument(
        "--after-hash",
        help="the hash of the event before the file's first line (the head of the previous "
        "file); default: the first line's own prevhash",
    )
    args = parser.parse_args(argv)
    if args.after_hash is not None and not _is_hash(args.after_hash):
        parser.error("--after-hash must be 64 hexadecimal digits (a sha256 as the export gives it)")
    try:
        result = check_file(args.file, args.after_hash and args.after_hash.lower())
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def _is_hash(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())


if __name__ == "__main__":
    sys.exit(main())
