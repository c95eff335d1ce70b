"""The gateway's own aggregates: API keys, as events (pure Python, no I/O)."""
