"""What every service's OpenAPI document says of the shared HTTP conventions (shared/http.py).

An apispec plugin adds, to every operation flask-smorest generates from the code, the answers
the conventions give (Problem+JSON under application/problem+json, docs/problems.md), the
request headers (If-Match, Idempotency-Key), the response headers (ETag, Idempotent-Replayed)
and the signed identity headers as a security scheme. Nothing is written by hand per route but
a `403` on the reads that may refuse one (`@blp.doc(**MAY_REFUSE)`).
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec, BasePlugin

from shared.http import PROBLEM_BASE, PROBLEM_JSON, PROBLEM_TYPES
from shared.identity import (
    ACTOR_HEADER,
    NONCE_HEADER,
    ROLE_HEADER,
    SCOPE_HEADER,
    SIGNATURE_HEADER,
    TIME_HEADER,
)

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 Problem Details; `type` tells the kind (docs/problems.md)",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "description": f"{PROBLEM_BASE}<kind>, one per kind of problem, e.g. "
            f"{PROBLEM_BASE}version-conflict (read again, retry) or "
            f"{PROBLEM_BASE}rule-violation (do not retry)",
            "enum": sorted(
                {PROBLEM_BASE + kind for kind in PROBLEM_TYPES.values()}
                | {PROBLEM_BASE + "unknown-query-parameter", "about:blank"}
            ),
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request's path"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "messages by field, query parameter or header",
        },
        "current_version": {
            "type": "integer",
            "description": "version conflict: the entity's version now",
        },
        "unit_id": {"type": "string", "description": "403: the unit the command concerns"},
        "scope": {"type": "string", "description": "403: the caller's scope"},
        "rule": {"type": "string", "description": "403: the rule that refused it"},
        "correlation_id": {"type": "string", "description": "500: where to find it in the log"},
    },
}

#: On a read that may be refused to the caller's role or scope: `@blp.doc(**MAY_REFUSE)`.
MAY_REFUSE: dict[str, Any] = {
    "responses": {"403": {"description": "the caller's role or scope may not read this"}}
}

ANSWERS = {
    "400": "malformed request: the body is not JSON, the query string not UTF-8, or an "
    "unknown query parameter (type unknown-query-parameter)",
    "401": "no valid signed identity",
    "403": "the caller's role or scope does not allow this (unit_id, scope, rule)",
    "404": "no such entity",
    "409": "a business rule refuses it (type rule-violation: do not retry), or the entity "
    "changed meanwhile (type version-conflict: read again and retry)",
    "412": "If-Match names an older version, or is a weak ETag (type version-conflict)",
    "413": "the request or the event it would record is too large",
    "414": "the path and query string are too long (type too-large)",
    "415": "the body is not application/json",
    "422": "the input does not match the schema or the domain's values",
    "500": "a bug; logged with the correlation id",
}
READ_ANSWERS = ("400", "401", "404", "414", "422", "500")
COMMAND_ANSWERS = ("400", "401", "403", "404", "409", "412", "413", "414", "415", "422", "500")

STRING = {"schema": {"type": "string"}}
ETAG = {"description": 'the entity\'s version as a strong ETag, e.g. "3"; send it as If-Match'}
LOCATION = {"description": "the path that reads what was created"}
REPLAYED = {
    "description": "true when this is the stored answer to an earlier request with "
    "the same Idempotency-Key"
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": 'the ETag last read, e.g. "3": the command runs only if the entity is still '
    'at that version (else 412). Compared strongly: a weak ETag (W/"3") never matches.',
    **STRING,
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "at most 200 characters; a retry with the same key and request (path, "
    "query, If-Match, Content-Type, body) gets the first answer back (Idempotent-Replayed: "
    "true), with another request a 422. Only final answers are kept (2xx, 400, 413, 415, 422): "
    "after any other the key is free and a retry runs anew. Keys expire after "
    "IDEMPOTENCY_KEY_HOURS (24 h); a replay goes only to the same actor while its role and "
    "scope still allow the command (else 403)",
    **STRING,
}

IDENTITY_HEADERS = {
    "actor": (ACTOR_HEADER, "who: key:<id>, percent-encoded as UTF-8"),
    "role": (ROLE_HEADER, "reader, auditor, editor or admin"),
    "scope": (SCOPE_HEADER, "an organisation unit id, or * for all"),
    "timestamp": (TIME_HEADER, "Unix seconds when the gateway signed the request (±60 s)"),
    "nonce": (NONCE_HEADER, "random, new for every signing"),
    "signature": (
        SIGNATURE_HEADER,
        "HMAC-SHA256 (shared internal secret) over the service the request is for, the method, "
        "path and query, If-Match, Idempotency-Key, Content-Type, body hash and the other five "
        "headers; each signature is accepted once (shared/identity.py, docs/adr/0011)",
    ),
}
#: Every operation needs all six headers (one requirement naming all six schemes).
SECURITY: list[dict[str, list[str]]] = [{name: [] for name in IDENTITY_HEADERS}]


def _schema_name(response: Any) -> str | None:
    if not isinstance(response, dict):
        return None
    for content in (response.get("content") or {}).values():
        ref = (content.get("schema") or {}).get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return str(ref.rsplit("/", 1)[1])
    return None


class ConventionsPlugin(BasePlugin):
    """Adds the shared conventions to every operation (see the module docstring)."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        self.spec = spec
        spec.components.schema("Problem", PROBLEM_SCHEMA)
        for name, (header, description) in IDENTITY_HEADERS.items():
            spec.components.security_scheme(
                name, {"type": "apiKey", "in": "header", "name": header, "description": description}
            )

    def carries_version(self, response: Any) -> bool:
        """An entity's state (a schema with `version`): the route answers with its ETag."""
        name = _schema_name(response)
        schema = self.spec.components.schemas.get(name or "", {})
        return "version" in schema.get("properties", {})

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            responses.pop("default", None)  # flask-smorest's {code, status, message}
            command = method != "get"
            answers = set(COMMAND_ANSWERS if command else READ_ANSWERS)
            answers |= {s for s in responses if s[0] in "45"}  # declared, e.g. MAY_REFUSE
            if not command and "{" not in (path or ""):
                answers.discard("404")  # a list or feed: empty, never missing
            versioned = False
            for status, response in responses.items():
                if status.startswith("2") and self.carries_version(response):
                    versioned = True
                    headers = response.setdefault("headers", {})
                    headers["ETag"] = {**ETAG, **STRING}
                if status == "201":
                    headers = response.setdefault("headers", {})
                    headers["Location"] = {**LOCATION, **STRING}
                if status.startswith("2") and command:
                    headers = response.setdefault("headers", {})
                    headers["Idempotent-Replayed"] = {**REPLAYED, **STRING}
            for status in sorted(answers):
                declared = responses.get(status)
                description = (
                    declared.get("description") if isinstance(declared, dict) else None
                ) or ANSWERS.get(status, "see the problem's type")
                responses[status] = {
                    "description": description,
                    "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
                }
            operation["responses"] = dict(sorted(responses.items()))
            if command:
                parameters = operation.setdefault("parameters", [])
                parameters.append(IDEMPOTENCY_KEY)
                if versioned and "201" not in responses:  # a command on an existing entity
                    parameters.append(IF_MATCH)
