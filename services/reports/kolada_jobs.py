"""A Kolada import as a job: recorded in `kolada_jobs` (migrations/0003), so any process answers
its state, and run in a thread of the web process that accepted it (POST
/api/v1/imports/kolada) or in the foreground (`python -m services.reports import-kolada`).

The job's `counts` are the import's report as it goes (services/reports/kolada_import.py):
fetched / new / corrected / unchanged / withdrawn / no_data / refused over results and
comparison values, then per kind. The source is always Kolada at the configured base URL
(KOLADA_BASE_URL), never a URL from a request. One job at a time: a new one is refused while
another is queued or running. A running job's heartbeat touches it every HEARTBEAT_EVERY
seconds; one without a sign of life for STALE_AFTER (its process stopped) reads as failed and is
no longer in the way. Run the import again: it is resumable (it records only what is missing).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.reports.kolada import KoladaClient, KoladaSource
from services.reports.kolada_import import ImportReport, import_kolada
from shared import values
from shared.errors import RuleViolation
from shared.runtime import Runtime

log = logging.getLogger(__name__)

#: how many finished years an import covers when none are named
DEFAULT_YEARS = 10
#: at most this many years in one import
MAX_YEARS = 50
#: the job's counts are written at most this often (seconds)
PROGRESS_EVERY = 1.0
#: a queued or running job not updated for this long is taken to have stopped with its process
#: (a running job's heartbeat updates it every HEARTBEAT_EVERY seconds, however slow Kolada is)
STALE_AFTER = dt.timedelta(minutes=15)
HEARTBEAT_EVERY = 60.0
#: the advisory lock that makes "none running? then queue one" one step
ONE_AT_A_TIME_LOCK = 7_104_263_571


def default_years(today: dt.date | None = None, count: int = DEFAULT_YEARS) -> list[int]:
    """The last `count` finished years (Kolada publishes a year's values after it ends)."""
    last = (today or values.today()).year - 1
    return list(range(last - count + 1, last + 1))


def client_for(runtime: Runtime) -> KoladaSource:
    """Kolada at the configured base URL, with the configured throttle."""
    config = runtime.config
    return KoladaClient(
        config.kolada_base_url, requests_per_second=config.kolada_requests_per_second
    )


def create_job(
    runtime: Runtime, requested_by: str, years: Sequence[int], from_date: dt.date | None
) -> str:
    """A new queued job; RuleViolation (409) while another is queued or running. Each job has
    its own throttle, so two at once would ask Kolada twice as often as configured. A job
    without a sign of life for STALE_AFTER (its process stopped) is not in the way."""
    job_id = str(uuid.uuid4())
    with runtime.pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [ONE_AT_A_TIME_LOCK])
        busy = conn.execute(
            "SELECT id::text FROM kolada_jobs WHERE state IN ('queued', 'running') "
            "AND updated_at > now() - make_interval(secs => %s) ORDER BY created_at LIMIT 1",
            [STALE_AFTER.total_seconds()],
        ).fetchone()
        if busy is not None:
            raise RuleViolation(
                f"the Kolada import job {busy[0]} is running: one import at a time (see it "
                "at its URL, start another once it is done)",
                {"job": ["another import is running"]},
                job=f"/api/v1/imports/kolada/{busy[0]}",
            )
        conn.execute(
            "INSERT INTO kolada_jobs (id, state, requested_by, years, from_date) "
            "VALUES (%s, 'queued', %s, %s, %s)",
            [job_id, requested_by, list(years), from_date],
        )
    return job_id


def get_job(runtime: Runtime, job_id: str) -> dict[str, Any] | None:
    """The job as the API shows it: its state, the counts at the top and per kind. Only the
    id as the job's URL spells it finds the job: uuid.UUID also reads "urn:uuid:...", braces
    or no hyphens, and PostgreSQL refuses some of those (a 500) and takes others (one job
    under many URLs)."""
    if not _canonical_uuid(job_id):
        return None
    with runtime.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """SELECT id::text AS id, state, requested_by, years, from_date, counts, error,
                      created_at, started_at, finished_at, updated_at,
                      updated_at < now() - make_interval(secs => %s) AS stale
                 FROM kolada_jobs WHERE id = %s""",
            [STALE_AFTER.total_seconds(), job_id],
        ).fetchone()
    if row is None:
        return None
    if row.pop("stale") and row["state"] in ("queued", "running"):
        # no heartbeat for STALE_AFTER: its process stopped, and the job will never end
        row["state"] = "failed"
        row["error"] = (
            f"the job showed no sign of life since {row['updated_at'].isoformat()}: its "
            "process stopped; start the import again (it is resumable)"
        )
    counts = row.pop("counts") or {}
    totals = {
        k: counts.get(k, 0)
        for k in ("fetched", "new", "corrected", "unchanged", "withdrawn", "no_data", "refused")
    }
    return {
        **row,
        **totals,
        "results": counts.get("results"),
        "comparisons": counts.get("comparisons"),
        "refusals": counts.get("refusals", []),
        "correlation_id": counts.get("correlation_id"),
        "source": "Kolada",
    }


def _canonical_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _heartbeat(runtime: Runtime, job_id: str, every: float) -> Callable[[], None]:
    """Touch the running job's updated_at every `every` seconds in a thread; what stops it."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                with runtime.pool.connection() as conn:
                    conn.execute(
                        "UPDATE kolada_jobs SET updated_at = now() "
                        "WHERE id = %s AND state = 'running'",
                        [job_id],
                    )
            except Exception:  # a missed beat is no reason to stop the import
                log.warning("Kolada import job %s: heartbeat failed", job_id, exc_info=True)

    threading.Thread(target=beat, name=f"kolada-beat-{job_id[:8]}", daemon=True).start()
    return stop.set


def _set(runtime: Runtime, job_id: str, **values: Any) -> None:
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values)
    with runtime.pool.connection() as conn:
        conn.execute(
            sql.SQL("UPDATE kolada_jobs SET {}, updated_at = now() WHERE id = %s").format(
                assignments
            ),
            [*values.values(), job_id],
        )


def run_job(
    runtime: Runtime,
    job_id: str,
    source: KoladaSource,
    *,
    years: Sequence[int],
    from_date: dt.date | None = None,
    municipality: str | None = None,
    comparisons: Sequence[str] | None = None,
    progress: Callable[[ImportReport], None] | None = None,
    heartbeat_every: float = HEARTBEAT_EVERY,
) -> ImportReport:
    """Run a recorded job: running, its counts as it goes (at most once a PROGRESS_EVERY
    seconds) and a heartbeat (every `heartbeat_every` seconds, so that a job waiting on a slow
    Kolada is not taken for one whose process stopped), then done or failed with the error.
    Closes the source. Re-raises a failure."""
    config = runtime.config
    _set(runtime, job_id, state="running", started_at=dt.datetime.now(dt.UTC))
    stop_heartbeat = _heartbeat(runtime, job_id, heartbeat_every)
    last = [0.0]

    def report(now: ImportReport) -> None:
        if progress is not None:
            progress(now)
        moment = time.monotonic()
        if moment - last[0] >= PROGRESS_EVERY:
            last[0] = moment
            _set(runtime, job_id, counts=Jsonb(now.as_dict()))

    try:
        done = import_kolada(
            runtime,
            source,
            municipality=municipality or config.kolada_municipality,
            comparisons=[c for c, _ in config.kolada_comparisons]
            if comparisons is None
            else comparisons,
            years=years,
            from_date=from_date,
            progress=report,
        )
    except BaseException as exc:
        _set(
            runtime,
            job_id,
            state="failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=dt.datetime.now(dt.UTC),
        )
        raise
    finally:
        stop_heartbeat()
        source.close()
    _set(
        runtime,
        job_id,
        state="done",
        counts=Jsonb(done.as_dict()),
        finished_at=dt.datetime.now(dt.UTC),
    )
    return done


def start_job_thread(
    runtime: Runtime,
    job_id: str,
    years: Sequence[int],
    from_date: dt.date | None,
    source: Callable[[Runtime], KoladaSource] = client_for,
) -> threading.Thread:
    """Run the job in a thread of this process (the HTTP route's way; see the module doc)."""

    def target() -> None:
        try:
            opened = source(runtime)
        except Exception as exc:  # e.g. a base URL the client refuses
            _set(runtime, job_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            log.exception("Kolada import job %s could not open its source", job_id)
            return
        try:
            run_job(runtime, job_id, opened, years=years, from_date=from_date)
        except Exception:
            log.exception("Kolada import job %s failed", job_id)

    thread = threading.Thread(target=target, name=f"kolada-{job_id[:8]}", daemon=True)
    thread.start()
    return thread
