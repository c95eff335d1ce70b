-- The organisation as the access check walks it (shared/access.py SqlOrgTree), from what plans
-- knows of it: a unit and its parents up to the root, one index lookup a level, with one
-- generic plan kept per session.
CREATE FUNCTION org_ancestry(start_unit text) RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT u.id, u.parent_id, 0 FROM known_org_units u WHERE u.id = start_unit
      UNION ALL
        SELECT u.id, u.parent_id, up.depth + 1 FROM up
          JOIN known_org_units u ON u.id = up.parent_id
         WHERE up.depth < 100)
    SELECT up.id FROM up ORDER BY up.depth;
END
$$;

-- The council (kommunfullmäktige): the root of the organisation.
CREATE FUNCTION org_root() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT id FROM known_org_units WHERE parent_id IS NULL AND kind = 'council'
     ORDER BY id LIMIT 1
$$;
