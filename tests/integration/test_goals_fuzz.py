"""Fuzzing the goals HTTP API from its own OpenAPI document: no input gets a 500 (DESIGN.md §6).

A small valid world is seeded through the API first (council, committee, vision, area, adopted
strategic and operational goals, an indicator), so a path id is often a real entity and
otherwise hostile text. For operations drawn from `GET /api/v1/openapi.json`, hypothesis makes
requests: known and unknown query parameters with good and bad values, bodies shaped by the
operation's schema (well-formed enough to reach the domain rules, or with wrong types, nulls
and extra fields), any JSON, raw bytes; sometimes If-Match and Idempotency-Key; as editor,
admin, reader or auditor. Each request is signed as the server will verify it, so it reaches
the route.

Every answer must be below 500, and every 4xx a Problem+JSON with `title`, `detail` and the
HTTP `status`. Faults are collected rather than raised at the first, grouped by cause (the
exception and where it was raised), and each cause's smallest request is shrunk further; a
failing run lists them all with a line that replays each. The run is derandomised (the same
requests every time); FUZZ_EXAMPLES=20000 runs longer with a fresh seed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.goals.app import create_app
from shared import envelope
from shared.consumer import read_topics_to_end
from shared.identity import (
    ACTOR_HEADER,
    ROLE_HEADER,
    SCOPE_HEADER,
    SIGNATURE_HEADER,
    TIME_HEADER,
    Identity,
    sign,
)
from shared.relay import Relay
from shared.runtime import Runtime
from tests.support import (
    ADMIN,
    AUDITOR,
    EDITOR,
    INTERNAL_SECRET,
    READER,
    REPO,
    SignedClient,
    connect,
)

#: Requests per run: about 20 s here. FUZZ_EXAMPLES=20000 runs longer, with a fresh seed.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3000"))


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # faults are collected, not raised: there is no failing example to keep
        derandomize="FUZZ_EXAMPLES" not in os.environ,  # the same requests on every CI run
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


STDLIB = sysconfig.get_paths()["stdlib"]
LIBS = "site-packages"
PERIOD = "2023-2026"
DECIDED_ON = "2023-01-16"
ROLES_DECIDING = ["chief_executive", "process_owner"]
#: Body fields that name an entity -> the collection whose ids they take
ID_FIELDS = {
    "parent_id": "org-units",
    "owner_unit_id": "org-units",
    "decided_by": "org-units",
    "plan_id": "documents",
    "programme_id": "documents",
    "development_area_id": "development-areas",
    "derived_from": "goals",
    "predecessors": "goals",
}

# -- sending signed requests, judging the answers ------------------------------------------------


def send(app: Any, who: Identity, method: str, url: str, body: bytes = b"", **headers: str) -> Any:
    """Send `url` (percent-encoded path and query) signed as the server will verify it.

    The server checks the signature over the *decoded* path plus the raw query
    (`request.full_path`), so it is computed from werkzeug's own reading of the URL. Use it to
    replay a reported request: `send(app, EDITOR, "GET", "/api/v1/org-units/%00")`.
    """
    seen = Request(EnvironBuilder(path=url, method=method).get_environ())
    sent = {"Content-Type": "application/json"} if body else {}
    sent.update(headers)
    signed = sign(
        INTERNAL_SECRET,
        who,
        method,
        seen.full_path.rstrip("?"),
        body,
        audience=app.extensions["styrkort.runtime"].config.service,
        headers=sent,
    )
    signed.update(sent)
    return app.test_client().open(url, method=method, data=body, headers=signed)


@dataclass(frozen=True)
class Attempt:
    """One request the fuzzer makes."""

    who: Identity
    method: str
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    signed: bool = True  # False: sent with `headers` alone, as if from outside the gateway

    def send(self, app: Any) -> Any:
        if self.signed:
            return send(app, self.who, self.method, self.url, self.body, **self.headers)
        return app.test_client().open(
            self.url, method=self.method, data=self.body, headers=self.headers
        )

    @property
    def size(self) -> int:
        return len(self.url) + len(self.body) + sum(len(k + v) for k, v in self.headers.items())

    def simpler(self) -> Iterator[Attempt]:
        """Smaller variants of this request, to find the least one that still fails."""
        for name in self.headers:
            yield replace(self, headers={k: v for k, v in self.headers.items() if k != name})
        if self.body:
            yield from (replace(self, body=body) for body in (b"", b"{}"))
            value = _json_or_none(self.body)
            if isinstance(value, dict):
                for key in value:
                    rest = {k: v for k, v in value.items() if k != key}
                    yield replace(self, body=json.dumps(rest).encode())
        path, _, query = self.url.partition("?")
        pairs = query.split("&") if query else []
        for n in range(len(pairs)):
            rest = "&".join(pairs[:n] + pairs[n + 1 :])
            yield replace(self, url=f"{path}?{rest}" if rest else path)
        if self.signed and self.who != EDITOR:
            yield replace(self, who=EDITOR)

    def replay(self) -> str:
        """A line of Python that sends it again (in a test with `app`)."""
        body = _literal(self.body)
        if not self.signed:
            return (
                f"app.test_client().open({self.url!r}, method={self.method!r}, data={body}, "
                f"headers={self.headers!r})"
            )
        who = {EDITOR: "EDITOR", READER: "READER", ADMIN: "ADMIN", AUDITOR: "AUDITOR"}[self.who]
        headers = "".join(f", **{{{k!r}: {v!r}}}" for k, v in self.headers.items())
        return f"send(app, {who}, {self.method!r}, {self.url!r}, {body}{headers})"


def _literal(body: bytes) -> str:
    """A short Python expression for a body: `b"[" * 100000` rather than the bytes."""
    for width in range(1, 9):
        unit, times = body[:width], len(body) // width
        if times > 10 and unit * times == body:
            return f"{unit!r} * {times}"
    return repr(body) if len(body) <= 300 else f"{body[:300]!r} + ...  # truncated"


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


class UnhandledErrors(logging.Filter):
    """Takes the exception behind each 500 out of the app's log, where its catch-all handler
    puts it; the log stays quiet, as the report names each cause once."""

    def __init__(self) -> None:
        super().__init__()
        self.last: BaseException | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = record.exc_info[1]
            return False
        return True

    def take(self) -> tuple[str, str]:
        """(`DataError at store.py:273 <- uow.py:74`, the exception's message)."""
        exc, self.last = self.last, None
        if exc is None:
            return "no exception logged", ""
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if f.filename.startswith(str(REPO)) and LIBS not in f.filename]
        libraries = [f for f in frames if not f.filename.startswith(STDLIB)]
        shown = (ours or libraries or frames)[::-1][:3]
        where = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno}" for f in shown)
        return f"{type(exc).__name__} at {where}", str(exc).splitlines()[0][:200]


#: What is wrong with an answer: (its cause, which groups findings; a detail to show).
Fault = tuple[str, str]


def judge(app: Any, attempt: Attempt, errors: UnhandledErrors) -> tuple[int, Fault | None]:
    """Send the request; its status, and what is wrong with the answer (None if nothing)."""
    response = attempt.send(app)
    status: int = response.status_code
    try:
        response.get_data()  # a streamed body (export) fails only while it is read
    except Exception as exc:
        return status, (f"{type(exc).__name__} while streaming the body", str(exc))
    if status >= 500:
        cause, message = errors.take()
        return status, (f"{status}: {cause}", message)
    if status == 401 and attempt.signed:
        return status, ("401 to a correctly signed request", response.get_data(as_text=True))
    if status >= 400 and attempt.method != "HEAD":  # a HEAD answer has no body to check
        return status, problem_fault(response)
    return status, None


def problem_fault(response: Any) -> Fault | None:
    """RFC 9457 as DESIGN.md §6 asks: problem+json with title, detail and the status."""
    status = response.status_code
    if response.mimetype != "application/problem+json":
        return f"{status} as {response.mimetype}, not problem+json", ""
    problem = response.get_json(silent=True)
    if not isinstance(problem, dict):
        return f"{status} whose problem is not a JSON object", response.get_data(as_text=True)
    missing = [name for name in ("title", "detail") if not isinstance(problem.get(name), str)]
    if problem.get("status") != status:
        missing.append("status")
    if missing:
        return f"{status} whose problem lacks or misstates {', '.join(missing)}", str(problem)
    return None


class Findings:
    """Faults by cause, each with the routes it was seen on and the smallest request."""

    def __init__(self) -> None:
        self.smallest: dict[str, tuple[Attempt, str]] = {}
        self.routes: dict[str, dict[str, int]] = {}

    def add(self, fault: Fault, route: str, attempt: Attempt) -> None:
        cause, detail = fault
        routes = self.routes.setdefault(cause, {})
        routes[route] = routes.get(route, 0) + 1
        if cause not in self.smallest or attempt.size < self.smallest[cause][0].size:
            self.smallest[cause] = (attempt, detail)

    def minimise(self, app: Any, errors: UnhandledErrors) -> None:
        """Shrink each cause's request while it still fails for the same cause."""
        for cause, (attempt, detail) in self.smallest.items():
            shrunk = True
            while shrunk:
                shrunk = False
                for candidate in attempt.simpler():
                    _, fault = judge(app, candidate, errors)
                    if fault is not None and fault[0] == cause:
                        attempt, detail, shrunk = candidate, fault[1], True
                        break
            self.smallest[cause] = (attempt, detail)

    def report(self) -> str:
        lines = [f"{len(self.smallest)} distinct fault(s):"]
        for n, (cause, (attempt, detail)) in enumerate(sorted(self.smallest.items()), start=1):
            routes = sorted(self.routes[cause].items(), key=lambda item: -item[1])
            seen = ", ".join(f"{route} ({count}x)" for route, count in routes[:4])
            more = f" and {len(routes) - 4} more" if len(routes) > 4 else ""
            lines += [
                f"{n}. {cause}: {detail}",
                f"   seen on {seen}{more}",
                f"   {attempt.replay()}",
            ]
        return "\n".join(lines)


# -- the world the fuzzer starts from -------------------------------------------------------------


def seed_world(editor: SignedClient) -> dict[str, list[str]]:
    """A council, a committee, a vision, an area, adopted strategic and operational goals and an
    indicator, created through the API; returns their ids by collection ("goals": [...])."""

    def created(path: str, body: dict[str, Any]) -> str:
        response = editor.post(path, body)
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def ok(path: str, body: dict[str, Any]) -> None:
        response = editor.post(path, body)
        assert response.status_code == 200, response.get_json()

    council = created("/api/v1/org-units", {"name": "Kommunfullmäktige", "kind": "council"})
    committee = created(
        "/api/v1/org-units", {"name": "Socialnämnden", "kind": "committee", "parent_id": council}
    )
    decision = {"decided_by": council, "decided_on": DECIDED_ON, "minute_ref": "KF 2023-01-16 §4"}
    vision = created(
        "/api/v1/documents",
        {
            "doc_type": "vision",
            "owner_unit_id": council,
            "title": "Vision 2030",
            "valid_from": "2023-01-01",
        },
    )
    ok(f"/api/v1/documents/{vision}/adopt", decision)
    area = created(
        "/api/v1/development-areas", {"name": "Livskvalitet", "plan_id": vision, **decision}
    )
    strategic = created(
        "/api/v1/goals",
        {
            "level": "strategic",
            "owner_unit_id": council,
            "period": PERIOD,
            "title": "Trygg vård och omsorg",
            "development_area_id": area,
        },
    )
    ok(f"/api/v1/goals/{strategic}/adopt", decision)
    operational = created(
        "/api/v1/goals",
        {
            "level": "operational",
            "owner_unit_id": committee,
            "period": PERIOD,
            "title": "Fler brukare är nöjda",
            "derived_from": [strategic],
        },
    )
    committee_decision = {**decision, "decided_by": committee, "minute_ref": "SN 2023-02-01 §7"}
    ok(f"/api/v1/goals/{operational}/adopt", committee_decision)
    indicator = created(
        f"/api/v1/goals/{operational}/indicators",
        {
            "name": "Nöjda brukare",
            "unit_of_measure": "%",
            "direction": "higher_is_better",
            "source": {"kind": "kolada", "kpi_id": "U21468"},
            "targets": {"2024": 80, "2025": 85},
            "thresholds": {"green": 80, "yellow": 70},
            **committee_decision,
        },
    )
    return {
        "org-units": [council, committee],
        "documents": [vision],
        "development-areas": [area],
        "goals": [strategic, operational],
        "indicators": [indicator],
    }


# -- strategies -----------------------------------------------------------------------------------

#: Text that can travel in a URL (percent-encoded UTF-8): anything but lone surrogates.
url_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
#: Header values travel as latin-1, without line breaks.
header_text = st.text(st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"))
HOSTILE = [
    "",
    " ",
    "\x00",
    "..",
    "../",
    "../../etc/passwd",
    "%",
    "%00",
    "org-unit-",
    "goal-00000000-0000-0000-0000-000000000000",
    "Götene ✓ \U0001d518 \u4e2d\u6587",
    "\u202e",
    "'; DROP TABLE events; --",
    "x" * 5000,
]
#: In JSON a string may also hold lone surrogates (sent escaped, as "\ud800").
HOSTILE_IN_JSON = [*HOSTILE, "\ud800", "a\udfff"]
HOSTILE_HEADERS = [" ", "\x00", "k\x00", "\x7f", "ÿ" * 200, "k" * 201]
BAD_INSTANTS = [
    "2026-13-01",
    "2026-02-30",
    "2026-02-29T25:00:00Z",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59-23:59",
    "2026-03-14T09:12:00",
    "2026-03-14T09:12:00+99:00",
    "2026-03-14 09:12:00Z",
    "now",
    "-1",
    "1e10",
    "99999999999999999999",
    "",
]
RAW_BODIES = [
    b"",
    b"\x00",
    b"null",
    b"{",
    b'{"name": ',
    b"[" * 100_000,
    b'{"a":' * 5_000,
    b"1" * 5_000,
    b"1e999",
    b"NaN",
    b"\xef\xbb\xbf{}",
    "{}".encode("utf-16"),
    b"\xff\xfe\xfd",
    b'{"name": "\\ud800", "kind": "council"}',
    b'{"name": "a", "name": "b", "kind": "council"}',
]
#: Integers around the limits of PostgreSQL's bigint and float8, and beyond.
BIG_NUMBERS = [2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 10**400]
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | st.text()
)
any_json = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


def _encoded(text: str) -> str:
    """Percent-encoded UTF-8; a lone surrogate (which no URL can carry) becomes "?"."""
    return quote(text, safe="", errors="replace")


def choose(data: st.DataObject, *weighted: tuple[int, Any]) -> Any:
    """Draw from one of the strategies, chosen by weight (hypothesis shrinks to the first)."""
    weighted = tuple((w, s) for w, s in weighted if w > 0)
    total = sum(w for w, _ in weighted)
    pick = data.draw(st.integers(0, total - 1))
    for weight, strategy in weighted:
        if pick < weight:
            return data.draw(strategy)
        pick -= weight
    raise AssertionError("unreachable")


class Fuzzer:
    """Makes requests for the operations of an OpenAPI document, around a seeded world."""

    def __init__(self, spec: dict[str, Any], world: dict[str, list[str]]) -> None:
        self.spec = spec
        self.world = world
        self.ids = [i for ids in world.values() for i in ids]
        self.operations = [
            (method.upper(), path, operation)
            for path, item in spec["paths"].items()
            for method, operation in item.items()
            if method in ("get", "post", "put", "patch", "delete")
        ]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    # -- ids, instants, cursors --------------------------------------------------------------
    def entity_id(self, data: st.DataObject, collection: str | None) -> str:
        """Mostly a real id of the collection's type, else of another type, or hostile text."""
        ids = self.world.get(collection or "", self.ids)
        return str(
            choose(
                data,
                (5, st.sampled_from(ids)),
                (2, st.sampled_from(self.ids)),
                (3, st.sampled_from(HOSTILE)),
                (1, url_text),
                (1, st.sampled_from(ids).map(lambda i: i + "x")),
            )
        )

    def instant(self, data: st.DataObject) -> str:
        return str(
            choose(
                data,
                (3, st.datetimes(timezones=st.timezones()).map(dt.datetime.isoformat)),
                (2, st.dates().map(dt.date.isoformat)),
                (3, st.sampled_from(BAD_INSTANTS)),
                (1, url_text),
            )
        )

    def cursor(self, data: st.DataObject) -> str:
        def encoded(value: Any) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()

        return str(
            choose(
                data,
                (2, st.sampled_from(self.ids).map(encoded)),
                (3, any_json.map(encoded)),
                (2, url_text),
                (1, st.binary(max_size=20).map(lambda b: base64.urlsafe_b64encode(b).decode())),
            )
        )

    # -- values shaped by a schema ------------------------------------------------------------
    def good_value(
        self, data: st.DataObject, name: str, schema: dict[str, Any], faults: bool = True
    ) -> Any:
        """A value the schema accepts, often one the domain accepts too (real ids, the period).
        With `faults`, sometimes one just outside it: too long, a bad date."""
        schema = self.resolve(schema)
        # anyOf's null alternative is null; a nullable value (allow_none) mostly is not, or a
        # command whose fields may all be null (progress: status, note) never does a thing
        if (
            schema.get("nullable")
            and "properties" not in schema
            and ("type" not in schema or data.draw(st.integers(0, 3)) == 0)
        ):
            return None
        if "anyOf" in schema:
            return self.good_value(data, name, data.draw(st.sampled_from(schema["anyOf"])), faults)
        kind = schema.get("type")
        if "enum" in schema:
            return data.draw(st.sampled_from(schema["enum"]))
        if kind == "array":
            item = schema.get("items", {})
            size = data.draw(st.integers(0, min(schema.get("maxItems", 4), 4)))
            return [self.good_value(data, name, item, faults) for _ in range(size)]
        if kind == "object":
            if "properties" in schema:
                return self.body_of(data, schema, faults)
            values = schema.get("additionalProperties") or {}
            key = choose(data, (3, st.integers(2020, 2030).map(str)), (1, st.text(max_size=6)))
            return {key: self.good_value(data, name, values, faults)}
        if kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            if name == "year":
                return choose(data, (3, st.integers(2023, 2026)), (1, st.integers(low, high)))
            huge = [
                n for n in BIG_NUMBERS if (low is None or n >= low) and (high is None or n <= high)
            ]
            return choose(data, (4, st.integers(low, high)), (1, st.sampled_from(huge or [low])))
        if kind == "number":
            return choose(
                data,
                (3, st.floats(-1e6, 1e6)),
                (1, st.floats()),
                (1, st.integers() | st.sampled_from(BIG_NUMBERS)),
            )
        if kind == "boolean":
            return data.draw(st.booleans())
        return self.good_text(data, name, schema, faults)

    def good_text(
        self, data: st.DataObject, name: str, schema: dict[str, Any], faults: bool
    ) -> str:
        fault = 1 if faults else 0
        if name in ID_FIELDS:
            ids = self.world[ID_FIELDS[name]] + (ROLES_DECIDING if name == "decided_by" else [])
            return str(
                choose(
                    data,
                    (6, st.sampled_from(ids)),
                    (1, st.sampled_from(self.ids)),
                    (1, st.sampled_from(HOSTILE_IN_JSON)),
                )
            )
        if name == "period":
            return str(
                choose(
                    data,
                    (3, st.sampled_from([PERIOD, "2027-2030", "2019-2022", "2023-2024"])),
                    (1, st.from_regex(schema["pattern"], fullmatch=True)),
                )
            )
        if schema.get("format") == "date":
            return str(
                choose(
                    data,
                    (3, st.dates(dt.date(2022, 1, 1), dt.date(2027, 12, 31)).map(str)),
                    (1, st.dates().map(str)),
                    (fault, st.sampled_from(BAD_INSTANTS)),
                )
            )
        if "pattern" in schema:
            return str(data.draw(st.from_regex(schema["pattern"], fullmatch=True)))
        if name == "kpi_id":
            return str(data.draw(st.sampled_from(["N00945", "U21468", "X1", ""])))
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", 60), 60)
        text = choose(
            data,
            (4, st.text(min_size=low, max_size=high)),  # any code point, lone surrogates too
            (1, st.sampled_from([t for t in HOSTILE if len(t) <= schema.get("maxLength", 1e9)])),
            (fault, st.just("y" * (schema.get("maxLength", 100) + 1))),
        )
        return str(text)

    def value(self, data: st.DataObject, name: str, schema: dict[str, Any], faults: bool) -> Any:
        """A value of the right type; with `faults`, sometimes any JSON, or null."""
        pick = data.draw(st.integers(0, 9)) if faults else 0
        if pick < 7:
            return self.good_value(data, name, schema, faults)
        return data.draw(any_json) if pick < 9 else None

    def body_of(self, data: st.DataObject, schema: dict[str, Any], faults: bool) -> dict[str, Any]:
        """The schema's properties, optional ones half the time; with `faults`, required ones
        missing, values of other types, nulls and extra fields."""
        schema = self.resolve(schema)
        required = set(schema.get("required", ()))
        body = {}
        for name, prop in schema.get("properties", {}).items():
            odds = 5 if name not in required else 9 if faults else 10
            if data.draw(st.integers(0, 9)) < odds:
                body[name] = self.value(data, name, prop, faults)
        if faults and data.draw(st.integers(0, 4)) == 0:
            body.update(data.draw(st.dictionaries(st.text(max_size=10), any_json, max_size=2)))
        return body

    # -- a whole request ------------------------------------------------------------------------
    def path(self, data: st.DataObject, template: str) -> str:
        parts: list[str] = []
        for segment in template.split("/"):
            if segment.startswith("{"):
                value = self.entity_id(data, parts[-1])
                raw = data.draw(st.integers(0, 9)) == 0 and not {"?", "#"} & set(value)
                parts.append(value if raw else _encoded(value))  # raw: ../ and % as they are
            else:
                parts.append(segment)
        return "/".join(parts)

    def query(self, data: st.DataObject, operation: dict[str, Any]) -> str:
        known = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        pairs: list[tuple[str, str]] = []
        for parameter in known:
            if data.draw(st.integers(0, 2)) == 0:
                pairs.append((parameter["name"], self.query_value(data, parameter)))
        if data.draw(st.integers(0, 4)) == 0:
            pairs.append((data.draw(url_text), data.draw(url_text)))
        if pairs and data.draw(st.integers(0, 9)) == 0:
            pairs.append(pairs[0])  # the same parameter twice
        query = "&".join(f"{_encoded(k)}={_encoded(v)}" for k, v in pairs)
        if data.draw(st.integers(0, 19)) == 0:
            query += data.draw(st.sampled_from(["&", "%", "%ZZ", "a=%C3%28", "==", "&&=&"]))
        return f"?{query}" if query else ""

    def query_value(self, data: st.DataObject, parameter: dict[str, Any]) -> str:
        name = parameter["name"]
        if name == "as_of":
            return self.instant(data)
        if name == "cursor":
            return self.cursor(data)
        pick = data.draw(st.integers(0, 5))
        if pick < 4:
            return str(self.good_value(data, name, parameter.get("schema", {})))
        if pick < 5:
            return data.draw(st.sampled_from(["", "-1", "0", "9" * 30, "1e3", "0x10", "\x00"]))
        return str(data.draw(url_text))

    def body(self, data: st.DataObject, method: str, operation: dict[str, Any]) -> bytes:
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema") or {"type": "object"}
        if method == "GET" and data.draw(st.integers(0, 9)) > 0:
            return b""
        kind = data.draw(st.integers(0, 9))
        if kind < 4:  # well-formed: gets past the schema, so the domain rules are exercised
            value = self.body_of(data, schema, faults=False)
        elif kind < 7:
            value = self.body_of(data, schema, faults=True)
        elif kind < 8:
            value = data.draw(any_json)
        else:
            return bytes(choose(data, (3, st.sampled_from(RAW_BODIES)), (1, st.binary())))
        return json.dumps(value).encode()  # ensure_ascii: lone surrogates travel as \ud800

    def headers(self, data: st.DataObject) -> dict[str, str]:
        headers = {}
        if data.draw(st.integers(0, 3)) == 0:
            headers["If-Match"] = choose(
                data,
                (3, st.integers(0, 12).map(lambda v: f'"{v}"')),
                (2, st.sampled_from(['W/"2"', "*", '"²"', '"1", "2"', '""', "9" * 30])),
                (1, st.sampled_from(HOSTILE_HEADERS) | header_text),
            )
        if data.draw(st.integers(0, 3)) == 0:
            headers["Idempotency-Key"] = choose(
                data,
                (2, st.sampled_from(["k-1", "k-2"])),  # reused: replays and refused reuse
                (1, st.sampled_from(HOSTILE_HEADERS)),
                (1, header_text),
            )
        if data.draw(st.integers(0, 9)) == 0:
            headers["Content-Type"] = data.draw(
                st.sampled_from(["text/plain", "application/json; charset=latin-1", "x/y", ""])
            )
        return headers

    def attempt(self, data: st.DataObject) -> tuple[str, Attempt]:
        method, template, operation = data.draw(st.sampled_from(self.operations))
        if data.draw(st.integers(0, 19)) == 0:
            method = data.draw(st.sampled_from(["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
        # An admin may do all an editor may, and the admin routes besides.
        who = choose(
            data, (4, st.just(EDITOR)), (3, st.just(ADMIN)), (1, st.sampled_from([READER, AUDITOR]))
        )
        url = self.path(data, template) + self.query(data, operation)
        return template, Attempt(
            who, method, url, self.body(data, method, operation), self.headers(data)
        )


# -- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def app(goals: Runtime) -> Any:
    return create_app(goals.config, goals)


def openapi(app: Any) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def test_the_openapi_document_has_every_route_with_its_methods(app: Any) -> None:
    """The fuzzer works from the document, so a route missing from it would go untested."""
    paths = openapi(app)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        template = rule.rule.replace("<", "{").replace(">", "}")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in paths.get(template, {}):
                missing.append(f"{method} {template}")
    assert not missing, f"routes missing from the OpenAPI document: {missing}"


def test_no_request_to_the_goals_api_gets_a_500(
    app: Any, unhandled_errors: UnhandledErrors
) -> None:
    fuzzer = Fuzzer(openapi(app), seed_world(SignedClient(app, EDITOR)))
    # "POST 2xx" -> count: did the fuzzer get past validation?
    answered = explore_routes(app, fuzzer, unhandled_errors, EXAMPLES, lambda a: a.method)
    assert answered.get("POST 2xx", 0) >= 10, f"hardly a command got through: {answered}"


def stored_and_delivered(runtime: Runtime) -> tuple[dict[int, str], dict[int, str]]:
    """After a fuzz run: position -> hash of every stored event, and of every event the relay
    then put on the service's topic."""
    relay = Relay(runtime.config, runtime.store)
    with connect(runtime) as conn:
        relay.catch_up(conn)
        stored = {e.position: e.hash for e in runtime.store.iterate_all(conn, upcast=False)}
    relay.close()
    delivered: dict[int, str] = {}
    for batch in read_topics_to_end(runtime.config, [runtime.config.topic()], timeout=60):
        for record in batch:
            message = envelope.decode(record.value)
            delivered[message["position"]] = message["hash"]
    return stored, delivered


def explore_routes(
    app: Any,
    fuzzer: Fuzzer,
    unhandled_errors: UnhandledErrors,
    examples: int,
    label: Callable[[Attempt], str],
) -> dict[str, int]:
    """Send `examples` attempts of the fuzzer; fail with the smallest request of each fault
    (a 5xx, or a 4xx that is not Problem+JSON). The answers counted by `label(attempt)` and
    status class ("POST 2xx")."""
    findings = Findings()
    answered: dict[str, int] = {}

    @fuzz_settings(examples)
    @given(st.data())
    def explore(data: st.DataObject) -> None:
        route, attempt = fuzzer.attempt(data)
        status, fault = judge(app, attempt, unhandled_errors)
        outcome = f"{label(attempt)} {status // 100}xx"
        answered[outcome] = answered.get(outcome, 0) + 1
        if fault:
            findings.add(fault, f"{attempt.method} {route}", attempt)

    explore()
    findings.minimise(app, unhandled_errors)
    assert not findings.smallest, findings.report()
    return answered


def test_forged_or_malformed_identity_headers_are_401_not_500(
    app: Any, unhandled_errors: UnhandledErrors
) -> None:
    """What reaches a service past the gateway: any value in the five identity headers."""
    findings = Findings()

    @fuzz_settings(max(EXAMPLES // 5, 100))
    @given(
        st.fixed_dictionaries(
            {},
            optional={
                ACTOR_HEADER: header_text,
                ROLE_HEADER: st.sampled_from(["editor", "admin", "root", ""]) | header_text,
                SCOPE_HEADER: header_text,
                TIME_HEADER: st.integers(0, 2**70).map(str)
                | st.just(str(int(time.time())))
                | st.sampled_from(["²", "¹²", "-1", "1.5", " 1", ""])
                | header_text,
                SIGNATURE_HEADER: st.text("0123456789abcdef", min_size=64, max_size=64)
                | header_text,
            },
        )
    )
    def explore(headers: dict[str, str]) -> None:
        body = b'{"name": "KF", "kind": "council"}'
        attempt = Attempt(EDITOR, "POST", "/api/v1/org-units", body, headers, signed=False)
        status, fault = judge(app, attempt, unhandled_errors)
        if fault is None and status != 401:
            fault = (f"{status}, not 401", "")
        if fault:
            findings.add(fault, "POST /api/v1/org-units", attempt)

    explore()
    findings.minimise(app, unhandled_errors)
    assert not findings.smallest, findings.report()
