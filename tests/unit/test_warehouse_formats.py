"""The warehouse formats and the offline chain check, as pure functions (no database)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import replace

import pyarrow.parquet as pq

from shared import envelope
from shared.events import GENESIS_HASH, RecordedEvent, event_hash
from shared.verify_export import check_lines
from shared.warehouse import Column, Table, create_table_sql, csv_field, csv_lines, write_parquet

CET = dt.timezone(dt.timedelta(hours=1))
TABLE = Table(
    "sample",
    "a table of every type",
    (
        Column("name", "text", ""),
        Column("n", "integer", ""),
        Column("x", "double", ""),
        Column("ok", "boolean", ""),
        Column("on", "date", ""),
        Column("at", "timestamp", ""),
        Column("ids", "json", ""),
    ),
    lambda conn, since: [],
)
ROWS = [
    ('Ökad "rörlighet", 2025\r\nny rad', 3, 2.5, True, dt.date(2025, 2, 1),
     dt.datetime(2026, 3, 14, 9, 12, tzinfo=CET), ["goal-1", "goal-2"]),
    ("", None, None, False, None, None, "[]"),
]  # fmt: skip


def test_csv_quotes_text_keeps_empty_apart_from_null_and_writes_times_in_utc() -> None:
    body = b"".join(csv_lines(TABLE, ROWS)).decode("utf-8")
    assert body == (
        "name,n,x,ok,on,at,ids\r\n"
        '"Ökad ""rörlighet"", 2025\r\nny rad",3,2.5,true,2025-02-01,'
        '2026-03-14T08:12:00.000000Z,"[""goal-1"",""goal-2""]"\r\n'
        '"",,,false,,,"[]"\r\n'
    )
    assert csv_field(None, "text") == "" and csv_field("", "text") == '""'
    assert csv_field(10**16, "bigint") == "10000000000000000"


def test_parquet_has_the_documented_types_and_the_same_values() -> None:
    out = io.BytesIO()
    write_parquet(TABLE, ROWS, out)
    read = pq.read_table(io.BytesIO(out.getvalue()))
    assert [str(t) for t in read.schema.types] == [
        "string", "int32", "double", "bool", "date32[day]", "timestamp[us, tz=UTC]", "string"
    ]  # fmt: skip
    first = read.to_pylist()[0]
    assert first["at"] == dt.datetime(2026, 3, 14, 8, 12, tzinfo=dt.UTC)
    assert first["ids"] == '["goal-1","goal-2"]' and read.to_pylist()[1]["n"] is None


def test_create_table_in_each_dialect() -> None:
    described = TABLE.describe()
    assert create_table_sql(described, "postgresql") == (
        'CREATE TABLE "sample" ("name" text, "n" integer, "x" double precision, '
        '"ok" boolean, "on" date, "at" timestamptz, "ids" jsonb)'
    )
    assert '"at" TIMESTAMPTZ' in create_table_sql(described, "duckdb")


def chain(count: int) -> list[bytes]:
    events, prev = [], GENESIS_HASH
    for position in range(1, count + 1):
        event = RecordedEvent(
            position, f"goal-{position}", "goal", 1, uuid.uuid4(), "GoalDrafted.v1",
            {"title": f"Mål {position}"}, {"actor": "key:a", "correlation_id": "c"},
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=position), prev, "",
        )  # fmt: skip
        event = replace(event, hash=event_hash(prev, event))
        prev = event.hash
        events.append(envelope.encode(envelope.to_cloudevent(event, "/styrkort/goals")) + b"\n")
    return events


def test_the_chain_check_names_the_line_and_the_reason() -> None:
    lines = chain(5)
    assert check_lines(lines).ok and check_lines(lines).checked == 5
    assert check_lines(lines[2:]).first_position == 3  # mid-chain: from its own prevhash
    assert check_lines([]).summary() == "OK: 0 events (empty export)"
    starts_late = check_lines(lines[1:], after_hash=GENESIS_HASH)
    assert starts_late.broken_line == 1 and "prev_hash" in (starts_late.reason or "")
    swapped = check_lines([lines[0], lines[2], lines[1]])
    assert swapped.broken_line == 2 and "position 2 is missing" in (swapped.reason or "")
    assert check_lines([lines[0], b"\n"]).broken_line == 2
    assert "not a styrkort CloudEvent" in (check_lines([b"{nope\n"]).reason or "")
    other = lines[1].replace(b"/styrkort/goals", b"/styrkort/plans").replace(b".goals.", b".plans.")
    assert "source /styrkort/plans" in (check_lines([lines[0], other]).reason or "")
