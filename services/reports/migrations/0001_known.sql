-- What reports knows of goals and plans, kept from goals.events and plans.events by the consumer
-- (tolerant readers, services/reports/consumed.py). Every table can be dropped and rebuilt from
-- the topics (shared/rebuild.py copies them with LIKE … INCLUDING ALL: no foreign keys here).

CREATE TABLE known_org_units (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    kind        text        NOT NULL,
    parent_id   text,
    status      text        NOT NULL,   -- active, closed
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX known_org_units_parent_idx ON known_org_units (parent_id);

CREATE TABLE known_areas (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    status      text        NOT NULL,   -- active, retired
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- The *_at columns are the goal events' recorded_at: when the municipality knew (as_of reads).
CREATE TABLE known_goals (
    id                   text        PRIMARY KEY,
    level                text        NOT NULL,
    owner_unit_id        text        NOT NULL,
    period               text        NOT NULL,   -- the mandate period, "2023-2026"
    title                text        NOT NULL,
    status               text        NOT NULL,   -- draft, adopted, retired
    development_area_id  text,
    derived_from         text[]      NOT NULL DEFAULT '{}',
    perspectives         text[]      NOT NULL DEFAULT '{}',
    drafted_at           timestamptz NOT NULL,
    adopted_at           timestamptz,
    retired_at           timestamptz,
    version              integer     NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX known_goals_owner_period_idx ON known_goals (owner_unit_id, period);

CREATE TABLE known_indicators (
    id               text             PRIMARY KEY,
    goal_id          text             NOT NULL,
    name             text             NOT NULL,
    unit_of_measure  text             NOT NULL,
    direction        text             NOT NULL,   -- higher_is_better, lower_is_better
    source_kind      text             NOT NULL,   -- manual, survey, kolada
    kpi_id           text,
    baseline_value   double precision,
    baseline_year    integer,
    status           text             NOT NULL,   -- active, retired
    defined_at       timestamptz      NOT NULL,
    retired_at       timestamptz,
    version          integer          NOT NULL,
    updated_at       timestamptz      NOT NULL
);
CREATE INDEX known_indicators_goal_idx ON known_indicators (goal_id);

-- History: one row per IndicatorTargetSet (position = the event's place in goals' log), so a
-- read as_of T takes the latest row recorded at or before T.
CREATE TABLE known_targets (
    indicator_id  text             NOT NULL,
    year          integer          NOT NULL,
    value         double precision NOT NULL,
    recorded_at   timestamptz      NOT NULL,
    position      bigint           NOT NULL,
    PRIMARY KEY (indicator_id, year, position)
);

-- History: one row per IndicatorThresholdsSet.
CREATE TABLE known_thresholds (
    indicator_id  text             NOT NULL,
    green         double precision NOT NULL,
    yellow        double precision NOT NULL,
    recorded_at   timestamptz      NOT NULL,
    position      bigint           NOT NULL,
    PRIMARY KEY (indicator_id, position)
);

CREATE TABLE known_plans (
    id          text        PRIMARY KEY,
    unit_id     text        NOT NULL,
    period      text        NOT NULL,   -- "2026" or "2025/26"
    title       text        NOT NULL,
    status      text        NOT NULL,   -- draft, adopted, closed
    goal_ids    text[]      NOT NULL DEFAULT '{}',
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX known_plans_unit_period_idx ON known_plans (unit_id, period);

CREATE TABLE known_activities (
    id             text        PRIMARY KEY,
    plan_id        text        NOT NULL,
    title          text        NOT NULL,
    owner          text        NOT NULL,
    starts_on      date        NOT NULL,
    due_on         date        NOT NULL,
    status         text        NOT NULL,   -- planned, in_progress, done, cancelled
    goal_ids       text[]      NOT NULL DEFAULT '{}',
    indicator_ids  text[]      NOT NULL DEFAULT '{}',
    notes          jsonb       NOT NULL DEFAULT '[]',   -- [{written_on, text}], in order
    completed_on   date,
    cancelled_on   date,
    cancel_reason  text,
    proposed_by    text,
    version        integer     NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX known_activities_plan_idx ON known_activities (plan_id);

-- The organisation as the access check walks it (shared/access.py SqlOrgTree), as plans'
-- migration 0004 defines it: a unit and its parents up to the root, one index lookup a level.
CREATE FUNCTION org_ancestry(start_unit text) RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT u.id, u.parent_id, 0 FROM known_org_units u WHERE u.id = start_unit
      UNION ALL
        SELECT u.id, u.parent_id, up.depth + 1 FROM up
          JOIN known_org_units u ON u.id = up.parent_id
         WHERE up.depth < 100)
    SELECT up.id FROM up ORDER BY up.depth;
END
$$;

-- The council (kommunfullmäktige): the root of the organisation.
CREATE FUNCTION org_root() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT id FROM known_org_units WHERE parent_id IS NULL AND kind = 'council'
     ORDER BY id LIMIT 1
$$;
