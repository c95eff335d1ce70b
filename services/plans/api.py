"""HTTP routes of the plans service: parse, call a handler, serialise. No business rules here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import url_for
from flask.views import MethodView

from services.plans import handlers, schemas
from services.plans.domain import activity, agreement, plan
from services.plans.domain.activity import Work
from shared import values, versions
from shared.aggregate import to_json
from shared.errors import NotFound
from shared.events import Metadata, RecordedEvent
from shared.http import Blueprint, command_metadata, current_identity, if_match_version, with_etag
from shared.openapi import MAY_REFUSE
from shared.resources import Body, Resource, guarded, page
from shared.runtime import Runtime
from shared.schemas import AsOfQuery, PageQuery
from shared.uow import UnitOfWork


def with_overdue(item: dict[str, Any], as_of: dt.datetime | None) -> dict[str, Any]:
    """Overdue is derived (open and past due on the day asked about), never stored."""
    # the day in the municipality, as every date the plans domain decides
    day = as_of.astimezone(values.LOCAL_TIME_ZONE).date() if as_of else values.today()
    is_open = item["status"] in ("planned", "in_progress")
    return {**item, "overdue": is_open and dt.date.fromisoformat(item["work"]["due_on"]) < day}


# -- one function per command route: the parsed body to the handler's arguments -------------


def draft_plan(uow: UnitOfWork, md: Metadata, body: Body) -> Any:
    return handlers.draft_plan(uow, md, **body)


def link_goals(uow: UnitOfWork, md: Metadata, plan_id: str, version: int | None, body: Body) -> Any:
    return handlers.link_goals(uow, md, plan_id, version, body["goal_ids"])


def adopt_plan(uow: UnitOfWork, md: Metadata, plan_id: str, version: int | None, body: Body) -> Any:
    return handlers.adopt_plan(uow, md, plan_id, version, **body)


def revise_plan(
    uow: UnitOfWork, md: Metadata, plan_id: str, version: int | None, body: Body
) -> Any:
    return handlers.revise_plan(
        uow,
        md,
        plan_id,
        version,
        body.get("title"),
        body.get("goal_ids"),
        body["decided_by"],
        body["decided_on"],
        body["minute_ref"],
    )


def enter_phase(
    uow: UnitOfWork, md: Metadata, plan_id: str, version: int | None, body: Body
) -> Any:
    return handlers.enter_phase(uow, md, plan_id, version, body["phase"], body["since"])


def close_plan(uow: UnitOfWork, md: Metadata, plan_id: str, version: int | None, body: Body) -> Any:
    return handlers.close_plan(uow, md, plan_id, version, body["summary"])


def plan_activity(uow: UnitOfWork, md: Metadata, body: Body) -> Any:
    work = Work(
        body["title"],
        body["owner"],
        body["starts_on"],
        body["due_on"],
        tuple(body["goal_ids"]),
        tuple(body["indicator_ids"]),
    )
    return handlers.plan_activity(uow, md, body["plan_id"], work)


def report_progress(
    uow: UnitOfWork, md: Metadata, activity_id: str, version: int | None, body: Body
) -> Any:
    return handlers.report_progress(
        uow, md, activity_id, version, body["status"], body["note"], body["reason"]
    )


def plans_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "plans",
        __name__,
        url_prefix="/api/v1/plans",
        description="Action plans (handlingsplaner) and the improvement wheel",
    )
    plans = Resource(
        runtime, blp, plan.STREAM_TYPE, "action plan", schemas.PlanSchema, plan.STREAM_PREFIX
    )
    plans.reads(
        schemas.PlanListQuery,
        schemas.PlanPageSchema,
        {"unit_id": "unit_id", "period": "period", "status": "status"},
    )
    plans.create(
        schemas.DraftPlanSchema,
        draft_plan,
        "Draft the action plan of a unit for a calendar or school year (one per unit and period).",
    )
    plans.command(
        "goals",
        schemas.LinkGoalsSchema,
        link_goals,
        "Set the adopted operational goals of the plan's period that it serves.",
    )
    plans.command(
        "adopt",
        schemas.AdoptPlanSchema,
        adopt_plan,
        "Adopt (fastställa) the plan: by the manager of its unit.",
    )
    plans.command(
        "revise",
        schemas.RevisePlanSchema,
        revise_plan,
        "Change an adopted plan (title, goals) by a new decision of its unit's manager.",
    )
    plans.command(
        "phase",
        schemas.PhaseSchema,
        enter_phase,
        "Move on in the improvement wheel: plan → do → evaluate → improve.",
    )
    plans.command(
        "close",
        schemas.ClosePlanSchema,
        close_plan,
        "Close the adopted plan at the end of its period.",
    )

    activities = Resource(
        runtime,
        blp,
        activity.STREAM_TYPE,
        "activity",
        schemas.ActivitySchema,
        activity.STREAM_PREFIX,
        with_overdue,
    )
    activities.create(
        schemas.PlanActivitySchema,
        plan_activity,
        "Add an activity to the plan.",
        path="/<plan_id>/activities",
        location=f"activities.{activity.STREAM_TYPE}-one",
    )

    @blp.route("/<plan_id>/activities", endpoint="plan-activities")
    class PlanActivities(MethodView):
        @blp.arguments(schemas.ActivityListQuery, location="query")
        @blp.response(200, schemas.ActivityPageSchema)
        def get(self, query: Body, plan_id: str) -> Body:
            """The plan's activities, now or as of an instant, with `overdue` derived."""
            with runtime.pool.connection() as conn:
                if versions.get(conn, plan_id, query.get("as_of")) is None:
                    raise NotFound(f"no action plan {plan_id}")
                result = page(
                    conn,
                    activity.STREAM_TYPE,
                    {**query, "plan_id": plan_id},
                    {"plan_id": "plan_id", "status": "status"},
                )
            result["items"] = [with_overdue(i, query.get("as_of")) for i in result["items"]]
            return result

    return blp


def activities_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "activities",
        __name__,
        url_prefix="/api/v1/activities",
        description="Activities of action plans and their progress",
    )
    resource = Resource(
        runtime,
        blp,
        activity.STREAM_TYPE,
        "activity",
        schemas.ActivitySchema,
        activity.STREAM_PREFIX,
        with_overdue,
    )

    @blp.route("/<entity_id>", endpoint=f"{activity.STREAM_TYPE}-one")
    class One(MethodView):
        @blp.arguments(AsOfQuery, location="query")
        @blp.response(200, schemas.ActivitySchema)
        def get(self, query: Body, entity_id: str) -> Any:
            """An activity, now or `as_of` an instant, with `overdue` derived."""
            return resource.read(entity_id, query.get("as_of"))

    resource.command(
        "progress",
        schemas.ProgressSchema,
        report_progress,
        "Report progress: move the status on (planned → in_progress → done, or cancelled "
        "with a reason) and/or add a note.",
    )
    return blp


def agreements_blueprint(runtime: Runtime) -> Blueprint:
    """Employee agreements: every route checks that the caller may see the unit's agreements."""
    blp = Blueprint(
        "agreements",
        __name__,
        url_prefix="/api/v1",
        description="Employee agreements (medarbetaröverenskommelser): editors of "
        "the unit and auditors only",
    )

    def read(agreement_id: str, as_of: Any) -> Any:
        with runtime.pool.connection() as conn:
            state = versions.get(conn, agreement_id, as_of)
            if state is None or not agreement_id.startswith(agreement.STREAM_PREFIX):
                raise NotFound(f"no employee agreement {agreement_id}")
            require_read(runtime, conn, state["unit_id"])
        return state

    def guarded_change(agreement_id: str, body: Body) -> UnitOfWork:
        if not agreement_id.startswith(agreement.STREAM_PREFIX):
            raise NotFound(f"no employee agreement {agreement_id}")
        return guarded(runtime, agreement.STREAM_TYPE, body, agreement_id)

    @blp.route("/plans/<plan_id>/agreements")
    class PlanAgreements(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.arguments(PageQuery, location="query")
        @blp.response(200, schemas.AgreementPageSchema)
        def get(self, query: Body, plan_id: str) -> Body:
            """The agreements of a plan (editors of its unit, auditors)."""
            with runtime.pool.connection() as conn:
                owner = versions.get(conn, plan_id, query.get("as_of"))
                if owner is None or not plan_id.startswith(plan.STREAM_PREFIX):
                    raise NotFound(f"no action plan {plan_id}")
                require_read(runtime, conn, owner["unit_id"])
                return page(
                    conn,
                    agreement.STREAM_TYPE,
                    {**query, "plan_id": plan_id},
                    {"plan_id": "plan_id"},
                )

        @blp.arguments(schemas.MakeAgreementSchema)
        @blp.response(201, schemas.AgreementSchema)
        def post(self, body: Body, plan_id: str) -> Any:
            """Record an employee's part in the plan (editors of the plan's unit)."""
            if not plan_id.startswith(plan.STREAM_PREFIX):
                raise NotFound(f"no action plan {plan_id}")
            uow = guarded(runtime, agreement.STREAM_TYPE, {**body, "plan_id": plan_id})
            made = handlers.make_agreement(uow, command_metadata(), plan_id, **body)
            view, status, headers = with_etag(to_json(made), made.version, 201)
            headers["Location"] = url_for("agreements.agreement", agreement_id=made.id)
            return view, status, headers

    @blp.route("/agreements/<agreement_id>", endpoint="agreement")
    class One(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.arguments(AsOfQuery, location="query")
        @blp.response(200, schemas.AgreementSchema)
        def get(self, query: Body, agreement_id: str) -> Any:
            """One agreement, now or as of an instant."""
            state = read(agreement_id, query.get("as_of"))
            return with_etag(state, state["version"])

    @blp.route("/agreements/<agreement_id>/activities")
    class Activities(MethodView):
        @blp.arguments(schemas.ChangeAgreementSchema)
        @blp.response(200, schemas.AgreementSchema)
        def post(self, body: Body, agreement_id: str) -> Any:
            """Agree the employee's activities anew."""
            changed = handlers.change_agreement(
                guarded_change(agreement_id, body),
                command_metadata(),
                agreement_id,
                if_match_version(),
                body["activity_ids"],
                body["agreed_on"],
            )
            return with_etag(to_json(changed), changed.version)

    @blp.route("/agreements/<agreement_id>/end")
    class End(MethodView):
        @blp.arguments(schemas.EndAgreementSchema)
        @blp.response(200, schemas.AgreementSchema)
        def post(self, body: Body, agreement_id: str) -> Any:
            """End the agreement."""
            ended = handlers.end_agreement(
                guarded_change(agreement_id, body),
                command_metadata(),
                agreement_id,
                if_match_version(),
                body["ended_on"],
            )
            return with_etag(to_json(ended), ended.version)

    return blp


def require_read(runtime: Runtime, conn: Any, unit_id: str) -> None:
    """Employee agreements are read by admins, auditors and the editors of their unit."""
    runtime.access.authorise_read(conn, current_identity(), unit_id, "employee agreements")


def history_guard(runtime: Runtime) -> Callable[[Any, list[RecordedEvent]], None]:
    """The history of an employee agreement is as closed as the agreement itself."""

    def guard(conn: Any, events: list[RecordedEvent]) -> None:
        if events[0].stream_type == agreement.STREAM_TYPE:
            require_read(runtime, conn, str(events[0].data["unit_id"]))

    return guard
