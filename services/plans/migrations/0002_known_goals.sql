-- What plans knows of goals, kept from goals.events by the consumer (tolerant reader): enough
-- to refuse links to unknown, draft or retired goals without asking the goals service.
CREATE TABLE known_goals (
    id             text        PRIMARY KEY,
    level          text        NOT NULL,
    owner_unit_id  text        NOT NULL,
    period         text        NOT NULL,
    title          text        NOT NULL,
    status         text        NOT NULL,
    version        integer     NOT NULL,
    updated_at     timestamptz NOT NULL
);
