-- Read model of organisation units (rebuilt from events by `rebuild`).
CREATE TABLE org_units (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    kind        text        NOT NULL,
    parent_id   text,
    status      text        NOT NULL,
    version     integer     NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX org_units_parent ON org_units (parent_id);
