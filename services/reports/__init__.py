"""The reports service (results, assessments, quality and annual reports): not built yet."""
