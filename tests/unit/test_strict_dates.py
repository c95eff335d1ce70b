"""Dates in request bodies are YYYY-MM-DD and nothing else, in every service.

marshmallow's Date reads with date.fromisoformat, which also takes "20260315", "2026-W11-7" and
"2026-074": look-alikes of a decision's date that nobody typed as such. StrictDate refuses them,
and no request schema of any service may fall back to the lenient field.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect

import pytest
from marshmallow import Schema, ValidationError, fields

from shared.schemas import StrictDate

LOOK_ALIKES = [
    "20260315",
    "2026-W11-7",
    "2026-074",
    "2026-03-15\n",
    " 2026-03-15",
    "\uff12\uff10\uff12\uff16-03-15",  # full-width digits
    "2026-03-15T00:00",
    "2026-02-30",
    "",
    20260315,
    True,
]


class Body(Schema):
    decided_on = StrictDate(required=True)


def test_a_plain_date_is_read() -> None:
    assert Body().load({"decided_on": "2026-03-15"}) == {"decided_on": dt.date(2026, 3, 15)}


@pytest.mark.parametrize("raw", LOOK_ALIKES)
def test_a_look_alike_date_is_refused_naming_the_field(raw: object) -> None:
    with pytest.raises(ValidationError) as refused:
        Body().load({"decided_on": raw})
    assert "decided_on" in refused.value.messages


@pytest.mark.parametrize(
    "module", ["services.goals.schemas", "services.plans.schemas", "services.reports.schemas"]
)
def test_no_service_schema_reads_dates_leniently(module: str) -> None:
    lenient = [
        f"{name}.{field_name}"
        for name, schema in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(schema, Schema)
        for field_name, field in schema._declared_fields.items()
        if type(field) is fields.Date
    ]
    assert lenient == []
