-- Signed identity headers a service has accepted (docs/adr/0011): each signature is accepted
-- once; inserting one that is here already is a replay (401). A row is needed only while its
-- signature could still pass the clock check, and is then deleted in bounded batches
-- (shared/replays.py).
CREATE TABLE signature_replays (
    signature  text        PRIMARY KEY,
    signed_at  timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signature_replays_signed_at ON signature_replays (signed_at);
