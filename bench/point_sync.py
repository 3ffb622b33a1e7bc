"""How long a village point's backlog of 1,000 cases takes to sync with its town on loopback
(issue 18: ≤ 10 s).

The town is a real `queue-server serve` process on 127.0.0.1 with a real SQLite file (the small
test hall, tests/live_hall.py), with points enrolled by `queue-server point enrol`. For each run a
new point (its own SQLite file, `PointStore`, in this process) records `--cases` cases while it
has no link, then its `PointLink` starts: the time is from the link's start until the town holds
the point's whole log (its last number equals the point's). Then the town answers every case
(`town_received`, written into its database as another process would) and the time until the
point holds all of them is the way down (the town's session finds entries written elsewhere
within `sync.POLL_SECONDS`, which that figure includes). Each figure is per run and the median;
the machine's load average is printed before and after.

Usage: .venv/bin/python bench/point_sync.py [--cases 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from queue_server.points import ledger as L  # noqa: E402
from queue_server.store import point_logs  # noqa: E402
from tests.live_hall import LiveHall  # noqa: E402
from tests.point_link import Point, Town, enrol, running  # noqa: E402


async def one_run(folder: Path, town: LiveHall, town_db: Town, code: str,
                  cases: int) -> tuple[float, float]:
    point = Point(folder, enrol(town, code), name=code)
    for _ in range(cases):
        point.record()
    link = point.link()
    started = time.perf_counter()
    async with running(link):
        while town_db.last(code)[0] < cases:
            await asyncio.sleep(0.01)
        up = time.perf_counter() - started
        for case in sorted(town_db.read(point_logs.fold, code)):
            point_logs.write_town_entry(town_db.engine, "small", code,
                                        L.TownReceived(case, 1, "王五"), point.clock())
        started = time.perf_counter()
        while point.store.last()[1] < cases:
            await asyncio.sleep(0.01)
        down = time.perf_counter() - started
    assert point.store.up() == town_db.read(point_logs.up_entries, code)
    assert point.store.down() == town_db.read(point_logs.down_entries, code)
    return up, down


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        town = LiveHall(Path(folder))
        try:
            town_db = Town(town)
            ups, downs = [], []
            for run in range(args.runs):
                up, down = asyncio.run(one_run(Path(folder), town, town_db, f"P{run + 1}",
                                               args.cases))
                ups.append(up)
                downs.append(down)
                print(f"run {run + 1}: {args.cases} cases up in {up:.2f} s, "
                      f"{args.cases} answers down in {down:.2f} s")
        finally:
            town.stop()
    print(f"median: up {statistics.median(ups):.2f} s, down {statistics.median(downs):.2f} s "
          f"(goal: ≤ 10 s for 1,000 cases)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
