"""The goals service's warehouse tables (docs/warehouse.md): the organisation, goals,
indicators, their yearly targets, and the decisions in goals' log."""

from __future__ import annotations

from shared.warehouse import Column, Table, current_entities, decisions_table, sql_rows

C = Column
#: the columns every table of current states ends with
STATE = (
    C("version", "integer", "the entity's version (its stream version): grows with each change"),
    C("position", "bigint", "position in goals' log of the entity's latest event"),
    C("updated_at", "timestamp", "when that event was recorded"),
)
STATE_SQL = "v.version, v.position, v.valid_from"

UNITS = Table(
    "units",
    "Organisation units (dimension): the council, committees, administrations, units.",
    (
        C("unit_id", "text", "org-unit-…"),
        C("name", "text", "the unit's name"),
        C("kind", "text", "council, executive_board, committee, company, sector or unit"),
        C("parent_id", "text", "the unit above it; NULL for the council"),
        C("status", "text", "active or closed"),
        *STATE,
    ),
    sql_rows(
        current_entities(
            "org_unit",
            "v.entity_id, v.state ->> 'name', v.state ->> 'kind', v.state ->> 'parent_id', "
            f"v.state ->> 'status', {STATE_SQL}",
        )
    ),
    key=("unit_id",),
)

GOALS = Table(
    "goals",
    "Goals (dimension): strategic and operational, with the decision that adopted them.",
    (
        C("goal_id", "text", "goal-…"),
        C("level", "text", "strategic or operational"),
        C("period", "text", "the mandate period, e.g. 2023-2026"),
        C("status", "text", "draft, adopted or retired"),
        C("title", "text", "the goal's title"),
        C("description", "text", "its description"),
        C("owner_unit_id", "text", "the unit that owns it (units.unit_id)"),
        C("development_area_id", "text", "the development area it serves, if any"),
        C("programme_id", "text", "the programme (steering document) it belongs to, if any"),
        C("derived_from", "json", "ids of the goals it is derived from"),
        C("perspectives", "json", "its perspectives"),
        C("decided_by", "text", "the unit that adopted it"),
        C("decided_on", "date", "the day it was adopted"),
        C("minute_ref", "text", "the minutes of the adoption"),
        *STATE,
    ),
    sql_rows(
        current_entities(
            "goal",
            "v.entity_id, v.state ->> 'level', v.state ->> 'period', v.state ->> 'status', "
            "v.state #>> '{content,title}', v.state #>> '{content,description}', "
            "v.state ->> 'owner_unit_id', v.state #>> '{placement,development_area_id}', "
            "v.state #>> '{placement,programme_id}', "
            "coalesce(v.state #> '{placement,derived_from}', '[]')::text, "
            "coalesce(v.state #> '{content,perspectives}', '[]')::text, "
            "v.state #>> '{decision,decided_by}', (v.state #>> '{decision,decided_on}')::date, "
            f"v.state #>> '{{decision,minute_ref}}', {STATE_SQL}",
        )
    ),
    key=("goal_id",),
)

INDICATORS = Table(
    "indicators",
    "Indicators (dimension): what is measured for a goal, its baseline and thresholds.",
    (
        C("indicator_id", "text", "indicator-…"),
        C("goal_id", "text", "the goal it measures (goals.goal_id)"),
        C("name", "text", "the indicator's name"),
        C("unit_of_measure", "text", "%, kr, antal, …"),
        C("direction", "text", "higher_is_better or lower_is_better"),
        C("source_kind", "text", "manual, survey or kolada"),
        C("kpi_id", "text", "Kolada's KPI id, for kolada indicators"),
        C("baseline_year", "integer", "the baseline's year"),
        C("baseline_value", "double", "the baseline's value"),
        C("green", "double", "threshold for green, if set"),
        C("yellow", "double", "threshold for yellow, if set"),
        C("status", "text", "active or retired"),
        C("defined_on", "date", "the day it was defined"),
        *STATE,
    ),
    sql_rows(
        current_entities(
            "indicator",
            "v.entity_id, v.state ->> 'goal_id', v.state #>> '{definition,name}', "
            "v.state #>> '{definition,unit_of_measure}', v.state #>> '{definition,direction}', "
            "v.state #>> '{definition,source,kind}', v.state #>> '{definition,source,kpi_id}', "
            "(v.state #>> '{definition,baseline,year}')::int, "
            "(v.state #>> '{definition,baseline,value}')::float8, "
            "(v.state #>> '{thresholds,green}')::float8, "
            "(v.state #>> '{thresholds,yellow}')::float8, "
            "v.state ->> 'status', (v.state ->> 'defined_on')::date, "
            f"{STATE_SQL}",
        )
    ),
    key=("indicator_id",),
)

TARGETS = Table(
    "targets",
    "Targets (fact): each indicator's target value per year, as now decided.",
    (
        C("indicator_id", "text", "indicators.indicator_id"),
        C("year", "integer", "the year the target is for"),
        C("value", "double", "the target value"),
        *STATE,
    ),
    sql_rows(
        "SELECT v.entity_id, t.key::int, t.value::text::float8, "
        f"{STATE_SQL} FROM entity_versions v "
        "CROSS JOIN LATERAL jsonb_each(CASE jsonb_typeof(v.state -> 'targets') "
        "WHEN 'object' THEN v.state -> 'targets' ELSE '{}' END) AS t "
        "WHERE v.entity_type = 'indicator' AND v.valid_to IS NULL AND v.position > %(since)s "
        "AND jsonb_typeof(t.value) = 'number' "
        "ORDER BY v.entity_id, t.key::int"
    ),
    since_rule="all targets of the indicators whose latest event is after the cursor",
    key=("indicator_id", "year"),
)

GOAL_DECISIONS = decisions_table("goal_decisions", "goals")

TABLES = (UNITS, GOALS, INDICATORS, TARGETS, GOAL_DECISIONS)
