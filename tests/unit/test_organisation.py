"""Rules of organisation units (no I/O): the aggregate decides, events record."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.goals.domain.organisation import OrgUnit
from shared.aggregate import DomainEvent
from shared.errors import InvalidInput, RuleViolation


def create(
    unit_id: str,
    name: str,
    kind: str,
    parent: OrgUnit | None,
    siblings: Sequence[str] = (),
    open_of_kind: int = 0,
) -> list[DomainEvent]:
    """OrgUnit.create in a municipality with `siblings` beside it and `open_of_kind` of its kind."""
    return OrgUnit.create(
        unit_id, name, kind, parent, sibling_names=siblings, open_of_kind=open_of_kind
    )


def unit(unit_id: str, kind: str, parent: OrgUnit | None = None) -> OrgUnit:
    made = OrgUnit.replay(create(unit_id, f"Enhet {unit_id}", kind, parent))
    assert made is not None
    return made


COUNCIL = unit("kf", "council")
COMMITTEE = unit("bun", "committee", COUNCIL)
SECTOR = unit("bou", "sector", COMMITTEE)


def test_a_council_is_the_root_and_everything_else_has_a_fitting_parent() -> None:
    assert COUNCIL.parent_id is None and SECTOR.parent_id == "bun"
    with pytest.raises(RuleViolation, match="root of the organisation"):
        create("x", "KF 2", "council", COUNCIL)
    with pytest.raises(InvalidInput, match="belongs under a council"):
        create("x", "Nämnd", "committee", None)
    with pytest.raises(RuleViolation, match="not under a sector"):
        create("x", "Nämnd", "committee", SECTOR)


def test_unknown_kind_and_blank_name_are_named() -> None:
    with pytest.raises(InvalidInput) as raised:
        create("x", "Avdelning", "department", COMMITTEE)
    assert "kind" in raised.value.fields
    with pytest.raises(InvalidInput) as raised:
        create("x", "   ", "sector", COMMITTEE)
    assert "name" in raised.value.fields


def test_rename_records_a_change_and_ignores_the_same_name() -> None:
    events = SECTOR.rename("  Sektor barn och utbildning ", sibling_names=())
    assert events == [OrgUnit.Renamed("bou", "Sektor barn och utbildning")]
    assert SECTOR.when(events[0]).name == "Sektor barn och utbildning"
    assert SECTOR.when(events[0]).version == SECTOR.version + 1
    assert SECTOR.rename(SECTOR.name, sibling_names=()) == []


def test_moving_a_unit_under_itself_or_its_descendant_is_a_cycle() -> None:
    school = unit("skola", "unit", SECTOR)
    with pytest.raises(RuleViolation, match="cycle"):
        SECTOR.move(SECTOR, ["bou", "bun", "kf"], sibling_names=())
    with pytest.raises(RuleViolation, match="cycle"):
        COMMITTEE.move(SECTOR, ["bou", "bun", "kf"], sibling_names=())
    other = unit("son", "committee", COUNCIL)
    assert SECTOR.move(other, ["son", "kf"], sibling_names=()) == [OrgUnit.Moved("bou", "son")]
    assert school.move(SECTOR, ["bou", "bun", "kf"], sibling_names=()) == []


def test_a_closed_unit_takes_no_changes_and_no_new_units() -> None:
    closed = SECTOR.when(SECTOR.close("Sammanslagen med sektor stöd och omsorg", open_below=())[0])
    assert closed.closed
    with pytest.raises(RuleViolation, match="closed"):
        closed.rename("Ny", sibling_names=())
    with pytest.raises(RuleViolation, match="closed"):
        closed.move(COMMITTEE, ["bun", "kf"], sibling_names=())
    with pytest.raises(RuleViolation, match="takes no new units"):
        create("x", "Skola", "unit", closed)
    with pytest.raises(InvalidInput, match="say why"):
        SECTOR.close(" ", open_below=())


def test_replay_folds_events_in_order_and_refuses_a_history_without_creation() -> None:
    events = [
        *create("u", "A", "sector", COMMITTEE),
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


# -- invariants across units (facts read by the handler, passed in) -------------------------------


def test_a_second_council_is_refused() -> None:
    with pytest.raises(RuleViolation) as raised:
        create("kf2", "Fullmäktige", "council", None, open_of_kind=1)
    assert "exactly one council" in raised.value.detail
    assert raised.value.fields == {"kind": ["a second council"]}


def test_a_second_executive_board_is_refused_but_the_first_is_made() -> None:
    assert create("ks", "Kommunstyrelsen", "executive_board", COUNCIL, open_of_kind=0)
    with pytest.raises(RuleViolation, match="at most one executive board"):
        create("ks2", "KS", "executive_board", COUNCIL, open_of_kind=1)
    # committees are many: the count of open ones does not matter
    assert create("son", "Socialnämnden", "committee", COUNCIL, open_of_kind=7)


def test_sibling_names_are_unique_regardless_of_case_and_whitespace_on_create() -> None:
    with pytest.raises(RuleViolation) as raised:
        create(
            "x",
            "  sektor   BARN och utbildning",
            "sector",
            COMMITTEE,
            ["Sektor barn och utbildning"],
        )
    assert raised.value.fields == {"name": ["a sibling has the same name"]}
    assert create("x", "Sektor vård", "sector", COMMITTEE, ["Sektor barn och utbildning"])


def test_sibling_names_are_unique_on_rename_and_a_case_change_of_its_own_name_is_allowed() -> None:
    with pytest.raises(RuleViolation, match="already a unit named"):
        SECTOR.rename("SEKTOR VÅRD", sibling_names=["Sektor vård"])
    assert SECTOR.rename("ENHET BOU", sibling_names=["Sektor vård"]) == [
        OrgUnit.Renamed("bou", "ENHET BOU")
    ]


def test_sibling_names_are_unique_on_move() -> None:
    other = unit("son", "committee", COUNCIL)
    with pytest.raises(RuleViolation) as raised:
        SECTOR.move(other, ["son", "kf"], sibling_names=["enhet  BOU"])
    assert "name" in raised.value.fields


def test_closing_a_unit_with_open_units_below_is_refused_naming_them() -> None:
    with pytest.raises(RuleViolation) as raised:
        COMMITTEE.close("Ny organisation", open_below=["Hasslerudskolan", "Sektor BoU"])
    assert "2 open unit(s)" in raised.value.detail and "Hasslerudskolan" in raised.value.detail
    assert raised.value.fields == {"units_below": ["2 open"]}
    many = [f"Skola {i}" for i in range(8)]
    with pytest.raises(RuleViolation, match=r"8 open unit.*…"):
        COMMITTEE.close("Ny organisation", open_below=many)


@pytest.mark.parametrize("bad", ["\x07Nämnd", "Nämnd\n", "\u200b", " \u200b\t", "\x00"])
def test_unit_names_refuse_control_characters_and_invisible_only_text(bad: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        create("x", bad, "committee", COUNCIL)
    assert "name" in raised.value.fields
    with pytest.raises(InvalidInput):
        SECTOR.rename(bad, sibling_names=())


def test_a_close_reason_may_span_lines_but_not_hold_control_characters() -> None:
    assert COMMITTEE.close("Beslut KF §4.\nUppgår i KS.", open_below=()) == [
        OrgUnit.Closed("bun", "Beslut KF §4.\nUppgår i KS.")
    ]
    with pytest.raises(InvalidInput, match="control character"):
        COMMITTEE.close("nedlagd\x1b", open_below=())
