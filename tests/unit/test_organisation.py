"""Rules of organisation units (no I/O): the aggregate decides, events record."""

from __future__ import annotations

import pytest

from services.goals.domain.organisation import OrgUnit
from shared.errors import InvalidInput, RuleViolation


def unit(unit_id: str, kind: str, parent: OrgUnit | None = None) -> OrgUnit:
    made = OrgUnit.replay(OrgUnit.create(unit_id, f"Enhet {unit_id}", kind, parent))
    assert made is not None
    return made


COUNCIL = unit("kf", "council")
COMMITTEE = unit("bun", "committee", COUNCIL)
SECTOR = unit("bou", "sector", COMMITTEE)


def test_a_council_is_the_root_and_everything_else_has_a_fitting_parent() -> None:
    assert COUNCIL.parent_id is None and SECTOR.parent_id == "bun"
    with pytest.raises(RuleViolation, match="root of the organisation"):
        OrgUnit.create("x", "KF 2", "council", COUNCIL)
    with pytest.raises(InvalidInput, match="belongs under a council"):
        OrgUnit.create("x", "Nämnd", "committee", None)
    with pytest.raises(RuleViolation, match="not under a sector"):
        OrgUnit.create("x", "Nämnd", "committee", SECTOR)


def test_unknown_kind_and_blank_name_are_named() -> None:
    with pytest.raises(InvalidInput) as raised:
        OrgUnit.create("x", "Avdelning", "department", COMMITTEE)
    assert "kind" in raised.value.fields
    with pytest.raises(InvalidInput) as raised:
        OrgUnit.create("x", "   ", "sector", COMMITTEE)
    assert "name" in raised.value.fields


def test_rename_records_a_change_and_ignores_the_same_name() -> None:
    events = SECTOR.rename("  Sektor barn och utbildning ")
    assert events == [OrgUnit.Renamed("bou", "Sektor barn och utbildning")]
    assert SECTOR.when(events[0]).name == "Sektor barn och utbildning"
    assert SECTOR.when(events[0]).version == SECTOR.version + 1
    assert SECTOR.rename(SECTOR.name) == []


def test_moving_a_unit_under_itself_or_its_descendant_is_a_cycle() -> None:
    school = unit("skola", "unit", SECTOR)
    with pytest.raises(RuleViolation, match="cycle"):
        SECTOR.move(SECTOR, ["bou", "bun", "kf"])
    with pytest.raises(RuleViolation, match="cycle"):
        COMMITTEE.move(SECTOR, ["bou", "bun", "kf"])
    other = unit("son", "committee", COUNCIL)
    assert SECTOR.move(other, ["son", "kf"]) == [OrgUnit.Moved("bou", "son")]
    assert school.move(SECTOR, ["bou", "bun", "kf"]) == []


def test_a_closed_unit_takes_no_changes_and_no_new_units() -> None:
    closed = SECTOR.when(SECTOR.close("Sammanslagen med sektor stöd och omsorg")[0])
    assert closed.closed
    with pytest.raises(RuleViolation, match="closed"):
        closed.rename("Ny")
    with pytest.raises(RuleViolation, match="takes no new units"):
        OrgUnit.create("x", "Skola", "unit", closed)
    with pytest.raises(InvalidInput, match="say why"):
        SECTOR.close(" ")


def test_replay_folds_events_in_order_and_refuses_a_history_without_creation() -> None:
    events = [
        *OrgUnit.create("u", "A", "sector", COMMITTEE),
        OrgUnit.Renamed("u", "B"),
        OrgUnit.Closed("u", "nedlagd"),
    ]
    folded = OrgUnit.replay(events)
    assert folded is not None and (folded.name, folded.closed, folded.version) == ("B", True, 3)
    assert OrgUnit.replay([]) is None
    with pytest.raises(ValueError, match="before OrgUnitCreated"):
        OrgUnit.replay([OrgUnit.Renamed("u", "B")])


def test_events_round_trip_through_their_data() -> None:
    created = OrgUnit.Created("u", "Förskolan Ängen", "unit", "bou")
    new = created.to_new_event()
    assert new.type == "OrgUnitCreated.v1"
    assert OrgUnit.Created.from_data(new.data) == created
