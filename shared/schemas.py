"""Marshmallow fields and schemas every service's API uses (as_of, cursors, history)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from shared import values
from shared.values import LOCAL_TIME_ZONE  # as_of dates end in the municipality's day


class AsOf(fields.Field[dt.datetime]):
    """An instant: ISO 8601 with a time zone, or a date meaning the end of that day, within
    the years the system accepts (shared.values.PLAUSIBLE_YEARS): "as of the year 9999" is a
    typing error, and would overflow date arithmetic in the readers."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str) or not _AS_OF.match(value):
            raise ValidationError(
                "must be an ISO 8601 date (2026-03-14) or date-time with a time zone "
                "(2026-03-14T09:12:00Z)"
            )
        try:
            if len(value) == 10:
                day = dt.date.fromisoformat(value)
                moment = dt.datetime.combine(day, dt.time.max, LOCAL_TIME_ZONE)
            else:
                moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not a date or time that exists") from None
        if moment.tzinfo is None:
            raise ValidationError("a date-time needs a time zone, e.g. Z or +01:00")
        years = values.PLAUSIBLE_YEARS
        if moment.year not in years:
            raise ValidationError(f"must lie in the years {years.first}-{years.last}")
        return moment


#: a calendar date, or a date and time (seconds and fractions optional) with Z or an offset
_AS_OF = re.compile(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?\Z",
    re.ASCII,
)


class Number(fields.Float):
    """A JSON number, never a string such as "8.0" nor a boolean; finite."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("must be a JSON number, not a string or boolean")
        return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-any-return]


def StrictInt(**kwargs: Any) -> fields.Integer:
    """An integer that is an integer: 2027.5, 2027.0 and "2027" are refused."""
    return fields.Integer(strict=True, **kwargs)


def Year(**kwargs: Any) -> fields.Integer:
    """A calendar year as a JSON integer (the plausible range is checked in the domain)."""
    return fields.Integer(strict=True, metadata={"description": "a calendar year"}, **kwargs)


class AsOfQuery(Schema):
    as_of = AsOf(
        metadata={
            "description": "state at this instant (ISO 8601 date-time with a "
            "time zone, or a date: its end), default now",
            "type": "string",
        }
    )


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode("utf-8")).decode("ascii")


class Cursor(fields.Field[Any]):
    """An opaque pagination cursor handed out as `next_cursor`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            cursor = json.loads(base64.urlsafe_b64decode(str(value).encode("ascii")))
        except (ValueError, binascii.Error, UnicodeError):
            cursor = None
        if not isinstance(cursor, str):  # our cursors are the last id of a page
            raise ValidationError("is not a cursor this API gave out")
        return cursor


class PageQuery(AsOfQuery):
    cursor = Cursor(metadata={"description": "next_cursor of the previous page", "type": "string"})
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))


class HistoryEntrySchema(Schema):
    position = fields.Int()
    version = fields.Int()
    event_id = fields.UUID()
    event_type = fields.Str()
    recorded_at = fields.DateTime()
    actor = fields.Str(allow_none=True)
    correlation_id = fields.Str(allow_none=True)
    causation_id = fields.Str(allow_none=True)
    decision = fields.Dict(allow_none=True, metadata={"description": "who decided, when, §"})
    data = fields.Dict()
    hash = fields.Str()


class HistorySchema(Schema):
    entity_id = fields.Str()
    stream_type = fields.Str()
    events = fields.List(fields.Nested(HistoryEntrySchema))


_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)


class StrictDate(fields.Date):
    """A date written YYYY-MM-DD and nothing else: marshmallow's Date (date.fromisoformat)
    also reads "20260315", "2026-W11-7" and "2026-074" as days, look-alikes of a decision's
    date that no one typed as such."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValidationError("must be a date written YYYY-MM-DD, e.g. 2026-03-15")
        return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-any-return]
