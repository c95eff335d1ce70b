"""HTTP routes of the plans service: parse, call a handler, serialise. No business rules here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from services.plans import handlers, schemas
from services.plans.domain import activity, agreement, plan
from services.plans.domain.activity import Work
from shared import versions
from shared.aggregate import to_json
from shared.errors import NotFound
from shared.events import RecordedEvent
from shared.http import command_metadata, current_identity, if_match_version, with_etag
from shared.resources import Body, Resource, guarded, page
from shared.runtime import Runtime
from shared.schemas import AsOfQuery, PageQuery
from shared.uow import UnitOfWork


def with_overdue(item: dict[str, Any], as_of: dt.datetime | None) -> dict[str, Any]:
    """Overdue is derived (open and past due on the day asked about), never stored."""
    day = (as_of or dt.datetime.now(dt.UTC)).date()
    is_open = item["status"] in ("planned", "in_progress")
    return {**item, "overdue": is_open and dt.date.fromisoformat(item["work"]["due_on"]) < day}


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
        lambda uow, md, b: handlers.draft_plan(uow, md, **b),
        "Draft the action plan of a unit for a calendar or school year (one per unit and period).",
    )
    plans.command(
        "goals",
        schemas.LinkGoalsSchema,
        lambda uow, md, i, v, b: handlers.link_goals(uow, md, i, v, b["goal_ids"]),
        "Set the adopted operational goals the plan serves.",
    )
    plans.command(
        "adopt",
        schemas.AdoptPlanSchema,
        lambda uow, md, i, v, b: handlers.adopt_plan(uow, md, i, v, **b),
        "Adopt (fastställa) the plan: by the manager of its unit.",
    )
    plans.command(
        "revise",
        schemas.RevisePlanSchema,
        lambda uow, md, i, v, b: handlers.revise_plan(
            uow,
            md,
            i,
            v,
            b.get("title"),
            b.get("goal_ids"),
            b["decided_by"],
            b["decided_on"],
            b["minute_ref"],
        ),
        "Change an adopted plan (title, goals) by a new decision of its unit's manager.",
    )
    plans.command(
        "phase",
        schemas.PhaseSchema,
        lambda uow, md, i, v, b: handlers.enter_phase(uow, md, i, v, b["phase"], b["since"]),
        "Move on in the improvement wheel: plan → do → evaluate → improve.",
    )
    plans.command(
        "close",
        schemas.ClosePlanSchema,
        lambda uow, md, i, v, b: handlers.close_plan(uow, md, i, v, b["summary"]),
        "Close the plan at the end of its period.",
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
        lambda uow, md, b: handlers.plan_activity(
            uow,
            md,
            b.pop("plan_id"),
            Work(
                b["title"],
                b["owner"],
                b["starts_on"],
                b["due_on"],
                tuple(b["goal_ids"]),
                tuple(b["indicator_ids"]),
            ),
        ),
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
        lambda uow, md, i, v, b: handlers.report_progress(
            uow, md, i, v, b["status"], b["note"], b["reason"]
        ),
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
