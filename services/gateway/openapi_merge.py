"""One OpenAPI 3 document for the whole API, merged from the services' generated documents
and the gateway's own (pure functions: no I/O; services/gateway/docs.py fetches the parts).

- **paths** are unioned. A path two parts both serve is a bug in the routing (the gateway
  routes by path, so one of them could never be reached) and raises `PathCollision` — except
  the paths the gateway routes by other means (`GATEWAY_ROUTED`, e.g. history by the id's
  prefix), which every service serves: the gateway's own description wins, else the first
  service's is kept once.
- **components** (schemas, responses, parameters, …) are merged by name: identical
  definitions become one; different ones are renamed `<part>.<Name>` in every part that has
  the name, and that part's `$ref`s are rewritten. Whether two definitions are identical is
  decided after the renaming of what they refer to, until nothing changes (a schema that
  refers to a renamed one differs too).
- **security**: the services' internal signed-identity schemes are dropped; the gateway's
  API key (`Authorization: Bearer <key>`) is the only scheme, required globally; an
  operation that declares `security: []` (open) keeps it.
- a part that could not be fetched is absent, and named with its reason under
  `x-styrkort-missing`.
- what the services' generated documents say in Python's terms is said in OpenAPI's: a
  `pattern` anchored with `\\A…\\Z` (Python) is anchored `^…$` (ECMA-262, which OpenAPI's
  patterns are, and where `$` without the multiline flag means the end of the text, as `\\Z`
  does), and a response without the `description` OpenAPI 3.0 requires gets its status's
  reason phrase. (Better fixed where the documents are generated, shared/openapi.py.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

OPENAPI_VERSION = "3.0.3"
SCHEME_NAME = "apiKey"
API_KEY_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "Authorization: Bearer <key>. A key is made with `python -m services.gateway "
    "keys create --role ROLE --scope UNIT_ID|*` (or by an admin over the API); it is shown "
    "once and bound to a role (reader, editor, auditor, admin) and an organisation-unit scope. "
    "A missing or revoked key is a 401, a role or scope that may not do it a 403.",
}
SECURITY: list[dict[str, list[str]]] = [{SCHEME_NAME: []}]
#: paths every service serves and the gateway routes by other means than the path
GATEWAY_ROUTED = frozenset({"/api/v1/history/{entity_id}"})
REF_PREFIX = "#/components/"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MISSING_KEY = "x-styrkort-missing"


class PathCollision(ValueError):
    """Two parts serve the same path: the gateway could route it to only one of them."""

    def __init__(self, path: str, first: str, second: str) -> None:
        super().__init__(f"{path} is served by both {first} and {second}")
        self.path = path
        self.parts = (first, second)


def merge(
    parts: Mapping[str, Mapping[str, Any]],
    *,
    gateway: str = "gateway",
    missing: Mapping[str, str] | None = None,
    title: str = "styrkort",
    description: str = "",
) -> dict[str, Any]:
    """The merged document of `parts` (part name -> its OpenAPI document, in the order their
    paths and tags are listed); `gateway` names the gateway's own part, if present."""
    documents = {name: _portable(copy.deepcopy(dict(doc))) for name, doc in parts.items()}
    renames = _component_renames(documents)
    for name, doc in documents.items():
        _rewrite_refs(doc, name, renames)
    merged: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": "v1", "description": description},
        "tags": _merged_tags(documents),
        "paths": _merged_paths(documents, gateway),
        "components": _merged_components(documents, renames),
        "security": copy.deepcopy(SECURITY),
    }
    if missing:
        merged[MISSING_KEY] = dict(missing)
    return merged


# -- components ---------------------------------------------------------------------------

Renames = dict[tuple[str, str, str], str]  # (part, kind, name) -> the merged name


def _components(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found = doc.get("components") or {}
    return {kind: dict(items) for kind, items in found.items() if kind != "securitySchemes"}


def _component_renames(documents: Mapping[str, Mapping[str, Any]]) -> Renames:
    """Which parts' components are renamed, found to a fixpoint (see the module docstring)."""
    owners: dict[tuple[str, str], list[str]] = {}
    for part, doc in documents.items():
        for kind, items in _components(doc).items():
            for name in items:
                owners.setdefault((kind, name), []).append(part)
    renames: Renames = {}
    changed = True
    while changed:
        changed = False
        for (kind, name), parts in owners.items():
            if len(parts) < 2 or (parts[0], kind, name) in renames:
                continue
            versions = {
                _canonical(_rewritten(_components(documents[part])[kind][name], part, renames))
                for part in parts
            }
            if len(versions) > 1:
                for part in parts:
                    renames[(part, kind, name)] = f"{part}.{name}"
                changed = True
    return renames


def _merged_components(
    documents: Mapping[str, Mapping[str, Any]], renames: Renames
) -> dict[str, Any]:
    merged: dict[str, dict[str, Any]] = {}
    for part, doc in documents.items():
        for kind, items in _components(doc).items():
            target = merged.setdefault(kind, {})
            for name, value in items.items():
                target.setdefault(renames.get((part, kind, name), name), value)
    merged["securitySchemes"] = {SCHEME_NAME: copy.deepcopy(API_KEY_SCHEME)}
    return {kind: dict(sorted(items.items())) for kind, items in merged.items()}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _rewritten(value: Any, part: str, renames: Renames) -> Any:
    """A copy of `value` whose `$ref`s point at `part`'s renamed components."""
    result = copy.deepcopy(value)
    _rewrite_refs(result, part, renames)
    return result


def _rewrite_refs(value: Any, part: str, renames: Renames) -> None:
    """Rewrite, in place, every local `$ref` of `part` to a renamed component."""
    for node in _dicts(value):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            kind, _, name = ref[len(REF_PREFIX) :].partition("/")
            renamed = renames.get((part, kind, name))
            if renamed is not None:
                node["$ref"] = f"{REF_PREFIX}{kind}/{renamed}"


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a JSON value, the value itself first (iteratively: no depth limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# -- Python's terms in OpenAPI's ------------------------------------------------------------


def _portable(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` (changed in place) with ECMA-262 pattern anchors and described responses."""
    for node in _dicts(doc):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            node["pattern"] = ecma_anchors(pattern)
    for item in (doc.get("paths") or {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            responses = operation.get("responses") if isinstance(operation, dict) else None
            for status, response in (responses or {}).items():
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("description", _reason(str(status)))
    return doc


def ecma_anchors(pattern: str) -> str:
    """Python's `\\A` and `\\Z` anchors at the ends of a pattern as `^` and `$`."""
    if pattern.startswith("\\A"):
        pattern = "^" + pattern[2:]
    if pattern.endswith("\\Z") and not pattern.endswith("\\\\Z"):
        pattern = pattern[:-2] + "$"
    return pattern


def _reason(status: str) -> str:
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return "answer"


# -- paths, tags --------------------------------------------------------------------------


def _merged_paths(documents: Mapping[str, Mapping[str, Any]], gateway: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    owner: dict[str, str] = {}
    gateway_paths = (documents.get(gateway) or {}).get("paths") or {}
    for part, doc in documents.items():
        for path, item in (doc.get("paths") or {}).items():
            if path in GATEWAY_ROUTED and part != gateway:
                if path in gateway_paths or path in paths:
                    continue  # the gateway's own, or the first service's, describes it
            elif path in paths:
                raise PathCollision(path, owner[path], part)
            paths[path] = _gateway_secured(item)
            owner[path] = part
    return dict(sorted(paths.items()))


def _gateway_secured(item: Mapping[str, Any]) -> dict[str, Any]:
    """A path item whose operations name no service scheme: the global API key applies, and
    an operation declared open (`security: []`) stays open."""
    result = dict(item)
    for method in HTTP_METHODS:
        operation = result.get(method)
        if not isinstance(operation, dict) or "security" not in operation:
            continue
        operation = dict(operation)
        if operation["security"]:
            del operation["security"]
        result[method] = operation
    return result


def _merged_tags(documents: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    tags: dict[str, dict[str, Any]] = {}
    for doc in documents.values():
        for tag in doc.get("tags") or []:
            if isinstance(tag, dict) and isinstance(tag.get("name"), str):
                tags.setdefault(tag["name"], tag)
    return list(tags.values())


# -- checks -------------------------------------------------------------------------------


def unresolved_refs(doc: Mapping[str, Any]) -> list[str]:
    """Every local `$ref` of the document that names nothing in it (should be none)."""
    unresolved = []
    for node in _dicts(doc):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        if not ref.startswith("#/") or _resolve(doc, ref) is None:
            unresolved.append(ref)
    return sorted(set(unresolved))


def _resolve(doc: Mapping[str, Any], ref: str) -> Any:
    target: Any = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or token not in target:
            return None
        target = target[token]
    return target


def security_schemes_used(doc: Mapping[str, Any]) -> set[str]:
    """The scheme names the document's global and per-operation requirements name."""
    used = {name for req in doc.get("security") or [] for name in req}
    for item in (doc.get("paths") or {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if isinstance(operation, dict):
                used |= {name for req in operation.get("security") or [] for name in req}
    return used
