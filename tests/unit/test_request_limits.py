"""Every string and list a request can carry has an upper bound (issue #8: nothing can stall
delivery). The request schemas are found where the routes use them, so a new schema or field
that forgets its bound fails here."""

from __future__ import annotations

import ast
import importlib
import inspect
from typing import Any

from marshmallow import Schema, fields, validate

from shared.config import Config

#: modules whose routes take request schemas
ROUTE_MODULES = ("services.goals.api", "services.plans.api", "shared.admin")
#: how a route names its request schema: method -> index of the schema argument
SCHEMA_ARGUMENT = {"arguments": 0, "reads": 0, "create": 0, "command": 1}


def request_schemas() -> dict[str, type[Schema]]:
    found: dict[str, type[Schema]] = {}
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            index = SCHEMA_ARGUMENT.get(node.func.attr)
            if index is None or len(node.args) <= index:
                continue
            argument = node.args[index]
            if not isinstance(argument, ast.Name | ast.Attribute):
                continue
            try:
                value = eval(compile(ast.Expression(argument), name, "eval"), vars(module))
            except NameError:  # a variable (shared.resources' own routes): not a schema name
                continue
            if isinstance(value, type) and issubclass(value, Schema):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def _bounded(field: fields.Field[Any]) -> bool:
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            return True
        if isinstance(validator, validate.OneOf):
            return True
    return False


def unbounded_fields(schema: Schema | type[Schema], path: str) -> list[str]:
    instance = schema() if isinstance(schema, type) else schema
    problems: list[str] = []
    for name, field in instance.fields.items():
        problems += _unbounded(field, f"{path}.{name}")
    return problems


def _unbounded(field: fields.Field[Any], path: str) -> list[str]:
    problems: list[str] = []
    many = isinstance(field, fields.Nested) and field.many
    sized = many or isinstance(field, fields.String | fields.List | fields.Dict | fields.Tuple)
    if sized and not _bounded(field):
        problems.append(f"{path}: {type(field).__name__} without maxLength/maxItems")
    if isinstance(field, fields.List):
        problems += _unbounded(field.inner, f"{path}[]")
    if isinstance(field, fields.Dict):
        if field.key_field is not None:
            problems += _unbounded(field.key_field, f"{path}{{key}}")
        if field.value_field is not None:
            problems += _unbounded(field.value_field, f"{path}{{value}}")
    if isinstance(field, fields.Nested):
        problems += unbounded_fields(field.schema, path)
    return problems


def test_the_routes_request_schemas_are_found() -> None:
    names = set(request_schemas())
    assert len(names) >= 30, names
    assert "services.plans.schemas.PlanActivitySchema" in names
    assert "services.goals.schemas.DefineIndicatorSchema" in names
    assert "services.goals.schemas.GoalListQuery" in names
    assert "shared.admin.RepublishSchema" in names


def test_every_string_and_list_of_every_request_schema_has_an_upper_bound() -> None:
    problems = [
        problem
        for name, schema in sorted(request_schemas().items())
        for problem in unbounded_fields(schema, name)
    ]
    assert problems == []


def test_the_check_finds_an_unbounded_field() -> None:
    class Inner(Schema):
        ids = fields.List(fields.Str(), validate=validate.Length(max=3))

    class Forgetful(Schema):
        bounded = fields.Str(validate=validate.Length(max=10))
        text = fields.Str()
        items = fields.List(fields.Str(validate=validate.Length(max=10)))
        nested = fields.Nested(Inner)

    assert sorted(unbounded_fields(Forgetful, "F")) == [
        "F.items: List without maxLength/maxItems",
        "F.nested.ids[]: String without maxLength/maxItems",
        "F.text: String without maxLength/maxItems",
    ]


def test_request_and_message_limits_come_from_the_environment() -> None:
    env = {"DATABASE_URL": "postgresql://x/y"}
    config = Config.from_env("plans", env)
    assert config.max_request_bytes == 1_048_576
    assert config.kafka_max_message_bytes == 1_000_000
    config = Config.from_env(
        "plans", {**env, "STYRKORT_MAX_REQUEST_BYTES": "2048", "KAFKA_MAX_MESSAGE_BYTES": "5000"}
    )
    assert (config.max_request_bytes, config.kafka_max_message_bytes) == (2048, 5000)
