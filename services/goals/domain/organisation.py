"""Organisation units (organisationsenheter): the tree of bodies that decide and do the work.

council (kommunfullmäktige) → executive board, committees (nämnder), companies (bolag)
→ sectors (sektorer) → units (enheter). Every goal, plan and report belongs to one unit.

Invariants across units (checked here on facts the handler reads from the read model while it
holds the store's append lock, so two concurrent commands cannot both pass the check):
- one council (kommunfullmäktige) and at most one executive board (kommunstyrelsen) per
  municipality: creating a second open one is refused;
- open siblings have different names, where case and runs of whitespace do not count
  ("Sektor  Vård" and "sektor vård" are the same name) — on create, rename and move;
- a unit with open units below it cannot be closed: closing is REFUSED rather than cascading,
  because closing a committee's sectors and schools is a decision of its own (each closure
  names its reason), and silently closing them would hide that from the history. Close or move
  the units below first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from services.goals.domain import decisions
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "org_unit"
STREAM_PREFIX = "org-unit-"

Kind = Literal["council", "executive_board", "committee", "company", "sector", "unit"]
UnitStatus = Literal["active", "closed"]
KINDS: tuple[Kind, ...] = get_args(Kind)
STATUSES: tuple[UnitStatus, ...] = get_args(UnitStatus)
#: Kinds a municipality has at most one open unit of.
SINGLE_KINDS: tuple[Kind, ...] = ("council", "executive_board")

#: kind -> the kinds its parent may have (None: it is a root)
ALLOWED_PARENTS: dict[Kind, tuple[Kind, ...] | None] = {
    "council": None,
    "executive_board": ("council",),
    "committee": ("council",),
    "company": ("council", "executive_board"),
    "sector": ("executive_board", "committee", "company"),
    "unit": ("executive_board", "committee", "company", "sector"),
}


@dataclass(frozen=True)
class OrgUnit:
    """One organisation unit as its events made it."""

    id: str
    name: str
    kind: Kind
    parent_id: str | None
    status: UnitStatus = "active"
    version: int = 0

    # -- events (the unit's whole history vocabulary) -----------------------------------------
    @dataclass(frozen=True)
    class Created(DomainEvent):
        """An organisation unit (organisationsenhet) was set up under its parent."""

        TYPE = "OrgUnitCreated.v1"
        unit_id: str
        name: str
        kind: Kind
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
    def create(
        unit_id: str,
        name: str,
        kind: str,
        parent: OrgUnit | None,
        *,
        sibling_names: Sequence[str],
        open_of_kind: int,
    ) -> list[DomainEvent]:
        """Set up a unit. `sibling_names` are the names of the open units under the same parent
        (or the other roots); `open_of_kind` how many open units of `kind` there are."""
        name = values.name(name, "name", 200)
        checked = _check_parent(kind, parent)
        if checked in SINGLE_KINDS and open_of_kind > 0:
            raise RuleViolation(
                f"a municipality has {'exactly' if checked == 'council' else 'at most'} one "
                f"{checked.replace('_', ' ')}; there is one already",
                {"kind": [f"a second {checked}"]},
            )
        _require_unique(name, sibling_names)
        return [OrgUnit.Created(unit_id, name, checked, parent.id if parent else None)]

    def rename(self, name: str, *, sibling_names: Sequence[str]) -> list[DomainEvent]:
        """`sibling_names`: the names of the other open units under the same parent."""
        self._require_open("renamed")
        name = values.name(name, "name", 200)
        if name == self.name:
            return []
        _require_unique(name, sibling_names)
        return [OrgUnit.Renamed(self.id, name)]

    def move(
        self, new_parent: OrgUnit, parent_ancestry: Sequence[str], *, sibling_names: Sequence[str]
    ) -> list[DomainEvent]:
        """Move under `new_parent`; `parent_ancestry` is the ids from it up to the root and
        `sibling_names` the names of the open units already under it."""
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
        _require_unique(self.name, sibling_names)
        return [OrgUnit.Moved(self.id, new_parent.id)]

    def close(self, reason: str, *, open_below: Sequence[str]) -> list[DomainEvent]:
        """Close the unit; refused while `open_below` (the open units under it) is not empty."""
        self._require_open("closed")
        reason = decisions.reason(reason, "the unit is closed")
        if open_below:
            shown = ", ".join(sorted(open_below)[:5]) + (", …" if len(open_below) > 5 else "")
            raise RuleViolation(
                f"{self.name} still has {len(open_below)} open unit(s) below it ({shown}); "
                "close or move them first",
                {"units_below": [f"{len(open_below)} open"]},
            )
        return [OrgUnit.Closed(self.id, reason)]

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


def _require_unique(name: str, sibling_names: Sequence[str]) -> None:
    key = values.name_key(name)
    same = next((n for n in sibling_names if values.name_key(n) == key), None)
    if same is not None:
        raise RuleViolation(
            f"there is already a unit named {same!r} at that place in the organisation "
            "(case and spaces do not make names different)",
            {"name": ["a sibling has the same name"]},
        )


def _kind(kind: str) -> Kind:
    for known in KINDS:
        if kind == known:
            return known
    raise InvalidInput(
        f"unknown kind {kind!r}; one of {', '.join(KINDS)}", {"kind": ["unknown kind"]}
    )


def _check_parent(kind: str, parent: OrgUnit | None) -> Kind:
    checked = _kind(kind)
    allowed = ALLOWED_PARENTS[checked]
    if allowed is None:
        if parent is not None:
            raise RuleViolation(
                f"a {kind} is the root of the organisation and has no parent",
                {"parent_id": ["must be empty for a council"]},
            )
        return checked
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
    return checked
