"""Employee agreements (medarbetaröverenskommelser): an employee's part in the plan, agreed in
the appraisal talk. Personal data: an opaque employee reference only, nothing else about the
person; readable by editors of the unit and by auditors (DOMAIN.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from shared.aggregate import AggregateKind, DomainEvent, EventRegistry
from shared.errors import InvalidInput, RuleViolation

STREAM_TYPE = "employee_agreement"
STREAM_PREFIX = "agreement-"


@dataclass(frozen=True)
class EmployeeAgreement:
    id: str
    plan_id: str
    unit_id: str
    employee_ref: str  # an opaque reference (e.g. an HR system id), never a name
    activity_ids: tuple[str, ...]
    agreed_on: dt.date
    status: str = "active"  # active, ended
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
        plan_id: str,
        unit_id: str,
        employee_ref: str,
        activity_ids: tuple[str, ...],
        plan_activity_ids: set[str],
        agreed_on: dt.date,
    ) -> list[DomainEvent]:
        ref = employee_ref.strip()
        if not ref or " " in ref:
            raise InvalidInput(
                "employee_ref is an opaque reference such as an HR id, without spaces: no names",
                {"employee_ref": ["not a reference"]},
            )
        _check_activities(activity_ids, plan_activity_ids)
        return [
            EmployeeAgreement.Made(agreement_id, plan_id, unit_id, ref, activity_ids, agreed_on)
        ]

    def change_activities(
        self, activity_ids: tuple[str, ...], plan_activity_ids: set[str], agreed_on: dt.date
    ) -> list[DomainEvent]:
        if self.status != "active":
            raise RuleViolation("the agreement has ended")
        _check_activities(activity_ids, plan_activity_ids)
        return [EmployeeAgreement.ActivitiesChanged(self.id, activity_ids, agreed_on)]

    def end(self, ended_on: dt.date) -> list[DomainEvent]:
        if self.status != "active":
            raise RuleViolation("the agreement has already ended")
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


def _check_activities(activity_ids: tuple[str, ...], plan_activity_ids: set[str]) -> None:
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


EVENTS = EventRegistry(
    EmployeeAgreement.Made, EmployeeAgreement.ActivitiesChanged, EmployeeAgreement.Ended
)
KIND = AggregateKind(STREAM_TYPE, EmployeeAgreement, EVENTS, EmployeeAgreement.start)
