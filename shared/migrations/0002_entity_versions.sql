-- The versioned read model (shared/versions.py): every state of every entity, with its time.
CREATE TABLE entity_versions (
    entity_id    text        NOT NULL,
    entity_type  text        NOT NULL,
    version      integer     NOT NULL,
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    position     bigint      NOT NULL,
    state        jsonb       NOT NULL,
    PRIMARY KEY (entity_id, version)
);
-- the current state of each entity
CREATE UNIQUE INDEX entity_versions_current ON entity_versions (entity_type, entity_id)
    WHERE valid_to IS NULL;
-- states as of an instant
CREATE INDEX entity_versions_as_of ON entity_versions (entity_type, valid_from);
