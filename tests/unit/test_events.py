"""Events as values: canonical form, normalisation, upcasting (no I/O)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import (
    InvalidEventData,
    RecordedEvent,
    Upcasters,
    canonical_json,
    canonical_parts,
    event_hash,
    format_time,
    normalise_json,
    split_type,
)

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)


def event(**changes: Any) -> RecordedEvent:
    base = dict(
        position=7,
        stream_id="goal-1",
        stream_type="goal",
        version=2,
        event_id=uuid.UUID(int=5),
        event_type="GoalAdopted.v1",
        data={"decided_by": "Kommunfullmäktige", "minute_ref": "KF 2026-03-12 §45"},
        metadata={"actor": "key:abc", "correlation_id": "c"},
        recorded_at=datetime(2026, 3, 14, 9, 12, 0, 123456, tzinfo=UTC),
        prev_hash="0" * 64,
        hash="",
    )
    base.update(changes)
    return RecordedEvent(**base)


@given(
    data=st.dictionaries(texts, values, max_size=4),
    meta=st.dictionaries(texts, texts),
    stream=texts,
    type_=texts,
    version=st.integers(1, 10**6),
    position=st.integers(1, 10**9),
)
def test_canonical_parts_are_exactly_the_sorted_compact_json_of_the_event(
    data: dict[str, Any],
    meta: dict[str, str],
    stream: str,
    type_: str,
    version: int,
    position: int,
) -> None:
    data = normalise_json(data)
    event_id = uuid.uuid4()
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    head, tail = canonical_parts(
        event_id=event_id,
        event_type=type_,
        data=data,
        metadata=meta,
        stream_id=stream,
        stream_type="goal",
        version=version,
    )
    whole = {
        "data": data,
        "event_id": str(event_id),
        "event_type": type_,
        "metadata": meta,
        "position": position,
        "recorded_at": format_time(moment),
        "stream_id": stream,
        "stream_type": "goal",
        "version": version,
    }
    assert (
        f'{head}{position},"recorded_at":"{format_time(moment)}"{tail}'.encode()
        == canonical_json(whole)
    )


def test_canonical_json_keeps_swedish_letters_as_themselves() -> None:
    assert canonical_json({"namn": "Ökad rörlighet", "a": 1}) == (
        '{"a":1,"namn":"Ökad rörlighet"}'.encode()
    )


def test_the_hash_changes_with_any_field_and_with_the_previous_hash() -> None:
    original = event_hash("0" * 64, event())
    assert original == event_hash("0" * 64, event())
    for change in (
        {"data": {"decided_by": "Kommunstyrelsen"}},
        {"position": 8},
        {"version": 3},
        {"metadata": {"actor": "key:other"}},
        {"recorded_at": datetime(2026, 3, 14, 9, 12, 1, tzinfo=UTC)},
    ):
        assert event_hash("0" * 64, event(**change)) != original
    assert event_hash("1" * 64, event()) != original


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e16, 10**16),
        (-0.0, 0.0),
        (2.5, 2.5),
        (True, True),
        ((1, "å"), [1, "å"]),
    ],
)
def test_normalise_gives_what_jsonb_gives_back(value: Any, expected: Any) -> None:
    result = normalise_json({"v": value})["v"]
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("a\x00b", "NUL"),
        ("\ud800", "Unicode"),
        ({1: "x"}, "keys must be text"),
        (object(), "not a JSON value"),
    ],
)
def test_normalise_refuses_what_could_not_be_stored_faithfully(value: Any, message: str) -> None:
    with pytest.raises(InvalidEventData, match=message):
        normalise_json({"field": value})


def test_event_type_names_its_schema_version() -> None:
    assert split_type("GoalAdopted.v12") == ("GoalAdopted", 12)
    for bad in ("GoalAdopted", "GoalAdopted.vX", ".v1"):
        with pytest.raises(ValueError, match="version"):
            split_type(bad)


def test_upcasters_chain_old_versions_to_the_newest_on_read() -> None:
    upcasters = Upcasters()
    upcasters.register("GoalAdopted.v1", "GoalAdopted.v2", lambda d: {**d, "minute_ref": None})
    upcasters.register(
        "GoalAdopted.v2", "GoalAdopted.v3", lambda d: {**d, "perspectives": ["social"]}
    )
    upcast = upcasters.upcast(event(data={"decided_by": "KF"}))
    assert upcast.event_type == "GoalAdopted.v3"
    assert upcast.data == {"decided_by": "KF", "minute_ref": None, "perspectives": ["social"]}
    assert upcasters.upcast(event(event_type="GoalRetired.v1")).event_type == "GoalRetired.v1"


def test_an_upcaster_must_raise_the_version_and_be_the_only_one() -> None:
    upcasters = Upcasters()
    with pytest.raises(ValueError, match="raise the version"):
        upcasters.register("GoalAdopted.v2", "GoalAdopted.v1", dict)
    upcasters.register("GoalAdopted.v1", "GoalAdopted.v2", dict)
    with pytest.raises(ValueError, match="already"):
        upcasters.register("GoalAdopted.v1", "GoalAdopted.v3", dict)


def test_time_is_rfc3339_utc_with_microseconds() -> None:
    assert format_time(datetime(2026, 3, 14, 9, 12, 0, 123, tzinfo=UTC)) == (
        "2026-03-14T09:12:00.000123Z"
    )
    assert json.loads(json.dumps(format_time(datetime.now(UTC)))).endswith("Z")
