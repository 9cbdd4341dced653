"""A bounded, sorted, uniform sample of a stream of numbers and its percentiles.

Used wherever SeeTrain reports p50/p95-style figures of an unbounded stream (LLM call latencies,
timed sections): memory stays bounded, and past ``size`` values the percentiles are estimates
from a uniform sample of every value (reservoir sampling).
"""

from __future__ import annotations

import bisect
import random


def percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) on a sorted, non-empty list."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class SortedReservoir:
    """Keeps at most ``size`` of the values seen, sorted; ``seen`` counts them all. Not locked:
    callers that share one across threads hold their own lock."""

    __slots__ = ("size", "values", "seen", "_random")

    def __init__(self, size: int = 10_000, seed: int = 0) -> None:
        self.size = size
        self.values: list[float] = []
        self.seen = 0
        self._random = random.Random(seed)

    def add(self, value: float) -> None:
        self.seen += 1
        values = self.values
        if len(values) >= self.size:
            if self._random.randrange(self.seen) >= self.size:
                return
            del values[self._random.randrange(self.size)]
        bisect.insort(values, value)

    def percentile(self, q: float) -> float | None:
        return percentile(self.values, q) if self.values else None
