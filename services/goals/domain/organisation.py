"""Organisation units (organisationsenheter): the tree of bodies that decide and do the work.

council (kommunfullmäktige) → executive board, committees (nämnder), companies (bolag)
→ sectors (sektorer) → units (enheter). Every goal, plan and report belongs to one unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "org_unit"
STREAM_PREFIX = "org-unit-"

#: kind -> the kinds its parent may have (None: it is a root)
ALLOWED_PARENTS: dict[str, tuple[str, ...] | None] = {
    "council": None,
    "executive_board": ("council",),
    "committee": ("council",),
    "company": ("council", "executive_board"),
    "sector": ("executive_board", "committee", "company"),
    "unit": ("executive_board", "committee", "company", "sector"),
}
KINDS = tuple(ALLOWED_PARENTS)


@dataclass(frozen=True)
class OrgUnit:
    """One organisation unit as its events made it."""

    id: str
    name: str
    kind: str
    parent_id: str | None
    status: str = "active"  # active, closed
    version: int = 0

    # -- events (the unit's whole history vocabulary) -----------------------------------------
    @dataclass(frozen=True)
    class Created(DomainEvent):
        """An organisation unit (organisationsenhet) was set up under its parent."""

        TYPE = "OrgUnitCreated.v1"
        unit_id: str
        name: str
        kind: str
        parent_id: str | None

    @dataclass(frozen=True)
    class Renamed(DomainEvent):
        """A unit got a new name."""

        TYPE = "OrgUnitRenamed.v1"
        unit_id: str
        name: str

    @dataclass(frozen=True)
    class Moved(DomainEvent):
        """A unit was placed under another parent unit."""

        TYPE = "OrgUnitMoved.v1"
        unit_id: str
        parent_id: str

    @dataclass(frozen=True)
    class Closed(DomainEvent):
        """A unit was closed (avvecklad); it takes no new goals, documents or units."""

        TYPE = "OrgUnitClosed.v1"
        unit_id: str
        reason: str

    # -- commands -------------------------------------------------------------------------------
    @staticmethod
    def create(unit_id: str, name: str, kind: str, parent: OrgUnit | None) -> list[DomainEvent]:
        name = _valid_name(name)
        _check_parent(kind, parent)
        return [OrgUnit.Created(unit_id, name, kind, parent.id if parent else None)]

    def rename(self, name: str) -> list[DomainEvent]:
        self._require_open("renamed")
        name = _valid_name(name)
        if name == self.name:
            return []
        return [OrgUnit.Renamed(self.id, name)]

    def move(self, new_parent: OrgUnit, parent_ancestry: Sequence[str]) -> list[DomainEvent]:
        """Move under `new_parent`; `parent_ancestry` is the ids from it up to the root."""
        self._require_open("moved")
        if new_parent.id == self.parent_id:
            return []
        if new_parent.id == self.id or self.id in parent_ancestry:
            raise RuleViolation(
                f"moving {self.name} under {new_parent.name} would make a cycle: "
                f"{new_parent.name} lies within {self.name}",
                {"parent_id": ["would make a cycle"]},
            )
        _check_parent(self.kind, new_parent)
        return [OrgUnit.Moved(self.id, new_parent.id)]

    def close(self, reason: str) -> list[DomainEvent]:
        self._require_open("closed")
        if not reason.strip():
            raise InvalidInput("say why the unit is closed", {"reason": ["must not be blank"]})
        return [OrgUnit.Closed(self.id, reason.strip())]

    @property
    def closed(self) -> bool:
        return self.status == "closed"

    def _require_open(self, action: str) -> None:
        if self.closed:
            raise RuleViolation(f"{self.name} is closed and cannot be {action}")

    # -- folding events -----------------------------------------------------------------------
    def when(self, event: Any) -> OrgUnit:
        version = self.version + 1
        match event:
            case OrgUnit.Renamed(name=name):
                return replace(self, name=name, version=version)
            case OrgUnit.Moved(parent_id=parent_id):
                return replace(self, parent_id=parent_id, version=version)
            case OrgUnit.Closed():
                return replace(self, status="closed", version=version)
        raise ValueError(f"{type(event).__name__} cannot follow the creation of a unit")

    @staticmethod
    def start(event: Any) -> OrgUnit:
        if not isinstance(event, OrgUnit.Created):
            raise ValueError(f"{type(event).__name__} before OrgUnitCreated")
        return OrgUnit(event.unit_id, event.name, event.kind, event.parent_id, version=1)

    @staticmethod
    def replay(events: Iterable[DomainEvent]) -> OrgUnit | None:
        result: OrgUnit | None = KIND.fold(events)
        return result


EVENTS = EventRegistry(OrgUnit.Created, OrgUnit.Renamed, OrgUnit.Moved, OrgUnit.Closed)
KIND = AggregateKind(STREAM_TYPE, OrgUnit, EVENTS, OrgUnit.start)


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a unit needs a name", {"name": ["must not be blank"]})
    if len(name) > 200:
        raise InvalidInput("a unit name is at most 200 characters", {"name": ["too long"]})
    return name


def _check_parent(kind: str, parent: OrgUnit | None) -> None:
    if kind not in ALLOWED_PARENTS:
        raise InvalidInput(
            f"unknown kind {kind!r}; one of {', '.join(KINDS)}", {"kind": ["unknown kind"]}
        )
    allowed = ALLOWED_PARENTS[kind]
    if allowed is None:
        if parent is not None:
            raise RuleViolation(
                f"a {kind} is the root of the organisation and has no parent",
                {"parent_id": ["must be empty for a council"]},
            )
        return
    if parent is None:
        raise InvalidInput(
            f"a {kind} belongs under a {' or '.join(allowed)}", {"parent_id": ["required"]}
        )
    if parent.closed:
        raise RuleViolation(
            f"{parent.name} is closed and takes no new units", {"parent_id": ["closed unit"]}
        )
    if parent.kind not in allowed:
        raise RuleViolation(
            f"a {kind} belongs under a {' or '.join(allowed)}, not under a {parent.kind}",
            {"parent_id": [f"a {parent.kind} cannot hold a {kind}"]},
        )
