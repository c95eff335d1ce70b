"""The AsyncAPI document of goals.events: generated from the event classes, never stale (no I/O
but reading the committed file).

A real event of every type, in its CloudEvent envelope, must validate against its message's
schema. jsonschema is not a dependency, so `violations` checks the subset the generator writes;
a test makes sure the generator writes no keyword the checker would silently ignore.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from services.goals.domain.areas import DevelopmentArea
from services.goals.domain.documents import Content, SteeringDocument
from services.goals.domain.goal import Goal, GoalContent, Lineage, Placement
from services.goals.domain.indicator import (
    Baseline,
    DataSource,
    Definition,
    Indicator,
    Thresholds,
)
from services.goals.domain.organisation import OrgUnit
from services.goals.events import registries
from shared import envelope
from shared.aggregate import DomainEvent
from shared.asyncapi import asyncapi_document, message, project_version, render, schema_of
from shared.events import Metadata, RecordedEvent

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi" / "goals.json"
REGENERATE = "python -m shared.asyncapi goals > docs/asyncapi/goals.json"
DOCUMENT = asyncapi_document("goals", registries(), project_version())
MESSAGES = {
    m["name"]: m for m in DOCUMENT["channels"]["goals.events"]["subscribe"]["message"]["oneOf"]
}

KF = "org-unit-0b7e4c1a-2f4d-4c55-9d7e-000000000001"
BUN = "org-unit-0b7e4c1a-2f4d-4c55-9d7e-000000000002"
DOC = "document-5d1c2a7e-8f00-4a2b-b1c4-000000000001"
AREA = "area-9a3e61f0-77c2-4d1e-a0b5-000000000001"
GOAL = "goal-3f9c1e2d-4b5a-4c6d-8e7f-000000000001"
OPERATIONAL = "goal-3f9c1e2d-4b5a-4c6d-8e7f-000000000002"
OLD_GOAL = "goal-3f9c1e2d-4b5a-4c6d-8e7f-000000000000"
INDICATOR = "indicator-c2d4e6f8-1a3b-4c5d-9e0f-000000000001"
DECISION = (KF, dt.date(2026, 3, 12), "KF 2026-03-12 §45")  # decided_by, decided_on, minute_ref
VISION = Content(
    "Vision 2030", "Bo i Götene, lev i världen", dt.date(2026, 4, 1), dt.date(2030, 12, 31)
)
GOAL_CONTENT = GoalContent(
    "Ökad rörlighet för äldre", "Fler äldre tar sig dit de vill", ("social", "environmental")
)
PLACEMENT = Placement(development_area_id=AREA)
KOLADA = Definition(
    "Andel invånare nöjda med kollektivtrafiken",
    "procent",
    "higher_is_better",
    DataSource("kolada", "N00945"),
    Baseline(61.5, 2025),
)

#: one real event of every type the goals service records
SAMPLES: list[DomainEvent] = [
    OrgUnit.Created(KF, "Kommunfullmäktige", "council", None),
    OrgUnit.Created(BUN, "Barn- och utbildningsnämnden", "committee", KF),
    OrgUnit.Renamed(BUN, "Bildningsnämnden"),
    OrgUnit.Moved(BUN, KF),
    OrgUnit.Closed(BUN, "Uppgår i kommunstyrelsen"),
    SteeringDocument.Drafted(DOC, "vision", KF, VISION),
    SteeringDocument.Edited(DOC, Content("Vision", "Utan slutdatum", dt.date(2026, 4, 1))),
    SteeringDocument.Adopted(DOC, 1, *DECISION),
    SteeringDocument.Revised(DOC, 2, VISION, *DECISION),
    SteeringDocument.Repealed(
        DOC, "Ersatt av ny framtidsplan", "chief_executive", dt.date(2027, 1, 9), None
    ),
    DevelopmentArea.Defined(AREA, "Ökad rörlighet", "Kommunikationer och resande", DOC, *DECISION),
    DevelopmentArea.Defined(AREA, "Ett synligt Götene", "", None, None, None, None),
    DevelopmentArea.Retired(AREA, "Slås ihop med Attraktiva livsmiljöer", *DECISION),
    Goal.Drafted(
        GOAL,
        "strategic",
        KF,
        "2027-2030",
        GOAL_CONTENT,
        PLACEMENT,
        Lineage("continues", (OLD_GOAL,)),
    ),
    Goal.Drafted(
        OPERATIONAL,
        "operational",
        BUN,
        "2027-2030",
        GoalContent("Läsa"),
        Placement(derived_from=(GOAL,)),
        None,
    ),
    Goal.Edited(GOAL, GOAL_CONTENT, Placement(AREA, DOC)),
    Goal.Adopted(GOAL, *DECISION),
    Goal.Revised(GOAL, GOAL_CONTENT, PLACEMENT, *DECISION),
    Goal.Retired(GOAL, "Uppnått", *DECISION),
    Goal.Evaluated(
        GOAL,
        "partly_met",
        "Två av tre indikatorer nådde målvärdet",
        dt.date(2030, 12, 1),
        *DECISION,
    ),
    Goal.CarriedForward(OLD_GOAL, GOAL, "continues"),
    Indicator.Defined(INDICATOR, GOAL, KOLADA, *DECISION),
    Indicator.Defined(
        INDICATOR,
        GOAL,
        Definition(
            "Nöjdhet",
            "index",
            "lower_is_better",
            DataSource("survey", None, "Medborgarundersökningen"),
        ),
        None,  # recorded as v1, before indicators carried their decision
        None,
        None,
    ),
    Indicator.TargetSet(INDICATOR, 2027, 65.0, *DECISION),
    Indicator.ThresholdsSet(INDICATOR, Thresholds(green=65, yellow=60.5), *DECISION),
    Indicator.Retired(INDICATOR, "Kolada slutar publicera nyckeltalet", *DECISION),
]


# -- a checker for the subset of JSON Schema draft-07 the generator writes ------------------------

CHECKED = {"type", "const", "enum", "format", "pattern", "minimum", "required", "properties"}
CHECKED |= {"additionalProperties", "propertyNames", "items", "oneOf"}
ANNOTATIONS = {"description", "default"}
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}
FORMATS: dict[str, Callable[[str], object]] = {
    "date": dt.date.fromisoformat,
    "date-time": dt.datetime.fromisoformat,
    "uuid": uuid.UUID,
}


def is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name != "boolean":  # True is an int in Python, not in JSON
        return False
    return isinstance(value, JSON_TYPES[name])


def violations(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What is wrong with `value` against `schema`, one line per problem (empty: valid)."""
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not violations(value, s, path)]
        return [] if len(matching) == 1 else [f"{path}: matches {len(matching)} of oneOf"]
    types = schema.get("type")
    allowed = [types] if isinstance(types, str) else types or list(JSON_TYPES)
    if not any(is_type(value, t) for t in allowed):
        return [f"{path}: {value!r} is not {' or '.join(allowed)}"]
    problems = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        problems += string_violations(value, schema, path)
    if "minimum" in schema and is_type(value, "number") and value < schema["minimum"]:
        problems.append(f"{path}: {value} is below {schema['minimum']}")
    if isinstance(value, dict):
        problems += object_violations(value, schema, path)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += violations(item, schema["items"], f"{path}[{i}]")
    return problems


def string_violations(value: str, schema: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "format" in schema:
        try:
            FORMATS[schema["format"]](value)
        except ValueError:
            problems.append(f"{path}: {value!r} is not a {schema['format']}")
    return problems


def object_violations(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    problems = [f"{path}: '{n}' is missing" for n in schema.get("required", []) if n not in value]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if "propertyNames" in schema:
            problems += violations(name, schema["propertyNames"], f"{path} key {name!r}")
        if name in properties:
            problems += violations(item, properties[name], f"{path}.{name}")
        elif extra is False:
            problems.append(f"{path}: '{name}' is not allowed")
        elif isinstance(extra, dict):
            problems += violations(item, extra, f"{path}.{name}")
    return problems


def keywords(schema: dict[str, Any]) -> set[str]:
    """Every keyword used in a schema and its subschemas."""
    found = set(schema)
    subschemas = [*schema.get("properties", {}).values(), *schema.get("oneOf", [])]
    subschemas += [
        schema[k] for k in ("items", "additionalProperties", "propertyNames") if k in schema
    ]
    for sub in subschemas:
        if isinstance(sub, dict):
            found |= keywords(sub)
    return found


def on_the_wire(event: DomainEvent, metadata: Metadata) -> dict[str, Any]:
    """The event as a consumer of goals.events receives it: stored, enveloped, encoded, decoded."""
    recorded = RecordedEvent(
        position=1042,
        stream_id="goal-3f9c1e2d-4b5a-4c6d-8e7f-000000000001",
        stream_type="goal",
        version=3,
        event_id=uuid.UUID("6a1f6f2e-9d5b-4a59-9a34-0d3f0ad0c001"),
        event_type=event.TYPE,
        data=event.as_data(),
        metadata=metadata.as_dict(),
        recorded_at=dt.datetime(2026, 3, 14, 9, 12, 0, 123456, tzinfo=dt.UTC),
        prev_hash="0" * 64,
        hash="b" * 64,
    )
    return envelope.decode(envelope.encode(envelope.to_cloudevent(recorded, "/styrkort/goals")))


FULL_METADATA = Metadata("key:3f9c", "c-1", causation_id="c-0", request_id="r-9")


# -- the committed document -----------------------------------------------------------------------


@pytest.mark.parametrize("service", ["goals", "plans", "reports", "gateway"])
def test_committed_document_is_what_the_event_classes_generate(service: str) -> None:
    from shared.asyncapi import service_registries

    path = COMMITTED.parent / f"{service}.json"
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    generated = render(asyncapi_document(service, service_registries(service), project_version()))
    assert committed == generated, (
        f"docs/asyncapi/{service}.json is stale; run: "
        f"python -m shared.asyncapi {service} > docs/asyncapi/{service}.json"
    )


@pytest.mark.parametrize("service", ["goals", "plans", "reports", "gateway"])
def test_every_aggregate_of_the_service_is_in_its_registries(service: str) -> None:
    """An aggregate added to services/<service>/domain but forgotten in events.registries()
    would be missing from the document (and from docs/events.md)."""
    import importlib
    import pkgutil

    from shared.aggregate import EventRegistry
    from shared.asyncapi import service_registries

    package = importlib.import_module(f"services.{service}.domain")
    declared = {
        event_type
        for info in pkgutil.iter_modules(package.__path__)
        for value in vars(importlib.import_module(f"{package.__name__}.{info.name}")).values()
        if isinstance(value, EventRegistry)
        for event_type in value.classes
    }
    listed = {t for registry in service_registries(service) for t in registry.classes}
    assert declared == listed


def test_document_is_asyncapi_2_6_with_the_unprefixed_goals_topic() -> None:
    assert DOCUMENT["asyncapi"] == "2.6.0"
    assert DOCUMENT["info"]["version"] == project_version() and DOCUMENT["info"]["title"]
    assert list(DOCUMENT["channels"]) == ["goals.events"]
    assert json.loads(render(DOCUMENT)) == DOCUMENT, "plain JSON values only"
    for name, described in MESSAGES.items():
        assert described["contentType"] == "application/json" and described["summary"], name
        assert described["bindings"]["kafka"]["key"]["type"] == "string", name


def test_every_event_type_of_every_registry_is_one_message_exactly_once() -> None:
    types = [t for registry in registries() for t in registry.classes]
    names = [
        m["name"] for m in DOCUMENT["channels"]["goals.events"]["subscribe"]["message"]["oneOf"]
    ]
    assert Counter(names) == Counter(types) and len(set(types)) == len(types)
    assert all(
        MESSAGES[t]["payload"]["properties"]["type"]["const"] == f"styrkort.goals.{t}"
        for t in types
    )


def test_the_checker_understands_every_keyword_the_generator_writes() -> None:
    used = set().union(*(keywords(m["payload"]) for m in MESSAGES.values()))
    assert used <= CHECKED | ANNOTATIONS, f"teach violations() {used - CHECKED - ANNOTATIONS}"


# -- real events against their schemas ------------------------------------------------------------


def test_there_is_a_sample_of_every_event_type() -> None:
    assert {s.TYPE for s in SAMPLES} == set(MESSAGES), "add a sample of the new event type"


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.TYPE)
def test_a_real_event_on_the_wire_validates_against_its_message(event: DomainEvent) -> None:
    wire = on_the_wire(event, FULL_METADATA)
    assert violations(wire, MESSAGES[event.TYPE]["payload"]) == []


def test_an_event_without_causation_or_request_id_is_valid_too() -> None:
    seeded = on_the_wire(Goal.Adopted(GOAL, *DECISION), Metadata("system:seed", "c-1"))
    assert "causationid" not in seeded and "requestid" not in seeded
    assert violations(seeded, MESSAGES["GoalAdopted.v1"]["payload"]) == []


def test_the_schemas_refuse_events_of_the_wrong_shape() -> None:
    adopted = on_the_wire(Goal.Adopted(GOAL, *DECISION), FULL_METADATA)
    schema = MESSAGES["GoalAdopted.v1"]["payload"]
    bad_date = {**adopted, "data": {**adopted["data"], "decided_on": "12 mars 2026"}}
    no_decider = {
        **adopted,
        "data": {k: v for k, v in adopted["data"].items() if k != "decided_by"},
    }
    no_actor = {k: v for k, v in adopted.items() if k != "actor"}
    assert violations(bad_date, schema) == ["$.data.decided_on: '12 mars 2026' is not a date"]
    assert violations(no_decider, schema) == ["$.data: 'decided_by' is missing"]
    assert violations(no_actor, schema) == ["$: 'actor' is missing"]
    assert violations(adopted, MESSAGES["GoalRetired.v1"]["payload"]) != []
    target = on_the_wire(Indicator.TargetSet(INDICATOR, 2027, 65.0, *DECISION), FULL_METADATA)
    assert target["data"]["year"] == 2027
    wrong_year = {**target, "data": {**target["data"], "year": "2027"}}
    assert violations(wrong_year, MESSAGES["IndicatorTargetSet.v2"]["payload"]) == [
        "$.data.year: '2027' is not integer"
    ]


# -- type hints to JSON Schema --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date | None = None


def test_type_hints_become_json_schema_as_to_json_writes_them() -> None:
    assert schema_of(str) == {"type": "string"} and schema_of(bool) == {"type": "boolean"}
    assert (schema_of(int), schema_of(float)) == ({"type": "integer"}, {"type": "number"})
    assert schema_of(dt.date) == {"type": "string", "format": "date"}
    assert schema_of(int | None) == {"type": ["integer", "null"]}
    assert schema_of(tuple[str, ...]) == {"type": "array", "items": {"type": "string"}}
    assert schema_of(dict[int, float]) == {
        "type": "object",
        "additionalProperties": {"type": "number"},
        "propertyNames": {"pattern": "^-?[0-9]+$"},
    }
    assert schema_of(Literal["met", "not_met"]) == {"type": "string", "enum": ["met", "not_met"]}
    assert schema_of(Period | None) == {
        "type": ["object", "null"],
        "properties": {
            "first": {"type": "string", "format": "date"},
            "last": {"type": ["string", "null"], "format": "date", "default": None},
        },
        "required": ["first"],
    }


def test_a_hint_without_a_json_schema_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="set"):
        schema_of(set[str])
    with pytest.raises(TypeError, match=re.escape("int | str")):
        schema_of(int | str)


def test_summary_is_the_docstring_line_or_the_event_name_in_words() -> None:
    @dataclasses.dataclass(frozen=True)
    class Told(DomainEvent):
        """A target was met (målvärdet uppnått).

        More detail that stays out of the summary.
        """

        TYPE = "IndicatorTargetMet.v2"
        indicator_id: str

    @dataclasses.dataclass(frozen=True)
    class Untold(DomainEvent):
        TYPE = "IndicatorTargetMissed.v1"
        indicator_id: str

    assert message("goals", Told)["summary"] == "A target was met (målvärdet uppnått)."
    assert message("goals", Told)["title"] == "Indicator target met (v2)"
    assert message("goals", Untold)["summary"] == "Indicator target missed."
