"""Traffic-light statuses of indicators and goals, and the municipality's rules (no I/O)."""

from __future__ import annotations

import json
import math
import pathlib
import re
from collections.abc import Iterator
from typing import Any, cast, get_args

import pytest

from services.reports.domain.status import (
    Colour,
    Direction,
    GoalStatus,
    StatusRules,
    Yardstick,
    goal_status,
    indicator_status,
    share_of_target,
    trend,
)
from shared.errors import InvalidInput

HIGHER: Direction = "higher_is_better"
LOWER: Direction = "lower_is_better"
DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "status.md"


# -- indicators: the target decides --------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "target", "value", "colour"),
    [
        (HIGHER, 100, 100, "green"),  # exactly on the target
        (HIGHER, 100, 130, "green"),
        (HIGHER, 100, 99.99, "yellow"),
        (HIGHER, 100, 80, "yellow"),  # exactly on 80% of the target (0.8 * 100)
        (HIGHER, 100, 79.99, "red"),
        (HIGHER, 10, 0, "red"),
        (LOWER, 10, 10, "green"),
        (LOWER, 10, 2, "green"),
        (LOWER, 10, 10.01, "yellow"),
        (LOWER, 10, 12.5, "yellow"),  # exactly on target / 0.8
        (LOWER, 10, 12.51, "red"),
        # a target of zero has no yellow band
        (HIGHER, 0, 0, "green"),
        (HIGHER, 0, 5, "green"),
        (HIGHER, 0, -0.01, "red"),
        (LOWER, 0, 0, "green"),
        (LOWER, 0, -3, "green"),
        (LOWER, 0, 0.01, "red"),
        # a negative target: yellow lies on the far side of green, |target| * 20% away
        (HIGHER, -2, -1, "green"),
        (HIGHER, -2, -2, "green"),
        (HIGHER, -2, -2.4, "yellow"),
        (HIGHER, -2, -2.41, "red"),
        (LOWER, -5, -5, "green"),
        (LOWER, -5, -3.75, "yellow"),  # -5 + 5 * 0.2 / 0.8
        (LOWER, -5, -3.74, "red"),
    ],
)
def test_the_target_decides_without_thresholds(
    direction: Direction, target: float, value: float, colour: Colour
) -> None:
    status = indicator_status(Yardstick(direction, target), value, None)
    assert (status.colour, status.reason.rule) == (colour, "target")
    assert (status.reason.value, status.reason.target) == (value, target)
    assert status.reason.green_line == target


@pytest.mark.parametrize(
    ("direction", "target", "yellow_line"),
    [
        (HIGHER, 100, 80),
        (HIGHER, 0, 0),
        (HIGHER, -2, -2.4),
        (LOWER, 10, 12.5),
        (LOWER, 0, 0),
        (LOWER, -5, -3.75),
    ],
)
def test_the_yellow_line_is_derived_from_the_target(
    direction: Direction, target: float, yellow_line: float
) -> None:
    reason = indicator_status(Yardstick(direction, target), None, None).reason
    assert reason.yellow_line == pytest.approx(yellow_line)
    assert reason.green_line == target


@pytest.mark.parametrize(
    ("direction", "share", "target", "value", "colour"),
    [
        (HIGHER, 0.55, 100, 55, "yellow"),  # 0.55 * 100 == 55.00000000000001
        (HIGHER, 0.07, 100, 7, "yellow"),  # 0.07 * 100 == 7.000000000000001
        (HIGHER, 0.1, 3, 0.3, "yellow"),  # 0.1 * 3 == 0.30000000000000004
        (HIGHER, 0.55, 100, 54.99, "red"),  # the slack is a rounding error, not a margin
        (LOWER, 0.9, 9, 10, "yellow"),
        (LOWER, 0.9, 9, 10.01, "red"),
    ],
)
def test_a_rounding_error_does_not_change_the_colour(
    direction: Direction, share: float, target: float, value: float, colour: Colour
) -> None:
    rules = StatusRules(yellow_share_of_target=share)
    assert indicator_status(Yardstick(direction, target), value, None, rules).colour == colour


def test_the_yellow_share_is_the_councils_rule() -> None:
    strict = StatusRules(yellow_share_of_target=0.95)
    assert indicator_status(Yardstick(HIGHER, 100), 90, None).colour == "yellow"
    assert indicator_status(Yardstick(HIGHER, 100), 90, None, strict).colour == "red"
    assert indicator_status(Yardstick(LOWER, 10), 12, None, strict).colour == "red"


# -- indicators: thresholds decide ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "green", "yellow", "value", "colour"),
    [
        (HIGHER, 75, 60, 76.4, "green"),
        (HIGHER, 75, 60, 75, "green"),
        (HIGHER, 75, 60, 74.9, "yellow"),
        (HIGHER, 75, 60, 60, "yellow"),
        (HIGHER, 75, 60, 59.9, "red"),
        (LOWER, 8, 10, 7, "green"),
        (LOWER, 8, 10, 8, "green"),
        (LOWER, 8, 10, 8.1, "yellow"),
        (LOWER, 8, 10, 10, "yellow"),
        (LOWER, 8, 10, 10.1, "red"),
        (HIGHER, 0, -1, 0, "green"),
        (HIGHER, 0, -1, -1, "yellow"),
        (LOWER, 0, 0, 0.5, "red"),  # equal thresholds: no yellow band
    ],
)
def test_thresholds_decide_when_both_are_set(
    direction: Direction, green: float, yellow: float, value: float, colour: Colour
) -> None:
    status = indicator_status(Yardstick(direction, None, green, yellow), value, None)
    assert (status.colour, status.reason.rule) == (colour, "thresholds")
    assert (status.reason.green_line, status.reason.yellow_line) == (green, yellow)


@pytest.mark.parametrize(
    ("direction", "target", "green", "yellow", "value", "colour", "by_target_alone"),
    [
        (HIGHER, 100, 75, 60, 76, "green", "red"),
        (HIGHER, 50, 75, 60, 70, "yellow", "green"),
        (LOWER, 5, 8, 10, 7, "green", "red"),
        (LOWER, 20, 8, 10, 12, "red", "green"),
    ],
)
def test_thresholds_override_the_target_which_is_still_reported(
    direction: Direction,
    target: float,
    green: float,
    yellow: float,
    value: float,
    colour: Colour,
    by_target_alone: Colour,
) -> None:
    status = indicator_status(Yardstick(direction, target, green, yellow), value, None)
    assert (status.colour, status.reason.rule, status.reason.target) == (
        colour,
        "thresholds",
        target,
    )
    assert indicator_status(Yardstick(direction, target), value, None).colour == by_target_alone


@pytest.mark.parametrize(
    ("green", "yellow"), [(75, None), (None, 60)], ids=["green only", "yellow only"]
)
def test_one_threshold_alone_leaves_the_decision_to_the_target(
    green: float | None, yellow: float | None
) -> None:
    status = indicator_status(Yardstick(HIGHER, 100, green, yellow), 76, None)
    assert (status.colour, status.reason.rule, status.reason.yellow_line) == ("red", "target", 80)


# -- indicators: nothing to assess ---------------------------------------------------------------


@pytest.mark.parametrize(
    "yardstick",
    [Yardstick(HIGHER, 100, 75, 60), Yardstick(LOWER, 10), Yardstick(HIGHER)],
)
def test_no_result_cannot_be_assessed(yardstick: Yardstick) -> None:
    status = indicator_status(yardstick, None, 50)
    assert (status.colour, status.reason.rule, status.reason.value) == (
        "no_data",
        "no_result",
        None,
    )
    assert (status.trend, status.previous_value, status.share_of_target) == (None, 50, None)
    assert status.reason.target == yardstick.target


def test_the_lines_that_would_have_applied_are_reported_without_a_result() -> None:
    reason = indicator_status(Yardstick(HIGHER, 100), None, None).reason
    assert (reason.green_line, reason.yellow_line) == (100, 80)


@pytest.mark.parametrize(
    "yardstick",
    [Yardstick(HIGHER), Yardstick(LOWER), Yardstick(HIGHER, None, 75, None)],
)
def test_a_result_without_target_or_thresholds_cannot_be_assessed(yardstick: Yardstick) -> None:
    status = indicator_status(yardstick, 42, 40)
    assert (status.colour, status.reason.rule) == ("no_data", "no_yardstick")
    assert (status.reason.green_line, status.reason.yellow_line) == (None, None)
    assert status.trend == ("better" if yardstick.direction == HIGHER else "worse")


# -- indicators: reasons, trends, share of target ------------------------------------------------


@pytest.mark.parametrize(
    ("yardstick", "value", "text"),
    [
        (
            Yardstick(HIGHER, None, 75, 60),
            76.4,
            "76.4 is at least the green threshold 75 (higher is better)",
        ),
        (
            Yardstick(LOWER, None, 8.0, 10.0),
            9.0,
            "9 is above the green threshold 8 but at most the yellow threshold 10"
            " (lower is better)",
        ),
        (
            Yardstick(HIGHER, 100.0),
            70.0,
            "70 is below the yellow line 80 of the target 100 (higher is better)",
        ),
        (
            Yardstick(LOWER, 1234567.0),
            1e6,
            "1000000 is at most the target 1234567 (lower is better)",
        ),
        (Yardstick(HIGHER, 100), None, "there is no result for this period"),
    ],
)
def test_the_reason_is_one_sentence_with_the_numbers(
    yardstick: Yardstick, value: float | None, text: str
) -> None:
    assert indicator_status(yardstick, value, None).reason.text == text


@pytest.mark.parametrize(
    ("direction", "previous", "value", "tolerance", "expected"),
    [
        (HIGHER, 80, 85, 0.0, "better"),
        (HIGHER, 80, 75, 0.0, "worse"),
        (HIGHER, 80, 80, 0.0, "same"),
        (LOWER, 80, 85, 0.0, "worse"),
        (LOWER, 80, 75, 0.0, "better"),
        (LOWER, 80, 80, 0.0, "same"),
        (HIGHER, 100, 105, 0.05, "same"),  # exactly on the tolerance
        (HIGHER, 100, 95, 0.05, "same"),
        (HIGHER, 100, 105.1, 0.05, "better"),
        (LOWER, 100, 94.9, 0.05, "better"),
        (LOWER, 100, 105.1, 0.05, "worse"),
        (HIGHER, -100, -96, 0.05, "same"),  # the tolerance is of |previous|
        (HIGHER, -100, -94, 0.05, "better"),
        (HIGHER, 0, 0, 0.5, "same"),
        (HIGHER, 0, 0.001, 0.5, "better"),  # nothing is "near" zero
        (HIGHER, 0.3, 0.1 * 3, 0.0, "same"),  # 0.30000000000000004 is no change
    ],
)
def test_trend_honours_direction_and_tolerance(
    direction: Direction, previous: float, value: float, tolerance: float, expected: str
) -> None:
    rules = StatusRules(trend_tolerance=tolerance)
    assert trend(value, previous, direction, rules) == expected
    status = indicator_status(Yardstick(direction, 100), value, previous, rules)
    assert (status.trend, status.previous_value) == (expected, previous)


@pytest.mark.parametrize(("value", "previous"), [(None, 80), (80, None), (None, None)])
def test_no_trend_without_both_values(value: float | None, previous: float | None) -> None:
    assert indicator_status(Yardstick(HIGHER, 100), value, previous).trend is None


@pytest.mark.parametrize(
    ("direction", "value", "target", "share"),
    [
        (HIGHER, 76.4, 100, 0.764),
        (HIGHER, 120, 100, 1.2),
        (HIGHER, 0, 100, 0.0),
        (LOWER, 12.5, 10, 0.8),
        (LOWER, 5, 10, 2.0),
        (LOWER, 3, 0, 0.0),
        (HIGHER, 5, 0, None),  # divisor zero
        (LOWER, 0, 10, None),  # divisor zero
        (HIGHER, -1, 100, None),  # negative numbers: no meaningful ratio
        (HIGHER, -2.3, -2, None),
        (LOWER, 4, -5, None),
        (HIGHER, None, 100, None),
        (HIGHER, 50, None, None),
    ],
)
def test_share_of_target(
    direction: Direction, value: float | None, target: float | None, share: float | None
) -> None:
    assert share_of_target(value, target, direction) == pytest.approx(share)
    assert indicator_status(Yardstick(direction, target), value, None).share_of_target == (
        pytest.approx(share)
    )


# -- goals ---------------------------------------------------------------------------------------


def colours(green: int = 0, yellow: int = 0, red: int = 0, no_data: int = 0) -> list[Colour]:
    counts: dict[Colour, int] = {"green": green, "yellow": yellow, "red": red, "no_data": no_data}
    return [colour for colour, count in counts.items() for _ in range(count)]


@pytest.mark.parametrize(
    ("counts", "rules", "expected"),
    [
        ((3, 0, 0, 0), StatusRules(), "green"),
        ((3, 0, 0, 5), StatusRules(), "green"),  # without data does not count
        ((2, 1, 0, 0), StatusRules(), "yellow"),
        ((1, 1, 2, 0), StatusRules(), "yellow"),  # exactly 50% green or yellow
        ((1, 0, 2, 0), StatusRules(), "red"),
        ((0, 0, 1, 9), StatusRules(), "red"),
        ((0, 0, 0, 2), StatusRules(), "no_data"),
        ((0, 0, 0, 0), StatusRules(), "no_data"),
        ((4, 0, 1, 0), StatusRules(goal_met_share=0.8), "green"),  # exactly 80%
        ((3, 1, 1, 0), StatusRules(goal_met_share=0.8), "yellow"),
        ((3, 0, 2, 0), StatusRules(goal_met_share=0.8, goal_partly_met_share=0.6), "yellow"),
        ((2, 0, 3, 0), StatusRules(goal_met_share=0.8, goal_partly_met_share=0.6), "red"),
        # 0.07 * 100 == 7.000000000000001: 7 of 100 still reaches 7%
        ((0, 7, 93, 0), StatusRules(goal_met_share=0.5, goal_partly_met_share=0.07), "yellow"),
        ((7, 0, 93, 0), StatusRules(goal_met_share=0.07, goal_partly_met_share=0.07), "green"),
        ((0, 6, 94, 0), StatusRules(goal_met_share=0.5, goal_partly_met_share=0.07), "red"),
    ],
)
def test_goal_colour_from_its_indicators(
    counts: tuple[int, int, int, int], rules: StatusRules, expected: Colour
) -> None:
    status = goal_status(colours(*counts), rules)
    assert status.colour == expected
    assert status.counts == dict(zip(("green", "yellow", "red", "no_data"), counts, strict=True))


def test_goal_counts_every_colour_and_says_why() -> None:
    status = goal_status(colours(green=2, red=1))
    assert status == GoalStatus(
        "yellow",
        {"green": 2, "yellow": 0, "red": 1, "no_data": 0},
        "2 of 3 indicators with data green, 2 green or yellow; met needs 100%, partly met 50%",
    )
    assert goal_status([]).counts == {"green": 0, "yellow": 0, "red": 0, "no_data": 0}
    assert "no indicator has data" in goal_status(colours(no_data=1)).text


def test_goal_refuses_a_colour_that_is_not_one() -> None:
    with pytest.raises(ValueError, match="amber"):
        goal_status(cast(list[Colour], ["green", "amber"]))


# -- the municipality's rules --------------------------------------------------------------------


def test_rules_default_to_the_documented_values() -> None:
    assert StatusRules.check({}) == StatusRules()
    assert StatusRules().as_dict() == {
        "yellow_share_of_target": 0.8,
        "goal_met_share": 1.0,
        "goal_partly_met_share": 0.5,
        "trend_tolerance": 0.0,
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"yellow_share_of_target": 1}, StatusRules(yellow_share_of_target=1.0)),  # an int
        ({"goal_met_share": 1, "trend_tolerance": 0}, StatusRules()),
        ({"yellow_share_of_target": 0.9}, StatusRules(yellow_share_of_target=0.9)),
        ({"goal_met_share": 0.5, "goal_partly_met_share": 0.5}, StatusRules(0.8, 0.5, 0.5)),
        ({"trend_tolerance": 0.999}, StatusRules(trend_tolerance=0.999)),
        ({"goal_partly_met_share": 1e-9, "goal_met_share": 1e-9}, StatusRules(0.8, 1e-9, 1e-9)),
    ],
)
def test_rules_accept_json_numbers(raw: dict[str, object], expected: StatusRules) -> None:
    rules = StatusRules.check(raw)
    assert rules == expected
    assert all(type(value) is float for value in rules.as_dict().values())
    assert StatusRules.check(rules.as_dict()) == rules


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"yellow_share_of_target": "0.8"}, "yellow_share_of_target", "not a number"),
        ({"goal_met_share": True}, "goal_met_share", "not a number"),
        ({"goal_met_share": False}, "goal_met_share", "not a number"),
        ({"trend_tolerance": None}, "trend_tolerance", "not a number"),
        ({"trend_tolerance": [0.1]}, "trend_tolerance", "not a number"),
        ({"yellow_share_of_target": math.nan}, "yellow_share_of_target", "not finite"),
        ({"trend_tolerance": math.inf}, "trend_tolerance", "not finite"),
        ({"goal_met_share": -math.inf}, "goal_met_share", "not finite"),
        ({"goal_met_share": 10**400}, "goal_met_share", "not finite"),
        ({"yellow_share_of_target": 0}, "yellow_share_of_target", "not in (0, 1]"),
        ({"yellow_share_of_target": 1.5}, "yellow_share_of_target", "not in (0, 1]"),
        ({"goal_met_share": -0.5}, "goal_met_share", "not in (0, 1]"),
        ({"goal_partly_met_share": 0.0}, "goal_partly_met_share", "not in (0, 1]"),
        ({"trend_tolerance": 1}, "trend_tolerance", "not in [0, 1)"),
        ({"trend_tolerance": -0.01}, "trend_tolerance", "not in [0, 1)"),
        # partly met never asks more than met (the default partly met is 0.5)
        ({"goal_met_share": 0.4}, "goal_met_share", "less than goal_partly_met_share"),
        (
            {"goal_partly_met_share": 0.9, "goal_met_share": 0.8},
            "goal_partly_met_share",
            "more than goal_met_share",
        ),
        ({"yellow_share": 0.8}, "yellow_share", "unknown key"),
        ({"Goal_met_share": 1}, "Goal_met_share", "unknown key"),
    ],
)
def test_rules_are_refused_naming_the_field_and_the_reason(
    raw: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        StatusRules.check(raw)
    assert field in refused.value.fields
    assert field in refused.value.detail
    assert refused.value.fields == {field: [reason]}


def test_every_problem_of_the_rules_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as refused:
        StatusRules.check({"colour": "red", "goal_met_share": "1", "trend_tolerance": 2})
    assert refused.value.fields == {
        "colour": ["unknown key"],
        "goal_met_share": ["not a number"],
        "trend_tolerance": ["not in [0, 1)"],
    }


@pytest.mark.parametrize("raw", [[("goal_met_share", 1.0)], "goal_met_share=1", None])
def test_rules_are_a_json_object(raw: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        StatusRules.check(cast(Any, raw))
    assert refused.value.fields == {"rules": ["not an object"]}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"yellow_share_of_target": 0.0},
        {"trend_tolerance": math.nan},
        {"goal_met_share": 0.3},
        {"goal_met_share": 0.6, "goal_partly_met_share": 0.7},
    ],
)
def test_rules_built_in_code_obey_the_same_ranges(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        StatusRules(**kwargs)


# -- the documented examples are what the code computes ------------------------------------------


def _doc_tables(header_start: str) -> Iterator[tuple[StatusRules, list[str], list[str]]]:
    """Each row of the docs/status.md tables whose header starts with `header_start`, with the
    rules named on the "Rules: `{...}`" line above its table."""
    rules = StatusRules()
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        named = re.match(r"Rules: `(\{.*\})`", line)
        if named:
            rules = StatusRules.check(json.loads(named[1]))
        if not line.startswith(f"| {header_start} |"):
            continue
        header = _cells(line)
        for row in lines[number + 2 :]:
            if not row.startswith("|"):
                break
            yield rules, header, _cells(row)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _optional(cell: str) -> float | None:
    return None if cell == "—" else float(cell)


INDICATOR_EXAMPLES = list(_doc_tables("direction"))
GOAL_EXAMPLES = list(_doc_tables("green"))


def _ids(examples: list[tuple[StatusRules, list[str], list[str]]]) -> list[str]:
    return [" ".join(row[:6]).replace("—", "none") for _, _, row in examples]


def test_the_doc_has_examples_of_every_rule_and_colour() -> None:
    assert len(INDICATOR_EXAMPLES) >= 25 and len(GOAL_EXAMPLES) >= 12
    assert {row[6] for _, _, row in INDICATOR_EXAMPLES} == set(get_args(Colour))
    assert {row[7] for _, _, row in INDICATOR_EXAMPLES} == {
        "thresholds",
        "target",
        "no_result",
        "no_yardstick",
    }
    assert {rules for rules, _, _ in INDICATOR_EXAMPLES} != {StatusRules()}


@pytest.mark.parametrize(
    ("rules", "header", "row"), INDICATOR_EXAMPLES, ids=_ids(INDICATOR_EXAMPLES)
)
def test_documented_indicator_example(
    rules: StatusRules, header: list[str], row: list[str]
) -> None:
    example = dict(zip(header, row, strict=True))
    direction: Direction = HIGHER if example["direction"] == "higher" else LOWER
    yardstick = Yardstick(
        direction,
        _optional(example["target"]),
        _optional(example["green"]),
        _optional(example["yellow"]),
    )
    status = indicator_status(
        yardstick, _optional(example["result"]), _optional(example["previous"]), rules
    )
    assert status.colour == example["colour"]
    assert status.reason.rule == example["rule"]
    assert status.trend == (None if example["trend"] == "—" else example["trend"])
    assert status.share_of_target == pytest.approx(_optional(example["share of target"]))
    assert status.reason.text == example["reason"]


@pytest.mark.parametrize(("rules", "header", "row"), GOAL_EXAMPLES, ids=_ids(GOAL_EXAMPLES))
def test_documented_goal_example(rules: StatusRules, header: list[str], row: list[str]) -> None:
    counts = [int(cell) for cell in row[:4]]
    assert header == ["green", "yellow", "red", "no_data", "goal"]
    assert goal_status(colours(*counts), rules).colour == row[4]


def test_the_doc_quotes_the_goal_text_the_code_writes() -> None:
    text = goal_status(colours(green=2, yellow=1)).text
    assert f'"{text}"' in " ".join(DOC.read_text(encoding="utf-8").split())
