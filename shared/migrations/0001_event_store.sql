-- The event store of one service (DESIGN.md §3): append-only, hash-chained, gapless positions.

CREATE TABLE events (
    position     bigint      PRIMARY KEY CHECK (position > 0),
    stream_id    text        NOT NULL,
    stream_type  text        NOT NULL,
    version      integer     NOT NULL CHECK (version > 0),
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    data         jsonb       NOT NULL,
    metadata     jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL,
    prev_hash    text        NOT NULL CHECK (length(prev_hash) = 64),
    hash         text        NOT NULL CHECK (length(hash) = 64),
    UNIQUE (stream_id, version)
);

-- History of everything a stream type did in a period (exports, as_of over a whole tree).
CREATE INDEX events_recorded_at ON events (recorded_at);

-- Events are facts: the application never changes or removes one. The trigger makes an accident
-- loud; a superuser can still bypass it, which is what the hash chain and `verify` are for.
CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % of position % refused', TG_OP, OLD.position
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- How far the outbox relay has handed events to the broker (DESIGN.md §4).
CREATE TABLE relay_checkpoints (
    relay       text        PRIMARY KEY,
    position    bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What a consumer has applied: the highest version of each foreign stream (idempotency).
CREATE TABLE consumed_streams (
    source      text        NOT NULL,
    stream_id   text        NOT NULL,
    version     integer     NOT NULL,
    position    bigint      NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream_id)
);

-- Version gaps a consumer found: reported, never skipped silently.
CREATE TABLE consumer_gaps (
    id               bigserial   PRIMARY KEY,
    source           text        NOT NULL,
    stream_id        text        NOT NULL,
    expected_version integer     NOT NULL,
    received_version integer     NOT NULL,
    position         bigint      NOT NULL,
    event_id         uuid        NOT NULL,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz
);

-- POST commands with an Idempotency-Key are applied once; a retry gets the first answer.
CREATE TABLE idempotency_keys (
    key           text        NOT NULL,
    actor         text        NOT NULL,
    request_hash  text        NOT NULL,
    status        integer     NOT NULL,
    body          jsonb,
    headers       jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, key)
);
