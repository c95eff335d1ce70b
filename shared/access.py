"""Who may write what, decided in one place for every service (DESIGN.md §7).

A service declares two things and gets the whole mechanism:
- its `OrgTree`: how it knows the organisation (the ancestry of a unit, and the root council);
- per entity type, an `Ownership`: which organisation unit owns an existing resource, and under
  which unit a new one is created.

Every command then passes `Access.authorise`, which refuses readers and auditors (they never
write), lets `admin` through anywhere, and lets an `editor` through only when the unit that owns
the resource lies in its scope's subtree. A command that records a decision (its body names
`decided_by`) also needs a scope that covers the deciding body: a school's editor may record
its own manager's decisions, the council's secretariat (scope: the council) the council's.
Whether that body may take that decision at all is the domain's rule, checked on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import psycopg

from shared import versions
from shared.errors import Forbidden, NotFound
from shared.identity import Identity

Conn = psycopg.Connection[Any]
Body = Mapping[str, Any]
#: An owning unit: a unit id, or WHOLE for what belongs to the municipality as a whole (the
#: organisation's root, new councils, development areas) and needs a scope over all of it.
WHOLE = None
Unit = str | None

#: How a role that is not a unit (`decided_by: chief_executive`) is covered: the chief executive
#: acts for the whole municipality; the person responsible for a process, for the owning unit.
ROLE_DECIDERS: Mapping[str, Literal["whole", "owner"]] = {
    "chief_executive": "whole",
    "process_owner": "owner",
}


class OrgTree(Protocol):
    """The organisation as a service knows it (its own read model or a copy from events)."""

    def ancestry(self, conn: Conn, unit_id: str) -> list[str]:
        """The unit and its parents up to the root, the unit first; [] if it is unknown."""

    def root(self, conn: Conn) -> str | None:
        """The council (kommunfullmäktige), the root of the organisation, if there is one."""


@dataclass(frozen=True)
class Ownership:
    """Where resources of one entity type sit in the organisation.

    `existing(conn, state, body)` gives the units that must be in scope to change an entity in
    `state` with a command `body` (a move names its new parent too); `new(conn, body)` those
    to create one from `body` (path arguments included). WHOLE stands for the municipality.
    """

    existing: Callable[..., Sequence[Unit]]  # (conn, state, body)
    new: Callable[..., Sequence[Unit]]  # (conn, body)


def field(name: str) -> Callable[..., Sequence[Unit]]:
    """The unit is the value of one field (of a state or a body): `field("owner_unit_id")`."""

    def units(conn: Conn, values: Mapping[str, Any], *_: Any) -> Sequence[Unit]:
        return [values.get(name)]

    return units


def owner_of(
    entity_field: str, ownership: Callable[[], Ownership], prefix: str
) -> Callable[..., Sequence[Unit]]:
    """The units of another entity named by `entity_field` (an activity is its plan's);
    `prefix` is that entity's id prefix, so an id of another kind is not found."""

    def units(conn: Conn, values: Mapping[str, Any], *_: Any) -> Sequence[Unit]:
        entity_id = values.get(entity_field)
        state = None
        if isinstance(entity_id, str) and entity_id.startswith(prefix):
            state = versions.get(conn, entity_id)
        if state is None:
            raise NotFound(f"no {entity_field} {entity_id}", {entity_field: ["unknown"]})
        return ownership().existing(conn, state, {})

    return units


def whole(*_: Any) -> Sequence[Unit]:
    return [WHOLE]


class SqlOrgTree:
    """The OrgTree of a service whose migrations define `org_ancestry(unit text)` (the unit
    and its parents, unit first) and `org_root()` over its own copy of the organisation.

    They are SQL functions, so each service words the walk for its own tables and indexes,
    and PostgreSQL keeps one generic plan of it: one index lookup of the parent per level.
    (A plan that scanned every unit at every level cost a fifth of a command at a few
    thousand units: bench/access.py.)"""

    def ancestry(self, conn: Conn, unit_id: str) -> list[str]:
        rows = conn.execute("SELECT org_ancestry(%s)", [unit_id]).fetchall()
        return [row[0] for row in rows]

    def root(self, conn: Conn) -> str | None:
        row = conn.execute("SELECT org_root()").fetchone()
        return None if row is None or row[0] is None else str(row[0])


class Access:
    """The one place that decides whether the caller may run a command (see the module doc)."""

    def __init__(self, tree: OrgTree, ownership: Mapping[str, Ownership]) -> None:
        self.tree = tree
        self.ownership = ownership

    # -- writes ---------------------------------------------------------------------------------

    def authorise_new(self, conn: Conn, who: Identity, entity_type: str, body: Body) -> None:
        """May `who` create an entity of this type from `body`?"""
        if self.writes_anywhere(who):
            return
        units = self._declared(entity_type).new(conn, body)
        self._require(conn, who, units, body)

    def authorise_change(
        self, conn: Conn, who: Identity, entity_type: str, entity_id: str, body: Body
    ) -> None:
        """May `who` run a command with `body` on the entity? NotFound if there is none."""
        if self.writes_anywhere(who):
            return
        state = versions.get(conn, entity_id)
        if state is None or state.get("id", entity_id) != entity_id:
            raise NotFound(f"no {entity_type.replace('_', ' ')} {entity_id}")
        self.authorise_state(conn, who, entity_type, state, body)

    def authorise_state(
        self, conn: Conn, who: Identity, entity_type: str, state: Mapping[str, Any], body: Body
    ) -> None:
        """May `who` run a command with `body` on an entity in `state` (as JSON)?"""
        if self.writes_anywhere(who):
            return
        units = self._declared(entity_type).existing(conn, state, body)
        self._require(conn, who, units, body)

    # -- reads of closed resources (employee agreements) ----------------------------------------

    def authorise_read(self, conn: Conn, who: Identity, unit_id: str, what: str) -> None:
        """Closed resources are read by admins, auditors and the editors of their unit."""
        if who.role in ("admin", "auditor"):
            return
        if who.role == "editor" and self._covers(conn, who, unit_id):
            return
        raise Forbidden(
            f"{what} are open only to editors of the unit and to auditors; "
            f"{who.role} {who.actor} with scope {who.scope} may not read this one",
            unit_id=unit_id,
            scope=who.scope,
            rule="closed to all but the unit's editors and auditors",
        )

    # -- the rules ------------------------------------------------------------------------------

    def writes_anywhere(self, who: Identity) -> bool:
        """True for an admin or an all-scope editor; Forbidden for readers and auditors."""
        if who.role not in ("editor", "admin"):
            raise Forbidden(
                f"role {who.role!r} may not change anything; writing needs an editor or admin key",
                scope=who.scope,
                rule="readers and auditors never write",
            )
        return who.role == "admin" or who.scope == "*"

    def _declared(self, entity_type: str) -> Ownership:
        try:
            return self.ownership[entity_type]
        except KeyError:  # a route without a declaration must never be open by accident
            raise Forbidden(
                f"no ownership is declared for {entity_type}; only an administrator may write it",
                rule="undeclared resources are admin-only",
            ) from None

    def _require(self, conn: Conn, who: Identity, units: Sequence[Unit], body: Body) -> None:
        for unit in units:
            if not self._covers(conn, who, unit):
                raise Forbidden(
                    f"{_name(unit)} lies outside the scope of {who.actor} ({who.scope}); an "
                    "editor writes only within its own unit and the units below it",
                    unit_id=unit,
                    scope=who.scope,
                    rule="editors write only within their scope",
                )
        decided_by = body.get("decided_by")
        if isinstance(decided_by, str):
            self._require_authority(conn, who, decided_by, units)

    def _require_authority(
        self, conn: Conn, who: Identity, decided_by: str, owners: Sequence[Unit]
    ) -> None:
        """Recording that `decided_by` decided needs a scope covering that body."""
        role = ROLE_DECIDERS.get(decided_by)
        if role is None:
            ancestry = self.tree.ancestry(conn, decided_by)
            if not ancestry:
                raise NotFound(
                    f"no organisation unit {decided_by}", {"decided_by": ["no such unit"]}
                )
            covered = who.scope in ancestry
        else:
            body_units: list[Unit] = [WHOLE] if role == "whole" else list(owners)
            covered = all(self._covers(conn, who, unit) for unit in body_units)
        if not covered:
            raise Forbidden(
                f"{who.actor} (scope {who.scope}) may not record a decision of {decided_by}: "
                "recording a body's decision needs a scope that covers that body",
                {"decided_by": ["outside the caller's scope"]},
                unit_id=decided_by,
                scope=who.scope,
                rule="decisions are recorded only by those whose scope covers the body",
            )

    def _covers(self, conn: Conn, who: Identity, unit: Unit) -> bool:
        if who.scope == "*":
            return True
        if unit is WHOLE:  # the municipality as a whole: the root council's scope covers it
            return who.scope == self.tree.root(conn)
        ancestry = self.tree.ancestry(conn, unit)
        if not ancestry:
            raise NotFound(f"no organisation unit {unit}", {"unit_id": ["no such unit"]})
        return who.scope in ancestry


def _name(unit: Unit) -> str:
    return "the municipality as a whole" if unit is WHOLE else f"unit {unit}"


class _NoTree:
    """A service that declares no organisation: every unit is unknown."""

    def ancestry(self, conn: Conn, unit_id: str) -> list[str]:
        return []

    def root(self, conn: Conn) -> str | None:
        return None


NO_TREE = _NoTree()


class CommandGuard:
    """The access check of one caller's command, run inside the command's own transaction
    (shared/uow.py): a creation when the transaction opens; a change as soon as the command
    loads its entity (on that state, no second read), or from the read model if it loads
    anything else first or appends without loading."""

    def __init__(
        self,
        access: Access,
        who: Identity,
        entity_type: str,
        body: Body,
        entity_id: str | None = None,
    ) -> None:
        self.access = access
        self.who = who
        self.entity_type = entity_type
        self.body = dict(body)  # a copy: handlers may take fields out of theirs
        self.entity_id = entity_id
        self.checked = False

    def entered(self, conn: Conn) -> None:
        if self.entity_id is None and not self.checked:
            self.access.authorise_new(conn, self.who, self.entity_type, self.body)
            self.checked = True

    def loaded(self, conn: Conn, stream_id: str, state: Callable[[], Mapping[str, Any]]) -> None:
        if self.checked:
            return
        if stream_id == self.entity_id:
            self.access.authorise_state(conn, self.who, self.entity_type, state(), self.body)
        else:  # the command looks at something else first: check before it learns anything
            self.appending(conn)
        self.checked = True

    def appending(self, conn: Conn) -> None:
        if not self.checked:
            assert self.entity_id is not None  # a creation was checked on entering
            self.access.authorise_change(
                conn, self.who, self.entity_type, self.entity_id, self.body
            )
            self.checked = True
