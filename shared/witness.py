"""Evidence beyond the chain itself: the service's Kafka topic as a witness, and anchors.

The hash chain shows a changed or removed row inside the log, but not a removed or rewritten
*tail*: delete the newest events (or replace them and recompute their hashes) and what is left
is a valid chain. Two things outside the database remember the head:

- the **witness**, the service's topic: the relay sent every event with its position and hash
  (shared/envelope.py). If the topic holds a position beyond the store's head, events were
  removed; if it holds a position the store has with another hash, the log was rewritten.
  Tansu undercounts end offsets (docs/adr/0004), so each partition's tail is read from a little
  before its reported end until idle, and the highest position taken.
- **anchors**: `anchor` prints the store's head (service, position, hash, time) as one line for
  a council's minutes; `verify --anchor FILE` checks that the position still has that hash.

The topic is read *before* the store: an event is on the topic only after it was committed,
so a relay running meanwhile can never make the topic look ahead of the store.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from shared.config import Config
from shared.events import format_time
from shared.kafka import new_consumer
from shared.store import EventStore, VerifyReport

#: Offsets read before each partition's reported end (Tansu reports the last batch's base
#: offset + 1; a batch of the relay holds at most its batch size of one partition's events).
TAIL_MARGIN = 1000
#: How long a partition must stay quiet after its reported end before the tail is taken as read.
TAIL_IDLE = 0.5
#: How long to wait for the broker before the witness is reported unavailable.
CONNECT_TIMEOUT_MS = 5000

ANCHOR_PREFIX = "styrkort-anchor"
_ANCHOR_LINE = re.compile(
    rf"{ANCHOR_PREFIX}\s+service=(?P<service>[\w.-]+)\s+position=(?P<position>\d+)\s+"
    r"hash=(?P<hash>[0-9a-f]{64})(?:\s+recorded_at=(?P<recorded_at>\S+))?"
    r"(?:\s+anchored_at=(?P<anchored_at>\S+))?"
)


class WitnessUnavailable(Exception):
    """The broker could not be asked what the topic holds."""


@dataclass(frozen=True)
class TopicTail:
    """What the end of a service's topic says: (position -> hash) of the messages read."""

    topic: str
    hashes: dict[int, str]

    @property
    def position(self) -> int:
        return max(self.hashes, default=0)


def read_topic_tail(
    config: Config, topic: str | None = None, margin: int = TAIL_MARGIN, idle: float = TAIL_IDLE
) -> TopicTail:
    """The positions and hashes at the end of every partition of the service's topic."""
    topic = topic or config.topic()
    try:
        consumer = new_consumer(
            config,
            enable_auto_commit=False,
            client_id=f"{config.service}-witness",
            request_timeout_ms=11_000,
            bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
            fetch_max_wait_ms=25,
        )
    except KafkaError as exc:
        raise WitnessUnavailable(f"{type(exc).__name__}: {exc}") from exc
    try:
        return TopicTail(topic, _scan_tail(consumer, topic, margin, idle))
    except KafkaError as exc:
        raise WitnessUnavailable(f"{type(exc).__name__}: {exc}") from exc
    finally:
        consumer.close()


def _scan_tail(consumer: KafkaConsumer, topic: str, margin: int, idle: float) -> dict[int, str]:
    ids = consumer.partitions_for_topic(topic) or set()
    partitions = [TopicPartition(topic, p) for p in sorted(ids)]
    if not partitions:
        return {}
    consumer.assign(partitions)
    end = consumer.end_offsets(partitions)
    for tp in partitions:
        consumer.seek(tp, max(0, end[tp] - margin))
    hashes: dict[int, str] = {}
    pending = {tp for tp in partitions if end[tp] > 0}
    deadline = time.monotonic() + 120
    quiet_since = time.monotonic()
    while pending or time.monotonic() - quiet_since < idle:
        if time.monotonic() > deadline:
            raise WitnessUnavailable(f"reading the tail of {topic} took over 120 s")
        for batch in consumer.poll(timeout_ms=100, max_records=5000).values():
            if batch:
                quiet_since = time.monotonic()
            for record in batch:
                _note(hashes, record.value)
        for tp in list(pending):
            if consumer.position(tp) >= end[tp]:
                pending.discard(tp)
    return hashes


def _note(hashes: dict[int, str], value: bytes | None) -> None:
    """Keep a message's position and hash; what is not a styrkort envelope is not evidence."""
    try:
        message = json.loads(value or b"")
        position, hash_ = message["position"], message["hash"]
    except (ValueError, TypeError, KeyError):
        return
    if isinstance(position, int) and not isinstance(position, bool) and isinstance(hash_, str):
        hashes[position] = hash_


def _store_hashes(conn: psycopg.Connection[Any], positions: Iterable[int]) -> dict[int, str]:
    rows = conn.execute(
        "SELECT position, hash FROM events WHERE position = ANY(%s)", [sorted(positions)]
    ).fetchall()
    return {int(p): str(h) for p, h in rows}


def compare_with_topic(
    conn: psycopg.Connection[Any], tail: TopicTail, store_head: int
) -> dict[str, Any]:
    """What the topic's tail says of the store whose head is `store_head`."""
    found: dict[str, Any] = {
        "consulted": True,
        "topic": tail.topic,
        "topic_position": tail.position,
        "topic_hash": tail.hashes.get(tail.position),
        "store_position": store_head,
        "status": "agrees" if tail.hashes else "empty",
        "first_broken_position": None,
        "reason": None,
    }
    if tail.position > store_head:
        found["status"] = "truncated"
        found["first_broken_position"] = store_head + 1
        found["reason"] = (
            f"tail truncated: the topic {tail.topic} holds position {tail.position}, but the "
            f"store ends at {store_head}; positions {store_head + 1}..{tail.position} were removed"
        )
        return found
    stored = _store_hashes(conn, tail.hashes)
    for position in sorted(tail.hashes):
        if stored.get(position) != tail.hashes[position]:
            found["status"] = "rewritten"
            found["first_broken_position"] = position
            found["reason"] = (
                f"tail rewritten: at position {position} the topic {tail.topic} holds hash "
                f"{tail.hashes[position]}, the store "
                + (f"hash {stored[position]}" if position in stored else "no event")
            )
            return found
    return found


# -- anchors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A head of a service's store, written down outside it (in a council's minutes)."""

    service: str
    position: int
    hash: str
    recorded_at: str | None = None
    anchored_at: str | None = None

    @property
    def line(self) -> str:
        text = f"{ANCHOR_PREFIX} service={self.service} position={self.position} hash={self.hash}"
        if self.recorded_at:
            text += f" recorded_at={self.recorded_at}"
        if self.anchored_at:
            text += f" anchored_at={self.anchored_at}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "position": self.position,
            "hash": self.hash,
            "recorded_at": self.recorded_at,
            "anchored_at": self.anchored_at,
            "line": self.line,
        }


def current_anchor(conn: psycopg.Connection[Any], service: str) -> Anchor:
    """The head of the store now (position 0 and the genesis hash when it is empty)."""
    from shared.events import GENESIS_HASH

    row = conn.execute(
        "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
    ).fetchone()
    now = format_time(datetime.now(UTC))
    if row is None:
        return Anchor(service, 0, GENESIS_HASH, None, now)
    return Anchor(service, int(row[0]), str(row[1]), format_time(row[2]), now)


def parse_anchors(text: str) -> list[Anchor]:
    """Every anchor in a text: the one-line form anywhere in it (minutes quote it), else the
    JSON form (one object or a list)."""
    anchors = [
        Anchor(m["service"], int(m["position"]), m["hash"], m["recorded_at"], m["anchored_at"])
        for m in _ANCHOR_LINE.finditer(text)
    ]
    if anchors:
        return anchors
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(f"no anchor found (a line starting {ANCHOR_PREFIX!r} or JSON)") from None
    items = value if isinstance(value, list) else [value]
    try:
        return [
            Anchor(
                str(item["service"]),
                int(item["position"]),
                str(item["hash"]),
                item.get("recorded_at"),
                item.get("anchored_at"),
            )
            for item in items
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not an anchor: {exc}") from None


def check_anchor(conn: psycopg.Connection[Any], anchor: Anchor, service: str) -> dict[str, Any]:
    """Whether the store still has the anchored position with exactly that hash."""
    found: dict[str, Any] = {**anchor.as_dict(), "ok": True, "reason": None}
    if anchor.service != service:
        found.update(ok=False, reason=f"the anchor is of service {anchor.service}, not {service}")
        return found
    if anchor.position == 0:
        return found
    stored = _store_hashes(conn, [anchor.position]).get(anchor.position)
    if stored is None:
        head = EventStore().last_position(conn)
        found.update(
            ok=False,
            reason=f"anchored position {anchor.position} is missing: the store ends at {head} "
            "(tail truncated)",
        )
    elif stored != anchor.hash:
        found.update(
            ok=False,
            reason=f"anchored position {anchor.position} has hash {stored}, the anchor says "
            f"{anchor.hash} (log rewritten)",
        )
    return found


# -- verify with every witness -----------------------------------------------------------------


def verify_all(
    conn: psycopg.Connection[Any],
    store: EventStore,
    config: Config,
    *,
    anchors: Iterable[Anchor] = (),
    witness: bool = True,
) -> dict[str, Any]:
    """The chain, the topic as witness, and the anchors: verify's answer (CLI and API).

    `ok` is false when anything was found broken; `first_broken_position` and `reason` are the
    chain's, else the witness's, else the first failing anchor's. `complete` is false when the
    witness could not be consulted: the tail is then unverified (not a pass)."""
    tail: TopicTail | None = None
    witness_found: dict[str, Any]
    if not witness:
        witness_found = {"consulted": False, "status": "not consulted", "topic": config.topic()}
    else:
        try:
            tail = read_topic_tail(config)  # before the store: see the module's docstring
        except WitnessUnavailable as exc:
            witness_found = {
                "consulted": False,
                "status": "unavailable",
                "topic": config.topic(),
                "reason": f"the witness could not be consulted: {exc}; the tail is unverified",
            }
    report: VerifyReport = store.verify(conn)
    head = store.last_position(conn)
    if tail is not None:
        witness_found = compare_with_topic(conn, tail, head)
    anchor_results = [check_anchor(conn, anchor, config.service) for anchor in anchors]
    result: dict[str, Any] = {"service": config.service, "ok": report.ok, **report.__dict__}
    problems = [witness_found] if witness_found.get("first_broken_position") else []
    problems += [a for a in anchor_results if not a["ok"]]
    if problems:
        result["ok"] = False
        if report.ok:
            first = problems[0]
            result["first_broken_position"] = first.get("first_broken_position") or first.get(
                "position"
            )
            result["reason"] = first["reason"]
    result["witness"] = witness_found
    if anchor_results:
        result["anchors"] = anchor_results
    result["complete"] = witness_found["consulted"]
    return result
