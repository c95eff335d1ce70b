"""The plans domain: pure Python, no Flask, no SQL."""
