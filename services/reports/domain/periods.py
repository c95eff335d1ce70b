"""The periods follow-up is about, parsed strictly (shared.values) so that "2025\n" or
full-width digits never becomes a second result or report for the same period.

- A result (utfall) is for a calendar year ("2025") or for an interim date ("2026-08-31",
  delårsuppföljning).
- A quality report (kvalitetsredovisning) is for a calendar year ("2025") or a school year
  ("2024/25", läsår).
- A year is closed when the council approves its annual report; a school year belongs to the
  year it ends in (the quality report of 2024/25 is followed up in the annual report of 2025).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from shared import values
from shared.errors import InvalidInput

_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)


def result_period(period: object, field: str = "period") -> str:
    """A result's period in canonical text: a year "2025", or an interim date "2026-08-31"."""
    if isinstance(period, str) and _DATE.match(period):
        try:
            day = dt.date.fromisoformat(period)
        except ValueError:
            raise InvalidInput(
                f"{field} {period!r} is not a date that exists", {field: ["no such date"]}
            ) from None
        values.year(day.year, field)
        if (day.month, day.day) == (12, 31):
            raise InvalidInput(
                f"{field} {period} is the end of the year: record it as the year's result "
                f"(period {day.year})",
                {field: ["the year's end is the year itself"]},
            )
        return day.isoformat()
    try:
        return str(values.year(period, field))
    except InvalidInput as exc:
        if "implausible year" in exc.fields.get(field, ()):
            raise
    raise InvalidInput(
        f"{field} is a year like 2025 or an interim date like 2026-08-31, not {period!r}",
        {field: ["not a year or a date"]},
    )


def is_interim(period: str) -> bool:
    return "-" in period


def year_of(period: str) -> int:
    """The calendar year a result's period lies in; for a report's school year, the year it
    ends in (the year whose annual report follows it up)."""
    if "/" in period:
        return int(period[:4]) + 1
    return int(period[:4])


def period_end(period: str) -> dt.date:
    """The last day a result's period covers: 31 December, or the interim date itself."""
    if is_interim(period):
        return dt.date.fromisoformat(period)
    return dt.date(int(period), 12, 31)


def previous_period(period: str) -> str:
    """The period a trend compares with: the year before, or the same date a year before."""
    if is_interim(period):
        day = dt.date.fromisoformat(period)
        day = day.replace(day=28) if (day.month, day.day) == (2, 29) else day
        return day.replace(year=day.year - 1).isoformat()
    return str(int(period) - 1)


def report_period(period: object, field: str = "period") -> str:
    """A quality report's period: a calendar year "2025" or a school year "2024/25"."""
    try:
        if isinstance(period, str) and values.is_school_year(period):
            first, _ = values.school_year(period, field)
            return f"{first}/{(first + 1) % 100:02d}"
        if isinstance(period, str):
            return str(values.year(period, field))
    except InvalidInput as exc:
        if "implausible year" in exc.fields.get(field, ()):
            raise
    raise InvalidInput(
        f"{field} is a calendar year like 2025 or a school year like 2024/25, not {period!r}",
        {field: ["not a calendar or school year"]},
    )


def report_period_end(period: str) -> dt.date:
    """The last day of a report's period: 31 December, or 30 June for a school year."""
    if "/" in period:
        return dt.date(int(period[:4]) + 1, 6, 30)
    return dt.date(int(period), 12, 31)


def derived_id(prefix: str, namespace: uuid.UUID, *parts: str) -> str:
    """An id that follows from what identifies the entity, so a second one is a conflict."""
    return f"{prefix}{uuid.uuid5(namespace, '|'.join(parts))}"
