"""A real clerk's login while the server is flooded with wrong PINs (issue 12, point 3).

The server runs as its own process on the small test hall (tests/live_hall.py), with its
default login limits. Two kinds of flood, each of 200 wrong-PIN hellos for unknown badges sent
at once, 20 times over:
- from one address (127.0.0.2), as a script on one PC would;
- from 50 addresses (127.0.0.100–149), 4 hellos each, as a room of PCs would.
0.1 s into each flood a real clerk logs in, each time from a PC of its own (127.0.N.x, as the
address limit would otherwise count them together), and the time from hello to reply is
measured. Before the floods, the same login alone is the baseline.
Printed: median and slowest, and what the server's gate counted (/healthz `logins`).

    .venv/bin/python bench/login_flood.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live_hall import LiveHall

LOGINS = 20


async def hello(url: str, address: str, **params) -> dict:
    async with connect(url, local_addr=(address, 0), open_timeout=60) as ws:
        await ws.send(json.dumps({"id": 1, "op": "hello", **params}))
        return json.loads(await ws.recv())


async def real_logins(url: str, round_: int) -> list[float]:
    times = []
    for i in range(LOGINS):
        began = time.perf_counter()
        reply = await hello(url, f"127.0.{round_}.{1 + i}", role="clerk", badge="1001",
                            pin="1111")
        times.append((time.perf_counter() - began) * 1000)
        assert reply["ok"], reply
    return times


class Flooder:
    """The flood from a process of its own (so that the real clerk's client is not held up
    behind it in one event loop): each `burst()` sends `per_address` wrong hellos from each
    address at once and returns when all are answered."""

    def __init__(self, url: str, addresses: list[str], per_address: int, first: int):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--flood", url, ",".join(addresses), str(per_address),
             str(first)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def start_burst(self) -> None:
        assert self.process.stdin is not None      # opened with stdin=PIPE
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def burst_done(self) -> int:
        assert self.process.stdout is not None     # opened with stdout=PIPE
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.communicate("", timeout=60)


async def _flood_bursts(url: str, addresses: list[str], per_address: int, first: int) -> None:
    badge = first

    async def wrong(address: str) -> None:
        nonlocal badge
        badge += 1
        with contextlib.suppress(Exception):   # a flood client cut off: nothing to measure
            await hello(url, address, role="clerk", badge=f"9{badge:07}", pin="0000")

    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "go":
        await asyncio.gather(*(wrong(a) for a in addresses for _ in range(per_address)))
        print(len(addresses) * per_address, flush=True)


async def measure(url: str, addresses: list[str], per_address: int,
                  round_: int) -> tuple[list[float], int]:
    flooder = Flooder(url, addresses, per_address, round_ * 1_000_000)
    times, sent = [], 0
    try:
        for i in range(LOGINS):
            flooder.start_burst()
            await asyncio.sleep(0.1)           # the burst is arriving
            began = time.perf_counter()
            reply = await hello(url, f"127.0.{round_}.{1 + i}", role="clerk", badge="1001",
                                pin="1111")
            times.append((time.perf_counter() - began) * 1000)
            assert reply["ok"], reply
            sent += await asyncio.to_thread(flooder.burst_done)
    finally:
        flooder.close()
    return times, sent


def report(name: str, times: list[float], extra: str = "") -> None:
    print(f"{name:42} median {statistics.median(times):6.0f} ms   slowest {max(times):6.0f} ms"
          f"{extra}")


def main() -> None:
    hall = LiveHall(Path(tempfile.mkdtemp()))
    try:
        report("real login, no flood", asyncio.run(real_logins(hall.ws, 1)))
        for round_, (name, addresses, per_address) in enumerate((
                ("during a flood from 1 address", ["127.0.0.2"], 200),
                ("during a flood from 50 addresses", [f"127.0.0.{100 + i}" for i in range(50)], 4)),
                start=2):
            before = hall.health()["logins"]
            times, sent = asyncio.run(measure(hall.ws, addresses, per_address, round_))
            after = hall.health()["logins"]
            report(f"real login {name}", times,
                   f"   (flood hellos {sent}: checked {after['checked'] - before['checked']}, "
                   f"refused at once {after['refused'] - before['refused']})")
    finally:
        hall.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--flood"]:
        url, addresses, per_address, first = sys.argv[2:6]
        asyncio.run(_flood_bursts(url, addresses.split(","), int(per_address), int(first)))
    else:
        main()
