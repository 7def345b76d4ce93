"""Test helper: the busiest sliding window in a list of admission times."""

from __future__ import annotations


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of times inside any half-open window [t, t + window), at any offset.

    The busiest window can always be slid right until it starts at one of the times.
    """
    times = sorted(times)
    best = 0
    end = 0
    for start, t in enumerate(times):
        end = max(end, start)
        while end < len(times) and times[end] < t + window:
            end += 1
        best = max(best, end - start)
    return best
