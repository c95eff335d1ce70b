"""The access rules (shared/access.py) on an in-memory organisation: no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from shared.access import Access, CommandGuard, Ownership, field, whole
from shared.errors import Forbidden, NotFound
from shared.identity import Identity

#: council → committee → sector → school; council → another committee
PARENTS = {"kf": None, "bun": "kf", "bou": "bun", "skola": "bou", "son": "kf"}
STATES = {"doc-1": {"id": "doc-1", "owner_unit_id": "skola"}}


class Tree:
    def ancestry(self, conn: Any, unit_id: str) -> list[str]:
        chain: list[str] = []
        unit: str | None = unit_id if unit_id in PARENTS else None
        while unit is not None:
            chain.append(unit)
            unit = PARENTS[unit]
        return chain

    def root(self, conn: Any) -> str | None:
        return "kf"


ACCESS = Access(
    Tree(),
    {
        "doc": Ownership(existing=field("owner_unit_id"), new=field("owner_unit_id")),
        "area": Ownership(existing=whole, new=whole),
    },
)


def editor(scope: str) -> Identity:
    return Identity(f"key:{scope}", "editor", scope)


def test_an_editor_writes_within_its_scopes_subtree() -> None:
    for scope in ("skola", "bou", "bun", "kf", "*"):
        ACCESS.authorise_new(None, editor(scope), "doc", {"owner_unit_id": "skola"})


def test_an_editor_outside_the_subtree_is_refused_naming_unit_scope_and_rule() -> None:
    with pytest.raises(Forbidden) as refused:
        ACCESS.authorise_new(None, editor("son"), "doc", {"owner_unit_id": "skola"})
    assert refused.value.extensions == {
        "unit_id": "skola",
        "scope": "son",
        "rule": "editors write only within their scope",
    }
    with pytest.raises(Forbidden):  # a unit below does not cover the unit above
        ACCESS.authorise_new(None, editor("skola"), "doc", {"owner_unit_id": "bou"})


@pytest.mark.parametrize("role", ["reader", "auditor"])
def test_readers_and_auditors_never_write(role: str) -> None:
    with pytest.raises(Forbidden, match="may not change anything"):
        ACCESS.authorise_new(None, Identity("key:x", role, "*"), "doc", {"owner_unit_id": "kf"})


def test_an_admin_writes_anywhere() -> None:
    ACCESS.authorise_new(None, Identity("key:a", "admin", "son"), "doc", {"owner_unit_id": "bou"})


def test_what_belongs_to_the_whole_municipality_needs_the_councils_scope() -> None:
    ACCESS.authorise_new(None, editor("kf"), "area", {})
    with pytest.raises(Forbidden, match="the municipality as a whole"):
        ACCESS.authorise_new(None, editor("bun"), "area", {})


def test_an_undeclared_resource_is_admin_only() -> None:
    with pytest.raises(Forbidden, match="no ownership is declared"):
        ACCESS.authorise_new(None, editor("bun"), "report", {})


def test_an_unknown_owning_unit_is_not_found() -> None:
    with pytest.raises(NotFound):
        ACCESS.authorise_new(None, editor("bun"), "doc", {"owner_unit_id": "nowhere"})


def test_recording_a_decision_needs_a_scope_covering_the_deciding_body() -> None:
    body = {"owner_unit_id": "bou", "decided_by": "bun"}
    ACCESS.authorise_new(None, editor("bun"), "doc", body)
    with pytest.raises(Forbidden) as refused:
        ACCESS.authorise_new(None, editor("bou"), "doc", body)  # owner in scope, body not
    assert refused.value.fields == {"decided_by": ["outside the caller's scope"]}
    assert refused.value.extensions["unit_id"] == "bun"


def test_an_unknown_deciding_body_is_not_found() -> None:
    with pytest.raises(NotFound) as missing:
        ACCESS.authorise_new(
            None, editor("bou"), "doc", {"owner_unit_id": "bou", "decided_by": "x"}
        )
    assert missing.value.fields == {"decided_by": ["no such unit"]}


def test_the_chief_executive_is_recorded_only_with_the_whole_municipalitys_scope() -> None:
    body = {"owner_unit_id": "bou", "decided_by": "chief_executive"}
    ACCESS.authorise_new(None, editor("kf"), "doc", body)
    with pytest.raises(Forbidden):
        ACCESS.authorise_new(None, editor("bun"), "doc", body)


def test_a_process_owner_is_recorded_by_the_editors_of_the_owning_unit() -> None:
    ACCESS.authorise_new(
        None, editor("skola"), "doc", {"owner_unit_id": "skola", "decided_by": "process_owner"}
    )


def test_the_guard_checks_a_change_on_the_state_the_command_loaded() -> None:
    guard = CommandGuard(ACCESS, editor("son"), "doc", {}, "doc-1")
    guard.entered(None)  # a change is not checked on entering
    with pytest.raises(Forbidden):
        guard.loaded(None, "doc-1", lambda: STATES["doc-1"])
    allowed = CommandGuard(ACCESS, editor("son"), "doc", {}, "doc-1")
    allowed.loaded(None, "doc-1", lambda: {"owner_unit_id": "son"})
    assert allowed.checked


def test_the_guard_checks_a_creation_on_entering_and_only_once() -> None:
    body = {"owner_unit_id": "skola"}
    guard = CommandGuard(ACCESS, editor("bou"), "doc", body)
    body.clear()  # a handler taking fields out of its body does not change what was checked
    guard.entered(None)
    assert guard.checked
    guard.appending(None)
