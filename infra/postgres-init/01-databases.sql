-- One database per service (DESIGN.md §1): no service reads another's tables.
-- The postgres image runs this once, when it initialises an empty data volume.
CREATE DATABASE styrkort_goals;
CREATE DATABASE styrkort_plans;
CREATE DATABASE styrkort_reports;
CREATE DATABASE styrkort_gateway;
