"""What the latency benches share: the percentile of their samples (nearest rank, as the
KPIs count it), and for those that time a browser page (the clerk console's click, the
dashboard's update) the offset between the page's clock and this process's."""

from __future__ import annotations

import statistics
import time

from queue_server.kpis import percentile

__all__ = ["clock_offset", "percentile", "print_goal", "print_spread"]


def clock_offset(page) -> float:
    """The page's wall clock minus this process's, in ms, from the tightest of 20 round trips."""
    samples = []
    for _ in range(20):
        before = time.time() * 1000
        in_page = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        samples.append((after - before, in_page - (before + after) / 2))
    return min(samples)[1]


def print_spread(figures: list[tuple[str, list[float]]], width: int = 20) -> None:
    """Each figure's median, p99 and max (ms), a line each, the names in `width` columns."""
    for name, values in figures:
        print(f"  {name:{width}} median {statistics.median(values):6.1f} ms, "
              f"p99 {percentile(values, 0.99):6.1f} ms, max {max(values):6.1f} ms")


def print_goal(what: str, values: list[float], goal_ms: float) -> None:
    """Whether the p99 of `values` (ms) meets the goal: "  goal: p99 ≤ 50 ms (what): met"."""
    # no samples: no p99 (None), and the comparison fails loudly, as it always did
    print(f"  goal: p99 ≤ {goal_ms:g} ms ({what}): "
          f"{'met' if percentile(values, 0.99) <= goal_ms else 'NOT met'}")  # type: ignore[operator]
