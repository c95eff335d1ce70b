"""The envelope PostgreSQL builds for the relay equals the one `to_cloudevent` builds."""

from __future__ import annotations

from shared import envelope
from shared.events import Metadata, NewEvent
from shared.runtime import Runtime
from tests.support import connect


def test_database_built_envelopes_equal_to_cloudevent(goals: Runtime) -> None:
    full = Metadata(actor="key:abc", correlation_id="c-1", causation_id="c-0", request_id="r-1")
    bare = Metadata(actor="system:seed", correlation_id="c-2")
    data = {"title": "Ökad rörlighet", "nested": {"n": None, "x": [1, 2.5, "§45"]}, "empty": None}
    with connect(goals) as conn:
        with conn.transaction():
            goals.store.append(conn, "goal-1", "goal", 0, [NewEvent("GoalDrafted.v1", data)], full)
            goals.store.append(conn, "goal-2", "goal", 0, [NewEvent("GoalDrafted.v1", {})], bare)
        events = goals.store.read_all(conn, upcast=False)
        wire = goals.store.read_wire(conn, "/styrkort/goals", 0, 10)
    assert [(p, s) for p, s, _ in wire] == [(e.position, e.stream_id) for e in events]
    for event, (_, _, payload) in zip(events, wire, strict=True):
        assert envelope.decode(payload) == envelope.to_cloudevent(event, "/styrkort/goals")
        assert envelope.from_cloudevent(envelope.decode(payload)).event == event


def test_the_exports_envelopes_equal_to_cloudevent_whatever_the_time(goals: Runtime) -> None:
    """shared/envelope.EXPORT_SQL, as the events export sends it: the same CloudEvents, with
    times of a whole second and of fewer digits padded as format_time writes them."""
    from shared.admin import export_lines

    full = Metadata(actor="key:abc", correlation_id="c-1", causation_id="c-0", request_id="r-1")
    bare = Metadata(actor="system:seed", correlation_id="c-2")
    data = {"title": 'Ökad "rörlighet"\u2028ny rad', "nested": {"n": None, "x": [1, 2.5, "§45"]}}
    with connect(goals) as conn:
        with conn.transaction():
            goals.store.append(conn, "goal-1", "goal", 0, [NewEvent("GoalDrafted.v1", data)], full)
            goals.store.append(conn, "goal-2", "goal", 0, [NewEvent("GoalDrafted.v1", {})], bare)
            goals.store.append(conn, "goal-3", "goal", 0, [NewEvent("GoalDrafted.v1", {})], bare)
        conn.execute("ALTER TABLE events DISABLE TRIGGER USER")  # the log refuses updates
        conn.execute("UPDATE events SET recorded_at = '2026-03-14 09:12:00+01' WHERE position = 2")
        conn.execute(
            "UPDATE events SET recorded_at = '2026-03-14 09:12:00.12+01' WHERE position = 3"
        )
        events = goals.store.read_all(conn, upcast=False)
    with goals.pool.connection() as conn:
        body = b"".join(export_lines(goals, conn, 0))
    lines = body.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4  # one line each: the U+2028 escaped
    for event, line in zip(events, lines, strict=False):
        assert envelope.decode(line) == envelope.to_cloudevent(event, "/styrkort/goals")
    # a type the maps do not hold is escaped in the query: the same lines
    with connect(goals) as conn, conn.transaction():
        conn.execute("SET LOCAL datestyle = 'ISO, YMD'")
        params = {
            "source_json": '"/styrkort/goals"',
            "type_prefix": "styrkort.goals.",
            "types": "{}",
            "stream_types": "{}",
            "after": 0,
        }
        unmapped = [row[0] for row in conn.execute(envelope.EXPORT_SQL, params).fetchall()]
    assert [envelope.decode(line.encode()) for line in unmapped] == [
        envelope.decode(line) for line in lines[:-1]
    ]
    assert envelope.decode(lines[1])["time"] == "2026-03-14T08:12:00.000000Z"
    assert envelope.decode(lines[2])["time"] == "2026-03-14T08:12:00.120000Z"
