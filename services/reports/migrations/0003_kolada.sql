-- Kolada's values for the comparison municipalities (events ComparisonValue*.v1), one row per
-- event: the value each (KPI, municipality, year) had from the time it was recorded, so a read
-- `as_of` an instant takes the last version recorded by then. A withdrawn version has no value.
CREATE TABLE comparison_values (
    comparison_id text             NOT NULL,
    kpi           text             NOT NULL,
    municipality  text             NOT NULL,
    year          integer          NOT NULL,
    version       integer          NOT NULL,
    value         double precision,
    women         double precision,
    men           double precision,
    withdrawn     boolean          NOT NULL,
    recorded_at   timestamptz      NOT NULL,
    position      bigint           NOT NULL,
    event_id      text             NOT NULL,
    PRIMARY KEY (comparison_id, version)
);
CREATE INDEX comparison_values_kpi_year ON comparison_values (kpi, year, municipality, version);

-- Kolada imports started over HTTP or by the CLI: a job any process answers the state of.
-- `counts` holds the import's report as it goes (fetched, new, corrected, ... per kind).
CREATE TABLE kolada_jobs (
    id            uuid        PRIMARY KEY,
    state         text        NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    requested_by  text        NOT NULL,
    years         integer[]   NOT NULL,
    from_date     date,
    counts        jsonb       NOT NULL DEFAULT '{}',
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
