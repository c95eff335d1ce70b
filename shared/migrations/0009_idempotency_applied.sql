-- When a command run under an Idempotency-Key appended its events: set in the transaction of
-- the append (shared/http.py), so a key whose command committed is never released to run it
-- again, even when its answer was never recorded (the process or the database died after the
-- commit, before the answer was stored).
ALTER TABLE idempotency_keys ADD COLUMN applied_at timestamptz;
