"""Versioned SQL migrations, applied in order, each once, idempotently (DESIGN.md §3).

Every service applies the shared event-store migrations first, then its own. A migration that
was applied and has since been edited is refused: the database and the code would disagree.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 7_151_000_001  # serialises concurrent migrators of one database


class MigrationError(RuntimeError):
    """A migration failed or an applied one was changed."""


@dataclass(frozen=True)
class Migration:
    name: str  # "<namespace>/<file name>", e.g. "goals/0002_goal_tree.sql"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(namespace: str, directory: Path) -> list[Migration]:
    """The `NNNN_*.sql` files of a directory, in order."""
    files = sorted(p for p in directory.glob("*.sql") if p.name[:4].isdigit())
    return [Migration(f"{namespace}/{p.name}", p.read_text(encoding="utf-8")) for p in files]


def migrate(database_url: str, migrations: list[Migration]) -> list[str]:
    """Apply what is not applied yet; return the names applied now."""
    applied_now: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
        try:
            rows = conn.execute("SELECT name, checksum FROM schema_migrations").fetchall()
            done: dict[str, str] = dict(rows)
            for migration in migrations:
                if migration.name in done:
                    if done[migration.name] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.name} was changed after it was applied; "
                            "add a new migration instead of editing an applied one"
                        )
                    continue
                try:
                    with conn.transaction():
                        conn.execute(migration.sql.encode("utf-8"))
                        conn.execute(
                            "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                            [migration.name, migration.checksum],
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
                log.info("applied migration %s", migration.name)
                applied_now.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    return applied_now
