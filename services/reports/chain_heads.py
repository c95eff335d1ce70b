"""The heads of the hash chains the annual report is built from, stated by its approval.

Reports' own head is read inside the approving transaction after taking the store's append
lock (shared.store.EventStore.lock_appends): no other append can come between the head read and
the approval, so the approval event lands at the next position with that hash as its
`prev_hash`. Goals' and plans' heads are the last events reports had consumed from each (the
highest position: with several partitions, events of different streams may arrive out of
position order), kept by `ConsumedHeadsProjection` in the consumer's transaction: what reports
knew of the other stores when the council decided.
"""

from __future__ import annotations

from typing import Any

import psycopg

from services.reports.domain.annual import CHAIN_SOURCES, ChainHead, ChainHeads
from shared.events import GENESIS_HASH, RecordedEvent
from shared.store import EventStore
from shared.uow import Projection

Conn = psycopg.Connection[Any]


class ConsumedHeadsProjection(Projection):
    """`consumed_heads`: per source service, the position and hash of the highest event of its
    log applied here. One instance per source; both declare the table (a rebuild makes one
    shadow of it)."""

    tables = ("consumed_heads",)

    def __init__(self, source: str) -> None:
        self.source = source

    def apply(self, conn: Conn, event: RecordedEvent) -> None:
        conn.execute(
            """INSERT INTO consumed_heads (source, position, hash, event_id, recorded_at)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (source) DO UPDATE
                 SET position = excluded.position, hash = excluded.hash,
                     event_id = excluded.event_id, recorded_at = excluded.recorded_at
               WHERE consumed_heads.position < excluded.position""",
            [self.source, event.position, event.hash, event.event_id, event.recorded_at],
        )


def own_head(conn: Conn) -> ChainHead:
    """Reports' own head, with appends held off until the caller's transaction ends."""
    EventStore.lock_appends(conn)
    row = conn.execute(
        "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
    ).fetchone()
    return ChainHead(int(row[0]), str(row[1])) if row else ChainHead(0, GENESIS_HASH)


def consumed_heads(conn: Conn) -> ChainHeads:
    """The last consumed event of each source (position 0 and the genesis hash for none)."""
    rows = conn.execute("SELECT source, position, hash FROM consumed_heads").fetchall()
    found = {r[0]: ChainHead(int(r[1]), str(r[2])) for r in rows}
    return {s: found.get(s, ChainHead(0, GENESIS_HASH)) for s in CHAIN_SOURCES if s != "reports"}


def at_approval(conn: Conn) -> ChainHeads:
    """Every store's head for the approval being decided in the caller's transaction."""
    return {"reports": own_head(conn), **consumed_heads(conn)}
