-- The children of a unit (sibling names are unique, a unit closes only without open children):
-- found by index, not by reading every unit of the organisation. `parent_id IS NOT NULL` keeps
-- the planner from scanning this index for lookups of a unit by its id (it did, with stale
-- statistics, when the predicate was the same as entity_versions_current's).
CREATE INDEX entity_versions_org_unit_parent ON entity_versions ((state ->> 'parent_id'))
    WHERE entity_type = 'org_unit' AND valid_to IS NULL AND (state ->> 'parent_id') IS NOT NULL;

-- The organisation as the access check walks it (shared/access.py SqlOrgTree): a unit and its
-- parents up to the root, one index lookup a level, with one generic plan kept per session.
CREATE FUNCTION org_ancestry(start_unit text) RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT v.entity_id, v.state ->> 'parent_id', 0 FROM entity_versions v
         WHERE v.entity_type = 'org_unit' AND v.valid_to IS NULL AND v.entity_id = start_unit
      UNION ALL
        -- LATERAL ... LIMIT 1: one index lookup of the parent (as a join, the planner
        -- scanned every unit at every level)
        SELECT parent.entity_id, parent.parent_id, up.depth + 1 FROM up,
          LATERAL (SELECT v.entity_id, v.state ->> 'parent_id' AS parent_id
                     FROM entity_versions v
                    WHERE v.entity_type = 'org_unit' AND v.valid_to IS NULL
                      AND v.entity_id = up.parent_id
                    LIMIT 1) parent
         WHERE up.depth < 100)
    SELECT up.id FROM up ORDER BY up.depth;
END
$$;

-- The council (kommunfullmäktige): the root of the organisation.
CREATE FUNCTION org_root() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT entity_id FROM entity_versions
     WHERE entity_type = 'org_unit' AND valid_to IS NULL
       AND (state ->> 'parent_id') IS NULL AND state ->> 'kind' = 'council'
     ORDER BY entity_id LIMIT 1
$$;
