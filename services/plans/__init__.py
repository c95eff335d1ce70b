"""The plans service: action plans, activities and the PDCA cycle (the organisation's "how")."""
