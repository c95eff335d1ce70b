"""Decisions (beslut) in follow-up: who decided, when, and where it is minuted.

A political body (the council, the executive board, a committee) decides in a meeting, so its
decision has a minute reference (protokollsparagraf); a sector, unit or company operation
decides through its manager, who may give one. A decision is never dated in the future.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared import values
from shared.errors import InvalidInput, RuleViolation

POLITICAL_BODIES = frozenset({"council", "executive_board", "committee"})


@dataclass(frozen=True)
class UnitFacts:
    """What reports knows of an organisation unit from goals.events."""

    id: str
    name: str
    kind: str  # council, executive_board, committee, company, sector, unit
    status: str  # active, closed, unknown


@dataclass(frozen=True)
class Decision:
    decided_by: str
    decided_on: dt.date
    minute_ref: str | None

    @staticmethod
    def check(
        decider: UnitFacts,
        decided_on: dt.date,
        minute_ref: str | None,
        today: dt.date,
        *,
        not_before: dt.date | None = None,
        after_what: str = "",
    ) -> Decision:
        if decider.status == "unknown":
            raise RuleViolation(
                f"no organisation unit {decider.id} is known here",
                {"decided_by": ["unknown unit"]},
            )
        if decider.status != "active":
            raise RuleViolation(
                f"{decider.name} is closed and takes no decisions", {"decided_by": ["closed unit"]}
            )
        values.not_in_future(decided_on, today, "decided_on")
        if not_before is not None:
            values.not_before(decided_on, not_before, "decided_on", after_what)
        ref = (
            None
            if minute_ref is None
            else values.text(minute_ref, "minute_ref", max_length=200, required=False) or None
        )
        if ref is None and decider.kind in POLITICAL_BODIES:
            raise InvalidInput(
                f"a decision of {decider.name} is minuted: give its minute_ref (e.g. "
                "'BUN 2026-02-12 §7')",
                {"minute_ref": ["required for a decision of a political body"]},
            )
        return Decision(decider.id, decided_on, ref)
