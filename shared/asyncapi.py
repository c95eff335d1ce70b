"""The AsyncAPI 2.6.0 document of one service's topic, generated from its event classes.

`asyncapi_document` is pure: it reads the type hints of each event dataclass and describes the
CloudEvents envelope (DESIGN.md §2, `shared/envelope.py`) with the event's `data` inside, so the
document cannot drift from the code. `python -m shared.asyncapi goals` prints it as JSON; the
committed copy is `docs/asyncapi/goals.json`, checked against the code by tests/unit.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import importlib.metadata
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Sequence
from typing import Any

from shared.aggregate import DomainEvent, EventRegistry, to_json
from shared.envelope import SPEC_VERSION, TYPE_PREFIX
from shared.events import split_type

ASYNCAPI_VERSION = "2.6.0"
KAFKA_BINDING_VERSION = "0.4.0"
Schema = dict[str, Any]

_PRIMITIVES: dict[Any, Schema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    dt.date: {"type": "string", "format": "date"},
    dt.datetime: {"type": "string", "format": "date-time"},
}
_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


# -- the document -------------------------------------------------------------------------------


def asyncapi_document(service: str, registries: Sequence[EventRegistry], version: str) -> Schema:
    """The AsyncAPI document of `<service>.events`: one message per event type of `registries`."""
    channel = f"{service}.events"
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": f"urn:styrkort:{service}:events",
        "info": {
            "title": f"styrkort {service} events",
            "version": version,
            "description": (
                f"Every event the {service} service records, as it goes on the Kafka topic "
                f"`{channel}`: a CloudEvents 1.0 JSON object whose `data` holds the domain "
                "facts. Delivery is at least once; skip an event whose `streamversion` is not "
                "above the last one applied for its `subject`. Generated from the event "
                "classes; the catalogue with the meaning of each event is docs/events.md."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            channel: {
                "description": (
                    f"The {service} service's log, in position order per stream. Deployments "
                    f"may prefix the topic name (KAFKA_TOPIC_PREFIX), e.g. `test-{channel}`. "
                    "Key = stream id, so one stream stays in order in one partition; "
                    "retention is unlimited."
                ),
                "subscribe": {
                    "operationId": f"receive{service.title()}Events",
                    "summary": f"Events of the {service} service, in order per stream.",
                    "message": {"oneOf": _messages(service, registries)},
                },
            }
        },
    }


def render(document: Schema) -> str:
    """The document as committed: pretty-printed, sorted keys, UTF-8 letters as themselves."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _messages(service: str, registries: Sequence[EventRegistry]) -> list[Schema]:
    seen: set[str] = set()
    messages = []
    for registry in registries:
        for event_type, cls in registry.classes.items():
            if event_type in seen:
                raise ValueError(f"event type {event_type} is in two registries")
            seen.add(event_type)
            messages.append(message(service, cls))
    return messages


def message(service: str, cls: type[DomainEvent]) -> Schema:
    """One event type as an AsyncAPI message whose payload is the whole CloudEvent."""
    name, schema_version = split_type(cls.TYPE)
    words = _words(name)
    described: Schema = {
        "name": cls.TYPE,
        "messageId": cls.TYPE,
        "title": f"{words} (v{schema_version})",
        "summary": _docstring_line(cls) or f"{words}.",
        "contentType": "application/json",
        "payload": envelope_schema(service, cls),
        "correlationId": {
            "description": "the conversation the event belongs to",
            "location": "$message.payload#/correlationid",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "the stream id (equals `subject`): one stream, one partition",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    aggregate = cls.__qualname__.rpartition(".")[0]  # events are nested in their aggregate
    if aggregate:
        described["tags"] = [{"name": aggregate}]
    return described


def envelope_schema(service: str, cls: type[DomainEvent]) -> Schema:
    """The CloudEvent of one event type, as `shared.envelope.to_cloudevent` builds it."""
    properties: Schema = {
        "specversion": {"type": "string", "const": SPEC_VERSION},
        "id": {"type": "string", "format": "uuid", "description": "the event's id"},
        "source": {"type": "string", "const": f"/styrkort/{service}"},
        "type": {"type": "string", "const": f"{TYPE_PREFIX}{service}.{cls.TYPE}"},
        "subject": {"type": "string", "description": "the stream (entity) id the API uses"},
        "time": {
            "type": "string",
            "format": "date-time",
            "description": "when it was recorded, UTC with microseconds",
        },
        "datacontenttype": {"type": "string", "const": "application/json"},
        "position": {
            "type": "integer",
            "minimum": 1,
            "description": "place in the service's log: 1, 2, 3, … without gaps",
        },
        "streamtype": {"type": "string", "description": "the kind of entity"},
        "streamversion": {
            "type": "integer",
            "minimum": 1,
            "description": "the event's number within its stream",
        },
        "actor": {"type": "string", "description": "who caused it: key:<id> or system:<job>"},
        "correlationid": {"type": "string", "description": "the conversation"},
        "causationid": {"type": "string", "description": "what caused it, if known"},
        "requestid": {"type": "string", "description": "the HTTP request, if any"},
        "prevhash": {**_HASH, "description": "the hash of the event before (64 zeros first)"},
        "hash": {**_HASH, "description": "sha256(prevhash ‖ canonical JSON of the event)"},
        "data": {**schema_of(cls), "description": "the domain facts"},
    }
    # causationid and requestid are left out when unknown (e.g. seeded events); all else is set.
    required = [name for name in properties if name not in ("causationid", "requestid")]
    return {"type": "object", "properties": properties, "required": required}


# -- JSON Schema (draft-07) from type hints -------------------------------------------------------


def schema_of(hint: Any) -> Schema:
    """The JSON Schema of values `shared.aggregate.to_json` makes from a value of type `hint`."""
    if hint in _PRIMITIVES:
        return dict(_PRIMITIVES[hint])
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _object_schema(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal and len({type(arg) for arg in args}) == 1:
        return {**schema_of(type(args[0])), "enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in args if arg is not type(None)]
        if len(inner) == 1 and len(args) == 2:
            return _nullable(schema_of(inner[0]))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": schema_of(args[0])}
    if origin is list and len(args) == 1:
        return {"type": "array", "items": schema_of(args[0])}
    if origin is dict and args[0] in (str, int):
        schema: Schema = {"type": "object", "additionalProperties": schema_of(args[1])}
        if args[0] is int:  # JSON keys are strings: target years come as "2026"
            schema["propertyNames"] = {"pattern": "^-?[0-9]+$"}
        return schema
    raise TypeError(f"no JSON Schema for the type hint {hint!r}; teach shared/asyncapi.py")


def _object_schema(cls: type[Any]) -> Schema:
    hints = typing.get_type_hints(cls)
    properties: Schema = {}
    required = []
    for field in dataclasses.fields(cls):
        properties[field.name] = schema_of(hints[field.name])
        if field.default is not dataclasses.MISSING:
            properties[field.name]["default"] = to_json(field.default)
        elif field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    schema: Schema = {"type": "object", "properties": properties}
    if required:  # draft-07 allows an empty list, but tools read it better left out
        schema["required"] = required
    return schema


def _nullable(schema: Schema) -> Schema:
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"oneOf": [schema, {"type": "null"}]}


# -- names and words ----------------------------------------------------------------------------


def _words(name: str) -> str:
    """`SteeringDocumentDrafted` -> `Steering document drafted`."""
    words = re.findall(r"[A-Z][a-z0-9]*", name)
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else name


def _docstring_line(cls: type[Any]) -> str | None:
    """The first line of the class's own docstring, not the signature dataclass makes up."""
    doc = cls.__dict__.get("__doc__")
    if not doc or doc.startswith(f"{cls.__name__}("):
        return None
    return inspect.cleandoc(doc).splitlines()[0]


# -- `python -m shared.asyncapi <service>` --------------------------------------------------------


def project_version() -> str:
    """The installed styrkort version, the document's `info.version`."""
    return importlib.metadata.version("styrkort")


def service_registries(service: str) -> list[EventRegistry]:
    """`services.<service>.events.registries()`: every event registry of the service's topic."""
    module = importlib.import_module(f"services.{service}.events")
    registries: list[EventRegistry] = module.registries()
    return registries


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.asyncapi",
        description="Print the AsyncAPI document of a service's events topic as JSON.",
    )
    parser.add_argument("service", help="e.g. goals (needs services/<service>/events.py)")
    parser.add_argument("--version", default=None, help="info.version (default: the project's)")
    args = parser.parse_args(argv)
    module = f"services.{args.service}.events"
    if not re.fullmatch(r"[a-z_]+", args.service):
        parser.error(f"a service is named like goals, not {args.service!r}")
    try:
        registries = service_registries(args.service)
    except ModuleNotFoundError as exc:
        if exc.name not in (module, module.rpartition(".")[0]):
            raise
        parser.error(f"no services/{args.service}/events.py with registries()")
    document = asyncapi_document(args.service, registries, args.version or project_version())
    sys.stdout.buffer.write(render(document).encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
