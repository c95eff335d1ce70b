"""Decisions (beslut): who decided, when, and where it is minuted — and who may decide what.

Every adoption, revision and repeal names the body or role that took it ("fastställs av"),
the date, and the minute reference such as "KF 2026-03-12 §45".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.errors import InvalidInput, RuleViolation

#: Roles that may decide without being an organisation unit's body.
ROLES = ("chief_executive", "process_owner")

#: What a decider is called in an error message (English, with the Swedish term).
DECIDER_NAMES = {
    "council": "the council (kommunfullmäktige)",
    "executive_board": "the executive board (kommunstyrelsen)",
    "committee": "a committee (nämnd)",
    "company": "a company board (bolagsstyrelse)",
    "chief_executive": "the chief executive (kommunchef)",
    "manager": "the manager of the sector or unit concerned",
    "process_owner": "the person responsible for the process",
}


@dataclass(frozen=True)
class Decision:
    """`decided_by` is an organisation unit id (the body) or a role such as chief_executive."""

    decided_by: str
    decided_on: dt.date
    minute_ref: str | None = None


@dataclass(frozen=True)
class Decider:
    """Who `decided_by` turned out to be: its kind, its name, and its unit if it is one."""

    kind: str  # council, executive_board, committee, company, manager, chief_executive, ...
    name: str
    unit_id: str | None = None

    @staticmethod
    def of_unit(unit_id: str, unit_kind: str, name: str) -> Decider:
        """A unit decides through its body; a sector or unit through its manager."""
        kind = "manager" if unit_kind in ("sector", "unit") else unit_kind
        return Decider(kind, name, unit_id)

    @staticmethod
    def of_role(role: str) -> Decider:
        if role not in ROLES:
            raise InvalidInput(
                f"decided_by must be an organisation unit id or one of {', '.join(ROLES)}",
                {"decided_by": ["not a unit or a role"]},
            )
        return Decider(role, DECIDER_NAMES[role])


def require_decider(decider: Decider, allowed: tuple[str, ...], what: str) -> None:
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
