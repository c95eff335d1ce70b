-- Read model of API keys (services/gateway/projections.py), updated in the append transaction
-- and rebuilt from the key events by `rebuild`. The gateway looks a key up here by its id on
-- every request (the primary key), so a revoked or rotated key is refused at once.
CREATE TABLE api_keys (
    key_id       text        PRIMARY KEY,
    name         text        NOT NULL,
    role         text        NOT NULL,
    scope        text        NOT NULL,
    secret_hash  text        NOT NULL,
    status       text        NOT NULL,
    version      integer     NOT NULL,
    issued_at    timestamptz NOT NULL,
    issued_by    text,
    rotated_at   timestamptz,
    rotated_by   text,
    revoked_at   timestamptz,
    revoked_by   text
);
