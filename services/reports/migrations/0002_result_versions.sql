-- Every value each result has had, with the time it held (valid_from = when the municipality
-- learned it, the event's recorded_at): the scorecard reads results `as_of` an instant with
-- one indexed query over typed columns (entity_versions keeps the same states as JSON).
CREATE TABLE result_versions (
    result_id     text             NOT NULL,
    version       integer          NOT NULL,
    indicator_id  text             NOT NULL,
    period        text             NOT NULL,  -- "2025", or an interim date "2026-08-31"
    year          integer          NOT NULL,
    value         double precision NOT NULL,
    women         double precision,
    men           double precision,
    source        text             NOT NULL,
    comment       text             NOT NULL,
    status        text             NOT NULL,  -- recorded, withdrawn
    valid_from    timestamptz      NOT NULL,
    valid_to      timestamptz,
    position      bigint           NOT NULL,
    PRIMARY KEY (result_id, version)
);
CREATE INDEX result_versions_year ON result_versions (year, indicator_id);
CREATE UNIQUE INDEX result_versions_current ON result_versions (result_id) WHERE valid_to IS NULL;
