-- What plans knows of indicators, kept from goals.events by the consumer (tolerant reader):
-- enough to refuse an activity measured by an unknown or retired indicator, or by one of a goal
-- the activity does not serve, without asking the goals service.
CREATE TABLE known_indicators (
    id          text        PRIMARY KEY,
    goal_id     text        NOT NULL,
    status      text        NOT NULL,
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL
);
