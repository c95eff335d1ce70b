"""Request and response schemas of the reports API (marshmallow; OpenAPI is generated from them).

Values are checked strictly once more in the domain (shared.values): the schemas say the shape."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.reports.domain.assessment import VERDICTS
from services.reports.domain.report import METHODS, SECTIONS
from services.reports.domain.result import SOURCES
from shared.schemas import AsOfQuery, Number, PageQuery, StrictDate, Year

DATE_OUT = {"format": "date"}
ID = validate.Length(min=1, max=200)
LONG_TEXT = validate.Length(max=20_000)


class DecisionSchema(Schema):
    decided_by = fields.Str(required=True, validate=ID)
    decided_on = StrictDate(required=True)
    minute_ref = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "required for a political body's decision, e.g. 'BUN §7'"},
    )


class ReasonedDecisionSchema(DecisionSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


# -- results -------------------------------------------------------------------------------------


class MeasurementSchema(Schema):
    value = Number(required=True, metadata={"description": "the total (totalt)"})
    women = Number(load_default=None, allow_none=True, metadata={"description": "kvinnor"})
    men = Number(load_default=None, allow_none=True, metadata={"description": "män"})
    source = fields.Str(load_default="manual", validate=validate.OneOf(SOURCES))
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class RecordResultSchema(MeasurementSchema):
    indicator_id = fields.Str(required=True, validate=ID)
    period = fields.Str(
        required=True,
        validate=validate.Length(min=4, max=10),
        metadata={"description": "a year (2025) or an interim date (2026-08-31)"},
    )


class CorrectResultSchema(MeasurementSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ResultSchema(Schema):
    id = fields.Str()
    indicator_id = fields.Str()
    period = fields.Str()
    year = fields.Int()
    value = fields.Float()
    women = fields.Float(allow_none=True)
    men = fields.Float(allow_none=True)
    source = fields.Str()
    comment = fields.Str()
    status = fields.Str(metadata={"description": "recorded or withdrawn"})
    corrections = fields.Int()
    version = fields.Int()


class ResultListQuery(PageQuery):
    indicator_id = fields.Str(validate=ID)
    period = fields.Str(validate=validate.Length(min=4, max=10))
    status = fields.Str(validate=validate.OneOf(("recorded", "withdrawn")))


class ResultPageSchema(Schema):
    items = fields.List(fields.Nested(ResultSchema))
    next_cursor = fields.Str(allow_none=True)


# -- assessments ---------------------------------------------------------------------------------


class AssessGoalSchema(Schema):
    goal_id = fields.Str(required=True, validate=ID)
    year = Year(required=True)
    verdict = fields.Str(required=True, validate=validate.OneOf(VERDICTS))
    analysis = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=20_000),
        metadata={"description": "the analysis that supports the verdict (required)"},
    )


class AssessmentSchema(Schema):
    id = fields.Str()
    goal_id = fields.Str()
    year = fields.Int()
    verdict = fields.Str()
    analysis = fields.Str()
    assessed_on = fields.Str(metadata=DATE_OUT)
    assessments = fields.Int(metadata={"description": "how many times the goal was assessed"})
    version = fields.Int()


class AssessmentListQuery(PageQuery):
    goal_id = fields.Str(validate=ID)
    verdict = fields.Str(validate=validate.OneOf(VERDICTS))


class AssessmentPageSchema(Schema):
    items = fields.List(fields.Nested(AssessmentSchema))
    next_cursor = fields.Str(allow_none=True)


# -- quality reports -----------------------------------------------------------------------------


class StartReportSchema(Schema):
    unit_id = fields.Str(required=True, validate=ID)
    period = fields.Str(
        required=True,
        validate=validate.Length(min=4, max=7),
        metadata={"description": "calendar year (2025) or school year (2024/25)"},
    )


class ReportGoalSchema(Schema):
    goal_id = fields.Str(required=True, validate=ID)
    verdict = fields.Str(required=True, validate=validate.OneOf(VERDICTS))
    analysis = fields.Str(required=True, validate=validate.Length(min=1, max=20_000))


class ActivitiesCommentSchema(Schema):
    comment = fields.Str(required=True, validate=LONG_TEXT)


class QualityAssuranceSchema(Schema):
    methods = fields.List(
        fields.Str(validate=validate.OneOf(METHODS)),
        required=True,
        validate=validate.Length(max=len(METHODS)),
    )
    text = fields.Str(required=True, validate=validate.Length(min=1, max=20_000))


class AreaSchema(Schema):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    description = fields.Str(load_default="", validate=validate.Length(max=4000))


class ImprovementAreasSchema(Schema):
    areas = fields.List(fields.Nested(AreaSchema), required=True, validate=validate.Length(max=50))


class SectionDoneSchema(Schema):
    section = fields.Str(required=True, validate=validate.OneOf(SECTIONS))


class EmptySchema(Schema):
    pass


class GoalSectionOut(Schema):
    goal_id = fields.Str()
    verdict = fields.Str()
    analysis = fields.Str()


class NoteOut(Schema):
    written_on = fields.Str(metadata=DATE_OUT)
    text = fields.Str()


class OutcomeOut(Schema):
    activity_id = fields.Str()
    title = fields.Str()
    status = fields.Str()
    outcome = fields.Str(metadata={"description": "done, cancelled, overdue or open"})
    due_on = fields.Str(metadata=DATE_OUT)
    completed_on = fields.Str(allow_none=True, metadata=DATE_OUT)
    cancelled_on = fields.Str(allow_none=True, metadata=DATE_OUT)
    cancel_reason = fields.Str(allow_none=True)
    notes = fields.List(fields.Nested(NoteOut))


class QualityAssuranceOut(Schema):
    methods = fields.List(fields.Str())
    text = fields.Str()


class ReopeningOut(Schema):
    reason = fields.Str()
    decided_by = fields.Str()
    decided_on = fields.Str(metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)


class QualityReportSchema(Schema):
    id = fields.Str()
    unit_id = fields.Str()
    period = fields.Str()
    plan_id = fields.Str(allow_none=True)
    goal_ids = fields.List(fields.Str())
    status = fields.Str(metadata={"description": "draft, submitted or approved"})
    goal_sections = fields.List(fields.Nested(GoalSectionOut))
    activities_comment = fields.Str()
    quality_assurance = fields.Nested(QualityAssuranceOut)
    improvement_areas = fields.List(fields.Nested(AreaSchema))
    proposal_ids = fields.List(fields.Str())
    done = fields.List(fields.Str(), metadata={"description": "sections marked done"})
    submitted_on = fields.Str(allow_none=True, metadata=DATE_OUT)
    activity_outcomes = fields.List(
        fields.Nested(OutcomeOut),
        metadata={
            "description": "fixed at submission; a draft read now shows the plan as it "
            "stands, a draft read as_of a past instant none (null)"
        },
    )
    decided_by = fields.Str(allow_none=True)
    decided_on = fields.Str(allow_none=True, metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)
    reopenings = fields.List(fields.Nested(ReopeningOut))
    version = fields.Int()


class ReportListQuery(PageQuery):
    unit_id = fields.Str(validate=ID)
    period = fields.Str(validate=validate.Length(min=4, max=7))
    status = fields.Str(validate=validate.OneOf(("draft", "submitted", "approved")))


class ReportPageSchema(Schema):
    items = fields.List(fields.Nested(QualityReportSchema))
    next_cursor = fields.Str(allow_none=True)


# -- improvement proposals -----------------------------------------------------------------------


class DraftProposalSchema(Schema):
    report_id = fields.Str(required=True, validate=ID)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    description = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class EditProposalSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=300))
    description = fields.Str(allow_none=True, validate=validate.Length(max=4000))


class ProposalSchema(Schema):
    id = fields.Str()
    report_id = fields.Str()
    unit_id = fields.Str()
    period = fields.Str()
    title = fields.Str()
    description = fields.Str()
    status = fields.Str(metadata={"description": "draft, withdrawn or proposed"})
    decided_by = fields.Str(allow_none=True)
    decided_on = fields.Str(allow_none=True, metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)
    version = fields.Int()


class ProposalListQuery(PageQuery):
    report_id = fields.Str(validate=ID)
    unit_id = fields.Str(validate=ID)
    status = fields.Str(validate=validate.OneOf(("draft", "withdrawn", "proposed")))


class ProposalPageSchema(Schema):
    items = fields.List(fields.Nested(ProposalSchema))
    next_cursor = fields.Str(allow_none=True)


# -- the year's close, the status rules, the scorecard ------------------------------------------


class YearDecisionOut(Schema):
    kind = fields.Str(metadata={"description": "approved or reopened"})
    decided_by = fields.Str()
    decided_on = fields.Str(metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)


class AnnualApprovalSchema(Schema):
    id = fields.Str()
    year = fields.Int()
    status = fields.Str(metadata={"description": "approved (the year is closed) or reopened"})
    closed = fields.Bool()
    decided_by = fields.Str()
    decided_on = fields.Str(metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)
    decisions = fields.List(fields.Nested(YearDecisionOut))
    version = fields.Int()


class StatusRulesInSchema(DecisionSchema):
    yellow_share_of_target = Number(load_default=0.8)
    goal_met_share = Number(load_default=1.0)
    goal_partly_met_share = Number(load_default=0.5)
    trend_tolerance = Number(load_default=0.0)


class StatusRulesSchema(Schema):
    yellow_share_of_target = fields.Float()
    goal_met_share = fields.Float()
    goal_partly_met_share = fields.Float()
    trend_tolerance = fields.Float()
    decided_by = fields.Str(allow_none=True)
    decided_on = fields.Str(allow_none=True, metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)
    version = fields.Int(metadata={"description": "0 while the defaults apply"})


class ScorecardQuery(AsOfQuery):
    unit_id = fields.Str(
        required=True, validate=ID, metadata={"description": "the unit whose subtree is shown"}
    )
    year = fields.Str(
        required=True,
        validate=validate.Length(min=4, max=4),
        metadata={"description": "a calendar year of four digits, e.g. 2025"},
    )
    development_area_id = fields.Str(validate=ID)
    perspective = fields.Str(validate=validate.OneOf(("social", "economic", "environmental")))


class ScorecardSchema(Schema):
    unit_id = fields.Str()
    year = fields.Int()
    as_of = fields.Str(allow_none=True)
    rules = fields.Dict(metadata={"description": "the status rules that applied"})
    summary = fields.Dict(
        metadata={"description": "goals; counts per computed colour and per assessed verdict"}
    )
    goals = fields.List(
        fields.Dict(),
        metadata={
            "description": "each goal with its computed status (colour, counts, text), its "
            "assessment, and its indicators with target, thresholds, result, previous value, "
            "status (colour, trend, share of target, reason) and, for a Kolada indicator, "
            "`comparison`: the year beside the comparison municipalities and their mean "
            "(source Kolada; GET /api/v1/indicators/{id}/comparisons), else null"
        },
    )
