"""The reports domain: results, assessments, quality reports and period close (pure, no I/O)."""
