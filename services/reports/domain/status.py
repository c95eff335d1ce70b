"""Traffic-light statuses (trafikljus) of indicators and goals, computed from results, targets and
thresholds, never typed in; each comes with the reason that gave it (docs/status.md).

Pure Python (no I/O). Where municipalities differ (how near the target counts as yellow, how many
green indicators make a goal met) the rules are data, StatusRules, decided by the council.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal, get_args

from shared import values
from shared.errors import InvalidInput

#: met / partly met / not met (uppfyllt / delvis uppfyllt / ej uppfyllt), and cannot be assessed
#: (kan inte bedömas)
Colour = Literal["green", "yellow", "red", "no_data"]
Trend = Literal["better", "same", "worse"]
Direction = Literal["higher_is_better", "lower_is_better"]
Rule = Literal["thresholds", "target", "no_result", "no_yardstick"]

COLOURS: tuple[Colour, ...] = get_args(Colour)

#: Relative slack of every "at least" / "at most" comparison, so that a line computed in floating
#: point (0.9 * 100 = 90.00000000000001) is reached by the result a person would call equal (90).
_RELATIVE_EPSILON = 1e-9
_ABSOLUTE_EPSILON = 1e-12


def _at_least(value: float, line: float) -> bool:
    """value ≥ line, counting a value a rounding error away from the line as on it."""
    return value >= line or math.isclose(
        value, line, rel_tol=_RELATIVE_EPSILON, abs_tol=_ABSOLUTE_EPSILON
    )


def _reaches(value: float, line: float, direction: Direction) -> bool:
    """Whether a result is on the good side of a line: at least it when higher is better, at
    most it when lower is better."""
    return _at_least(value, line) if direction == "higher_is_better" else _at_least(-value, -line)


def _number(value: float) -> str:
    """A number as a person writes it: 75 rather than 75.0, 12.5, at most ten significant digits."""
    rounded = float(f"{value:.10g}")
    if rounded.is_integer():
        return str(int(rounded))
    return repr(rounded)


def _percent(share: float) -> str:
    return f"{_number(share * 100)}%"


_DIRECTION_WORDS: dict[Direction, str] = {
    "higher_is_better": "higher is better",
    "lower_is_better": "lower is better",
}


# -- the municipality's rules --------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRules:
    """The municipality's rules, as data (decided by the council; defaults below)."""

    #: without thresholds: yellow when the result reaches 80% of the target (lower is better: at
    #: most target / 0.8); see docs/status.md for targets of zero or below
    yellow_share_of_target: float = 0.8
    #: a goal is green (uppfyllt) when at least this share of its indicators with data are green
    goal_met_share: float = 1.0
    #: ... yellow (delvis uppfyllt) when at least this share are green or yellow; else red
    goal_partly_met_share: float = 0.5
    #: a relative change (|new - old| <= tolerance * |old|) counted as "same"
    trend_tolerance: float = 0.0

    def __post_init__(self) -> None:
        problems = _range_problems(self.as_dict())
        if problems:
            raise _refusal(problems)

    @staticmethod
    def check(raw: Mapping[str, object]) -> StatusRules:
        """The rules of a JSON body, checked strictly: only known keys, each a finite JSON number
        (never a string such as "0.8", never true), shares in (0, 1], the tolerance in [0, 1),
        and partly met asking no more than met. A missing key takes its default. Every problem is
        reported at once, each under its field."""
        if not isinstance(raw, Mapping):
            raise InvalidInput(
                f"the status rules are a JSON object, not {raw!r}",
                {"rules": ["not an object"]},
            )
        known = {field.name for field in fields(StatusRules)}
        problems: dict[str, list[str]] = {
            str(key): ["unknown key"] for key in raw if key not in known
        }
        given: dict[str, float] = {}
        for key in known & set(raw):
            try:
                given[key] = float(values.number(raw[key], key))
            except InvalidInput as exc:
                problems[key] = list(exc.fields[key])
            except OverflowError:  # an integer beyond any float
                problems[key] = ["not finite"]
        merged = {**StatusRules().as_dict(), **given}
        for key, reasons in _range_problems(merged).items():
            if key in given:
                problems.setdefault(key, []).extend(reasons)
            elif key == "goal_partly_met_share" and "goal_met_share" in given:
                # only met was given, below the default partly met: name the field sent
                problems.setdefault("goal_met_share", []).append("less than goal_partly_met_share")
        if problems:
            raise _refusal(problems)
        return StatusRules(**given)

    def as_dict(self) -> dict[str, float]:
        """The rules as a JSON object; StatusRules.check(rules.as_dict()) == rules."""
        return {field.name: float(getattr(self, field.name)) for field in fields(self)}


_SHARES = ("yellow_share_of_target", "goal_met_share", "goal_partly_met_share")


def _range_problems(rules: Mapping[str, float]) -> dict[str, list[str]]:
    """What is wrong with the rules' values (numbers already), field by field."""
    problems: dict[str, list[str]] = {}
    for key in _SHARES:
        if not 0 < rules[key] <= 1:  # also false for NaN
            problems[key] = ["not in (0, 1]"]
    if not 0 <= rules["trend_tolerance"] < 1:
        problems["trend_tolerance"] = ["not in [0, 1)"]
    # "partly met" asking more than "met" would make yellow a higher bar than green
    if not problems and rules["goal_partly_met_share"] > rules["goal_met_share"]:
        problems["goal_partly_met_share"] = ["more than goal_met_share"]
    return problems


def _refusal(problems: Mapping[str, Sequence[str]]) -> InvalidInput:
    listed = "; ".join(f"{key}: {', '.join(reasons)}" for key, reasons in sorted(problems.items()))
    return InvalidInput(f"the status rules are refused ({listed})", problems)


# -- indicators ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Yardstick:
    """What an indicator's result is measured against for one year."""

    direction: Direction
    target: float | None = None  # the year's target (målvärde)
    green: float | None = None  # thresholds (gränsvärden), if set
    yellow: float | None = None


@dataclass(frozen=True)
class Reason:
    """Why an indicator has its colour: the rule, and the numbers it compared."""

    rule: Rule
    value: float | None
    target: float | None
    green_line: float | None  # the line the result had to reach for green
    yellow_line: float | None  # ... and for yellow
    text: str  # one English sentence, e.g. "76.4 is at least the green threshold 75 (...)"


@dataclass(frozen=True)
class IndicatorStatus:
    colour: Colour
    reason: Reason
    trend: Trend | None  # None when there is no previous value or no current value
    previous_value: float | None
    #: value / target (higher is better) or target / value (lower is better); None without
    #: target or value, or when the ratio means nothing (a zero divisor, a negative number)
    share_of_target: float | None


def yellow_line_of_target(target: float, direction: Direction, rules: StatusRules) -> float:
    """The line a result must reach for yellow when only a target is set.

    For a positive target it is share * target (higher is better) or target / share (lower is
    better). In general the allowed shortfall is a part of the target's size, |target| * (1 -
    share) below it, or |target| * (1 - share) / share above it, so a negative target (a
    deficit) keeps yellow on the far side of green, and a target of zero has no yellow band."""
    share = rules.yellow_share_of_target
    if direction == "higher_is_better":
        return share * target if target >= 0 else target - abs(target) * (1 - share)
    return target / share if target >= 0 else target + abs(target) * (1 - share) / share


def indicator_status(
    yardstick: Yardstick,
    value: float | None,
    previous: float | None,
    rules: StatusRules = StatusRules(),
) -> IndicatorStatus:
    """An indicator's colour for one period, the reason for it, and its trend since the period
    before. Numbers are finite (checked where they enter the system)."""
    direction = yardstick.direction
    words = _DIRECTION_WORDS[direction]
    rule: Rule
    if yardstick.green is not None and yardstick.yellow is not None:
        rule, green_line, yellow_line = "thresholds", yardstick.green, yardstick.yellow
    elif yardstick.target is not None:
        rule, green_line = "target", yardstick.target
        yellow_line = yellow_line_of_target(yardstick.target, direction, rules)
    else:
        rule, green_line, yellow_line = "no_yardstick", None, None

    colour: Colour
    if value is None:
        colour, rule, text = "no_data", "no_result", "there is no result for this period"
    elif green_line is None or yellow_line is None:
        colour = "no_data"
        text = f"{_number(value)} has neither thresholds nor a target to be measured against"
    else:
        colour, text = _colour(value, green_line, yellow_line, rule, direction)
        text = f"{text} ({words})"

    return IndicatorStatus(
        colour=colour,
        reason=Reason(rule, value, yardstick.target, green_line, yellow_line, text),
        trend=trend(value, previous, direction, rules),
        previous_value=previous,
        share_of_target=share_of_target(value, yardstick.target, direction),
    )


def _colour(
    value: float, green_line: float, yellow_line: float, rule: Rule, direction: Direction
) -> tuple[Colour, str]:
    reach, miss = ("at least", "below") if direction == "higher_is_better" else ("at most", "above")
    shown, green_shown, yellow_shown = _number(value), _number(green_line), _number(yellow_line)
    if rule == "thresholds":
        green_name = f"the green threshold {green_shown}"
        yellow_name = f"the yellow threshold {yellow_shown}"
    else:
        green_name = f"the target {green_shown}"
        yellow_name = f"the yellow line {yellow_shown} of the target {green_shown}"
    if _reaches(value, green_line, direction):
        return "green", f"{shown} is {reach} {green_name}"
    if _reaches(value, yellow_line, direction):
        if rule == "target":
            yellow_name = f"the yellow line {yellow_shown}"
        return "yellow", f"{shown} is {miss} {green_name} but {reach} {yellow_name}"
    return "red", f"{shown} is {miss} {yellow_name}"


def trend(
    value: float | None,
    previous: float | None,
    direction: Direction,
    rules: StatusRules = StatusRules(),
) -> Trend | None:
    """Better, the same or worse than the period before, honouring the direction; a change of at
    most trend_tolerance * |previous| is the same. None when either value is missing."""
    if value is None or previous is None:
        return None
    change = value - previous
    if _at_least(rules.trend_tolerance * abs(previous), abs(change)):
        return "same"
    improved = change > 0 if direction == "higher_is_better" else change < 0
    return "better" if improved else "worse"


def share_of_target(
    value: float | None, target: float | None, direction: Direction
) -> float | None:
    """How far along towards the target a result is: value / target when higher is better,
    target / value when lower is better (1.0 = reached). None without a value or target, when
    the divisor is zero, or when either number is negative (a ratio of a deficit says nothing
    about how near it is)."""
    if value is None or target is None or value < 0 or target < 0:
        return None
    numerator, divisor = (value, target) if direction == "higher_is_better" else (target, value)
    return numerator / divisor if divisor > 0 else None


# -- goals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalStatus:
    """A goal's colour as its indicators suggest it (a support for the person who assesses the
    goal, never a replacement for that assessment, sammanvägning)."""

    colour: Colour
    counts: dict[Colour, int]  # all four keys always present
    text: str  # e.g. "2 of 3 indicators with data green; met needs 100%"


def goal_status(
    colours: Sequence[Colour],
    rules: StatusRules = StatusRules(),
) -> GoalStatus:
    """A goal's colour from its indicators' colours: those without data do not count; green when
    at least goal_met_share of the rest are green, yellow when at least goal_partly_met_share
    are green or yellow, else red; no_data when no indicator has data."""
    counts: dict[Colour, int] = dict.fromkeys(COLOURS, 0)
    for each in colours:
        if each not in counts:
            raise ValueError(f"an indicator's colour is one of {COLOURS}, not {each!r}")
        counts[each] += 1
    with_data = counts["green"] + counts["yellow"] + counts["red"]
    needs = (
        f"met needs {_percent(rules.goal_met_share)}, "
        f"partly met {_percent(rules.goal_partly_met_share)}"
    )
    if with_data == 0:
        return GoalStatus("no_data", counts, f"no indicator has data; {needs}")
    green, green_or_yellow = counts["green"], counts["green"] + counts["yellow"]
    colour: Colour
    if _at_least(green, rules.goal_met_share * with_data):
        colour = "green"
    elif _at_least(green_or_yellow, rules.goal_partly_met_share * with_data):
        colour = "yellow"
    else:
        colour = "red"
    text = (
        f"{green} of {with_data} indicators with data green, "
        f"{green_or_yellow} green or yellow; {needs}"
    )
    return GoalStatus(colour, counts, text)
