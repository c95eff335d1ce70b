"""Each signed request is accepted once (docs/adr/0011).

A signature is valid for ±`max_signature_age_seconds` around the time it was signed; within
that window a captured request could be sent again. Every accepted signature is inserted into
`signature_replays`: a conflict is a replay, refused with 401. Rows whose signature can no longer
pass the clock check (signed more than the window ago, plus one more window for service
replicas whose clocks differ) are deleted in batches of at most `SWEEP_BATCH` rows, at most once
a `SWEEP_INTERVAL_SECONDS` per process, or at once again while a batch comes back full.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from psycopg_pool import ConnectionPool

from shared.errors import Unauthenticated

SWEEP_BATCH = 1000
SWEEP_INTERVAL_SECONDS = 1.0


class ReplayGuard:
    """Remembers the signatures one service accepted, in its own database."""

    def __init__(self, pool: ConnectionPool[Any], window_seconds: int) -> None:
        self.pool = pool
        self.window_seconds = window_seconds
        self._next_sweep = 0.0
        self._lock = threading.Lock()

    def accept_once(self, signature: str, signed_at: int) -> None:
        """Record `signature`; Unauthenticated ("replayed") if it was recorded before."""
        with self.pool.connection() as conn:
            fresh = conn.execute(
                "INSERT INTO signature_replays (signature, signed_at) "
                "VALUES (%s, to_timestamp(%s)) ON CONFLICT (signature) DO NOTHING "
                "RETURNING 1",
                [signature, signed_at],
            ).fetchone()
        if fresh is None:
            raise Unauthenticated(
                "this signed request was replayed: each signature is accepted once; the "
                "gateway signs every request anew"
            )
        self.sweep_if_due()

    def sweep_if_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next_sweep:
                return
            self._next_sweep = now + SWEEP_INTERVAL_SECONDS
        if self.sweep() == SWEEP_BATCH:
            with self._lock:
                self._next_sweep = 0.0  # more to delete: the next request sweeps again

    def sweep(self, now: float | None = None) -> int:
        """Delete at most SWEEP_BATCH expired rows; how many were deleted."""
        now = time.time() if now is None else now
        horizon = now - 2 * self.window_seconds
        with self.pool.connection() as conn:
            cursor = conn.execute(
                """DELETE FROM signature_replays WHERE signature IN (
                       SELECT signature FROM signature_replays
                       WHERE signed_at < to_timestamp(%s)
                       ORDER BY signed_at LIMIT %s FOR UPDATE SKIP LOCKED)""",
                [horizon, SWEEP_BATCH],
            )
            return int(cursor.rowcount)
