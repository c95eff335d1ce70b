"""Routes every service has over its own event store: history, the event feed and export,
and the administrator's verify / republish / rebuild (DESIGN.md §5).

Paths name the service where they would otherwise collide at the gateway:
`/api/v1/events/goals`, `/api/v1/admin/goals/verify`. History is by entity id, which names its
stream type, so the gateway can route it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg
from flask import Response, stream_with_context
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared import envelope, rebuild
from shared.errors import NotFound, RuleViolation
from shared.events import RecordedEvent
from shared.http import Blueprint, require_role
from shared.openapi import MAY_REFUSE
from shared.relay import AdminError, Relay, record_skip, relay_status, retry_blocked
from shared.runtime import Runtime
from shared.schemas import AsOfQuery, HistorySchema
from shared.witness import current_anchor, verify_all

DECISION_KEYS = ("decided_by", "decided_on", "minute_ref")
#: Line breaks other than "\n" that str.splitlines() and JavaScript split on; json.dumps with
#: ensure_ascii=False leaves them raw inside strings (UTF-8 bytes -> their JSON escape).
_LINE_BREAKS = (
    ("\u0085".encode(), b"\\u0085"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def jsonl_line(value: Any) -> bytes:
    """One JSON Lines line: compact UTF-8 JSON whose only line break is the final "\n".

    Outside strings JSON is ASCII, so these UTF-8 sequences are always inside a string, where
    the escape means the same character."""
    return escape_line_breaks(envelope.encode(value)) + b"\n"


def escape_line_breaks(line: bytes) -> bytes:
    """JSON text (UTF-8) whose only line breaks are escaped, so it stays one JSON Lines line."""
    for raw, escaped in _LINE_BREAKS:
        if raw in line:
            line = line.replace(raw, escaped)
    return line


#: Events gathered into one chunk of the body (~250 kB of typical events): counting rows is
#: cheaper than measuring them, and the Python loop per row is what limits the export.
EXPORT_CHUNK = 300
# COPY's CSV with a delimiter and quote that JSON text never holds raw (jsonb escapes control
# characters), and JSON never holds a raw line break: each row is written as it is, one line.
_AS_LINES = "(FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"


def export_lines(runtime: Runtime, conn: Any, after: int) -> Iterator[bytes]:
    """The service's events after `after` as JSON Lines of CloudEvents, streamed.

    The events as recorded (never upcast: the loader recomputes their hashes, see
    shared/verify_export.py), enveloped by the database (shared/envelope.EXPORT_SQL, equal to
    to_cloudevent's, tested) and sent by COPY: the server streams rows, Python joins them into
    chunks, so memory stays flat however long the log is (bench/warehouse.py). One statement
    reads one snapshot; a resumed export (after = the last position received) takes up exactly
    where the previous one stopped, since positions are gapless and never reused."""
    source = runtime.config.source
    with conn.transaction():
        conn.execute("SET LOCAL datestyle = 'ISO, YMD'")  # what EXPORT_SQL's time relies on
        types = conn.execute(
            "SELECT DISTINCT stream_type, event_type FROM events WHERE position > %s", [after]
        ).fetchall()
        params = {
            "source_json": json.dumps(source),
            "type_prefix": envelope.type_prefix(source),
            "after": after,
            **envelope.export_type_maps(source, types),
        }
        statement = f"COPY ({envelope.EXPORT_SQL}) TO STDOUT {_AS_LINES}"
        with conn.cursor() as cur, cur.copy(statement, params) as copy:
            chunk: list[memoryview] = []  # each row's own buffer, kept until joined
            for row in copy:
                chunk.append(row)
                if len(chunk) >= EXPORT_CHUNK:
                    yield escape_line_breaks(b"".join(chunk))
                    chunk = []
            if chunk:
                yield escape_line_breaks(b"".join(chunk))


class FeedQuery(Schema):
    after = fields.Int(
        load_default=0,
        validate=validate.Range(min=0),
        metadata={"description": "return events after this position"},
    )
    limit = fields.Int(load_default=500, validate=validate.Range(min=1, max=5000))


class ExportQuery(Schema):
    after = fields.Int(load_default=0, validate=validate.Range(min=0))


class FeedSchema(Schema):
    events = fields.List(fields.Dict(), metadata={"description": "CloudEvents 1.0 objects"})
    next_after = fields.Int(metadata={"description": "pass as `after` for the next page"})
    last_position = fields.Int()


class RepublishSchema(Schema):
    from_position = fields.Int(
        required=True, data_key="from", validate=validate.Range(min=1, max=2**63 - 1)
    )


class RelaySkipSchema(Schema):
    position = fields.Int(
        required=True,
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "the position the relay stopped at (see GET …/relay)"},
    )
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class RebuildJobSchema(Schema):
    id = fields.Str()
    scope = fields.Str(metadata={"description": "own: the service's own read models"})
    state = fields.Str(metadata={"description": "queued, running, done or failed"})
    events_applied = fields.Int()
    requested_by = fields.Str()
    error = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


def history_entry(event: RecordedEvent) -> dict[str, Any]:
    decision = {k: event.data[k] for k in DECISION_KEYS if k in event.data} or None
    return {
        "position": event.position,
        "version": event.version,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "recorded_at": event.recorded_at,
        "actor": event.metadata.get("actor"),
        "correlation_id": event.metadata.get("correlation_id"),
        "causation_id": event.metadata.get("causation_id"),
        "decision": decision,
        "data": event.data,
        "hash": event.hash,
    }


def consumer_status(
    conn: psycopg.Connection[Any], followed: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per source service followed (and any other found applied): the highest position
    applied, how many of its streams were applied, the version gaps still open, and when the
    consumer last applied one.

    Partitions are consumed independently, so events below the highest position applied
    may still be on their way; `open_gaps` counts those known to be missing."""
    found: dict[str, dict[str, Any]] = {}

    def entry(source: str) -> dict[str, Any]:
        return found.setdefault(
            source.rsplit("/", 1)[-1],
            {"applied_position": 0, "streams": 0, "open_gaps": 0, "last_applied_at": None},
        )

    for name in followed:
        entry(name)
    for source, position, streams, applied_at in conn.execute(
        "SELECT source, max(position), count(*), max(applied_at) FROM consumed_streams "
        "GROUP BY source"
    ).fetchall():
        entry(source).update(
            applied_position=int(position),
            streams=int(streams),
            last_applied_at=applied_at.isoformat() if applied_at else None,
        )
    for source, count in conn.execute(
        "SELECT source, count(*) FROM consumer_gaps WHERE resolved_at IS NULL GROUP BY source"
    ).fetchall():
        entry(source)["open_gaps"] = int(count)
    return dict(sorted(found.items()))


#: checks, before a history is shown, that the caller may see it (raises Forbidden otherwise)
HistoryGuard = Callable[[Any, list[RecordedEvent]], None]


def event_store_blueprint(runtime: Runtime, guard: HistoryGuard | None = None) -> Blueprint:
    service = runtime.config.service
    source = runtime.config.source
    blp = Blueprint(
        f"{service}-events",
        __name__,
        url_prefix="/api/v1",
        description="History, event feed, export and administration of the store",
    )

    refusable = blp.doc(**MAY_REFUSE) if guard is not None else (lambda view: view)

    @blp.route("/history/<entity_id>")
    class History(MethodView):
        @refusable
        @blp.arguments(AsOfQuery, location="query")
        @blp.response(200, HistorySchema)
        def get(self, query: dict[str, Any], entity_id: str) -> dict[str, Any]:
            """Every event of an entity, in order: who, what, when, on whose decision."""
            with runtime.pool.connection() as conn:
                events = runtime.store.read_stream(conn, entity_id, as_of=query.get("as_of"))
                if events and guard is not None:
                    guard(conn, events)
            if not events:
                raise NotFound(f"no entity {entity_id} in the {service} service")
            return {
                "entity_id": entity_id,
                "stream_type": events[0].stream_type,
                "events": [history_entry(e) for e in events],
            }

    @blp.route(f"/events/{service}")
    class Feed(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.arguments(FeedQuery, location="query")
        @blp.response(200, FeedSchema)
        def get(self, query: dict[str, Any]) -> dict[str, Any]:
            """The service's events after a position, as CloudEvents (incremental feed)."""
            require_role("auditor")
            with runtime.pool.connection() as conn:
                events = runtime.store.read_all(conn, query["after"], query["limit"], upcast=False)
                last = runtime.store.last_position(conn)
            return {
                "events": [envelope.to_cloudevent(e, source) for e in events],
                "next_after": events[-1].position if events else query["after"],
                "last_position": last,
            }

    @blp.route(f"/export/{service}/events.jsonl")
    class Export(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.arguments(ExportQuery, location="query")
        @blp.response(200, content_type="application/x-ndjson")
        def get(self, query: dict[str, Any]) -> Response:
            """Every event after a position as JSON Lines of CloudEvents (for the warehouse)."""
            require_role("auditor")

            def lines() -> Iterator[bytes]:
                with runtime.pool.connection() as conn:
                    yield from export_lines(runtime, conn, query["after"])

            return Response(stream_with_context(lines()), mimetype="application/x-ndjson")

    @blp.route(f"/admin/{service}/verify")
    class Verify(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.response(200)
        def get(self) -> dict[str, Any]:
            """Recompute the hash chain and compare its head with the service's topic (the
            witness); name the first broken position. `complete` is false when the topic
            could not be consulted: the tail is then unverified."""
            require_role("auditor")
            with runtime.pool.connection() as conn:
                return verify_all(conn, runtime.store, runtime.config)

    @blp.route(f"/admin/{service}/anchor")
    class AnchorHead(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.response(200)
        def get(self) -> dict[str, Any]:
            """The head of the store now (service, position, hash, time): `line` is what a
            council writes into its minutes; `verify --anchor FILE` checks it later."""
            require_role("auditor")
            with runtime.pool.connection() as conn:
                return current_anchor(conn, service).as_dict()

    @blp.route(f"/admin/{service}/republish")
    class Republish(MethodView):
        @blp.arguments(RepublishSchema)
        @blp.response(202)
        def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
            """Make the relay re-send this service's events from a position."""
            require_role("admin")
            with runtime.pool.connection() as conn:
                Relay(runtime.config, runtime.store).reset_checkpoint(conn, body["from_position"])
            return {"service": service, "republishing_from": body["from_position"]}, 202

    @blp.route(f"/admin/{service}/relay")
    class RelayStatus(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.response(200)
        def get(self) -> dict[str, Any]:
            """Where the relay is; where and why it stopped; the recorded skips."""
            require_role("auditor")
            with runtime.pool.connection() as conn:
                return relay_status(conn, runtime.config)

    @blp.route(f"/admin/{service}/consumer")
    class ConsumerStatus(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.response(200)
        def get(self) -> dict[str, Any]:
            """What the service's consumer has applied of each service it follows: the
            highest position applied, the streams followed, the gaps still open (the
            gateway compares it with each source's last position: the consumer's lag)."""
            require_role("auditor")
            with runtime.pool.connection() as conn:
                return {
                    "service": service,
                    "sources": consumer_status(conn, runtime.applier.projections),
                }

    @blp.route(f"/admin/{service}/relay/skip")
    class RelaySkip(MethodView):
        @blp.arguments(RelaySkipSchema)
        @blp.response(200)
        def post(self, body: dict[str, Any]) -> dict[str, Any]:
            """Let the stopped relay pass exactly the position it stopped at (recorded: the
            caller, now, the reason); the event stays in the store."""
            who = require_role("admin")
            try:
                with runtime.pool.connection() as conn:
                    skip = record_skip(
                        conn, runtime.config, body["position"], body["reason"], who.actor
                    )
            except AdminError as exc:
                raise RuleViolation(str(exc)) from None
            return {"service": service, "skipped": skip}

    @blp.route(f"/admin/{service}/relay/retry")
    class RelayRetry(MethodView):
        @blp.response(200)
        def post(self) -> dict[str, Any]:
            """Let the stopped relay send its position again (the cause was fixed)."""
            require_role("admin")
            with runtime.pool.connection() as conn:
                position = retry_blocked(conn, runtime.config)
            return {"service": service, "retrying": position}

    @blp.route(f"/admin/{service}/rebuild")
    class Rebuild(MethodView):
        @blp.response(202, RebuildJobSchema)
        def post(self) -> tuple[dict[str, Any], int, dict[str, str]]:
            """Start a rebuild of the service's own read models: a job, answered at once with
            its status resource (Location). The service keeps taking commands meanwhile; the
            job runs in a thread of this process (shared/rebuild.py)."""
            who = require_role("admin")
            pool, store, projections = runtime.pool, runtime.store, runtime.projections
            job_id = rebuild.create_job(pool, "own", who.actor)
            rebuild.start_job_thread(
                job_id,
                lambda progress: rebuild.rebuild_own(pool, store, projections, progress),
                pool,
            )
            job = rebuild.get_job(pool, job_id)
            assert job is not None
            location = f"/api/v1/admin/{service}/rebuild/{job_id}"
            return job, 202, {"Location": location}

    @blp.route(f"/admin/{service}/rebuild/<job_id>")
    class RebuildStatus(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.response(200, RebuildJobSchema)
        def get(self, job_id: str) -> dict[str, Any]:
            """A rebuild job: queued, running, done or failed; the events applied so far."""
            require_role("auditor")
            job = rebuild.get_job(runtime.pool, job_id)
            if job is None:
                raise NotFound(f"no rebuild job {job_id} in the {service} service")
            return job

    return blp
