"""Request and response schemas of the goals API (marshmallow; OpenAPI is generated from them).

Unknown fields are refused (marshmallow's default), so a misspelt field is named in a 422.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.goals.domain import documents, goal, indicator, organisation
from services.goals.domain.decisions import ROLES
from services.goals.domain.documents import DOCUMENT_TYPES
from services.goals.domain.goal import LEVELS, OUTCOMES, PERSPECTIVES, RELATIONS
from services.goals.domain.indicator import DIRECTIONS, SOURCES
from services.goals.domain.organisation import KINDS
from shared.schemas import AsOfQuery, Number, PageQuery, StrictDate, Year

TITLE = validate.Length(min=1, max=500)
TEXT = validate.Length(max=10_000)
#: ASCII digits and \Z: "\d" would take Unicode digits and "$" a trailing newline.
PERIOD = [
    validate.Length(max=9),
    validate.Regexp(r"\A[0-9]{4}-[0-9]{4}\Z", error="a mandate period like 2023-2026"),
]


def _id(**kw: object) -> fields.Str:
    return fields.Str(validate=validate.Length(min=1, max=200), **kw)  # type: ignore[arg-type]


# -- shared pieces ------------------------------------------------------------------------------


class DecisionFields(Schema):
    decided_by = _id(
        required=True,
        metadata={
            "description": "the deciding body as an organisation unit id, or a role: "
            + ", ".join(ROLES)
        },
    )
    decided_on = StrictDate(
        required=True,
        metadata={"description": "date of the decision (not in the future, Europe/Stockholm)"},
    )
    minute_ref = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={
            "description": "minute reference (protokollsparagraf), e.g. KF 2026-03-12 §45. "
            "Required, non-empty, when decided_by is a political body (council, executive "
            "board, committee, company board): without it the command is a 422 naming "
            "minute_ref. Optional only for a decision of a role (" + ", ".join(ROLES) + ")."
        },
    )


DATE_OUT = {"format": "date"}


class DecisionOut(Schema):
    decided_by = fields.Str()
    decided_on = fields.Str(metadata=DATE_OUT)
    minute_ref = fields.Str(allow_none=True)


class ReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ReasonAndDecisionSchema(DecisionFields):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class Page(Schema):
    next_cursor = fields.Str(allow_none=True)


# -- organisation units -------------------------------------------------------------------------


class CreateOrgUnitSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Str(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={
            "description": "council (kommunfullmäktige), executive_board "
            "(kommunstyrelsen), committee (nämnd), company (bolag), sector "
            "(sektor) or unit (enhet)"
        },
    )
    parent_id = _id(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the unit it belongs under. Required for every kind but council "
            "(422 without); a council has none (409 with one)"
        },
    )


class RenameOrgUnitSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class MoveOrgUnitSchema(Schema):
    parent_id = _id(required=True)


class OrgUnitSchema(Schema):
    id = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    parent_id = fields.Str(allow_none=True)
    status = fields.Str(metadata={"description": "active or closed"})
    version = fields.Int(metadata={"description": "stream version; also the ETag"})


class OrgUnitListQuery(PageQuery):
    kind = fields.Str(validate=validate.OneOf(KINDS))
    parent_id = _id()
    status = fields.Str(validate=validate.OneOf(organisation.STATUSES))


class OrgUnitPageSchema(Page):
    items = fields.List(fields.Nested(OrgUnitSchema))


# -- steering documents -------------------------------------------------------------------------


class DocumentContentFields(Schema):
    title = fields.Str(validate=TITLE)
    summary = fields.Str(validate=TEXT)
    valid_from = StrictDate()
    valid_to = StrictDate(allow_none=True)


class DraftDocumentSchema(DocumentContentFields):
    doc_type = fields.Str(required=True, validate=validate.OneOf(DOCUMENT_TYPES))
    owner_unit_id = _id(required=True)
    title = fields.Str(required=True, validate=TITLE)
    summary = fields.Str(load_default="", validate=TEXT)
    valid_from = StrictDate(required=True)
    valid_to = StrictDate(load_default=None, allow_none=True)


class ReviseDocumentSchema(DocumentContentFields, DecisionFields):
    pass


class RepealDocumentSchema(ReasonAndDecisionSchema):
    pass


class DocumentContentOut(Schema):
    title = fields.Str()
    summary = fields.Str()
    valid_from = fields.Str(metadata=DATE_OUT)
    valid_to = fields.Str(allow_none=True, metadata=DATE_OUT)


class DocumentSchema(Schema):
    id = fields.Str()
    doc_type = fields.Str()
    owner_unit_id = fields.Str()
    content = fields.Nested(DocumentContentOut)
    status = fields.Str(metadata={"description": "draft, adopted or repealed"})
    edition = fields.Int(metadata={"description": "1 when adopted, +1 per revision"})
    decision = fields.Nested(DecisionOut, allow_none=True)
    version = fields.Int()


class DocumentListQuery(PageQuery):
    doc_type = fields.Str(validate=validate.OneOf(DOCUMENT_TYPES))
    owner_unit_id = _id()
    status = fields.Str(validate=validate.OneOf(documents.STATUSES))


class DocumentPageSchema(Page):
    items = fields.List(fields.Nested(DocumentSchema))


# -- development areas --------------------------------------------------------------------------


class DefineAreaSchema(DecisionFields):
    """Defined by the council (kommunfullmäktige): decided_by, decided_on and minute_ref."""

    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    description = fields.Str(load_default="", validate=TEXT)
    plan_id = _id(load_default=None, allow_none=True)


class AreaSchema(Schema):
    id = fields.Str()
    name = fields.Str()
    description = fields.Str()
    plan_id = fields.Str(allow_none=True)
    status = fields.Str()
    version = fields.Int()


class AreaListQuery(PageQuery):
    status = fields.Str(validate=validate.OneOf(("active", "retired")))


class AreaPageSchema(Page):
    items = fields.List(fields.Nested(AreaSchema))


# -- goals --------------------------------------------------------------------------------------


class LineageSchema(Schema):
    relation = fields.Str(required=True, validate=validate.OneOf(RELATIONS))
    predecessors = fields.List(_id(), required=True, validate=validate.Length(min=1, max=20))


class GoalChangeFields(Schema):
    title = fields.Str(validate=TITLE)
    description = fields.Str(validate=TEXT)
    perspectives = fields.List(
        fields.Str(validate=validate.OneOf(PERSPECTIVES)),
        validate=validate.Length(max=len(PERSPECTIVES)),
        metadata={"description": "sustainability perspectives"},
    )
    development_area_id = _id(allow_none=True)
    programme_id = _id(allow_none=True)
    derived_from = fields.List(
        _id(),
        validate=validate.Length(max=50),
        metadata={"description": "strategic goals it serves"},
    )


class DraftGoalSchema(GoalChangeFields):
    level = fields.Str(required=True, validate=validate.OneOf(LEVELS))
    owner_unit_id = _id(required=True)
    period = fields.Str(required=True, validate=PERIOD)
    title = fields.Str(required=True, validate=TITLE)
    development_area_id = _id(
        allow_none=True,
        metadata={
            "description": "the development area the goal belongs to. Required for a "
            "strategic goal (422 without it); not for an operational one"
        },
    )
    derived_from = fields.List(
        _id(),
        validate=validate.Length(max=50),
        metadata={
            "description": "the adopted strategic goals it serves. Required, at least one, "
            "for an operational goal (422 without); must be absent for a strategic one"
        },
    )
    lineage = fields.Nested(LineageSchema, load_default=None, allow_none=True)


class ReviseGoalSchema(GoalChangeFields, DecisionFields):
    pass


class EvaluateGoalSchema(DecisionFields):
    """Decided by the body that adopts the goal: the council, or the owning committee or board."""

    outcome = fields.Str(required=True, validate=validate.OneOf(OUTCOMES))
    reasoning = fields.Str(required=True, validate=validate.Length(min=1, max=10_000))
    evaluated_on = StrictDate(required=True)


class GoalContentOut(Schema):
    title = fields.Str()
    description = fields.Str()
    perspectives = fields.List(fields.Str())


class PlacementOut(Schema):
    development_area_id = fields.Str(allow_none=True)
    programme_id = fields.Str(allow_none=True)
    derived_from = fields.List(fields.Str())


class SuccessorOut(Schema):
    goal_id = fields.Str()
    relation = fields.Str()


class EvaluationOut(Schema):
    outcome = fields.Str()
    reasoning = fields.Str()
    evaluated_on = fields.Str(metadata=DATE_OUT)


class GoalSchema(Schema):
    id = fields.Str()
    level = fields.Str()
    owner_unit_id = fields.Str()
    period = fields.Str()
    content = fields.Nested(GoalContentOut)
    placement = fields.Nested(PlacementOut)
    lineage = fields.Nested(LineageSchema, allow_none=True)
    status = fields.Str(metadata={"description": "draft, adopted or retired"})
    decision = fields.Nested(DecisionOut, allow_none=True)
    evaluation = fields.Nested(EvaluationOut, allow_none=True)
    successors = fields.List(fields.Nested(SuccessorOut))
    version = fields.Int()


class GoalListQuery(PageQuery):
    level = fields.Str(validate=validate.OneOf(LEVELS))
    owner_unit_id = _id()
    period = fields.Str(validate=PERIOD)
    status = fields.Str(validate=validate.OneOf(goal.STATUSES))
    development_area_id = _id()


class GoalPageSchema(Page):
    items = fields.List(fields.Nested(GoalSchema))


class TreeQuery(AsOfQuery):
    period = fields.Str(validate=PERIOD)


# -- indicators ---------------------------------------------------------------------------------


class SourceSchema(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(SOURCES))
    kpi_id = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "Kolada KPI id, e.g. N00945"},
    )
    description = fields.Str(load_default="", validate=validate.Length(max=500))


class BaselineSchema(Schema):
    value = Number(required=True)
    year = Year(required=True)


class ThresholdsSchema(Schema):
    green = Number(required=True)
    yellow = Number(required=True)


class SetThresholdsSchema(ThresholdsSchema, DecisionFields):
    pass


class DefineIndicatorSchema(DecisionFields):
    """Decided with the goal: by the council for a strategic goal, by the owning committee or
    company board for an operational one."""

    name = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    unit_of_measure = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    direction = fields.Str(required=True, validate=validate.OneOf(DIRECTIONS))
    source = fields.Nested(SourceSchema, required=True)
    baseline = fields.Nested(BaselineSchema, load_default=None, allow_none=True)
    targets = fields.Dict(
        keys=fields.Str(validate=validate.Length(min=1, max=10)),  # years, parsed by the domain
        values=Number(),
        load_default=dict,
        validate=validate.Length(max=20),
        metadata={"description": 'target per year of the mandate period, e.g. {"2026": 85}'},
    )
    thresholds = fields.Nested(ThresholdsSchema, load_default=None, allow_none=True)


class TargetSchema(DecisionFields):
    year = Year(required=True)
    value = Number(required=True)


class DefinitionOut(Schema):
    name = fields.Str()
    unit_of_measure = fields.Str()
    direction = fields.Str()
    source = fields.Nested(SourceSchema)
    baseline = fields.Nested(BaselineSchema, allow_none=True)


class IndicatorSchema(Schema):
    id = fields.Str()
    goal_id = fields.Str()
    definition = fields.Nested(DefinitionOut)
    targets = fields.Dict(keys=fields.Str(), values=fields.Float())
    thresholds = fields.Nested(ThresholdsSchema, allow_none=True)
    status = fields.Str()
    version = fields.Int()


class IndicatorListQuery(PageQuery):
    status = fields.Str(validate=validate.OneOf(indicator.STATUSES))


class IndicatorPageSchema(Page):
    items = fields.List(fields.Nested(IndicatorSchema))


class TreeSchema(Schema):
    as_of = fields.DateTime(allow_none=True)
    period = fields.Str(allow_none=True)
    vision = fields.Dict(allow_none=True)
    development_areas = fields.List(fields.Dict())
    goal_count = fields.Int()
