"""The strict values every domain parses (shared/values.py): no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from shared import values
from shared.errors import InvalidInput

TODAY = dt.date(2026, 11, 24)


@pytest.mark.parametrize("given", [2027, "2027"])
def test_a_year_is_an_integer_or_four_ascii_digits(given: object) -> None:
    assert values.year(given) == 2027


@pytest.mark.parametrize(
    "given",
    [
        "2027\n",
        " 2027",
        "\uff12\uff10\uff12\uff17",
        "\u0662\u0660\u0662\u0667",
        "27",
        "20270",
        2027.5,
        2027.0,
        True,
        None,
    ],
)
def test_a_year_refuses_look_alikes(given: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        values.year(given, "year")
    assert refused.value.fields == {"year": ["not a calendar year"]}


@pytest.mark.parametrize("given", ["0000", "9999", 1989, 2101])
def test_a_year_outside_the_plausible_range_is_refused(given: object) -> None:
    with pytest.raises(InvalidInput, match="outside the years"):
        values.year(given)


def test_the_plausible_years_are_configurable() -> None:
    try:
        values.configure_years(2000, 2050)
        assert values.year(2050) == 2050
        with pytest.raises(InvalidInput):
            values.year(1999)
        with pytest.raises(ValueError):
            values.configure_years(2050, 2000)
    finally:
        values.configure_years(1990, 2100)


def test_a_school_year_is_two_consecutive_years() -> None:
    assert values.school_year("2025/26") == (2025, 2026)
    assert values.school_year("1999/00") == (1999, 2000)
    assert values.is_school_year("2025/26") and not values.is_school_year("2025")


@pytest.mark.parametrize(
    "given", ["2025/27", "2025/26\n", "\uff12\uff10\uff12\uff15/26", "2025-26", 2025]
)
def test_a_school_year_refuses_look_alikes(given: object) -> None:
    with pytest.raises(InvalidInput, match="school year"):
        values.school_year(given)


def test_a_number_is_a_json_number() -> None:
    assert values.number(8, "value") == 8 and values.number(8.5, "value") == 8.5
    for wrong in ("8.0", True, None):
        with pytest.raises(InvalidInput, match="is a number"):
            values.number(wrong, "value")
    with pytest.raises(InvalidInput, match="finite"):
        values.number(float("inf"), "value")


def test_text_is_trimmed_of_whitespace_and_invisible_characters() -> None:
    assert values.name("  Hasslerudskolan\u200b ") == "Hasslerudskolan"
    assert values.text("Rad ett\nRad två\n", "description", max_length=100, multiline=True) == (
        "Rad ett\nRad två"
    )
    assert values.text("", "summary", max_length=10, required=False) == ""


@pytest.mark.parametrize(
    "given", ["", "   ", "\u200b", "\ufeff\u2060", "\u3164", "\u2800", "\u115f\u1160", "\uffa0"]
)
def test_a_name_that_is_blank_after_trimming_is_refused(given: str) -> None:
    with pytest.raises(InvalidInput, match="must not be blank"):
        values.name(given)


@pytest.mark.parametrize("given", ["Skola\x07", "Rad\nbrytning", "\x1b[31mRöd"])
def test_a_name_refuses_control_characters(given: str) -> None:
    with pytest.raises(InvalidInput, match="control character"):
        values.name(given)


def test_multiline_text_still_refuses_other_control_characters() -> None:
    with pytest.raises(InvalidInput, match=r"U\+0000"):
        values.text("a\x00b", "description", max_length=100, multiline=True)


def test_a_name_longer_than_its_limit_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at most 5"):
        values.name("Götene kommun", max_length=5)


@pytest.mark.parametrize("hidden", ["\u200b", "\u00ad", "\u200d", "\u034f", "\u2060"])
def test_names_compare_without_characters_that_show_nothing(hidden: str) -> None:
    assert values.name_key(f"Hasslerud{hidden}skolan") == values.name_key("Hasslerudskolan")


def test_names_compare_without_case_and_runs_of_whitespace() -> None:
    assert values.name_key("Sektor  Barn och\tUtbildning") == values.name_key(
        "sektor barn och utbildning"
    )


def test_a_decision_cannot_be_dated_in_the_future() -> None:
    assert values.not_in_future(TODAY, TODAY, "decided_on") == TODAY
    with pytest.raises(InvalidInput, match="future") as refused:
        values.not_in_future(dt.date(2030, 12, 31), TODAY, "decided_on")
    assert refused.value.fields == {"decided_on": ["in the future"]}


def test_a_date_before_the_plausible_years_is_refused() -> None:
    with pytest.raises(InvalidInput, match="outside the years"):
        values.not_in_future(dt.date(1900, 1, 1), TODAY, "decided_on")


def test_an_end_is_not_before_its_start() -> None:
    start = dt.date(2026, 1, 1)
    assert values.not_before(start, start, "ended_on", "an end") == start
    with pytest.raises(InvalidInput, match="before 2026-01-01"):
        values.not_before(dt.date(2025, 12, 31), start, "ended_on", "an end")


def test_a_day_within_a_period() -> None:
    first, last = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    assert values.within(first, first, last, "starts_on", "an activity") == first
    with pytest.raises(InvalidInput, match="between 2026-01-01 and 2026-12-31"):
        values.within(dt.date(1900, 1, 1), first, last, "starts_on", "an activity")


def test_today_is_a_day_in_stockholm() -> None:
    assert abs((values.today() - dt.date.today()).days) <= 1
