"""The annual wheel's rules without I/O: strict dates, a date that fits its kind, who decides,
one deadline of a kind a year, changes and removals as new decisions with a reason, and the
history each deadline keeps (services/reports/domain/calendar.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.reports.domain import calendar
from services.reports.domain.calendar import KIND, Deadline
from services.reports.domain.decisions import Decision, UnitFacts
from shared.aggregate import DomainEvent
from shared.errors import InvalidInput, RuleViolation

TODAY = dt.date(2026, 3, 10)
COUNCIL = UnitFacts("org-unit-kf", "Kommunfullmäktige", "council", "active")
BOARD = UnitFacts("org-unit-ks", "Kommunstyrelsen", "executive_board", "active")
COMMITTEE = UnitFacts("org-unit-bun", "Barn- och utbildningsnämnden", "committee", "active")
BY_COUNCIL = Decision(COUNCIL.id, dt.date(2024, 11, 28), "KF 2024-11-28 §112")
LATER = Decision(COUNCIL.id, dt.date(2025, 12, 1), "KF 2025-12-01 §140")


def quality_reports_2025() -> Deadline:
    events = Deadline.set_first(
        "quality_report_due", 2025, dt.date(2026, 2, 15), None, COUNCIL, BY_COUNCIL
    )
    return KIND.fold_new(events)


def apply(state: Deadline, events: list[DomainEvent]) -> Deadline:
    for event in events:
        state = state.when(event)
    return state


@pytest.mark.parametrize(
    "text",
    [
        "\uff12\uff10\uff12\uff17-02-15",  # full-width digits
        "٢٠٢٧-02-15",  # Arabic-Indic digits
        "2027-02-15\n",  # a trailing newline
        "20270215",  # the basic form marshmallow's Date would take
        "2027-02-15T00:00",
        " 2027-02-15",
        "",
    ],
)
def test_a_date_that_only_looks_like_one_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        calendar.parse_date(text)
    assert raised.value.fields == {"date": ["not a date"]}


def test_a_date_that_does_not_exist_or_is_implausible_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        calendar.parse_date("2027-02-30")
    assert raised.value.fields == {"date": ["no such date"]}
    with pytest.raises(InvalidInput) as raised:
        calendar.parse_date("9999-02-15")
    assert raised.value.fields == {"date": ["implausible year"]}
    assert calendar.parse_date("2028-02-29") == dt.date(2028, 2, 29)
    assert calendar.parse_date(dt.date(2027, 2, 15)) == dt.date(2027, 2, 15)
    with pytest.raises(InvalidInput):
        calendar.parse_date(dt.datetime(2027, 2, 15, 12, 0))


def test_the_date_fits_the_kind() -> None:
    """Interim dates fall in the year, every other deadline after it, in the next year."""
    assert calendar.check_date_for("interim_report_as_of", 2025, dt.date(2025, 8, 31))
    assert calendar.check_date_for("results_due", 2025, dt.date(2026, 1, 31))
    for kind, year, day in [
        ("interim_report_as_of", 2025, dt.date(2026, 8, 31)),
        ("interim_report_as_of", 2025, dt.date(2025, 12, 31)),  # the year's end is not interim
        ("quality_report_due", 2025, dt.date(2025, 12, 15)),  # before the year has ended
        ("annual_report_due", 2025, dt.date(2027, 4, 30)),  # a year too late
    ]:
        with pytest.raises(InvalidInput) as raised:
            calendar.check_date_for(kind, year, day)  # type: ignore[arg-type]
        assert raised.value.fields == {"date": ["outside the period"]}, (kind, day)


def test_only_the_known_kinds() -> None:
    assert calendar.check_kind("results_due") == "results_due"
    with pytest.raises(InvalidInput) as raised:
        calendar.check_kind("results due")
    assert raised.value.fields == {"kind": ["not a kind"]}


def test_a_deadline_set_by_the_council_gets_its_default_label_and_id() -> None:
    deadline = quality_reports_2025()
    assert deadline.id == "deadline-2025-quality-report-due"
    assert deadline.label == "Kvalitetsredovisningar lämnas"
    assert deadline.status == "active" and deadline.version == 1
    assert [d.action for d in deadline.decisions] == ["set"]
    by_board = Deadline.set_first(
        "results_due",
        2025,
        dt.date(2026, 1, 31),
        "  Utfall i Stratsys  ",
        BOARD,
        Decision(BOARD.id, dt.date(2025, 1, 20), "KS §3"),
    )
    assert KIND.fold_new(by_board).label == "Utfall i Stratsys"


def test_a_committee_does_not_decide_the_wheel() -> None:
    decision = Decision(COMMITTEE.id, dt.date(2025, 1, 20), "BUN §3")
    with pytest.raises(RuleViolation) as raised:
        Deadline.set_first("results_due", 2025, dt.date(2026, 1, 31), None, COMMITTEE, decision)
    assert raised.value.fields == {"decided_by": ["not the council or the executive board"]}
    with pytest.raises(RuleViolation):
        quality_reports_2025().change(dt.date(2026, 3, 1), None, "Sen", COMMITTEE, decision)


def test_a_second_deadline_of_the_kind_and_year_is_refused_but_a_removed_one_is_set_again() -> None:
    deadline = quality_reports_2025()
    with pytest.raises(RuleViolation) as raised:
        deadline.set_again(dt.date(2026, 3, 1), None, COUNCIL, LATER)
    assert raised.value.fields == {"kind": ["a deadline of this kind and year exists"]}
    removed = apply(deadline, deadline.remove("Ingår i delårsrapporten", COUNCIL, LATER))
    assert removed.status == "removed"
    with pytest.raises(RuleViolation):
        removed.change(dt.date(2026, 3, 1), None, "Flytt", COUNCIL, LATER)
    again = apply(removed, removed.set_again(dt.date(2026, 3, 1), None, COUNCIL, LATER))
    assert again.status == "active" and again.date == dt.date(2026, 3, 1)
    assert [d.action for d in again.decisions] == ["set", "removed", "set"]
    assert again.version == 3


def test_a_change_is_a_new_decision_with_a_reason_and_keeps_the_history() -> None:
    deadline = quality_reports_2025()
    moved = apply(
        deadline, deadline.change(dt.date(2026, 3, 1), None, "Sportlovet", COUNCIL, LATER)
    )
    assert moved.date == dt.date(2026, 3, 1) and moved.label == deadline.label
    assert moved.decided_on == LATER.decided_on and moved.minute_ref == LATER.minute_ref
    assert [(d.action, d.date, d.reason) for d in moved.decisions] == [
        ("set", dt.date(2026, 2, 15), None),
        ("changed", dt.date(2026, 3, 1), "Sportlovet"),
    ]
    with pytest.raises(InvalidInput) as raised:
        deadline.change(dt.date(2026, 3, 1), None, "   ", COUNCIL, LATER)
    assert raised.value.fields == {"reason": ["must not be blank"]}
    with pytest.raises(RuleViolation) as unchanged:
        deadline.change(dt.date(2026, 2, 15), None, "Samma", COUNCIL, LATER)
    assert unchanged.value.fields == {"date": ["unchanged"]}
    relabelled = deadline.change(dt.date(2026, 2, 15), "KR till nämnd", "Ny text", COUNCIL, LATER)
    assert apply(deadline, relabelled).label == "KR till nämnd"
    earlier = Decision(COUNCIL.id, dt.date(2024, 1, 1), "KF §1")
    with pytest.raises(InvalidInput) as before:
        deadline.change(dt.date(2026, 3, 1), None, "Flytt", COUNCIL, earlier)
    assert "decided_on" in before.value.fields
    with pytest.raises(InvalidInput) as outside:
        deadline.change(dt.date(2025, 3, 1), None, "Flytt", COUNCIL, LATER)
    assert outside.value.fields == {"date": ["outside the period"]}


def test_the_decision_is_checked_like_every_decision() -> None:
    """Decision.check: no minute reference of the council, or a date in the future, refused."""
    with pytest.raises(InvalidInput) as raised:
        Decision.check(COUNCIL, dt.date(2026, 1, 1), None, TODAY)
    assert raised.value.fields == {"minute_ref": ["required for a decision of a political body"]}
    with pytest.raises(InvalidInput):
        Decision.check(COUNCIL, dt.date(2026, 3, 11), "KF §1", TODAY)


def test_events_round_trip_through_json() -> None:
    deadline = quality_reports_2025()
    events = [
        *Deadline.set_first(
            "quality_report_due", 2025, dt.date(2026, 2, 15), None, COUNCIL, BY_COUNCIL
        ),
        *deadline.change(dt.date(2026, 3, 1), "Ny", "Skäl", COUNCIL, LATER),
    ]
    for event in events:
        assert type(event).from_data(event.as_data()) == event
    state = apply(deadline, events[1:])
    assert KIND.restore(state_json(state)) == state


def state_json(state: Deadline) -> dict[str, object]:
    from shared.aggregate import to_json

    data = to_json(state)
    assert isinstance(data, dict)
    return data
