"""How long URLs took, in bounded memory whatever their number: the run's percentiles and the
histograms of --metrics."""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import field

from fetchcli.slots import mutable

# Per-URL times, kept in bounded memory: a histogram of log-spaced buckets (5 % wide), enough
# for percentiles to within 5 % and for Prometheus buckets, whatever the number of URLs.
_SMALLEST = 1e-4  # seconds: the first bucket holds everything up to 0.1 ms
_RATIO = 1.05
_BUCKETS = 400  # up to about 0.1 ms × 1.05**400, some 30 years: no time falls off the end
BOUNDS = tuple(_SMALLEST * _RATIO**n for n in range(_BUCKETS))


@mutable
class Latencies:
    """How many URLs took how long."""

    counts: list[int] = field(default_factory=lambda: [0] * (_BUCKETS + 1))
    count: int = 0
    total: float = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(BOUNDS, seconds)] += 1
        self.count += 1
        self.total += seconds

    def percentile(self, p: float) -> float:
        """The time `p` % of the URLs took at most (a bucket's upper bound, so at most 5 % high).

        >>> times = Latencies()
        >>> for ms in range(1, 101):
        ...     times.add(ms / 1000)
        >>> round(times.percentile(50), 4), round(times.percentile(99), 4)
        (0.0516, 0.1021)
        """
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(self.count * p / 100))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return BOUNDS[min(index, _BUCKETS - 1)]
        return BOUNDS[-1]

    def at_most(self, seconds: float) -> int:
        """How many URLs took at most `seconds` (to the bucket)."""
        return sum(self.counts[: bisect_left(BOUNDS, seconds) + 1])
