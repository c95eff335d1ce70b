"""The gateway: the one door to styrkort for people and programs (API keys, the proxy to the
services, ids, audit log). Wiring in app.py; the decisions in docs/adr/0014."""
