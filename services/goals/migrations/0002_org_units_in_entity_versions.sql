-- Organisation units are read from entity_versions (shared/migrations/0002) like every other
-- entity, now and as of any instant; `rebuild` fills it from the events.
DROP TABLE org_units;
