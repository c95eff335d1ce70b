-- A relay that met a permanent produce error (the broker refuses an event for good: too large,
-- invalid topic, not authorised) stops at that position and says so here; it goes on only
-- after an administrator decides (shared/relay.py, README "Administration").
CREATE TABLE relay_blocks (
    relay       text        PRIMARY KEY,
    position    bigint      NOT NULL,
    event_id    uuid,
    error       text        NOT NULL,
    blocked_at  timestamptz NOT NULL DEFAULT now()
);

-- The administrators' decisions to pass a position the broker will not take: who, when, why.
-- The relay, and every republish, leaves out exactly these positions, and logs each time.
CREATE TABLE relay_skips (
    relay       text        NOT NULL,
    position    bigint      NOT NULL,
    event_id    uuid,
    error       text,
    reason      text        NOT NULL CHECK (reason <> ''),
    decided_by  text        NOT NULL CHECK (decided_by <> ''),
    decided_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (relay, position)
);
