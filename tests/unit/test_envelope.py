"""The CloudEvents envelope: one function pair, round trip, clear errors (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import envelope
from shared.events import RecordedEvent

EVENT = RecordedEvent(
    position=1042,
    stream_id="goal-3f9c",
    stream_type="goal",
    version=3,
    event_id=uuid.UUID("6a1f6f2e-9d5b-4a59-9a34-0d3f0ad0c001"),
    event_type="GoalAdopted.v1",
    data={
        "title": "Ökad rörlighet för äldre",
        "decided_by": "Kommunfullmäktige",
        "decided_on": "2026-03-12",
        "minute_ref": "KF 2026-03-12 §45",
    },
    metadata={
        "actor": "key:abc",
        "correlation_id": "c-1",
        "causation_id": "c-0",
        "request_id": "r-9",
    },
    recorded_at=datetime(2026, 3, 14, 9, 12, 0, 123456, tzinfo=UTC),
    prev_hash="a" * 64,
    hash="b" * 64,
)


def test_envelope_has_the_contracted_attributes() -> None:
    ce = envelope.to_cloudevent(EVENT, "/styrkort/goals")
    assert ce["specversion"] == "1.0" and ce["id"] == str(EVENT.event_id)
    assert ce["type"] == "styrkort.goals.GoalAdopted.v1"
    assert (ce["subject"], ce["time"]) == ("goal-3f9c", "2026-03-14T09:12:00.123456Z")
    assert (ce["position"], ce["streamtype"], ce["streamversion"]) == (1042, "goal", 3)
    assert (ce["actor"], ce["correlationid"], ce["causationid"], ce["requestid"]) == (
        "key:abc",
        "c-1",
        "c-0",
        "r-9",
    )
    assert ce["datacontenttype"] == "application/json" and ce["data"] == EVENT.data


def test_round_trip_through_bytes_keeps_every_field_and_swedish_letters() -> None:
    wire = envelope.encode(envelope.to_cloudevent(EVENT, "/styrkort/goals"))
    assert "Ökad rörlighet för äldre".encode() in wire, "UTF-8, not \\u escapes"
    received = envelope.from_cloudevent(envelope.decode(wire))
    assert received.source == "/styrkort/goals" and received.service == "goals"
    assert received.event == EVENT
    assert envelope.to_cloudevent(received.event, received.source) == envelope.decode(wire)


def test_metadata_left_out_is_not_invented() -> None:
    bare = envelope.to_cloudevent(
        RecordedEvent(**{**EVENT.__dict__, "metadata": {"actor": "system:seed"}}), "/styrkort/goals"
    )
    assert "causationid" not in bare and "requestid" not in bare
    assert envelope.from_cloudevent(bare).event.metadata == {"actor": "system:seed"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"specversion": "0.3"}, "specversion"),
        ({"type": "other.goals.GoalAdopted.v1"}, "does not start with"),
        ({"type": "styrkort.goals.GoalAdopted"}, "version"),
        ({"id": "not-a-uuid"}, "badly formed"),
        ({"time": "2026-03-14T09:12:00"}, "time zone"),
        ({"position": 0}, "position"),
        ({"streamversion": "3"}, "streamversion"),
        ({"data": [1, 2]}, "data"),
        ({"subject": ""}, "subject"),
    ],
)
def test_a_malformed_envelope_is_refused_naming_the_attribute(
    change: dict[str, Any], message: str
) -> None:
    ce = {**envelope.to_cloudevent(EVENT, "/styrkort/goals"), **change}
    with pytest.raises(envelope.InvalidEnvelope, match=message):
        envelope.from_cloudevent(ce)


def test_missing_attribute_and_non_json_are_named() -> None:
    ce = envelope.to_cloudevent(EVENT, "/styrkort/goals")
    del ce["streamtype"]
    with pytest.raises(envelope.InvalidEnvelope, match="'streamtype' is missing"):
        envelope.from_cloudevent(ce)
    for payload in (b"\xff", b"[1]", None):
        with pytest.raises(envelope.InvalidEnvelope):
            envelope.decode(payload)
