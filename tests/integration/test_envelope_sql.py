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
