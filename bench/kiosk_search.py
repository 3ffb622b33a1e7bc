"""Kiosk search as a citizen types: time per keystroke over the county catalogue (369 items).

Goal: every keystroke answered in ≤ 50 ms on the kiosk. Prints the index build time, then for
each query typed one character at a time: the result count after the last keystroke, the
median (p50) and the slowest keystroke. Each query is typed `ROUNDS` times; the figures are
over all rounds. Run: `.venv/bin/python bench/kiosk_search.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sim.model import HALLS
from kiosk.search import SearchIndex
from queue_server.hall_toml import load_hall
from queue_server.views import catalogue_view

QUERIES = ("sbk", "shebaoka", "营业执照", "hkqy", "不动产登记", "社保k", "jiazhao", "zhongdu", "gongjijin",
           "hz", "s")
ROUNDS = 20


def padded(text: str, width: int) -> str:
    """Left-aligned in a terminal, where a Hanzi takes two columns."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - columns)


def main() -> None:
    catalogue = catalogue_view(load_hall(HALLS / "county.toml"), 1)
    started = time.perf_counter()
    index = SearchIndex(catalogue)
    built = time.perf_counter() - started
    print(f"county catalogue: {len(index)} items; index built in {built * 1000:.0f} ms "
          f"(first build in the process, pypinyin dictionaries included)")
    started = time.perf_counter()
    SearchIndex(catalogue)
    print(f"rebuild (dictionaries loaded): {(time.perf_counter() - started) * 1000:.0f} ms")
    print(f"{'query':<12} {'results':>7} {'p50 ms':>8} {'max ms':>8}   ({ROUNDS} rounds, each keystroke timed)")
    overall: list[float] = []
    for query in QUERIES:
        times: list[float] = []
        found = 0
        for _ in range(ROUNDS):
            for end in range(1, len(query) + 1):
                started = time.perf_counter()
                found = len(index.search(query[:end]))
                times.append(time.perf_counter() - started)
        overall += times
        print(f"{padded(query, 12)} {found:>7} {statistics.median(times) * 1000:>8.2f} {max(times) * 1000:>8.2f}")
    print(f"{'all':<12} {'':>7} {statistics.median(overall) * 1000:>8.2f} {max(overall) * 1000:>8.2f}"
          f"   (goal ≤ 50 ms per keystroke)")


if __name__ == "__main__":
    main()
