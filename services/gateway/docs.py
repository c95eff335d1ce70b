"""The whole API's OpenAPI document and a docs page that work without the internet.

`GET /api/v1/openapi.json` merges (services/gateway/openapi_merge.py) each service's own
generated document, fetched through `Upstreams`, with the gateway's: its core's routes (the
core puts a callable returning its document in `app.extensions["styrkort.gateway.spec"]`)
and the views of this package (history, merged feed, admin). The merge is kept per process
for `CACHE_SECONDS` (a deploy changes it; a request does not); a service that does not
answer leaves its part out, named under `x-styrkort-missing`, and that answer is kept only
`MISSING_CACHE_SECONDS` so the part returns soon after the service does.

`GET /api/v1/docs` is Swagger UI from the installed `swagger_ui_bundle` package, its files
served by the gateway under `/api/v1/docs/`: no CDN, and the page's Content-Security-Policy
lets the browser fetch nothing from elsewhere (the validator badge, which would call
validator.swagger.io, is turned off).

Both are open (no key): `OPEN_PATHS` / `is_open` tell the gateway's key check so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import swagger_ui_bundle
from flask import Blueprint, Response, current_app, jsonify, send_from_directory, url_for

from services.gateway import admin_ops, audit_trail
from services.gateway.openapi_merge import merge
from services.gateway.upstream import BACKENDS, ServiceUnavailable, Upstreams
from shared.errors import NotFound
from shared.identity import Identity
from shared.openapi import PROBLEM_SCHEMA

API_PREFIX = "/api/v1"
SPEC_PATH = f"{API_PREFIX}/openapi.json"
DOCS_PATH = f"{API_PREFIX}/docs"
OPEN_PATHS = (SPEC_PATH, DOCS_PATH)
CACHE_SECONDS = 30.0
MISSING_CACHE_SECONDS = 3.0
#: how long a service may take to hand over its document (less than a proxied call may)
FETCH_TIMEOUT_SECONDS = 5.0
#: the extension under which the gateway core offers its own document
CORE_SPEC_EXTENSION = "styrkort.gateway.spec"
#: who the gateway is when it asks for the (open) documents
DOCS_IDENTITY = Identity("gateway:openapi", "reader", "*")
ASSET_DIR = Path(swagger_ui_bundle.swagger_ui_path)
#: the package's files the page uses (and their source maps, which browsers' tools fetch)
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui.css.map",
        "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.map",
        "favicon-16x16.png",
        "favicon-32x32.png",
    }
)
INIT_SCRIPT = "styrkort-init.js"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)
DESCRIPTION = (
    "One API for goals, plans and reports, behind the gateway. Send your key as "
    "`Authorization: Bearer <key>`. Errors are Problem+JSON (RFC 9457). History and the "
    "merged event feed span every service; see docs/gateway.md."
)


def is_open(path: str) -> bool:
    """Whether a path is served without a key: the document, the page and its files."""
    return path in (SPEC_PATH, DOCS_PATH) or path.startswith(DOCS_PATH + "/")


def views_document() -> dict[str, Any]:
    """The OpenAPI part of the views of this package (history is the services' own)."""
    open_get = {"security": [], "tags": ["gateway"]}
    paths: dict[str, Any] = {
        SPEC_PATH: {
            "get": {
                **open_get,
                "summary": "This document: every service's routes and the gateway's",
                "responses": {"200": {"description": "OpenAPI 3 document"}},
            }
        },
        DOCS_PATH: {
            "get": {
                **open_get,
                "summary": "The API's documentation page (Swagger UI, served offline)",
                "responses": {
                    "200": {
                        "description": "HTML page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
    paths.update(audit_trail.OPENAPI_PATHS)
    paths.update(admin_ops.OPENAPI_PATHS)
    return {
        "paths": paths,
        "tags": [{"name": "gateway", "description": "The gateway's views across services"}],
        "components": {"schemas": {"Problem": PROBLEM_SCHEMA}},
    }


class MergedDocument:
    """The merged document, fetched and merged at most once per cache period per process."""

    def __init__(
        self,
        upstreams: Upstreams,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = upstreams
        self.clock = clock
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None
        self._expires = 0.0

    def get(self, core: Mapping[str, Any] | None) -> dict[str, Any]:
        with self._lock:
            if self._document is None or self.clock() >= self._expires:
                self._document, complete = self._build(core)
                ttl = CACHE_SECONDS if complete else MISSING_CACHE_SECONDS
                self._expires = self.clock() + ttl
            return self._document

    def _build(self, core: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
        parts: dict[str, Mapping[str, Any]] = {}
        missing: dict[str, str] = {}
        for service in BACKENDS:
            if service not in self.upstreams.clients:
                continue
            try:
                parts[service] = self._fetch(service)
            except ServiceUnavailable as exc:
                missing[service] = exc.detail
        if core is not None:
            parts["gateway"] = core
        parts["gateway-views"] = views_document()
        document = merge(parts, missing=missing, title="styrkort", description=DESCRIPTION)
        return document, not missing

    def _fetch(self, service: str) -> Mapping[str, Any]:
        """A service's own document; ServiceUnavailable if it does not give one."""
        request = self.upstreams.build(service, "GET", SPEC_PATH, DOCS_IDENTITY)
        request.extensions["timeout"] = httpx.Timeout(FETCH_TIMEOUT_SECONDS).as_dict()
        response = self.upstreams.send(service, request)
        if response.status_code != 200:
            raise ServiceUnavailable(service, f"its document answered {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise ServiceUnavailable(service, "its document is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            raise ServiceUnavailable(service, "its document is not OpenAPI")
        return document


def core_document() -> Mapping[str, Any] | None:
    """The gateway core's own document, if the core offers one."""
    offer = current_app.extensions.get(CORE_SPEC_EXTENSION)
    if offer is None:
        return None
    document = offer() if callable(offer) else offer
    return document if isinstance(document, Mapping) else None


def page() -> str:
    return f"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<title>styrkort API</title>
<link rel="stylesheet" href="{url_for(".asset", name="swagger-ui.css")}">
<link rel="icon" type="image/png" href="{url_for(".asset", name="favicon-32x32.png")}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{url_for(".asset", name="swagger-ui-bundle.js")}"></script>
<script src="{url_for(".asset", name=INIT_SCRIPT)}"></script>
</body>
</html>
"""


def init_script() -> str:
    """Swagger UI on the merged document; no validator badge (it would call the internet)."""
    return f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{url_for(".openapi")}",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  }});
}});
"""


def blueprint(upstreams: Upstreams) -> Blueprint:
    """`/api/v1/openapi.json`, `/api/v1/docs` and its files (all open)."""
    blp = Blueprint("gateway-docs", __name__)
    merged = MergedDocument(upstreams)

    @blp.get(SPEC_PATH)
    def openapi() -> Response:
        document = merged.get(core_document())
        response = jsonify(document)
        response.headers["Cache-Control"] = f"public, max-age={int(CACHE_SECONDS)}"
        return response

    @blp.get(DOCS_PATH)
    def docs() -> Response:
        response = Response(page(), mimetype="text/html")
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    @blp.get(f"{DOCS_PATH}/<name>")
    def asset(name: str) -> Response:
        if name == INIT_SCRIPT:
            return Response(init_script(), mimetype="text/javascript")
        if name not in ASSETS:
            raise NotFound(f"the docs page has no file {name}")
        return send_from_directory(ASSET_DIR, name, max_age=3600)

    return blp
