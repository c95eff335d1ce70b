"""HTTP routes of the goals service: parse, call a handler, serialise. No business rules here.

Every entity type has the same shape: `POST /<things>` creates, `GET /<things>` lists (filters,
cursor, as_of), `GET /<things>/<id>` reads (as_of, ETag), `POST /<things>/<id>/<action>` runs a
command (If-Match, Idempotency-Key), and `/history/<id>` (shared) lists the events.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.goals import handlers, queries, schemas
from services.goals.domain import areas, documents, goal, indicator, organisation
from services.goals.domain.decisions import Decision
from services.goals.domain.documents import Content
from services.goals.domain.goal import GoalContent, Lineage, Placement
from services.goals.domain.indicator import Baseline, DataSource, Definition, Thresholds
from shared import versions
from shared.errors import NotFound
from shared.events import Metadata
from shared.http import Blueprint
from shared.resources import Body, Resource, page
from shared.runtime import Runtime
from shared.schemas import AsOfQuery
from shared.uow import UnitOfWork


def decision_of(body: Body) -> Decision:
    return Decision(body["decided_by"], body["decided_on"], body.get("minute_ref"))


def changes_of(body: Body, names: tuple[str, ...]) -> Body:
    return {
        name: tuple(v) if isinstance(v, list) else v for name, v in body.items() if name in names
    }


DOCUMENT_FIELDS = ("title", "summary", "valid_from", "valid_to")
GOAL_FIELDS = (
    "title",
    "description",
    "perspectives",
    "development_area_id",
    "programme_id",
    "derived_from",
)


# -- organisation units -------------------------------------------------------------------------


def org_units_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "org-units",
        __name__,
        url_prefix="/api/v1/org-units",
        description="Organisation units (organisationsenheter)",
    )
    units = Resource(
        runtime,
        blp,
        organisation.STREAM_TYPE,
        "organisation unit",
        schemas.OrgUnitSchema,
        organisation.STREAM_PREFIX,
    )
    units.reads(
        schemas.OrgUnitListQuery,
        schemas.OrgUnitPageSchema,
        {"kind": "kind", "parent_id": "parent_id", "status": "status"},
    )
    units.create(
        schemas.CreateOrgUnitSchema,
        lambda uow, md, b: handlers.create_org_unit(uow, md, **b),
        "Create a unit under its parent (a council has none).",
    )
    units.command(
        "rename",
        schemas.RenameOrgUnitSchema,
        lambda uow, md, i, v, b: handlers.rename_org_unit(uow, md, i, v, b["name"]),
        "Rename a unit.",
    )
    units.command(
        "move",
        schemas.MoveOrgUnitSchema,
        lambda uow, md, i, v, b: handlers.move_org_unit(uow, md, i, v, b["parent_id"]),
        "Move a unit under another parent (no cycles).",
    )
    units.command(
        "close",
        schemas.ReasonSchema,
        lambda uow, md, i, v, b: handlers.close_org_unit(uow, md, i, v, b["reason"]),
        "Close a unit: it takes no new goals, documents or units.",
    )
    return blp


# -- steering documents -------------------------------------------------------------------------


def documents_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "documents",
        __name__,
        url_prefix="/api/v1/documents",
        description="Steering documents (styrdokument) and who adopts them",
    )
    docs = Resource(
        runtime,
        blp,
        documents.STREAM_TYPE,
        "steering document",
        schemas.DocumentSchema,
        documents.STREAM_PREFIX,
    )
    docs.reads(
        schemas.DocumentListQuery,
        schemas.DocumentPageSchema,
        {"doc_type": "doc_type", "owner_unit_id": "owner_unit_id", "status": "status"},
    )
    docs.create(
        schemas.DraftDocumentSchema,
        lambda uow, md, b: handlers.draft_document(
            uow,
            md,
            doc_type=b["doc_type"],
            owner_unit_id=b["owner_unit_id"],
            content=Content(b["title"], b["summary"], b["valid_from"], b["valid_to"]),
        ),
        "Draft a steering document of a unit.",
    )
    docs.command(
        "edit",
        schemas.DocumentContentFields,
        lambda uow, md, i, v, b: handlers.edit_document(
            uow, md, i, v, changes_of(b, DOCUMENT_FIELDS)
        ),
        "Change a draft.",
    )
    docs.command(
        "adopt",
        schemas.DecisionFields,
        lambda uow, md, i, v, b: handlers.adopt_document(uow, md, i, v, decision_of(b)),
        "Adopt (fastställa) a draft: by the body or role its type requires.",
    )
    docs.command(
        "revise",
        schemas.ReviseDocumentSchema,
        lambda uow, md, i, v, b: handlers.revise_document(
            uow, md, i, v, changes_of(b, DOCUMENT_FIELDS), decision_of(b)
        ),
        "Adopt a new edition; the earlier editions stay in the history.",
    )
    docs.command(
        "repeal",
        schemas.RepealDocumentSchema,
        lambda uow, md, i, v, b: handlers.repeal_document(
            uow, md, i, v, b["reason"], decision_of(b)
        ),
        "Repeal (upphäva) an adopted document.",
    )
    return blp


# -- development areas --------------------------------------------------------------------------


def areas_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "development-areas",
        __name__,
        url_prefix="/api/v1/development-areas",
        description="Development areas (utvecklingsområden) under the vision",
    )
    resource = Resource(
        runtime, blp, areas.STREAM_TYPE, "development area", schemas.AreaSchema, areas.STREAM_PREFIX
    )
    resource.reads(schemas.AreaListQuery, schemas.AreaPageSchema, {"status": "status"})
    resource.create(
        schemas.DefineAreaSchema,
        lambda uow, md, b: handlers.define_area(
            uow,
            md,
            name=b["name"],
            description=b["description"],
            plan_id=b["plan_id"],
            decision=decision_of(b),
        ),
        "Define a development area of the long-term plan (a decision of the council).",
    )
    resource.command(
        "retire",
        schemas.ReasonAndDecisionSchema,
        lambda uow, md, i, v, b: handlers.retire_area(uow, md, i, v, b["reason"], decision_of(b)),
        "Retire an area by a decision of the council: it takes no new strategic goals.",
    )
    return blp


# -- goals and indicators -----------------------------------------------------------------------


def _draft_goal(uow: UnitOfWork, md: Metadata, b: Body) -> Any:
    lineage = b.get("lineage")
    return handlers.draft_goal(
        uow,
        md,
        level=b["level"],
        owner_unit_id=b["owner_unit_id"],
        period=b["period"],
        content=GoalContent(b["title"], b.get("description", ""), tuple(b.get("perspectives", ()))),
        placement=Placement(
            b.get("development_area_id"), b.get("programme_id"), tuple(b.get("derived_from", ()))
        ),
        lineage=Lineage(lineage["relation"], tuple(lineage["predecessors"])) if lineage else None,
    )


def _define_indicator(uow: UnitOfWork, md: Metadata, b: Body) -> Any:
    source = b["source"]
    baseline = b.get("baseline")
    thresholds = b.get("thresholds")
    return handlers.define_indicator(
        uow,
        md,
        b["goal_id"],
        definition=Definition(
            b["name"],
            b["unit_of_measure"],
            b["direction"],
            DataSource(source["kind"], source.get("kpi_id"), source.get("description", "")),
            Baseline(baseline["value"], baseline["year"]) if baseline else None,
        ),
        decision=decision_of(b),
        targets=b.get("targets", {}),  # keys are years as text; the domain parses them
        thresholds=Thresholds(thresholds["green"], thresholds["yellow"]) if thresholds else None,
    )


def goals_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "goals",
        __name__,
        url_prefix="/api/v1/goals",
        description="Strategic and operational goals (strategiska mål, "
        "verksamhetsmål), their decisions, lineage and indicators",
    )

    @blp.route("/tree")
    class Tree(MethodView):
        @blp.arguments(schemas.TreeQuery, location="query")
        @blp.response(200, schemas.TreeSchema)
        def get(self, query: Body) -> Body:
            """vision → development areas → strategic → operational goals → indicators."""
            with runtime.pool.connection() as conn:
                return queries.goal_tree(conn, query.get("as_of"), query.get("period"))

    goals = Resource(runtime, blp, goal.STREAM_TYPE, "goal", schemas.GoalSchema, goal.STREAM_PREFIX)
    goals.reads(
        schemas.GoalListQuery,
        schemas.GoalPageSchema,
        {
            "level": "level",
            "owner_unit_id": "owner_unit_id",
            "period": "period",
            "status": "status",
            "development_area_id": "placement.development_area_id",
        },
    )
    goals.create(
        schemas.DraftGoalSchema,
        _draft_goal,
        "Draft a strategic (council) or operational (committee, company) goal.",
    )
    goals.command(
        "edit",
        schemas.GoalChangeFields,
        lambda uow, md, i, v, b: handlers.edit_goal(uow, md, i, v, changes_of(b, GOAL_FIELDS)),
        "Change a draft goal (after adoption: revise by decision).",
    )
    goals.command(
        "adopt",
        schemas.DecisionFields,
        lambda uow, md, i, v, b: handlers.adopt_goal(uow, md, i, v, decision_of(b)),
        "Adopt a draft goal: who decided, when, the minute reference.",
    )
    goals.command(
        "revise",
        schemas.ReviseGoalSchema,
        lambda uow, md, i, v, b: handlers.revise_goal(
            uow, md, i, v, changes_of(b, GOAL_FIELDS), decision_of(b)
        ),
        "Change an adopted goal by a new decision.",
    )
    goals.command(
        "retire",
        schemas.ReasonAndDecisionSchema,
        lambda uow, md, i, v, b: handlers.retire_goal(uow, md, i, v, b["reason"], decision_of(b)),
        "Retire a goal by decision.",
    )
    goals.command(
        "evaluate",
        schemas.EvaluateGoalSchema,
        lambda uow, md, i, v, b: handlers.evaluate_goal(
            uow, md, i, v, b["outcome"], b["reasoning"], b["evaluated_on"], decision_of(b)
        ),
        "Evaluate an adopted goal at the end of its mandate period, by decision.",
    )

    indicators = Resource(
        runtime,
        blp,
        indicator.STREAM_TYPE,
        "indicator",
        schemas.IndicatorSchema,
        indicator.STREAM_PREFIX,
    )
    indicators.create(
        schemas.DefineIndicatorSchema,
        _define_indicator,
        "Define an indicator on a goal, with targets and thresholds, by decision.",
        path="/<goal_id>/indicators",
        location=f"indicators.{indicator.STREAM_TYPE}-one",
    )

    @blp.route("/<goal_id>/indicators", endpoint="goal-indicators")
    class GoalIndicators(MethodView):
        @blp.arguments(schemas.IndicatorListQuery, location="query")
        @blp.response(200, schemas.IndicatorPageSchema)
        def get(self, query: Body, goal_id: str) -> Body:
            """The indicators of a goal, now or as of an instant."""
            with runtime.pool.connection() as conn:
                if versions.get(conn, goal_id, query.get("as_of")) is None:
                    raise NotFound(f"no goal {goal_id}")
                return page(
                    conn,
                    indicator.STREAM_TYPE,
                    {**query, "goal_id": goal_id},
                    {"goal_id": "goal_id", "status": "status"},
                )

    return blp


def indicators_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "indicators",
        __name__,
        url_prefix="/api/v1/indicators",
        description="Indicators: targets per year, thresholds, data sources",
    )
    resource = Resource(
        runtime,
        blp,
        indicator.STREAM_TYPE,
        "indicator",
        schemas.IndicatorSchema,
        indicator.STREAM_PREFIX,
    )

    @blp.route("/<entity_id>", endpoint=f"{indicator.STREAM_TYPE}-one")
    class One(MethodView):
        @blp.arguments(AsOfQuery, location="query")
        @blp.response(200, schemas.IndicatorSchema)
        def get(self, query: Body, entity_id: str) -> Any:
            """An indicator, now or `as_of` an instant."""
            return resource.read(entity_id, query.get("as_of"))

    resource.command(
        "targets",
        schemas.TargetSchema,
        lambda uow, md, i, v, b: handlers.set_target(
            uow, md, i, v, b["year"], b["value"], decision_of(b)
        ),
        "Set the target value of one year of the goal's mandate period, by decision.",
    )
    resource.command(
        "thresholds",
        schemas.SetThresholdsSchema,
        lambda uow, md, i, v, b: handlers.set_thresholds(
            uow, md, i, v, Thresholds(b["green"], b["yellow"]), decision_of(b)
        ),
        "Set the green and yellow thresholds, by decision.",
    )
    resource.command(
        "retire",
        schemas.ReasonAndDecisionSchema,
        lambda uow, md, i, v, b: handlers.retire_indicator(
            uow, md, i, v, b["reason"], decision_of(b)
        ),
        "Retire an indicator by decision.",
    )
    return blp
