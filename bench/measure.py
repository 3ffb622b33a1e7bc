"""What the latency benches share: the nearest-rank percentile of their samples, and for those
that time a browser page (the clerk console's click, the dashboard's update) the offset between
the page's clock and this process's."""

from __future__ import annotations

import math
import time


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest sample with at least `share` of all samples at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def clock_offset(page) -> float:
    """The page's wall clock minus this process's, in ms, from the tightest of 20 round trips."""
    samples = []
    for _ in range(20):
        before = time.time() * 1000
        in_page = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        samples.append((after - before, in_page - (before + after) / 2))
    return min(samples)[1]
