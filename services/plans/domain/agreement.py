"""Employee agreements (medarbetaröverenskommelser): an employee's part in the plan, agreed in
the appraisal talk. Personal data: an opaque employee reference only, nothing else about the
person; readable by editors of the unit and by auditors (DOMAIN.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Literal

from services.plans.domain.plan import ActionPlan
from shared import values
from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "employee_agreement"
STREAM_PREFIX = "agreement-"
AgreementStatus = Literal["active", "ended"]


@dataclass(frozen=True)
class EmployeeAgreement:
    id: str
    plan_id: str
    unit_id: str
    employee_ref: str  # an opaque reference (e.g. an HR system id), never a name
    activity_ids: tuple[str, ...]
    agreed_on: dt.date
    status: AgreementStatus = "active"
    version: int = 0

    @dataclass(frozen=True)
    class Made(DomainEvent):
        """An employee's part in the plan was agreed (medarbetaröverenskommelse)."""

        TYPE = "EmployeeAgreementMade.v1"
        agreement_id: str
        plan_id: str
        unit_id: str
        employee_ref: str
        activity_ids: tuple[str, ...]
        agreed_on: dt.date

    @dataclass(frozen=True)
    class ActivitiesChanged(DomainEvent):
        """The activities the employee takes part in were agreed anew."""

        TYPE = "EmployeeAgreementActivitiesChanged.v1"
        agreement_id: str
        activity_ids: tuple[str, ...]
        agreed_on: dt.date

    @dataclass(frozen=True)
    class Ended(DomainEvent):
        """The agreement ended (e.g. the period ended, or the employee left the unit)."""

        TYPE = "EmployeeAgreementEnded.v1"
        agreement_id: str
        ended_on: dt.date

    @staticmethod
    def make(
        agreement_id: str,
        plan: ActionPlan,
        employee_ref: str,
        activity_ids: tuple[str, ...],
        plan_activity_ids: set[str],
        agreed_on: dt.date,
        today: dt.date,
    ) -> list[DomainEvent]:
        """`plan_activity_ids`: the activities of `plan`, the only ones an agreement may name."""
        plan.require_open("new agreements")
        ref = values.text(employee_ref, "employee_ref", max_length=100)
        if " " in ref:
            raise InvalidInput(
                "employee_ref is an opaque reference such as an HR id, without spaces: no names",
                {"employee_ref": ["not a reference"]},
            )
        values.not_in_future(agreed_on, today, "agreed_on", "an appraisal talk")
        ids = _check_activities(activity_ids, plan_activity_ids)
        return [EmployeeAgreement.Made(agreement_id, plan.id, plan.unit_id, ref, ids, agreed_on)]

    def change_activities(
        self,
        plan: ActionPlan,
        activity_ids: tuple[str, ...],
        plan_activity_ids: set[str],
        agreed_on: dt.date,
        today: dt.date,
    ) -> list[DomainEvent]:
        if self.status != "active":
            raise RuleViolation("the agreement has ended", {"agreement_id": ["ended"]})
        plan.require_open("changes to its agreements")
        values.not_in_future(agreed_on, today, "agreed_on", "an appraisal talk")
        values.not_before(
            agreed_on, self.agreed_on, "agreed_on", "an agreement is changed after it was made"
        )
        ids = _check_activities(activity_ids, plan_activity_ids)
        return [EmployeeAgreement.ActivitiesChanged(self.id, ids, agreed_on)]

    def end(self, ended_on: dt.date, today: dt.date) -> list[DomainEvent]:
        """Ending is allowed on a closed plan too: it is how agreements are wound up."""
        if self.status != "active":
            raise RuleViolation("the agreement has already ended", {"agreement_id": ["ended"]})
        values.not_before(
            ended_on, self.agreed_on, "ended_on", "an agreement cannot end before it began"
        )
        values.not_in_future(ended_on, today, "ended_on", "the end of an agreement")
        return [EmployeeAgreement.Ended(self.id, ended_on)]

    @staticmethod
    def start(event: Any) -> EmployeeAgreement:
        if not isinstance(event, EmployeeAgreement.Made):
            raise ValueError(f"{type(event).__name__} before EmployeeAgreementMade")
        return EmployeeAgreement(
            event.agreement_id,
            event.plan_id,
            event.unit_id,
            event.employee_ref,
            event.activity_ids,
            event.agreed_on,
            version=1,
        )

    def when(self, event: Any) -> EmployeeAgreement:
        version = self.version + 1
        match event:
            case EmployeeAgreement.ActivitiesChanged():
                return replace(
                    self,
                    activity_ids=event.activity_ids,
                    agreed_on=event.agreed_on,
                    version=version,
                )
            case EmployeeAgreement.Ended():
                return replace(self, status="ended", version=version)
        raise ValueError(f"{type(event).__name__} does not apply to an employee agreement")


def _check_activities(
    activity_ids: tuple[str, ...], plan_activity_ids: set[str]
) -> tuple[str, ...]:
    if not activity_ids:
        raise InvalidInput(
            "an agreement names at least one activity of the plan",
            {"activity_ids": ["at least one"]},
        )
    strangers = [a for a in activity_ids if a not in plan_activity_ids]
    if strangers:
        raise RuleViolation(
            f"{strangers[0]} is not an activity of this plan", {"activity_ids": ["not in the plan"]}
        )
    return tuple(dict.fromkeys(activity_ids))


EVENTS = EventRegistry(
    EmployeeAgreement.Made, EmployeeAgreement.ActivitiesChanged, EmployeeAgreement.Ended
)
KIND = AggregateKind(STREAM_TYPE, EmployeeAgreement, EVENTS, EmployeeAgreement.start)
