-- Messages a consumer could not apply: not a styrkort CloudEvent, or an event its projections
-- refuse (a shape they cannot read). Recorded and logged, never skipped silently; the stream's
-- later events wait as gaps (consumer_gaps) until the cause is fixed and the topic republished.
CREATE TABLE consumer_rejects (
    id           bigserial   PRIMARY KEY,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    source       text,
    stream_id    text,
    version      integer,
    event_id     uuid,
    reason       text        NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);
