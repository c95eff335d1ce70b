"""styrkort's own library, used by every service: events, store, relay, consumer, HTTP, config.

Domain logic never lives here (DESIGN.md §1).
"""
