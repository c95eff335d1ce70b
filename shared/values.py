"""Values every domain parses the same way, strictly and once: years, school years, numbers,
names and texts, and dates that cannot be true.

Pure Python (no I/O): the domain packages call these when a command is decided, so a value
that reaches an event has passed the same rules whether it came over HTTP or from a consumer.
Python's `\\d` matches any Unicode digit ("٢٠٢٧") and `$` matches before a trailing newline,
so the patterns here are ASCII-only and anchored with `\\Z`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.errors import InvalidInput

#: Dates such as "decided today" are days in the municipality's time zone.
LOCAL_TIME_ZONE = ZoneInfo("Europe/Stockholm")

_YEAR = re.compile(r"\A[0-9]{4}\Z", re.ASCII)
_SCHOOL_YEAR = re.compile(r"\A([0-9]{4})/([0-9]{2})\Z", re.ASCII)


@dataclass(frozen=True)
class YearRange:
    """The years a plan, target or decision may plausibly be about (configurable)."""

    first: int = 1990
    last: int = 2100

    def __contains__(self, year: object) -> bool:
        return isinstance(year, int) and self.first <= year <= self.last


#: Replaced once at start-up from the configuration (STYRKORT_YEAR_MIN / STYRKORT_YEAR_MAX).
PLAUSIBLE_YEARS = YearRange()


def configure_years(first: int, last: int) -> None:
    """Set the plausible years (wiring only; domain code reads PLAUSIBLE_YEARS)."""
    global PLAUSIBLE_YEARS
    if not 1000 <= first <= last <= 9999:
        raise ValueError(f"a year range of four-digit years, first <= last, not {first}-{last}")
    PLAUSIBLE_YEARS = YearRange(first, last)


def today() -> dt.date:
    """Today in the municipality (Europe/Stockholm), not in UTC."""
    return dt.datetime.now(LOCAL_TIME_ZONE).date()


# -- years ---------------------------------------------------------------------------------------


def year(value: object, field: str = "year") -> int:
    """A calendar year: a JSON integer, or exactly four ASCII digits, within PLAUSIBLE_YEARS."""
    if isinstance(value, str) and _YEAR.match(value):
        parsed: int | None = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    else:
        parsed = None
    if parsed is None:
        raise InvalidInput(
            f"{field} is a calendar year of four digits like 2027, not {value!r}",
            {field: ["not a calendar year"]},
        )
    if parsed not in PLAUSIBLE_YEARS:
        raise InvalidInput(
            f"{field} {parsed} is outside the years this system accepts "
            f"({PLAUSIBLE_YEARS.first}-{PLAUSIBLE_YEARS.last})",
            {field: ["implausible year"]},
        )
    return parsed


def school_year(text: object, field: str = "period") -> tuple[int, int]:
    """A school year (läsår) written "2025/26": its first and last calendar years."""
    match = _SCHOOL_YEAR.match(text) if isinstance(text, str) else None
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise InvalidInput(
            f"{field} is a school year like 2025/26, not {text!r}",
            {field: ["not a school year"]},
        )
    first = year(match[1], field)
    return first, year(first + 1, field)


def is_school_year(text: str) -> bool:
    return bool(_SCHOOL_YEAR.match(text))


# -- numbers -------------------------------------------------------------------------------------


def number(value: object, field: str) -> float | int:
    """A finite JSON number: never a string such as "8.0", never a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} is a number, not {value!r}", {field: ["not a number"]})
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{field} is a finite number", {field: ["not finite"]})
    return value


# -- text ----------------------------------------------------------------------------------------

#: Allowed inside multi-line text (descriptions, notes); every other control character is refused.
_LINE_BREAKS = frozenset("\n\t")


#: Letters and symbols that are drawn as blank space: the Hangul fillers and the braille blank
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _invisible(char: str) -> bool:
    """Whitespace, a format character such as a zero-width space, or a character drawn as
    blank space (a Hangul filler, the braille blank): it shows nothing."""
    return char.isspace() or unicodedata.category(char) == "Cf" or char in _BLANK_LOOKING


def text(
    value: str,
    field: str,
    *,
    max_length: int,
    multiline: bool = False,
    required: bool = True,
) -> str:
    """Text as stored: NFC, trimmed of whitespace and invisible characters at both ends, with no
    control characters (line breaks and tabs only in multi-line text), not blank if required."""
    normalised = unicodedata.normalize("NFC", value)
    allowed = _LINE_BREAKS if multiline else frozenset()
    bad = next(
        (c for c in normalised if unicodedata.category(c) == "Cc" and c not in allowed), None
    )
    if bad is not None:
        raise InvalidInput(
            f"{field} contains the control character U+{ord(bad):04X}",
            {field: ["contains a control character"]},
        )
    start, end = 0, len(normalised)
    while start < end and _invisible(normalised[start]):
        start += 1
    while end > start and _invisible(normalised[end - 1]):
        end -= 1
    cleaned = normalised[start:end]
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be blank", {field: ["must not be blank"]})
    if len(cleaned) > max_length:
        raise InvalidInput(
            f"{field} is at most {max_length} characters", {field: [f"longer than {max_length}"]}
        )
    return cleaned


def name(value: str, field: str = "name", max_length: int = 200) -> str:
    """A one-line name or title."""
    return text(value, field, max_length=max_length)


@functools.lru_cache(maxsize=65_536)  # a unit's siblings are compared again at every change
def name_key(value: str) -> str:
    """What makes two names the same name: case, runs of whitespace and characters that show
    nothing (zero-width spaces and joiners, soft hyphens, U+034F) do not count."""
    visible = "".join(
        c
        for c in unicodedata.normalize("NFKC", value)
        if unicodedata.category(c) != "Cf" and c != "\u034f"
    )
    return " ".join(visible.casefold().split())


# -- dates ---------------------------------------------------------------------------------------


def not_in_future(day: dt.date, today: dt.date, field: str, what: str = "a decision") -> dt.date:
    """A date of something that has happened: not after today (Europe/Stockholm)."""
    if day > today:
        raise InvalidInput(
            f"{what} cannot be dated in the future ({day}; today is {today})",
            {field: ["in the future"]},
        )
    if day.year not in PLAUSIBLE_YEARS:
        raise InvalidInput(
            f"{field} {day} is outside the years this system accepts", {field: ["implausible date"]}
        )
    return day


def not_before(later: dt.date, earlier: dt.date, field: str, what: str) -> dt.date:
    """`later` is on or after `earlier`, e.g. an end not before its start."""
    if later < earlier:
        raise InvalidInput(f"{what} ({later} is before {earlier})", {field: [f"before {earlier}"]})
    return later


def within(day: dt.date, first: dt.date, last: dt.date, field: str, what: str) -> dt.date:
    """`day` lies in [first, last]."""
    if not first <= day <= last:
        raise InvalidInput(
            f"{what} lies between {first} and {last}, not on {day}", {field: ["outside the period"]}
        )
    return day
