"""HTTP routes of the reports service: parse, call a handler, serialise. No business rules here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.views import MethodView

from services.reports import handlers, known, queries, schemas
from services.reports.domain import annual, assessment, improvement, report, result, rules
from services.reports.domain.status import StatusRules
from shared import values, versions
from shared.aggregate import to_json
from shared.errors import NotFound
from shared.events import Metadata
from shared.http import Blueprint, command_metadata, if_match_version, with_etag
from shared.resources import Body, Resource, guarded
from shared.runtime import Runtime
from shared.schemas import AsOfQuery
from shared.uow import UnitOfWork

# -- one function per command route: the parsed body to the handler's arguments -------------


def record_result(uow: UnitOfWork, md: Metadata, body: Body) -> Any:
    return handlers.record_result(uow, md, **body)


def correct_result(
    uow: UnitOfWork, md: Metadata, result_id: str, version: int | None, body: Body
) -> Any:
    return handlers.correct_result(uow, md, result_id, version, **body)


def withdraw_result(
    uow: UnitOfWork, md: Metadata, result_id: str, version: int | None, body: Body
) -> Any:
    return handlers.withdraw_result(uow, md, result_id, version, body["reason"])


def assess_goal(uow: UnitOfWork, md: Metadata, body: Body) -> Any:
    return handlers.assess_goal(uow, md, **body)


def start_report(uow: UnitOfWork, md: Metadata, body: Body) -> Any:
    return handlers.start_report(uow, md, **body)


def report_goal(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.write_goal_section(uow, md, report_id, version, **body)


def report_activities(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.change_report(
        uow, md, report_id, version, lambda r: r.comment_activities(body["comment"])
    )


def report_quality_assurance(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.change_report(
        uow,
        md,
        report_id,
        version,
        lambda r: r.write_quality_assurance(body["methods"], body["text"]),
    )


def report_improvement_areas(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    areas = [(a["title"], a["description"]) for a in body["areas"]]
    return handlers.change_report(
        uow, md, report_id, version, lambda r: r.write_improvement_areas(areas)
    )


def report_done(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.change_report(
        uow, md, report_id, version, lambda r: r.mark_done(body["section"])
    )


def submit_report(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.submit_report(uow, md, report_id, version)


def return_report(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.change_report(
        uow, md, report_id, version, lambda r: r.return_to_draft(body["reason"])
    )


def approve_report(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.approve_report(uow, md, report_id, version, **body)


def reopen_report(
    uow: UnitOfWork, md: Metadata, report_id: str, version: int | None, body: Body
) -> Any:
    return handlers.reopen_report(uow, md, report_id, version, **body)


def draft_proposal(uow: UnitOfWork, md: Metadata, body: Body) -> Any:
    return handlers.draft_proposal(uow, md, **body)


def edit_proposal(
    uow: UnitOfWork, md: Metadata, proposal_id: str, version: int | None, body: Body
) -> Any:
    return handlers.edit_proposal(
        uow, md, proposal_id, version, body.get("title"), body.get("description")
    )


def withdraw_proposal(
    uow: UnitOfWork, md: Metadata, proposal_id: str, version: int | None, body: Body
) -> Any:
    return handlers.withdraw_proposal(uow, md, proposal_id, version, body["reason"])


# -- blueprints ------------------------------------------------------------------------------


def results_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "results",
        __name__,
        url_prefix="/api/v1/results",
        description="Indicator results (utfall) for a year or an interim date; corrections "
        "keep the old value in the history",
    )
    results = Resource(
        runtime, blp, result.STREAM_TYPE, "result", schemas.ResultSchema, result.STREAM_PREFIX
    )
    results.reads(
        schemas.ResultListQuery,
        schemas.ResultPageSchema,
        {"indicator_id": "indicator_id", "period": "period", "status": "status"},
    )
    results.create(
        schemas.RecordResultSchema,
        record_result,
        "Record an indicator's result for a year or an interim date (one per indicator and "
        "period; a changed value is a correction).",
    )
    results.command(
        "correct",
        schemas.CorrectResultSchema,
        correct_result,
        "Correct a result, with the reason; the earlier value stays in the history and in "
        "reads `as_of` before the correction.",
    )
    results.command(
        "withdraw",
        schemas.ReasonSchema,
        withdraw_result,
        "Withdraw a result (no data for the period), with the reason.",
    )
    return blp


def assessments_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "assessments",
        __name__,
        url_prefix="/api/v1/assessments",
        description="A person's assessment (bedömning) of a goal for a year, beside the "
        "computed status",
    )
    found = Resource(
        runtime,
        blp,
        assessment.STREAM_TYPE,
        "assessment",
        schemas.AssessmentSchema,
        assessment.STREAM_PREFIX,
    )
    found.reads(
        schemas.AssessmentListQuery,
        schemas.AssessmentPageSchema,
        {"goal_id": "goal_id", "verdict": "verdict"},
    )
    found.create(
        schemas.AssessGoalSchema,
        assess_goal,
        "Assess a goal for a year (met, partly met, not met, cannot be assessed) with the "
        "analysis; assessing again adds a new assessment, the earlier stay in the history.",
    )
    return blp


def quality_reports_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "quality-reports",
        __name__,
        url_prefix="/api/v1/quality-reports",
        description="Quality reports (kvalitetsredovisningar): sections, marked done, "
        "submitted, approved by decision, reopened by decision",
    )

    def with_outcomes(state: dict[str, Any], as_of: dt.datetime | None) -> dict[str, Any]:
        """A submitted or approved report shows the activity outcomes fixed at submission; a
        draft read now shows its plan's activities as they stand. A draft read `as_of` a past
        instant shows none (null): what reports keeps of activities has no history."""
        if state.get("activity_outcomes") is not None or as_of is not None:
            return state
        with runtime.pool.connection() as conn:
            outcomes = handlers.activity_outcomes(conn, state.get("plan_id"), values.today())
        return {**state, "activity_outcomes": to_json(outcomes)}

    reports = Resource(
        runtime,
        blp,
        report.STREAM_TYPE,
        "quality report",
        schemas.QualityReportSchema,
        report.STREAM_PREFIX,
        present=with_outcomes,
    )
    reports.reads(
        schemas.ReportListQuery,
        schemas.ReportPageSchema,
        {"unit_id": "unit_id", "period": "period", "status": "status"},
    )
    reports.create(
        schemas.StartReportSchema,
        start_report,
        "Start a unit's quality report for a calendar or school year (one per unit and "
        "period); it covers the goals the unit's plan for the period serves.",
    )
    commands = [
        ("goals", schemas.ReportGoalSchema, report_goal, "Write the section on one goal."),
        (
            "activities",
            schemas.ActivitiesCommentSchema,
            report_activities,
            "Comment on the outcomes of the plan's activities.",
        ),
        (
            "quality-assurance",
            schemas.QualityAssuranceSchema,
            report_quality_assurance,
            "Say how quality was secured (surveys, comparisons, complaints, internal audits).",
        ),
        (
            "improvement-areas",
            schemas.ImprovementAreasSchema,
            report_improvement_areas,
            "Set the improvement areas (förbättringsområden).",
        ),
        (
            "done",
            schemas.SectionDoneSchema,
            report_done,
            "Mark a section done (klarmarkera); writing it again takes the mark away.",
        ),
        (
            "submit",
            schemas.EmptySchema,
            submit_report,
            "Submit the report (every section done); the activity outcomes are fixed.",
        ),
        ("return", schemas.ReasonSchema, return_report, "Send a submitted report back to draft."),
        (
            "approve",
            schemas.DecisionSchema,
            approve_report,
            "Approve the report by decision of its unit (manager, or the committee); its "
            "improvement proposals are proposed to the unit's next plan.",
        ),
        (
            "reopen",
            schemas.ReasonedDecisionSchema,
            reopen_report,
            "Reopen an approved report by a new decision, with the reason.",
        ),
    ]
    for action, schema, run, doc in commands:
        reports.command(action, schema, run, doc)
    return blp


def improvements_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "improvements",
        __name__,
        url_prefix="/api/v1/improvements",
        description="Improvement proposals (förbättringsförslag) of quality reports; proposed "
        "to the unit's next plan when the report is approved",
    )
    proposals = Resource(
        runtime,
        blp,
        improvement.STREAM_TYPE,
        "improvement proposal",
        schemas.ProposalSchema,
        improvement.STREAM_PREFIX,
    )
    proposals.reads(
        schemas.ProposalListQuery,
        schemas.ProposalPageSchema,
        {"report_id": "report_id", "unit_id": "unit_id", "status": "status"},
    )
    proposals.create(
        schemas.DraftProposalSchema,
        draft_proposal,
        "Write an improvement proposal in a draft quality report.",
    )
    proposals.command(
        "edit", schemas.EditProposalSchema, edit_proposal, "Change a proposal's text."
    )
    proposals.command(
        "withdraw", schemas.ReasonSchema, withdraw_proposal, "Take a proposal out of its report."
    )
    return blp


def _approval_view(state: Any) -> tuple[Any, int, dict[str, str]]:
    return with_etag({**to_json(state), "closed": state.closed}, state.version)  # type: ignore[dict-item]


def annual_reports_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "annual-reports",
        __name__,
        url_prefix="/api/v1/annual-reports",
        description="The council's approval of a year's annual report, which closes the year's "
        "follow-up, and its reopening",
    )

    @blp.route("/<int:year>/approval")
    class Approval(MethodView):
        @blp.arguments(AsOfQuery, location="query")
        @blp.response(200, schemas.AnnualApprovalSchema)
        def get(self, query: Body, year: int) -> Any:
            """Whether the year is closed: the approval and reopening decisions."""
            as_of = query.get("as_of")
            with runtime.pool.connection() as conn:
                state = versions.get(conn, annual.annual_report_id(year), as_of)
            if state is None:
                raise NotFound(
                    f"the annual report of {year} is not approved" + (" then" if as_of else "")
                )
            return with_etag({**state, "closed": state["status"] == "approved"}, state["version"])

    @blp.route("/<int:year>/approve")
    class Approve(MethodView):
        @blp.arguments(schemas.DecisionSchema)
        @blp.response(200, schemas.AnnualApprovalSchema)
        def post(self, body: Body, year: int) -> Any:
            """The council approves the annual report: the year's results, assessments and
            quality reports take no changes until a reopening decision."""
            uow = guarded(runtime, annual.STREAM_TYPE, {**body, "year": year})
            return _approval_view(
                handlers.approve_annual_report(uow, command_metadata(), year=year, **body)
            )

    @blp.route("/<int:year>/reopen")
    class Reopen(MethodView):
        @blp.arguments(schemas.ReasonedDecisionSchema)
        @blp.response(200, schemas.AnnualApprovalSchema)
        def post(self, body: Body, year: int) -> Any:
            """The council reopens a closed year, with the reason."""
            stream_id = annual.annual_report_id(year)
            uow = guarded(runtime, annual.STREAM_TYPE, body, stream_id)
            return _approval_view(
                handlers.reopen_year(uow, command_metadata(), stream_id, if_match_version(), **body)
            )

    return blp


def _rules_view(state: dict[str, Any] | None) -> tuple[Any, int, dict[str, str]]:
    if state is None:
        defaults = {**StatusRules().as_dict(), "decided_by": None, "decided_on": None}
        return with_etag({**defaults, "minute_ref": None, "version": 0}, 0)
    return with_etag(state, state["version"])


def follow_up_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "follow-up",
        __name__,
        url_prefix="/api/v1",
        description="The scorecard (styrkort), indicator statuses and the status rules",
    )

    @blp.route("/scorecard")
    class Scorecard(MethodView):
        @blp.arguments(schemas.ScorecardQuery, location="query")
        @blp.response(200, schemas.ScorecardSchema)
        def get(self, query: Body) -> Body:
            """Every goal of a unit's subtree for a year with its indicators, targets, results,
            statuses (with reasons), trends and assessments, as known `as_of` an instant."""
            with runtime.pool.connection() as conn:
                if known.unit(conn, query["unit_id"]) is None:
                    raise NotFound(
                        f"no organisation unit {query['unit_id']} is known here",
                        {"unit_id": ["unknown unit"]},
                    )
                return queries.scorecard(
                    conn,
                    query["unit_id"],
                    values.year(query["year"], "year"),
                    query.get("as_of"),
                    query.get("development_area_id"),
                    query.get("perspective"),
                )

    @blp.route("/status-rules")
    class Rules(MethodView):
        @blp.arguments(AsOfQuery, location="query")
        @blp.response(200, schemas.StatusRulesSchema)
        def get(self, query: Body) -> Any:
            """The status rules in force (the defaults until the council sets them)."""
            with runtime.pool.connection() as conn:
                return _rules_view(versions.get(conn, rules.STREAM_ID, query.get("as_of")))

        @blp.arguments(schemas.StatusRulesInSchema)
        @blp.response(200, schemas.StatusRulesSchema)
        def post(self, body: Body) -> Any:
            """The council sets the status rules (docs/status.md)."""
            decision = {k: body.pop(k) for k in ("decided_by", "decided_on", "minute_ref")}
            uow = guarded(runtime, rules.STREAM_TYPE, {**body, **decision})
            state = handlers.set_status_rules(
                uow, command_metadata(), if_match_version(), raw=body, **decision
            )
            return _rules_view(to_json(state))  # type: ignore[arg-type]

    return blp
