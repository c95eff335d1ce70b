-- What plans knows of the organisation, kept from goals.events by the consumer (tolerant reader).
CREATE TABLE known_org_units (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    kind        text        NOT NULL,
    parent_id   text,
    status      text        NOT NULL,
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL
);
