"""The gateway's pure merging: OpenAPI documents, the merged feed's cursor and pages, and
which service owns an entity id (no I/O)."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

from services.gateway.audit_trail import (
    MAX_LIMIT,
    OWNERS,
    BadQuery,
    decode_cursor,
    encode_cursor,
    merge_feed,
    owner_of,
    parse_limit,
)
from services.gateway.openapi_merge import (
    API_KEY_SCHEME,
    MISSING_KEY,
    PathCollision,
    ecma_anchors,
    merge,
    security_schemes_used,
    unresolved_refs,
)

# -- OpenAPI ------------------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def doc(paths: dict[str, Any], schemas: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "x", "version": "v1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"signature": {"type": "apiKey", "in": "header", "name": "X-S"}},
        },
        "security": [{"signature": []}],
        **extra,
    }


def get_returning(schema: dict[str, Any], **operation: Any) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    return {"get": {"responses": {"200": {"description": "ok", "content": content}}, **operation}}


def returned(document: dict[str, Any], path: str) -> Any:
    return document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]


def test_identical_schemas_become_one_and_different_ones_are_prefixed_with_refs_rewritten() -> None:
    problem = {"type": "object", "properties": {"title": {"type": "string"}}}
    goals = doc(
        {"/api/v1/goals": get_returning(ref("Goal"))},
        {
            "Problem": problem,
            "Goal": {"type": "object", "properties": {"unit": ref("Unit")}},
            "Unit": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    )
    plans = doc(
        {"/api/v1/plans": get_returning(ref("Plan"))},
        {
            "Problem": problem,
            # same text as goals' Goal, but its Unit is another schema: so it differs too
            "Goal": {"type": "object", "properties": {"unit": ref("Unit")}},
            "Unit": {"type": "object", "properties": {"id": {"type": "string"}}},
            "Plan": {"type": "object", "properties": {"goal": ref("Goal")}},
        },
    )
    merged = merge({"goals": goals, "plans": plans})
    schemas = merged["components"]["schemas"]
    assert "Problem" in schemas and "goals.Problem" not in schemas
    assert {"goals.Unit", "plans.Unit", "goals.Goal", "plans.Goal", "Plan"} <= set(schemas)
    assert "Unit" not in schemas and "Goal" not in schemas
    assert returned(merged, "/api/v1/goals") == ref("goals.Goal")
    assert schemas["plans.Goal"]["properties"]["unit"] == ref("plans.Unit")
    assert schemas["Plan"]["properties"]["goal"] == ref("plans.Goal")
    assert unresolved_refs(merged) == []


def test_the_services_schemes_are_replaced_by_the_gateways_api_key() -> None:
    goals = doc(
        {
            "/api/v1/goals": get_returning({"type": "object"}, security=[{"signature": []}]),
            "/api/v1/open": get_returning({"type": "object"}, security=[]),
        },
        {},
    )
    merged = merge({"goals": goals})
    assert merged["components"]["securitySchemes"] == {"apiKey": API_KEY_SCHEME}
    assert API_KEY_SCHEME["type"] == "http" and API_KEY_SCHEME["scheme"] == "bearer"
    assert merged["security"] == [{"apiKey": []}]
    assert security_schemes_used(merged) == {"apiKey"}
    assert "security" not in merged["paths"]["/api/v1/goals"]["get"]
    assert merged["paths"]["/api/v1/open"]["get"]["security"] == []


def test_a_path_served_by_two_services_raises() -> None:
    goals = doc({"/api/v1/things": get_returning({"type": "object"})}, {})
    plans = doc({"/api/v1/things": get_returning({"type": "string"})}, {})
    with pytest.raises(PathCollision, match="/api/v1/things is served by both goals and plans"):
        merge({"goals": goals, "plans": plans})


def test_history_every_service_serves_is_kept_once_and_the_gateways_own_wins() -> None:
    history = "/api/v1/history/{entity_id}"
    parts = {
        name: doc({history: get_returning({"type": "object", "title": name})}, {})
        for name in ("goals", "plans", "reports")
    }
    assert returned(merge(parts), history)["title"] == "goals"
    parts["gateway"] = doc({history: get_returning({"type": "object", "title": "own"})}, {})
    assert returned(merge(parts), history)["title"] == "own"


def test_tags_are_unioned_and_a_missing_part_is_named() -> None:
    goals = doc({}, {}, tags=[{"name": "goals", "description": "a"}])
    plans = doc({}, {}, tags=[{"name": "plans"}, {"name": "goals", "description": "b"}])
    merged = merge({"goals": goals, "plans": plans}, missing={"reports": "not answering"})
    assert merged["tags"] == [{"name": "goals", "description": "a"}, {"name": "plans"}]
    assert merged[MISSING_KEY] == {"reports": "not answering"}
    assert MISSING_KEY not in merge({"goals": goals})


def test_pythons_pattern_anchors_and_undescribed_responses_become_openapis() -> None:
    schema = {"type": "string", "pattern": "\\A[0-9]{4}-[0-9]{4}\\Z"}
    goals = doc({"/a": {"get": {"responses": {"200": {"content": {}}}}}}, {"Period": schema})
    merged = merge({"goals": goals})
    assert merged["components"]["schemas"]["Period"]["pattern"] == "^[0-9]{4}-[0-9]{4}$"
    assert merged["paths"]["/a"]["get"]["responses"]["200"]["description"] == "OK"
    assert ecma_anchors("a\\\\Z") == "a\\\\Z"  # an escaped backslash, then Z
    assert ecma_anchors("[a-z]+") == "[a-z]+"


def test_unresolved_refs_are_found() -> None:
    document = doc({"/a": get_returning(ref("Nowhere"))}, {"Here": {"type": "string"}})
    assert unresolved_refs(document) == ["#/components/schemas/Nowhere"]


# -- the cursor ---------------------------------------------------------------------------


def raw_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_cursor_round_trips_and_names_every_service() -> None:
    positions = {"goals": 12, "plans": 0, "reports": 2**40}
    cursor = encode_cursor(positions)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor) == positions
    assert decode_cursor(None) == decode_cursor("") == {"goals": 0, "plans": 0, "reports": 0}
    assert decode_cursor(raw_cursor({"plans": 4})) == {"goals": 0, "plans": 4, "reports": 0}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("garbage!", "base64url"),
        ("Zm9v", "not a cursor"),  # "foo": not JSON
        (raw_cursor([1, 2]), "not a cursor"),
        (raw_cursor({"goals": -1}), "integer ≥ 0"),
        (raw_cursor({"goals": 1.5}), "integer ≥ 0"),
        (raw_cursor({"goals": True}), "integer ≥ 0"),
        (raw_cursor({"goals": "3"}), "integer ≥ 0"),
        (raw_cursor({"goals": 2**63}), "integer ≥ 0"),
        (raw_cursor({"warehouse": 1}), "'warehouse'"),
        ("A" * 2000, "base64url"),
        (base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="), "not a cursor"),
    ],
)
def test_a_bad_cursor_is_refused_naming_after(raw: str, says: str) -> None:
    with pytest.raises(BadQuery) as refused:
        decode_cursor(raw)
    assert refused.value.status == 400
    assert list(refused.value.fields) == ["after"]
    assert says in refused.value.detail


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1.5", str(MAX_LIMIT + 1), "١٢", "9" * 50])
def test_a_bad_limit_is_refused_naming_limit(raw: str) -> None:
    with pytest.raises(BadQuery) as refused:
        parse_limit(raw)
    assert list(refused.value.fields) == ["limit"]


def test_a_good_limit_is_read() -> None:
    assert (parse_limit("1"), parse_limit(str(MAX_LIMIT)), parse_limit(None)) == (1, MAX_LIMIT, 500)


# -- merging pages ------------------------------------------------------------------------


def event(service: str, position: int, time: str) -> dict[str, Any]:
    return {"source": f"/styrkort/{service}", "position": position, "time": time}


def memory(
    logs: dict[str, list[dict[str, Any]]], asked: list[dict[str, tuple[int, int]]] | None = None
) -> Any:
    """A fetch_many over in-memory logs (each service's events in position order)."""

    def fetch_many(wanted: Any) -> dict[str, tuple[list[dict[str, Any]], int]]:
        if asked is not None:
            asked.append(dict(wanted))
        return {
            s: (
                [e for e in logs[s] if e["position"] > after][:size],
                logs[s][-1]["position"] if logs[s] else 0,
            )
            for s, (after, size) in wanted.items()
        }

    return fetch_many


def test_pages_merge_by_time_then_service_order_and_positions_move_over_emitted_only() -> None:
    logs = {
        "goals": [event("goals", 5, "2026-01-01T00:00:02Z"), event("goals", 6, "T9")],
        "plans": [event("plans", 3, "2026-01-01T00:00:01Z")],
        "reports": [event("reports", 9, "2026-01-01T00:00:02Z")],
    }
    start = {"goals": 4, "plans": 2, "reports": 8}
    emitted, moved, heads = merge_feed(memory(logs), start, limit=3)
    assert [(e["source"], e["position"]) for e in emitted] == [
        ("/styrkort/plans", 3),
        ("/styrkort/goals", 5),
        ("/styrkort/reports", 9),
    ]
    assert moved == {"goals": 5, "plans": 3, "reports": 9}
    assert heads == {"goals": 6, "plans": 3, "reports": 9}


def test_a_service_whose_times_are_out_of_position_order_is_never_skipped() -> None:
    # position 2 committed with an earlier time than position 1 (concurrent transactions)
    logs = {"goals": [event("goals", 1, "T5"), event("goals", 2, "T1")], "plans": []}
    emitted, moved, _ = merge_feed(memory(logs), {"goals": 0, "plans": 0}, 1, ("goals", "plans"))
    assert [e["position"] for e in emitted] == [1] and moved["goals"] == 1


def test_a_page_asks_for_a_share_each_then_more_of_the_service_it_uses_up() -> None:
    logs = {
        "goals": [event("goals", p, f"T{p:03d}") for p in range(1, 31)],
        "plans": [event("plans", 1, "T900")],
        "reports": [],
    }
    asked: list[dict[str, tuple[int, int]]] = []
    emitted, moved, _ = merge_feed(memory(logs, asked), dict.fromkeys(logs, 0), limit=12)
    assert [e["position"] for e in emitted] == list(range(1, 13))
    assert moved == {"goals": 12, "plans": 0, "reports": 0}
    # an equal share of 12 from each, then the rest the page may take, of goals alone
    assert asked == [{"goals": (0, 4), "plans": (0, 4), "reports": (0, 4)}, {"goals": (4, 8)}]


def test_paging_while_services_append_at_different_rates_yields_each_event_once() -> None:
    """A model of the feed: three logs growing at different rates between pages."""
    rng = random.Random(11)
    logs: dict[str, list[dict[str, Any]]] = {"goals": [], "plans": [], "reports": []}
    rates = {"goals": 7, "plans": 1, "reports": 3}
    clock = 0
    seen: list[dict[str, Any]] = []
    positions = decode_cursor(None)
    for _ in range(60):
        for service, rate in rates.items():
            for _ in range(rng.randint(0, rate)):
                clock += rng.choice((0, 1))  # equal times happen
                logs[service].append(event(service, len(logs[service]) + 1, f"T{clock:06d}"))
        emitted, positions, _ = merge_feed(memory(logs), positions, rng.randint(1, 9))
        positions = decode_cursor(encode_cursor(positions))
        seen.extend(emitted)
    while True:  # drain
        emitted, positions, heads = merge_feed(memory(logs), positions, 5)
        seen.extend(emitted)
        if all(positions[s] >= heads[s] for s in logs):
            break
    for service, log in logs.items():
        mine = [e for e in seen if e["source"] == f"/styrkort/{service}"]
        assert mine == log  # every event once, in position order
    assert len(seen) == sum(len(log) for log in logs.values())


# -- owners of ids ------------------------------------------------------------------------


def test_every_services_stream_prefix_is_routed_to_it() -> None:
    from services.goals.domain import areas, documents, goal, indicator, organisation
    from services.plans.domain import activity, agreement, plan, proposal
    from services.reports.domain import (
        annual,
        assessment,
        calendar,
        comparison,
        improvement,
        report,
        result,
    )

    modules = {
        "goals": (areas, documents, goal, indicator, organisation),
        "plans": (activity, agreement, plan, proposal),
        "reports": (annual, assessment, calendar, comparison, improvement, report, result),
    }
    expected = {m.STREAM_PREFIX: s for s, found in modules.items() for m in found}
    assert {p: s for p, s in OWNERS if s != "gateway"} == expected
    for prefix, service in expected.items():
        assert owner_of(f"{prefix}0b7e") == service
    assert owner_of("annual-report-2025") == "reports"
    assert owner_of("key-abc") == "gateway"
    assert owner_of("goal-") is None and owner_of("nothing-1") is None and owner_of("") is None
