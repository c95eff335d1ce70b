-- Rebuilds of read models run as jobs (shared/rebuild.py): any process of the service answers
-- for a job's state, whichever process runs it (a web worker's thread or the CLI).
CREATE TABLE rebuild_jobs (
    id              uuid        PRIMARY KEY,
    scope           text        NOT NULL CHECK (scope IN ('own', 'consumed')),
    state           text        NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    events_applied  bigint      NOT NULL DEFAULT 0,
    requested_by    text        NOT NULL,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
