"""The styrkort services: goals, plans, reports and the gateway (DESIGN.md §1)."""
