-- The overdue list (services/reports/overdue.py) reads activities past their due date across
-- every plan, and the plans of a year (or school year) across every unit: one index each, so
-- it does not scan every activity and plan the municipality ever had. The annual wheel's
-- deadlines themselves are entity_versions rows (shared/versions.py), read `as_of` like the
-- other decided data of reports.
CREATE INDEX known_activities_due_idx ON known_activities (due_on);
CREATE INDEX known_plans_period_idx ON known_plans (period);
