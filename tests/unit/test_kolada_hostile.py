"""Hostile Kolada data met by the pure parsing (services/reports/kolada.py): a value too large
to be a float is a KoladaFormatError naming where it is, never an OverflowError that a job
reports without saying where and the CLI shows as a traceback."""

from __future__ import annotations

import json

import pytest

from services.reports.kolada import (
    KoladaFormatError,
    asked_by,
    data_path,
    parse_document,
    parse_row,
)


def test_an_integer_too_large_for_a_float_is_a_format_error_naming_the_value() -> None:
    row = {"kpi": "N1", "municipality": "1471", "period": 2024, "values": []}
    # json.loads reads 10**400 as an int, which float() cannot hold
    huge = json.loads(json.dumps(row)[:-2] + '{"gender": "T", "value": 1' + "0" * 400 + "}]}")
    with pytest.raises(KoladaFormatError, match=r"row\.values\[0\]\.value: a finite number"):
        parse_row(huge)
    with pytest.raises(KoladaFormatError, match=r"file\[0\]\.values\[0\]\.value"):
        parse_document([huge])


def test_a_data_path_is_answered_with_at_most_one_row_per_key_it_names() -> None:
    path = data_path(["N1", "N2"], ["1471", "1494", "1495"], ["2023", "2024"])
    asked = asked_by(path)
    assert asked.rows == 12 and asked.years == {2023, 2024} and asked.kpis == {"N1", "N2"}
    with pytest.raises(ValueError, match="not a data path"):
        asked_by("/v3/municipality/1471")
