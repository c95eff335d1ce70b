"""The HTTP conventions' contract without I/O: Problem types, strong If-Match, JSONL lines."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from shared.admin import jsonl_line
from shared.errors import InvalidInput
from shared.http import (
    PROBLEM_BASE,
    PROBLEM_TYPES,
    UNKNOWN_QUERY_PARAMETER,
    VERSION_CONFLICT,
    PreconditionFailed,
    if_match_version,
    problem,
    problem_type_uri,
    register_error_handlers,
)
from tests.support import REPO


def test_every_problem_type_is_documented_with_its_status() -> None:
    doc = (REPO / "docs" / "problems.md").read_text(encoding="utf-8")
    assert PROBLEM_BASE in doc
    for status, kind in {
        **PROBLEM_TYPES,
        400: UNKNOWN_QUERY_PARAMETER,
        409: VERSION_CONFLICT,
    }.items():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{kind}`")), None)
        assert row is not None, f"docs/problems.md has no row for {kind}"
        assert str(status) in row, f"the row of {kind} does not name {status}"


def test_one_type_per_kind_and_about_blank_otherwise() -> None:
    statuses: dict[str, list[int]] = {}
    for status, kind in PROBLEM_TYPES.items():
        statuses.setdefault(kind, []).append(status)
    shared = {kind: found for kind, found in statuses.items() if len(found) > 1}
    assert shared == {"too-large": [413, 414]}
    assert problem_type_uri(409) == PROBLEM_BASE + "rule-violation"
    assert problem_type_uri(409, VERSION_CONFLICT) == PROBLEM_BASE + "version-conflict"
    assert problem_type_uri(412) == PROBLEM_BASE + "version-conflict"
    assert problem_type_uri(406) == "about:blank"


@pytest.fixture
def app() -> Flask:
    app = Flask("contract")
    register_error_handlers(app)
    return app


def test_a_problem_keeps_its_extension_members(app: Flask) -> None:
    with app.test_request_context("/api/v1/goals/x/adopt"):
        response = problem(403, "Forbidden", "no", unit_id="u", scope="s", rule="r")
    body: dict[str, Any] = json.loads(response.get_data())
    assert response.mimetype == "application/problem+json"
    assert body["type"] == PROBLEM_BASE + "forbidden"
    assert (body["unit_id"], body["scope"], body["rule"]) == ("u", "s", "r")


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ('"2"', 2), (' "17" ', 17), ("3", 3)],
)
def test_if_match_names_a_version(app: Flask, header: str | None, expected: int | None) -> None:
    headers = {"If-Match": header} if header is not None else {}
    with app.test_request_context("/", headers=headers):
        assert if_match_version() == expected


@pytest.mark.parametrize("header", ['W/"2"', "W/2", 'W/"abc"'])
def test_a_weak_if_match_never_matches(app: Flask, header: str) -> None:
    with (
        app.test_request_context("/", headers={"If-Match": header}),
        pytest.raises(PreconditionFailed) as raised,
    ):
        if_match_version()
    assert raised.value.status == 412 and raised.value.problem_type == VERSION_CONFLICT
    assert "If-Match" in raised.value.fields


@pytest.mark.parametrize("header", ['"two"', "*", '""', '"²"'])
def test_a_malformed_if_match_is_invalid_input(app: Flask, header: str) -> None:
    with (
        app.test_request_context("/", headers={"If-Match": header}),
        pytest.raises(InvalidInput),
    ):
        if_match_version()


def test_a_jsonl_line_has_no_line_break_but_its_last() -> None:
    value = {"a": "x\u2028y\u0085z\u2029 å\n\r", "b": ["\u2028"], "\u2029": 1}
    line = jsonl_line(value)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert len(line.decode("utf-8").splitlines()) == 1
    for character in ("\u2028", "\u2029", "\u0085"):
        assert character.encode() not in line
    assert json.loads(line) == value
    assert "å".encode() in line  # still UTF-8, not ASCII-escaped
