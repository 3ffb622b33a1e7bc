"""A hall's takeover when its leader dies (issue 14): two `queue-server serve` processes on one
PostgreSQL (a server of its own, fsync on), a kiosk taking a ticket every 0.1 s through the
devices' own client with both servers in its list. The leader is killed (SIGKILL) in the middle
of the stream, `--trials` times (each time it is started again, as systemd would); the time
from the kill to the first ticket confirmed after it is printed (median, p99, max), and every
confirmed ticket is checked to be in the log once.

Usage: .venv/bin/python bench/takeover.py [--trials 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.live_load import bench_hall, postgres_database  # noqa: E402
from bench.measure import percentile  # noqa: E402
from queue_server.hall_toml import parse_hall  # noqa: E402
from queue_server.store import devices, hall_records  # noqa: E402
from queue_server.store.database import migrate, open_engine  # noqa: E402
from tests.live_servers import Serve, stream_of_tickets, wait_for  # noqa: E402


def _leader(servers: list[Serve]) -> Serve:
    def led() -> Serve | None:
        leading = [s for s in servers if "bench" in s.leads()]
        return leading[0] if len(leading) == 1 else None
    return wait_for(led)


async def trials(servers: list[Serve], token: str, count: int) -> tuple[list[float], list[str]]:
    confirmed: list[tuple[float, str]] = []
    stop = asyncio.Event()
    stream = asyncio.create_task(stream_of_tickets(
        [s.ws("bench") for s in servers], token, confirmed, stop))
    takeovers = []
    for _ in range(count):
        leader = await asyncio.to_thread(_leader, servers)
        before = len(confirmed)
        while len(confirmed) < before + 5:
            await asyncio.sleep(0.01)
        killed_at = time.monotonic()
        await asyncio.to_thread(leader.kill)
        while not confirmed or confirmed[-1][0] <= killed_at:
            await asyncio.sleep(0.005)
        takeovers.append(next(t for t, _ in confirmed if t > killed_at) - killed_at)
        await asyncio.to_thread(leader.start)
    stop.set()
    await stream
    return takeovers, [number for _, number in confirmed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    with postgres_database() as url:
        engine = open_engine(url)
        migrate(engine)
        with engine.begin() as conn:
            now = datetime.now(UTC)
            hall_id, _ = hall_records.save_definition(conn, parse_hall(bench_hall()), now)
            token = devices.add_device(conn, hall_id, "kiosk", "k", None, set(), now)
        servers = [Serve(url, "bench-a"), Serve(url, "bench-b")]
        try:
            takeovers, numbers = asyncio.run(trials(servers, token, args.trials))
        finally:
            for server in servers:
                server.stop()
        with engine.connect() as conn:
            issued = [json.loads(d)["number"] if isinstance(d, str) else d["number"]
                      for d in conn.execute(text("SELECT data FROM events WHERE kind = "
                                                 "'ticket_issued' ORDER BY seq")).scalars()]
        engine.dispose()
    lost = set(numbers) - set(issued)
    print(f"takeover after SIGKILL of the leader, {len(takeovers)} trials: median "
          f"{statistics.median(takeovers):.2f} s, p99 {percentile(takeovers, 0.99):.2f} s, "
          f"max {max(takeovers):.2f} s")
    print(f"{len(numbers)} tickets confirmed, {len(issued)} in the log; confirmed but lost: "
          f"{len(lost)}; numbers issued twice: {len(issued) - len(set(issued))}")


if __name__ == "__main__":
    main()
