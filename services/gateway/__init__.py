"""The gateway (API keys, access rules, one API for other apps): not built yet."""
