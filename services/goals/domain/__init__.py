"""The goals domain: politics' "what". Pure Python, no Flask, no SQL."""
