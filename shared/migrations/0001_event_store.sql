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

-- Claim the next positions for one command's events (docs/adr/0004): take the append lock
-- (serialising appends, so positions become visible in order), then - each statement of a
-- function having a fresh snapshot - read the head of the log and the stream's version as
-- committed, refuse a stale expected version (SQLSTATE SK409, DETAIL = the actual version),
-- and announce the new head (delivered at commit). Returns the head and the events' time,
-- which never goes backwards with position, so `as_of` is a prefix of the log.
CREATE FUNCTION claim_append(p_stream_id text, p_expected integer, p_count integer)
RETURNS TABLE (head_position bigint, head_hash text, moment timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    head_time timestamptz;
    actual    integer;
BEGIN
    PERFORM pg_advisory_xact_lock(7151000002);  -- the append lock (shared/store.py)
    SELECT e.position, e.hash, e.recorded_at INTO head_position, head_hash, head_time
      FROM events e ORDER BY e.position DESC LIMIT 1;
    head_position := coalesce(head_position, 0);
    head_hash := coalesce(head_hash, repeat('0', 64));
    SELECT coalesce(max(e.version), 0) INTO actual FROM events e WHERE e.stream_id = p_stream_id;
    IF actual <> p_expected THEN
        RAISE EXCEPTION 'stream % is at version %, not %', p_stream_id, actual, p_expected
            USING ERRCODE = 'SK409', DETAIL = actual::text;
    END IF;
    moment := greatest(clock_timestamp(), head_time);
    PERFORM pg_notify('styrkort_events', (head_position + p_count)::text);
    RETURN NEXT;
END $$;

-- Append one command's events to a stream in one round trip: claim, chain, insert.
-- The caller sends each event's canonical JSON split around the two values only the database
-- knows: `head` ends with '"position":' and `tail` starts with ',"stream_id":'. The hash is
--   sha256(prev_hash ‖ head ‖ position ‖ ',"recorded_at":"' ‖ time ‖ '"' ‖ tail)
-- i.e. sha256(prev_hash ‖ canonical JSON of the event), which `verify` recomputes in Python.
-- (Large commands are chained in Python and written with COPY instead: shared/store.py.)
CREATE FUNCTION append_events(
    p_stream_id text, p_stream_type text, p_expected integer, p_metadata jsonb, p_events jsonb
) RETURNS TABLE (out_position bigint, out_recorded_at timestamptz, out_prev_hash text,
                out_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    head_position bigint;
    head_hash     text;
    moment        timestamptz;
    stamp         text;
    first         bigint;
    prevs         text[] := '{}';
    hashes        text[] := '{}';
    ev            jsonb;
BEGIN
    SELECT c.head_position, c.head_hash, c.moment INTO head_position, head_hash, moment
      FROM claim_append(p_stream_id, p_expected, jsonb_array_length(p_events)) AS c;
    stamp := to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    IF jsonb_array_length(p_events) = 1 THEN  -- the common command: one event, no arrays
        ev := p_events -> 0;
        out_prev_hash := head_hash;
        out_position := head_position + 1;
        out_hash := encode(sha256(decode(head_hash, 'hex') || convert_to(
            (ev ->> 'head') || out_position || ',"recorded_at":"' || stamp || '"'
            || (ev ->> 'tail'), 'UTF8')), 'hex');
        out_recorded_at := moment;
        INSERT INTO events (position, stream_id, stream_type, version, event_id, event_type,
                            data, metadata, recorded_at, prev_hash, hash)
        VALUES (out_position, p_stream_id, p_stream_type, p_expected + 1,
                (ev ->> 'event_id')::uuid, ev ->> 'event_type', ev -> 'data', p_metadata,
                moment, out_prev_hash, out_hash);
        RETURN NEXT;
        RETURN;
    END IF;
    first := head_position;
    -- The chain is sequential; the insert is then one statement for all the events.
    FOR ev IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        prevs := prevs || head_hash;
        head_position := head_position + 1;
        head_hash := encode(sha256(decode(head_hash, 'hex') || convert_to(
            (ev ->> 'head') || head_position || ',"recorded_at":"' || stamp || '"'
            || (ev ->> 'tail'), 'UTF8')), 'hex');
        hashes := hashes || head_hash;
    END LOOP;
    INSERT INTO events (position, stream_id, stream_type, version, event_id, event_type,
                        data, metadata, recorded_at, prev_hash, hash)
    SELECT first + e.n, p_stream_id, p_stream_type, p_expected + e.n::integer,
           (e.value ->> 'event_id')::uuid, e.value ->> 'event_type', e.value -> 'data',
           p_metadata, moment, prevs[e.n], hashes[e.n]
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(value, n);
    RETURN QUERY SELECT first + i, moment, prevs[i], hashes[i]
                   FROM generate_series(1, cardinality(hashes)) AS i;
END $$;

-- as_of over the whole log. recorded_at grows with position, so a BRIN index is small and
-- almost free to maintain.
CREATE INDEX events_recorded_at ON events USING brin (recorded_at);

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
