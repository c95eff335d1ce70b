"""Decisions (beslut): who decided, when, and where it is minuted — and who may decide what.

Every adoption, revision and repeal names the body or role that took it ("fastställs av"),
the date, and the minute reference such as "KF 2026-03-12 §45".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from shared import values
from shared.errors import InvalidInput, RuleViolation

#: Roles that may decide without being an organisation unit's body.
Role = Literal["chief_executive", "process_owner"]
ROLES: tuple[Role, ...] = ("chief_executive", "process_owner")

#: Who a decider is: a unit's body (or a sector's or unit's manager) or a role.
DeciderKind = Literal[
    "council",
    "executive_board",
    "committee",
    "company",
    "manager",
    "chief_executive",
    "process_owner",
]

#: What a decider is called in an error message (English, with the Swedish term).
DECIDER_NAMES: dict[DeciderKind, str] = {
    "council": "the council (kommunfullmäktige)",
    "executive_board": "the executive board (kommunstyrelsen)",
    "committee": "a committee (nämnd)",
    "company": "a company board (bolagsstyrelse)",
    "chief_executive": "the chief executive (kommunchef)",
    "manager": "the manager of the sector or unit concerned",
    "process_owner": "the person responsible for the process",
}
#: Political bodies minute their decisions; their decisions need a minute reference.
POLITICAL: tuple[DeciderKind, ...] = ("council", "executive_board", "committee", "company")


@dataclass(frozen=True)
class Decision:
    """`decided_by` is an organisation unit id (the body) or a role such as chief_executive."""

    decided_by: str
    decided_on: dt.date
    minute_ref: str | None = None


@dataclass(frozen=True)
class Decider:
    """Who `decided_by` turned out to be: its kind, its name, and its unit if it is one."""

    kind: DeciderKind
    name: str
    unit_id: str | None = None

    @staticmethod
    def of_unit(unit_id: str, unit_kind: str, name: str, closed: bool = False) -> Decider:
        """A unit decides through its body; a sector or unit through its manager. A closed
        unit (avvecklad) takes no more decisions."""
        if closed:
            raise RuleViolation(
                f"{name} is closed and takes no decisions", {"decided_by": ["closed unit"]}
            )
        kind: DeciderKind
        match unit_kind:
            case "sector" | "unit":
                kind = "manager"
            case "council" | "executive_board" | "committee" | "company":
                kind = unit_kind
            case _:
                raise InvalidInput(
                    f"{name} is a {unit_kind} and takes no decisions",
                    {"decided_by": ["not a deciding body"]},
                )
        return Decider(kind, name, unit_id)

    @staticmethod
    def of_role(role: str) -> Decider:
        if role not in ROLES:
            raise InvalidInput(
                f"decided_by must be an organisation unit id or one of {', '.join(ROLES)}",
                {"decided_by": ["not a unit or a role"]},
            )
        kind: DeciderKind = "chief_executive" if role == "chief_executive" else "process_owner"
        return Decider(kind, DECIDER_NAMES[kind])

    @property
    def political(self) -> bool:
        return self.kind in POLITICAL


def require_decider(decider: Decider, allowed: tuple[DeciderKind, ...], what: str) -> None:
    """Refuse a decision by someone who may not take it, naming who may."""
    if decider.kind not in allowed:
        who = ", ".join(DECIDER_NAMES[k] for k in allowed)
        raise RuleViolation(
            f"{what} is adopted by {who}; {decider.name} may not",
            {"decided_by": [f"may not adopt {what}"]},
        )


def require_minute_ref(decision: Decision, what: str) -> None:
    if not (decision.minute_ref or "").strip():
        raise InvalidInput(
            f"{what} by a political body needs the minute reference, e.g. 'KF 2026-03-12 §45'",
            {"minute_ref": ["required for a decision of a political body"]},
        )


def valid_decision(decision: Decision, decider: Decider, today: dt.date, what: str) -> Decision:
    """A decision as it is recorded: taken (not dated in the future — `today` is the
    municipality's day, given by the handler so the domain stays pure), minuted if a political
    body took it, and its minute reference one clean line."""
    values.not_in_future(decision.decided_on, today, "decided_on", what)
    if decider.political:
        require_minute_ref(decision, what)
    if decision.minute_ref is None:
        return decision
    minute_ref = values.text(decision.minute_ref, "minute_ref", max_length=200, required=False)
    return replace(decision, minute_ref=minute_ref or None)


def not_before(decision: Decision, earlier: dt.date | None, what: str) -> None:
    """A decision that ends or changes something is not dated before the one that made it."""
    if earlier is not None:
        values.not_before(
            decision.decided_on, earlier, "decided_on", f"{what} cannot predate the adoption"
        )


def without_decision(data: Mapping[str, Any]) -> dict[str, Any]:
    """Upcast of an event recorded (as v1) before it carried its decision: none is known, so
    the decision fields are null. Stored events are never rewritten."""
    return {**data, "decided_by": None, "decided_on": None, "minute_ref": None}


def reason(text: str, what: str) -> str:
    """The reason given for closing, retiring or repealing `what`: clean multi-line text."""
    cleaned = values.text(text, "reason", max_length=2000, multiline=True, required=False)
    if not cleaned:
        raise InvalidInput(f"say why {what}", {"reason": ["must not be blank"]})
    return cleaned
