"""Request and response schemas of the plans API (marshmallow; OpenAPI is generated from them)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.plans.domain.activity import STATUSES
from services.plans.domain.plan import PHASES, PLAN_STATUSES
from shared.schemas import PageQuery, StrictDate

DATE_OUT = {"format": "date"}
ID = validate.Length(min=1, max=200)


class DraftPlanSchema(Schema):
    unit_id = fields.Str(required=True, validate=ID)
    period = fields.Str(
        required=True,
        validate=validate.Length(min=4, max=7),
        metadata={"description": "calendar year (2026) or school year (2025/26)"},
    )
    title = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    goal_ids = fields.List(
        fields.Str(validate=ID),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={"description": "adopted operational goals it serves"},
    )


class LinkGoalsSchema(Schema):
    goal_ids = fields.List(fields.Str(validate=ID), required=True, validate=validate.Length(max=50))


class AdoptPlanSchema(Schema):
    decided_by = fields.Str(
        required=True, validate=ID, metadata={"description": "the plan's own unit (its manager)"}
    )
    decided_on = StrictDate(required=True)
    minute_ref = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))


class RevisePlanSchema(AdoptPlanSchema):
    title = fields.Str(validate=validate.Length(min=1, max=300))
    goal_ids = fields.List(fields.Str(validate=ID), validate=validate.Length(max=50))


class PhaseSchema(Schema):
    phase = fields.Str(
        required=True,
        validate=validate.OneOf(PHASES),
        metadata={
            "description": "plan (planera), do (genomföra), evaluate (utvärdera), improve "
            "(förbättra)"
        },
    )
    since = StrictDate(
        load_default=None,
        allow_none=True,
        metadata={"description": "the day the phase began (default today)"},
    )


class ClosePlanSchema(Schema):
    summary = fields.Str(load_default="", validate=validate.Length(max=10_000))


class PhaseOut(Schema):
    phase = fields.Str()
    since = fields.Str(metadata=DATE_OUT)


class ReviewFlagOut(Schema):
    goal_id = fields.Str()
    reason = fields.Str(metadata={"description": "goal_revised or goal_retired"})
    cause_event_id = fields.Str()
    flagged_on = fields.Str(metadata=DATE_OUT)


class PlanSchema(Schema):
    id = fields.Str()
    unit_id = fields.Str()
    period = fields.Str()
    title = fields.Str()
    goal_ids = fields.List(fields.Str())
    status = fields.Str(metadata={"description": "draft, adopted or closed"})
    decided_by = fields.Str(allow_none=True)
    decided_on = fields.Str(allow_none=True, metadata=DATE_OUT)
    minute_ref = fields.Str(
        allow_none=True,
        metadata={"description": "the minute (protokoll §) of the adoption or last revision"},
    )
    phases = fields.List(
        fields.Nested(PhaseOut),
        metadata={
            "description": "the PDCA phases, each with the day it began; the last is current"
        },
    )
    review_flags = fields.List(fields.Nested(ReviewFlagOut))
    version = fields.Int()


class PlanListQuery(PageQuery):
    unit_id = fields.Str(validate=ID)
    period = fields.Str(validate=validate.Length(max=7))
    status = fields.Str(validate=validate.OneOf(PLAN_STATUSES))


class PlanPageSchema(Schema):
    items = fields.List(fields.Nested(PlanSchema))
    next_cursor = fields.Str(allow_none=True)


class PlanActivitySchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    owner = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "a role or a reference (no more personal data than needed)"},
    )
    starts_on = StrictDate(required=True)
    due_on = StrictDate(required=True)
    goal_ids = fields.List(
        fields.Str(validate=ID),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={"description": "goals of its plan that it serves"},
    )
    indicator_ids = fields.List(
        fields.Str(validate=ID),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={"description": "indicators of those goals that measure it"},
    )


class ProgressSchema(Schema):
    status = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=10_000))
    reason = fields.Str(
        load_default="",
        validate=validate.Length(max=2000),
        metadata={
            "description": "why; required, non-empty, when status is cancelled (422 without)"
        },
    )


class WorkOut(Schema):
    title = fields.Str()
    owner = fields.Str()
    starts_on = fields.Str(metadata=DATE_OUT)
    due_on = fields.Str(metadata=DATE_OUT)
    goal_ids = fields.List(fields.Str())
    indicator_ids = fields.List(fields.Str())


class NoteOut(Schema):
    written_on = fields.Str(metadata=DATE_OUT)
    text = fields.Str()


class ActivitySchema(Schema):
    id = fields.Str()
    plan_id = fields.Str()
    work = fields.Nested(WorkOut)
    status = fields.Str()
    cancel_reason = fields.Str(allow_none=True)
    notes = fields.List(fields.Nested(NoteOut))
    proposed_by = fields.Str(allow_none=True)
    overdue = fields.Bool(metadata={"description": "derived: open and past its due date"})
    version = fields.Int()


class ActivityListQuery(PageQuery):
    status = fields.Str(validate=validate.OneOf(STATUSES))


class ActivityPageSchema(Schema):
    items = fields.List(fields.Nested(ActivitySchema))
    next_cursor = fields.Str(allow_none=True)


class MakeAgreementSchema(Schema):
    employee_ref = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "an opaque reference such as an HR id; never a name"},
    )
    activity_ids = fields.List(
        fields.Str(validate=ID), required=True, validate=validate.Length(min=1, max=100)
    )
    agreed_on = StrictDate(required=True, metadata={"description": "day of the appraisal talk"})


class ChangeAgreementSchema(Schema):
    activity_ids = fields.List(
        fields.Str(validate=ID), required=True, validate=validate.Length(min=1, max=100)
    )
    agreed_on = StrictDate(required=True)


class EndAgreementSchema(Schema):
    ended_on = StrictDate(required=True)


class AgreementSchema(Schema):
    id = fields.Str()
    plan_id = fields.Str()
    unit_id = fields.Str()
    employee_ref = fields.Str()
    activity_ids = fields.List(fields.Str())
    agreed_on = fields.Str(metadata=DATE_OUT)
    status = fields.Str(metadata={"description": "active or ended"})
    version = fields.Int()


class AgreementPageSchema(Schema):
    items = fields.List(fields.Nested(AgreementSchema))
    next_cursor = fields.Str(allow_none=True)
