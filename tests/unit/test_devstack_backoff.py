"""The dev stack's restart backoff (infra/devstack.py): pure arithmetic, no processes."""

from __future__ import annotations

from infra.devstack import MAX_BACKOFF_SECONDS, backoff_after


def test_the_backoff_doubles_with_each_crash_of_the_last_minute_and_is_capped() -> None:
    crashes: list[float] = []
    delays = []
    for now in (100.0, 101.0, 103.0, 107.0, 115.0, 131.0):
        crashes, delay = backoff_after(crashes, now)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, MAX_BACKOFF_SECONDS]
    crashes, delay = backoff_after(crashes, 1000.0)  # a minute later: forgotten
    assert (crashes, delay) == ([1000.0], 1.0)
