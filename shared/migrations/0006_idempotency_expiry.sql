-- Idempotency keys expire (Config.idempotency_key_hours) and a replay re-checks the caller's
-- authority (shared/http.py, install_idempotency): who asked, with what role and scope, and
-- the access check the command passed (entity type, entity id of a change, the checked body).
ALTER TABLE idempotency_keys
    ADD COLUMN role         text,
    ADD COLUMN scope        text,
    ADD COLUMN entity_type  text,
    ADD COLUMN entity_id    text,
    ADD COLUMN access_body  jsonb;

-- The bounded clean-up of expired keys on each claim finds the oldest rows by this index.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
