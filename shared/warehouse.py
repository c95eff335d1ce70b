"""Fact and dimension tables for a data warehouse, as CSV and Parquet (docs/warehouse.md).

Each service declares the tables it owns (`services/<service>/warehouse.py`): a name, documented
columns with a type each, and where the rows come from — one SQL query over its read models or
its events, or a function for rows computed on reading (reports' statuses). This module turns a
declaration into routes under `/api/v1/export/<service>/`:

- `tables`: the list, with columns and types (what docs/warehouse.md documents);
- `<table>.csv`: a full snapshot, streamed (RFC 4180, UTF-8, a header row, CRLF line ends);
- `<table>.csv?since=<position>`: only the rows of entities that events after that position
  touched; every answer carries `X-Styrkort-Next-Since`, the cursor for the next call;
- `<table>.parquet`: the same rows and columns, typed (pyarrow).

One cursor rule for every table: rows are read in one REPEATABLE READ transaction together
with the head of the service's log, and the head is the next cursor. Positions become visible
strictly in order (shared/store.py), so an event is either below the head and in this answer,
or above it and in the next: none is missed, none counted twice.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from flask import Response, send_file
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.errors import NotFound
from shared.events import format_time
from shared.http import Blueprint, require_role
from shared.openapi import MAY_REFUSE
from shared.runtime import Runtime

Conn = psycopg.Connection[Any]
#: The header naming the cursor to pass as `since` next time.
NEXT_SINCE_HEADER = "X-Styrkort-Next-Since"
NEXT_SINCE_DOC = {
    NEXT_SINCE_HEADER: {
        "description": "the position of the service's log this answer is consistent with: "
        "pass it as `since` next time",
        "schema": {"type": "integer"},
    }
}
#: Rows fetched from the server per round trip (a server-side cursor: constant memory).
FETCH_ROWS = 2000
#: Rows per Parquet row group.
ROW_GROUP = 50_000

#: column type -> (Arrow type, what it means in docs/warehouse.md)
TYPES: dict[str, tuple[pa.DataType, str]] = {
    "text": (pa.string(), "UTF-8 text"),
    "integer": (pa.int32(), "32-bit integer"),
    "bigint": (pa.int64(), "64-bit integer (log positions)"),
    "double": (pa.float64(), "double precision"),
    "boolean": (pa.bool_(), "true / false"),
    "date": (pa.date32(), "calendar date, YYYY-MM-DD"),
    "timestamp": (pa.timestamp("us", tz="UTC"), "instant in UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ"),
    "json": (pa.string(), "JSON text (a list of ids, in order)"),
}


#: column type -> the type a warehouse loads it as (docs/warehouse.md)
SQL_TYPES: dict[str, dict[str, str]] = {
    "postgresql": {
        "text": "text",
        "integer": "integer",
        "bigint": "bigint",
        "double": "double precision",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamptz",
        "json": "jsonb",
    },
    "duckdb": {
        "text": "VARCHAR",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMPTZ",
        "json": "VARCHAR",
    },
}


def create_table_sql(described: dict[str, Any], dialect: str, name: str | None = None) -> str:
    """`CREATE TABLE` for a table as `GET …/tables` describes it, in a warehouse's dialect
    (postgresql or duckdb): what a loader runs before COPY."""
    types = SQL_TYPES[dialect]
    columns = ", ".join(f'"{c["name"]}" {types[c["type"]]}' for c in described["columns"])
    return f'CREATE TABLE "{name or described["name"]}" ({columns})'


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


#: rows of a table: given a connection in the export's transaction and the cursor (0: all),
#: one sequence of values per row, in the order of the columns
RowSource = Callable[[Conn, int], Iterable[Sequence[Any]]]


@dataclass(frozen=True)
class Table:
    """A warehouse table: its stable column list and where its rows come from."""

    name: str
    description: str
    columns: tuple[Column, ...]
    rows: RowSource
    #: the rows `since` a cursor are those of entities touched after it (documented per table)
    since_rule: str = "rows of the entities whose latest event is after the cursor"
    key: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "key": list(self.key),
            "since": self.since_rule,
            "columns": [
                {"name": c.name, "type": c.type, "description": c.description} for c in self.columns
            ],
        }


def sql_rows(query: str) -> RowSource:
    """Rows from one SQL query taking `%(since)s`, read through a server-side cursor so a large
    table streams in constant memory."""

    def rows(conn: Conn, since: int) -> Iterator[Sequence[Any]]:
        with conn.cursor(name="warehouse_rows") as cur:
            cur.itersize = FETCH_ROWS
            cur.execute(query, {"since": since})
            yield from cur

    return rows


def current_entities(entity_type: str, columns: str) -> str:
    """A query over the current states of one entity type in `entity_versions`
    (shared/versions.py): `columns` select from `v` (v.state is the JSON state); since a
    cursor, those whose latest event (v.position) is after it."""
    return (
        f"SELECT {columns} FROM entity_versions v WHERE v.entity_type = '{entity_type}' "
        "AND v.valid_to IS NULL AND v.position > %(since)s ORDER BY v.entity_id"
    )


DECISION_COLUMNS = (
    Column("position", "bigint", "the event's position in the service's log"),
    Column("event_id", "text", "the event's id (CloudEvents id)"),
    Column("event_type", "text", "what was decided, with its schema version: GoalAdopted.v1"),
    Column("entity_id", "text", "the entity decided on (its stream id)"),
    Column("entity_type", "text", "its stream type: goal, indicator, action_plan, …"),
    Column("decided_by", "text", "the deciding body: an org-unit-… id, or a role"),
    Column("decided_on", "date", "the day of the decision"),
    Column("minute_ref", "text", "the minutes' reference (protokoll, paragraf)"),
    Column("actor", "text", "who recorded it (an API key or a person's id)"),
    Column("recorded_at", "timestamp", "when the event was recorded"),
)

#: Every event of the log that carries a decision (decided_by, decided_on, minute_ref), as
#: the history shows it (shared/admin.DECISION_KEYS). Events never change: since = new ones.
DECISIONS_SQL = """
    SELECT position, event_id::text, event_type, stream_id, stream_type,
           data ->> 'decided_by', (data ->> 'decided_on')::date, data ->> 'minute_ref',
           metadata ->> 'actor', recorded_at
      FROM events
     WHERE position > %(since)s AND data ? 'decided_by' AND data ? 'decided_on'
     ORDER BY position"""


def decisions_table(name: str, what: str) -> Table:
    return Table(
        name,
        f"Every decision recorded in the {what} log (one row per deciding event).",
        DECISION_COLUMNS,
        sql_rows(DECISIONS_SQL),
        since_rule="the decisions recorded after the cursor (events never change)",
        key=("position",),
    )


# -- formats -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return '"' + str(value).replace('"', '""') + '"'


def _json(value: Any) -> str:
    if isinstance(value, str):
        return _text(value)
    return _text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


#: how a non-NULL value of each type is written in CSV
_CSV_FORMATS: dict[str, Callable[[Any], str]] = {
    "text": _text,
    "json": _json,
    "integer": lambda value: str(int(value)),
    "bigint": lambda value: str(int(value)),
    "double": lambda value: repr(float(value)),
    "boolean": lambda value: "true" if value else "false",
    "date": _date,
    "timestamp": format_time,
}


def csv_field(value: Any, kind: str) -> str:
    """One CSV field (RFC 4180): NULL is empty and unquoted, text always quoted (so an empty
    string is "" and stays apart from NULL, as PostgreSQL's COPY … CSV reads it)."""
    return "" if value is None else _CSV_FORMATS[kind](value)


def csv_lines(table: Table, rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The header and the rows as UTF-8 CSV, about a fetch's worth of rows per chunk."""
    formats = [_CSV_FORMATS[c.type] for c in table.columns]
    yield (",".join(c.name for c in table.columns) + "\r\n").encode("utf-8")
    chunk: list[str] = []
    for row in rows:
        chunk.append(",".join("" if v is None else f(v) for v, f in zip(row, formats, strict=True)))
        if len(chunk) >= FETCH_ROWS:
            yield ("\r\n".join(chunk) + "\r\n").encode("utf-8")
            chunk = []
    if chunk:
        yield ("\r\n".join(chunk) + "\r\n").encode("utf-8")


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, TYPES[c.type][0]) for c in table.columns])


def _arrow_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def write_parquet(table: Table, rows: Iterable[Sequence[Any]], out: Any) -> None:
    """The rows as a Parquet file with the table's typed schema, a row group at a time."""
    schema = arrow_schema(table)
    kinds = [c.type for c in table.columns]
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= ROW_GROUP:
                writer.write_table(_arrow_table(schema, kinds, batch))
                batch = []
        writer.write_table(_arrow_table(schema, kinds, batch))


def _arrow_table(schema: pa.Schema, kinds: list[str], rows: list[Sequence[Any]]) -> pa.Table:
    columns = [
        pa.array([_arrow_value(row[i], kind) for row in rows], type=schema.field(i).type)
        for i, kind in enumerate(kinds)
    ]
    return pa.Table.from_arrays(columns, schema=schema)


# -- routes ------------------------------------------------------------------------------------


class SinceQuery(Schema):
    since = fields.Int(
        load_default=0,
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "a cursor from X-Styrkort-Next-Since: only rows changed after it"},
    )


class ColumnSchema(Schema):
    name = fields.Str()
    type = fields.Str(metadata={"description": ", ".join(TYPES)})
    description = fields.Str()


class TableSchema(Schema):
    name = fields.Str()
    description = fields.Str()
    key = fields.List(fields.Str())
    since = fields.Str(metadata={"description": "which rows an answer with `since` holds"})
    columns = fields.List(fields.Nested(ColumnSchema))


class TablesSchema(Schema):
    service = fields.Str()
    csv = fields.Str(metadata={"description": "path template of a table's CSV"})
    parquet = fields.Str()
    tables = fields.List(fields.Nested(TableSchema))


def open_snapshot(runtime: Runtime) -> tuple[Conn, int, Callable[[], None]]:
    """A connection in a REPEATABLE READ, read-only transaction and the log's head in it (the
    next cursor); the callable ends the transaction and gives the connection back."""
    conn = runtime.pool.getconn()
    try:
        conn.rollback()
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        head = runtime.store.last_position(conn)  # the snapshot is taken here
    except BaseException:
        _give_back(runtime, conn)
        raise

    given_back = False

    def close() -> None:  # once: at the body's end, and again when the server closes it
        nonlocal given_back
        if not given_back:
            given_back = True
            _give_back(runtime, conn)

    return conn, head, close


def _give_back(runtime: Runtime, conn: Conn) -> None:
    try:
        conn.rollback()
        conn.isolation_level = None
        conn.read_only = None
    finally:
        runtime.pool.putconn(conn)


def warehouse_blueprint(runtime: Runtime, tables: Sequence[Table]) -> Blueprint:
    """The warehouse routes of a service over its declared tables (auditor role)."""
    service = runtime.config.service
    by_name = {t.name: t for t in tables}
    blp = Blueprint(
        f"{service}-warehouse",
        __name__,
        url_prefix=f"/api/v1/export/{service}",
        description="Fact and dimension tables for a data warehouse (docs/warehouse.md)",
    )

    def table_named(name: str) -> Table:
        table = by_name.get(name)
        if table is None:
            raise NotFound(
                f"no warehouse table {name!r} in the {service} service; "
                f"the tables are {', '.join(by_name)}"
            )
        return table

    @blp.route("/tables")
    class Tables(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.response(200, TablesSchema)
        def get(self) -> dict[str, Any]:
            """The tables this service exports, with their stable columns and types."""
            require_role("auditor")
            return {
                "service": service,
                "csv": f"/api/v1/export/{service}/{{table}}.csv",
                "parquet": f"/api/v1/export/{service}/{{table}}.parquet",
                "tables": [t.describe() for t in tables],
            }

    @blp.route("/<name>.csv")
    class Csv(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.arguments(SinceQuery, location="query")
        @blp.response(200, content_type="text/csv", headers=NEXT_SINCE_DOC)
        def get(self, query: dict[str, Any], name: str) -> Response:
            """A table as CSV with a header row: all rows, or those changed since a cursor;
            `X-Styrkort-Next-Since` is the cursor for the next call."""
            require_role("auditor")
            table = table_named(name)
            conn, head, close = open_snapshot(runtime)

            def body() -> Iterator[bytes]:
                try:
                    yield from csv_lines(table, table.rows(conn, query["since"]))
                finally:
                    close()

            response = Response(body(), mimetype="text/csv")
            response.call_on_close(close)  # also when the body is never read
            response.headers["Content-Type"] = "text/csv; charset=utf-8; header=present"
            response.headers[NEXT_SINCE_HEADER] = str(head)
            response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response

    @blp.route("/<name>.parquet")
    class Parquet(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.arguments(SinceQuery, location="query")
        @blp.response(200, content_type="application/vnd.apache.parquet", headers=NEXT_SINCE_DOC)
        def get(self, query: dict[str, Any], name: str) -> Response:
            """A table as Parquet (typed columns): all rows, or those changed since a cursor."""
            require_role("auditor")
            table = table_named(name)
            conn, head, close = open_snapshot(runtime)
            spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
            try:
                write_parquet(table, table.rows(conn, query["since"]), spool)
            except BaseException:
                spool.close()
                raise
            finally:
                close()
            spool.seek(0)
            response = send_file(
                spool,
                mimetype="application/vnd.apache.parquet",
                as_attachment=True,
                download_name=f"{name}.parquet",
            )
            response.headers[NEXT_SINCE_HEADER] = str(head)
            return response

    return blp
