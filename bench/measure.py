"""What the latency benches share: the percentile of their samples (nearest rank, as the
KPIs count it), and for those that time a browser page (the clerk console's click, the
dashboard's update) the offset between the page's clock and this process's."""

from __future__ import annotations

import time

from queue_server.kpis import percentile

__all__ = ["clock_offset", "percentile"]


def clock_offset(page) -> float:
    """The page's wall clock minus this process's, in ms, from the tightest of 20 round trips."""
    samples = []
    for _ in range(20):
        before = time.time() * 1000
        in_page = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        samples.append((after - before, in_page - (before + after) / 2))
    return min(samples)[1]
