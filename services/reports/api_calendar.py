"""HTTP routes of the annual wheel (årshjul): deadlines set, changed and removed by decision,
a year's calendar, and the overdue list. Parse, call a handler or a read, serialise; the rules
are in services/reports/domain/calendar.py, the reads in services/reports/overdue.py."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from services.reports import deadlines, known, overdue
from services.reports.domain import calendar
from services.reports.schemas import DATE_OUT, ID, DecisionSchema, ReasonedDecisionSchema
from shared import values
from shared.errors import InvalidInput
from shared.events import Metadata
from shared.http import Blueprint
from shared.resources import Body, Resource
from shared.runtime import Runtime
from shared.schemas import AsOfQuery, PageQuery
from shared.uow import UnitOfWork


#: a date as text, parsed strictly by the domain (calendar.parse_date): marshmallow's Date
#: would take "20270215" as well
def date_in() -> fields.Str:
    return fields.Str(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"format": "date", "description": "a date, YYYY-MM-DD (e.g. 2027-02-15)"},
    )


YEAR_TEXT = validate.Regexp(r"\A[0-9]{4}\Z", error="a calendar year of four digits, e.g. 2025")


# -- schemas ------------------------------------------------------------------------------------


class SetDeadlineSchema(DecisionSchema):
    kind = fields.Str(required=True, validate=validate.OneOf(calendar.KINDS))
    year = fields.Integer(
        strict=True, required=True, metadata={"description": "the year the deadline is about"}
    )
    date = date_in()
    label = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=300),
        metadata={"description": "what is due, e.g. 'Kvalitetsredovisningar lämnas'"},
    )


class ChangeDeadlineSchema(ReasonedDecisionSchema):
    date = date_in()
    label = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=300),
        metadata={"description": "a new label; the present one stays when none is given"},
    )


class DeadlineDecisionSchema(Schema):
    action = fields.Str(metadata={"description": "set, changed or removed"})
    date = fields.Str(allow_none=True, metadata=DATE_OUT)
    reason = fields.Str(allow_none=True)
    decided_by = fields.Str()
    decided_on = fields.Str(metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)


class DeadlineSchema(Schema):
    id = fields.Str()
    kind = fields.Str()
    year = fields.Int()
    date = fields.Str(metadata=DATE_OUT)
    label = fields.Str()
    status = fields.Str(metadata={"description": "active, or removed"})
    decided_by = fields.Str()
    decided_on = fields.Str(metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)
    decisions = fields.List(fields.Nested(DeadlineDecisionSchema))
    version = fields.Int()


class DeadlineListQuery(PageQuery):
    year = fields.Str(validate=YEAR_TEXT)
    kind = fields.Str(validate=validate.OneOf(calendar.KINDS))
    status = fields.Str(validate=validate.OneOf(("active", "removed")))


class DeadlinePageSchema(Schema):
    items = fields.List(fields.Nested(DeadlineSchema))
    next_cursor = fields.Str(allow_none=True)


class CalendarQuery(AsOfQuery):
    year = fields.Str(
        required=True,
        validate=YEAR_TEXT,
        metadata={"description": "the year whose deadlines are listed, e.g. 2025"},
    )


class CalendarSchema(Schema):
    year = fields.Int()
    as_of = fields.Str(allow_none=True)
    deadlines = fields.List(fields.Nested(DeadlineSchema))


class OverdueQuery(AsOfQuery):
    unit_id = fields.Str(
        validate=ID, metadata={"description": "only what the units of this subtree own"}
    )


class OverdueItemSchema(Schema):
    what = fields.Str(metadata={"description": "result, quality_report or activity"})
    id = fields.Str(metadata={"description": "the indicator, report or activity"})
    title = fields.Str()
    owner_unit_id = fields.Str()
    deadline = fields.Str(metadata=DATE_OUT)
    deadline_id = fields.Str(allow_none=True)
    deadline_label = fields.Str(allow_none=True)
    days_overdue = fields.Int()
    year = fields.Int()
    period = fields.Str()
    goal_id = fields.Str()
    source = fields.Str()
    status = fields.Str()
    plan_id = fields.Str()
    owner = fields.Str(metadata={"description": "the person or team an activity is owned by"})


class OverdueUnitSchema(Schema):
    unit_id = fields.Str()
    unit_name = fields.Str()
    items = fields.List(fields.Nested(OverdueItemSchema))


class OverdueCountsSchema(Schema):
    result = fields.Int()
    quality_report = fields.Int()
    activity = fields.Int()


class OverdueSchema(Schema):
    as_of = fields.Str(allow_none=True)
    day = fields.Str(metadata={"format": "date", "description": "the day measured on"})
    unit_id = fields.Str(allow_none=True)
    counts = fields.Nested(OverdueCountsSchema)
    units = fields.List(fields.Nested(OverdueUnitSchema))


# -- commands -----------------------------------------------------------------------------------


def set_deadline(uow: UnitOfWork, md: Metadata, body: Body) -> Any:
    return deadlines.set_deadline(uow, md, **body)


def change_deadline(
    uow: UnitOfWork, md: Metadata, deadline_id: str, version: int | None, body: Body
) -> Any:
    return deadlines.change_deadline(uow, md, deadline_id, version, **body)


def remove_deadline(
    uow: UnitOfWork, md: Metadata, deadline_id: str, version: int | None, body: Body
) -> Any:
    return deadlines.remove_deadline(uow, md, deadline_id, version, **body)


# -- blueprints ---------------------------------------------------------------------------------


def deadlines_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "calendar-deadlines",
        __name__,
        url_prefix="/api/v1/calendar/deadlines",
        description="The deadlines of the annual wheel (årshjul), set, changed and removed by "
        "decision of the council or the executive board",
    )
    found = Resource(
        runtime,
        blp,
        calendar.STREAM_TYPE,
        "deadline",
        DeadlineSchema,
        calendar.STREAM_PREFIX,
    )
    found.reads(
        DeadlineListQuery,
        DeadlinePageSchema,
        {"year": "year", "kind": "kind", "status": "status"},
    )
    found.create(
        SetDeadlineSchema,
        set_deadline,
        "Set a deadline of a year by decision (one of a kind a year): quality reports due, "
        "results due, the interim report's date and due date, the annual report due.",
    )
    found.command(
        "change",
        ChangeDeadlineSchema,
        change_deadline,
        "Move a deadline (or relabel it) by a new decision, with the reason; the earlier date "
        "stays in its history and in reads `as_of` before the change.",
    )
    found.command(
        "remove",
        ReasonedDecisionSchema,
        remove_deadline,
        "Take a deadline out of the year's wheel by decision, with the reason.",
    )
    return blp


def calendar_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "calendar",
        __name__,
        url_prefix="/api/v1",
        description="The annual wheel of a year, and what is overdue against it",
    )

    @blp.route("/calendar")
    class Calendar(MethodView):
        @blp.arguments(CalendarQuery, location="query")
        @blp.response(200, CalendarSchema)
        def get(self, query: Body) -> Body:
            """The deadlines about a year, in date order, each with its decision and history,
            as decided `as_of` an instant."""
            with runtime.pool.connection() as conn:
                return overdue.year_calendar(
                    conn, values.year(query["year"], "year"), query.get("as_of")
                )

    @blp.route("/overdue")
    class Overdue(MethodView):
        @blp.arguments(OverdueQuery, location="query")
        @blp.response(200, OverdueSchema)
        def get(self, query: Body) -> Body:
            """What is late at an instant (default now), per owning unit: results missing
            after the results deadline, quality reports not submitted by theirs, activities
            past their due date."""
            unit_id = query.get("unit_id")
            with runtime.pool.connection() as conn:
                if unit_id is not None and known.unit(conn, unit_id) is None:
                    # a 422, not a 404: a list route is never missing, its filter is wrong
                    raise InvalidInput(
                        f"no organisation unit {unit_id} is known here",
                        {"unit_id": ["unknown unit"]},
                    )
                return overdue.overdue(conn, query.get("as_of"), unit_id)

    return blp
