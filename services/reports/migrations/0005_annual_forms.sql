-- The last event reports has applied from each service it consumes (goals, plans): its place
-- and hash in that service's log, stated by the annual report's approval as that store's head
-- (services/reports/chain_heads.py). A read model of the topics: dropped and rebuilt with them.
CREATE TABLE consumed_heads (
    source       text        PRIMARY KEY,   -- the service: goals, plans
    position     bigint      NOT NULL,
    hash         text        NOT NULL,
    event_id     uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL
);
