"""The plans service's warehouse tables (docs/warehouse.md): action plans, their activities,
and the decisions in plans' log."""

from __future__ import annotations

from shared.warehouse import Column, Table, current_entities, decisions_table, sql_rows

C = Column
STATE = (
    C("version", "integer", "the entity's version (its stream version): grows with each change"),
    C("position", "bigint", "position in plans' log of the entity's latest event"),
    C("updated_at", "timestamp", "when that event was recorded"),
)
STATE_SQL = "v.version, v.position, v.valid_from"

PLANS = Table(
    "plans",
    "Action plans (dimension): a unit's plan for a period and the decision adopting it.",
    (
        C("plan_id", "text", "plan-…"),
        C("unit_id", "text", "the unit whose plan it is (goals' units.unit_id)"),
        C("period", "text", "the period: 2026, or a school year 2025/26"),
        C("title", "text", "the plan's title"),
        C("status", "text", "draft, adopted or closed"),
        C("goal_ids", "json", "ids of the goals the plan serves"),
        C("decided_by", "text", "the unit that adopted it"),
        C("decided_on", "date", "the day it was adopted"),
        C("minute_ref", "text", "the minutes of the adoption"),
        *STATE,
    ),
    sql_rows(
        current_entities(
            "action_plan",
            "v.entity_id, v.state ->> 'unit_id', v.state ->> 'period', v.state ->> 'title', "
            "v.state ->> 'status', coalesce(v.state -> 'goal_ids', '[]')::text, "
            "v.state ->> 'decided_by', (v.state ->> 'decided_on')::date, "
            f"v.state ->> 'minute_ref', {STATE_SQL}",
        )
    ),
    key=("plan_id",),
)

ACTIVITIES = Table(
    "activities",
    "Activities (fact): what a plan will do, by when, for which goals and indicators.",
    (
        C("activity_id", "text", "activity-…"),
        C("plan_id", "text", "plans.plan_id"),
        C("title", "text", "what will be done"),
        C("owner", "text", "who is responsible (a role, not a person's name)"),
        C("starts_on", "date", "first day"),
        C("due_on", "date", "last day"),
        C("status", "text", "planned, in_progress, done or cancelled"),
        C("goal_ids", "json", "ids of the goals it serves"),
        C("indicator_ids", "json", "ids of the indicators it should move"),
        C("proposed_by", "text", "the improvement (reports) it came from, if any"),
        *STATE,
    ),
    sql_rows(
        current_entities(
            "activity",
            "v.entity_id, v.state ->> 'plan_id', v.state #>> '{work,title}', "
            "v.state #>> '{work,owner}', (v.state #>> '{work,starts_on}')::date, "
            "(v.state #>> '{work,due_on}')::date, v.state ->> 'status', "
            "coalesce(v.state #> '{work,goal_ids}', '[]')::text, "
            "coalesce(v.state #> '{work,indicator_ids}', '[]')::text, "
            f"v.state ->> 'proposed_by', {STATE_SQL}",
        )
    ),
    key=("activity_id",),
)

PLAN_DECISIONS = decisions_table("plan_decisions", "plans")

TABLES = (PLANS, ACTIVITIES, PLAN_DECISIONS)
