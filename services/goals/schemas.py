"""Request and response schemas of the goals API (marshmallow; OpenAPI is generated from them)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.goals.domain.organisation import KINDS
from shared.schemas import PageQuery

_name = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class CreateOrgUnitSchema(Schema):
    name = _name
    kind = fields.Str(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={
            "description": "council (kommunfullmäktige), executive_board "
            "(kommunstyrelsen), committee (nämnd), company (bolag), sector "
            "(sektor) or unit (enhet)"
        },
    )
    parent_id = fields.Str(load_default=None, allow_none=True)


class RenameOrgUnitSchema(Schema):
    name = _name


class MoveOrgUnitSchema(Schema):
    parent_id = fields.Str(required=True)


class CloseOrgUnitSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class OrgUnitSchema(Schema):
    id = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    parent_id = fields.Str(allow_none=True)
    status = fields.Str(metadata={"description": "active or closed"})
    version = fields.Int(metadata={"description": "stream version; also the ETag"})


class OrgUnitListQuery(PageQuery):
    kind = fields.Str(validate=validate.OneOf(KINDS))
    parent_id = fields.Str()
    status = fields.Str(validate=validate.OneOf(("active", "closed")))


class OrgUnitPageSchema(Schema):
    items = fields.List(fields.Nested(OrgUnitSchema))
    next_cursor = fields.Str(allow_none=True)
